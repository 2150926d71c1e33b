"""Staff queries and admin actions: the user directory, transaction search and totals, balance
adjustments and the audit log. Runs on SQLite and on PostgreSQL (when configured).

Every expectation is computed by hand from the fixtures' documented data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from textedit_core.billing import ledger as billing
from textedit_core.errors import NotAuthorized, ValidationError
from textedit_core.identity import roles
from textedit_core.infra import audit
from textedit_core.infra.models import AuditEntry, Role, Transaction, User
from textedit_core.reports import audit as audit_log
from textedit_core.reports import transactions, users
from textedit_core.reports.transactions import Totals, TxFilter
from textedit_core.reports.users import UserQuery

UTC = UTC


def at(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, second, tzinfo=UTC)


def place(session, model, row_id: int, **values) -> None:
    """Sets what the API does not offer: history in time (created_at, last_login_at), a bare block."""
    session.execute(update(model).where(model.id == row_id).values(**values))


# === the user directory ====================================================================


@dataclass
class Directory:
    admin: int
    mod: int
    mx: int
    pct: int
    carl: int
    zed: int

    def names(self, ids: list[int]) -> list[str]:
        by_id = {v: k for k, v in vars(self).items()}
        return [by_id[i] for i in ids]


@pytest.fixture
def people(db, make_user) -> Directory:
    """Six accounts, created in this id order, with ties on purpose:

    name   email                  role       blocked balance requests spent created  last login
    admin  admin@example.com      admin      no      0       0        0     01-05    03-01
    mod    Mod_One@example.org    moderator  no      0       0        0     01-02    never
    mx     modXone@example.org    user       no      5       2        1     01-02    03-02
    pct    100%real@example.com   user       yes     3       0        0     01-03    never
    carl   carl@example.com       user       no      5       1        1     01-01    03-01
    zed    Zed@Example.net        user       yes     0       0        0     01-01    03-03
    """
    ids = Directory(
        admin=make_user("admin@example.com", role=Role.ADMIN),
        mod=make_user("Mod_One@example.org", role=Role.MODERATOR),
        mx=make_user("modXone@example.org"),
        pct=make_user("100%real@example.com"),  # blocked below, after its top-up
        carl=make_user("carl@example.com"),
        zed=make_user("Zed@Example.net", blocked=True),
    )

    def build(session) -> None:
        rate = billing.current_rate(session)
        # mx: 6 tokens, two requests, one refunded -> balance 5, requests 2, spent 1.
        billing.top_up(session, ids.mx, billing.quote_topup("0.60", rate), "mx")
        billing.settle(session, billing.charge(session, ids.mx, "fix").id)
        billing.refund(session, billing.charge(session, ids.mx, "fix").id, "model down")
        # pct: 3 tokens, never used, then blocked (a blocked account cannot top up).
        billing.top_up(session, ids.pct, billing.quote_topup("0.30", rate), "pct")
        place(session, User, ids.pct, is_blocked=True)
        # carl: 6 tokens, one request -> balance 5, requests 1, spent 1.
        billing.top_up(session, ids.carl, billing.quote_topup("0.60", rate), "carl")
        billing.settle(session, billing.charge(session, ids.carl, "shorten").id)
        for user_id, created, login in (
            (ids.admin, at(1, 5), at(3, 1)),
            (ids.mod, at(1, 2), None),
            (ids.mx, at(1, 2), at(3, 2)),
            (ids.pct, at(1, 3), None),
            (ids.carl, at(1, 1), at(3, 1)),
            (ids.zed, at(1, 1), at(3, 3)),
        ):
            place(session, User, user_id, created_at=created, last_login_at=login)

    db.run(build)
    return ids


def find_users(db, actor_id: int, **query) -> users.Page:
    with db.read() as session:
        return users.search_users(session, actor_id, UserQuery(**query))


def found(db, people: Directory, **query) -> list[str]:
    return people.names([row.id for row in find_users(db, people.admin, **query).rows])


def test_search_matches_part_of_the_email_case_insensitively(db, people):
    assert found(db, people, search="MOD", sort="email", descending=False) == ["mod", "mx"]


def test_search_ignores_surrounding_spaces(db, people):
    assert found(db, people, search="  CARL@ ") == ["carl"]


def test_an_underscore_in_the_search_is_literal(db, people):
    # As a LIKE wildcard '_' would also match the 'X' of modXone.
    assert found(db, people, search="mod_") == ["mod"]


def test_a_percent_sign_in_the_search_is_literal(db, people):
    assert found(db, people, search="0%r") == ["pct"]
    assert found(db, people, search="%") == ["pct"]


def test_a_backslash_in_the_search_is_literal(db, people):
    assert found(db, people, search="\\") == []


def test_filter_by_role(db, people):
    assert found(db, people, role="moderator") == ["mod"]
    assert found(db, people, role="user", sort="email", descending=False) == ["pct", "carl", "mx", "zed"]


def test_filter_by_blocked(db, people):
    assert found(db, people, blocked=True, sort="email", descending=False) == ["pct", "zed"]
    assert found(db, people, blocked=False, sort="email", descending=False) == ["admin", "carl", "mod", "mx"]


def test_search_and_filters_combine(db, people):
    assert found(db, people, search="example.com", role="user", blocked=False) == ["carl"]


def test_a_row_shows_the_account_as_staff_see_it(db, people):
    (row,) = find_users(db, people.admin, search="modxone").rows

    assert row == users.UserRow(
        id=people.mx,
        email="modXone@example.org",
        role="user",
        status="active",
        balance=5,
        created_at=at(1, 2),
        last_login_at=at(3, 2),
        requests=2,
        tokens_spent=1,
    )
    assert find_users(db, people.admin, search="zed").rows[0].status == "blocked"


# Hand-sorted; ties go by id in the same direction as the sort, and never-logged-in is last.
ORDERS = {
    ("email", False): ["pct", "admin", "carl", "mod", "mx", "zed"],
    ("email", True): ["zed", "mx", "mod", "carl", "admin", "pct"],
    ("role", False): ["admin", "mod", "mx", "pct", "carl", "zed"],
    ("role", True): ["zed", "carl", "pct", "mx", "mod", "admin"],
    ("status", False): ["admin", "mod", "mx", "carl", "pct", "zed"],
    ("status", True): ["zed", "pct", "carl", "mx", "mod", "admin"],
    ("balance", False): ["admin", "mod", "zed", "pct", "mx", "carl"],
    ("balance", True): ["carl", "mx", "pct", "zed", "mod", "admin"],
    ("created_at", False): ["carl", "zed", "mod", "mx", "pct", "admin"],
    ("created_at", True): ["admin", "pct", "mx", "mod", "zed", "carl"],
    ("last_login_at", False): ["admin", "carl", "mx", "zed", "mod", "pct"],
    ("last_login_at", True): ["zed", "mx", "carl", "admin", "pct", "mod"],
    ("requests", False): ["admin", "mod", "pct", "zed", "carl", "mx"],
    ("requests", True): ["mx", "carl", "zed", "pct", "mod", "admin"],
    ("tokens_spent", False): ["admin", "mod", "pct", "zed", "mx", "carl"],
    ("tokens_spent", True): ["carl", "mx", "zed", "pct", "mod", "admin"],
}


def test_every_sortable_column_has_an_expected_order():
    assert {sort for sort, _ in ORDERS} == set(users.SORTABLE)


@pytest.mark.parametrize(("sort", "descending"), list(ORDERS), ids=lambda v: str(v))
def test_pages_of_two_walk_every_user_once_in_sort_order(db, people, sort, descending):
    walked: list[int] = []
    for page in (1, 2, 3):
        result = find_users(db, people.admin, sort=sort, descending=descending, page=page, page_size=2)
        assert len(result.rows) == 2
        walked += [row.id for row in result.rows]

    assert people.names(walked) == ORDERS[(sort, descending)]
    assert len(set(walked)) == 6


def test_the_default_order_is_newest_account_first(db, people):
    assert found(db, people) == ORDERS[("created_at", True)]


def test_a_page_reports_the_total_and_the_number_of_pages(db, people):
    result = find_users(db, people.admin, page=2, page_size=4)

    assert (result.total, result.pages, result.page, result.page_size) == (6, 2, 2, 4)
    assert len(result.rows) == 2


def test_the_total_counts_the_filtered_users_only(db, people):
    result = find_users(db, people.admin, blocked=True, page_size=1)

    assert (result.total, result.pages, len(result.rows)) == (2, 2, 1)


def test_a_page_past_the_end_is_empty_with_the_total(db, people):
    result = find_users(db, people.admin, page=9, page_size=2)

    assert (result.rows, result.total, result.pages) == ([], 6, 3)


def test_no_match_is_one_empty_page(db, people):
    result = find_users(db, people.admin, search="nobody")

    assert (result.rows, result.total, result.pages) == ([], 0, 1)


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "password_hash"},
        {"role": "superuser"},
        {"page": 0},
        {"page_size": 0},
        {"page_size": 1000},
    ],
    ids=lambda q: f"{q}",
)
def test_bad_user_queries_are_refused(db, people, query):
    with pytest.raises(ValidationError):
        find_users(db, people.admin, **query)


def test_moderators_can_search_users(db, people):
    assert find_users(db, people.mod).total == 6


def test_users_cannot_search_users(db, people):
    with pytest.raises(NotAuthorized):
        find_users(db, people.carl)


# === transaction search and totals =========================================================


@dataclass
class Ledger:
    admin: int
    mod: int
    ann: int
    ben: int
    rows: list[int]  # R1..R9 by id, oldest first

    def r(self, *numbers: int) -> list[int]:
        return [self.rows[n - 1] for n in numbers]


@pytest.fixture
def book(db, make_user) -> Ledger:
    """Nine ledger rows, oldest first (ids and timestamps agree):

    R1 ann topup 1.00 USD = 10 tokens  05-01 00:00:00 (the first second of the day)
    R2 ben topup 2.00 USD = 20 tokens  05-01 12:00
       (rate set to 0.50 EUR)
    R3 ann topup 1.50 EUR = 3 tokens   05-02 09:00
    R4 ann charge paraphrase, success  05-02 10:00
    R5 ann charge fix, refunded        05-02 11:00
    R6 ann refund of R5 "model down"   05-02 11:00:01
    R7 ben charge shorten, pending     05-03 23:59:59 (the last second of the day)
    R8 ben adjustment +5 "goodwill"    05-04 00:00:00 by admin
    R9 ann adjustment -2 "duplicate"   05-04 08:00 by admin
    """
    admin_id = make_user("root@example.com", role=Role.ADMIN)
    mod = make_user("mod@example.com", role=Role.MODERATOR)
    ann, ben = make_user("ann@example.com"), make_user("ben@example.com")

    def build(session) -> list[int]:
        usd = billing.current_rate(session)
        rows = [
            billing.top_up(session, ann, billing.quote_topup("1.00", usd), "r1").id,
            billing.top_up(session, ben, billing.quote_topup("2.00", usd), "r2").id,
        ]
        eur = billing.set_rate(session, admin_id, "EUR", "0.50")
        rows.append(billing.top_up(session, ann, billing.quote_topup("1.50", eur), "r3").id)
        rows.append(billing.charge(session, ann, "paraphrase").id)
        billing.settle(session, rows[-1])
        rows.append(billing.charge(session, ann, "fix").id)
        billing.refund(session, rows[-1], "model down")
        session.flush()
        refund = select(Transaction.id).where(Transaction.refund_of_id == rows[-1])
        rows.append(session.scalar(refund))
        rows.append(billing.charge(session, ben, "shorten").id)
        rows.append(billing.adjust_balance(session, admin_id, ben, "5", "goodwill").id)
        rows.append(billing.adjust_balance(session, admin_id, ann, "-2", "duplicate").id)
        times = [
            at(5, 1),
            at(5, 1, 12),
            at(5, 2, 9),
            at(5, 2, 10),
            at(5, 2, 11),
            at(5, 2, 11, 0, 1),
            at(5, 3, 23, 59, 59),
            at(5, 4),
            at(5, 4, 8),
        ]
        for row_id, when in zip(rows, times, strict=True):
            place(session, Transaction, row_id, created_at=when)
        return rows

    return Ledger(admin_id, mod, ann, ben, db.run(build))


def search(db, actor_id: int, page: int = 1, page_size: int = 50, **flt) -> transactions.Page:
    with db.read() as session:
        return transactions.search(session, actor_id, TxFilter(**flt), page, page_size)


def totals(db, actor_id: int, **flt) -> Totals:
    with db.read() as session:
        return transactions.totals(session, actor_id, TxFilter(**flt))


def ids(page) -> list[int]:
    return [row.id for row in page.rows]


def test_search_lists_every_row_newest_first(db, book):
    assert ids(search(db, book.admin)) == book.r(9, 8, 7, 6, 5, 4, 3, 2, 1)


def test_a_date_range_is_whole_utc_days_both_ends_included(db, book):
    page = search(db, book.admin, date_from=date(2024, 5, 2), date_to=date(2024, 5, 3))

    assert ids(page) == book.r(7, 6, 5, 4, 3)


def test_date_from_alone_starts_at_midnight(db, book):
    assert ids(search(db, book.admin, date_from=date(2024, 5, 4))) == book.r(9, 8)


def test_date_to_alone_includes_that_whole_day(db, book):
    assert ids(search(db, book.admin, date_to=date(2024, 5, 1))) == book.r(2, 1)


def test_filter_by_user_email_is_case_insensitive(db, book):
    assert ids(search(db, book.admin, user_email=" ANN@Example.com ")) == book.r(9, 6, 5, 4, 3, 1)


def test_filter_by_part_of_the_user_email(db, book):
    assert ids(search(db, book.admin, user_email="NN@")) == book.r(9, 6, 5, 4, 3, 1)
    assert totals(db, book.admin, user_email="en@ex").tokens_sold == 20


@pytest.mark.parametrize("part", ["a_n", "a%n", "%", "_"])
def test_a_percent_sign_or_underscore_in_the_user_email_filter_is_literal(db, book, part):
    assert search(db, book.admin, user_email=part).total == 0


def test_an_unknown_email_gives_an_empty_page_and_zero_totals(db, book):
    page = search(db, book.admin, user_email="nobody@example.com")

    assert (page.rows, page.total) == ([], 0)
    assert totals(db, book.admin, user_email="nobody@example.com") == Totals()


def test_filter_by_kind(db, book):
    assert ids(search(db, book.admin, kinds=("charge",))) == book.r(7, 5, 4)
    assert ids(search(db, book.admin, kinds=("refund", "adjustment"))) == book.r(9, 8, 6)


def test_filter_by_status(db, book):
    assert ids(search(db, book.admin, statuses=("pending",))) == book.r(7)
    assert ids(search(db, book.admin, statuses=("refunded",))) == book.r(5)


def test_filter_by_currency(db, book):
    assert ids(search(db, book.admin, currencies=("EUR",))) == book.r(3)
    assert ids(search(db, book.admin, currencies=("USD",))) == book.r(2, 1)


def test_filters_combine(db, book):
    page = search(
        db,
        book.admin,
        user_email="ann@example.com",
        kinds=("charge",),
        statuses=("success",),
        date_from=date(2024, 5, 2),
        date_to=date(2024, 5, 2),
    )

    assert ids(page) == book.r(4)


def test_rows_carry_money_reasons_and_the_acting_admin(db, book):
    rows = {row.id: row for row in search(db, book.admin).rows}
    topup, refund, grant = rows[book.r(3)[0]], rows[book.r(6)[0]], rows[book.r(8)[0]]

    assert (topup.user_email, topup.kind, topup.tokens) == ("ann@example.com", "topup", 3)
    assert (topup.amount, topup.currency, topup.rate) == (Decimal("1.50"), "EUR", Decimal("0.50"))
    assert (refund.kind, refund.tokens, refund.operation, refund.note) == ("refund", 1, "fix", "model down")
    assert (grant.kind, grant.tokens, grant.note, grant.actor_email) == (
        "adjustment",
        5,
        "goodwill",
        "root@example.com",
    )
    assert grant.created_at == at(5, 4)


def test_search_pages_report_totals_and_walk_every_row_once(db, book):
    pages = [search(db, book.admin, page=n, page_size=4) for n in (1, 2, 3)]

    assert [(p.total, p.pages, len(p.rows)) for p in pages] == [(9, 3, 4), (9, 3, 4), (9, 3, 1)]
    assert [i for p in pages for i in ids(p)] == book.r(9, 8, 7, 6, 5, 4, 3, 2, 1)


def test_the_page_total_counts_the_filtered_rows(db, book):
    page = search(db, book.admin, page_size=2, kinds=("charge",))

    assert (page.total, page.pages, ids(page)) == (3, 2, book.r(7, 5))


def test_totals_of_everything(db, book):
    assert totals(db, book.admin) == Totals(
        count=9,
        money={"EUR": Decimal("1.50"), "USD": Decimal("3.00")},
        tokens_sold=33,
        tokens_charged=3,  # R4, R5 (refunded later) and R7 (pending)
        tokens_refunded=1,
        tokens_adjusted=3,  # +5 - 2
    )


def test_totals_of_one_user(db, book):
    assert totals(db, book.admin, user_email="ann@example.com") == Totals(
        count=6,
        money={"EUR": Decimal("1.50"), "USD": Decimal("1.00")},
        tokens_sold=13,
        tokens_charged=2,
        tokens_refunded=1,
        tokens_adjusted=-2,
    )


def test_totals_of_a_date_range(db, book):
    assert totals(db, book.admin, date_from=date(2024, 5, 2), date_to=date(2024, 5, 3)) == Totals(
        count=5,
        money={"EUR": Decimal("1.50")},
        tokens_sold=3,
        tokens_charged=3,
        tokens_refunded=1,
        tokens_adjusted=0,
    )


def test_totals_of_one_currency(db, book):
    assert totals(db, book.admin, currencies=("USD",)) == Totals(
        count=2, money={"USD": Decimal("3.00")}, tokens_sold=30
    )


def test_totals_of_a_range_without_rows_are_zeros(db, book):
    assert totals(db, book.admin, date_from=date(2024, 6, 1)) == Totals()


def test_iter_rows_yields_everything_oldest_first_across_batches(db, book):
    with db.read() as session:
        rows = list(transactions.iter_export_rows(session, TxFilter(), batch_size=3))

    assert [row.id for row in rows] == book.rows
    assert rows[7].note == "goodwill"


def test_iter_rows_applies_the_filter(db, book):
    with db.read() as session:
        rows = list(
            transactions.iter_export_rows(session, TxFilter(user_email="ben@example.com"), batch_size=2)
        )

    assert [row.id for row in rows] == book.r(2, 7, 8)


def test_iter_rows_of_an_unknown_email_yields_nothing(db, book):
    with db.read() as session:
        rows = list(
            transactions.iter_export_rows(session, TxFilter(user_email="x@example.com"), batch_size=3)
        )

    assert rows == []


BAD_FILTERS = [
    {"kinds": ("gift",)},
    {"statuses": ("lost",)},
    {"date_from": date(2024, 5, 3), "date_to": date(2024, 5, 2)},
]


@pytest.mark.parametrize("flt", BAD_FILTERS, ids=lambda f: ",".join(f))
def test_bad_filters_are_refused_by_search(db, book, flt):
    with pytest.raises(ValidationError):
        search(db, book.admin, **flt)


@pytest.mark.parametrize("flt", BAD_FILTERS, ids=lambda f: ",".join(f))
def test_bad_filters_are_refused_by_totals(db, book, flt):
    with pytest.raises(ValidationError):
        totals(db, book.admin, **flt)


@pytest.mark.parametrize(("page", "page_size"), [(0, 50), (1, 0), (1, 1000)])
def test_bad_paging_is_refused(db, book, page, page_size):
    with pytest.raises(ValidationError):
        search(db, book.admin, page=page, page_size=page_size)


def test_moderators_can_search_transactions(db, book):
    assert search(db, book.mod).total == 9
    assert totals(db, book.mod).count == 9


def test_users_cannot_search_transactions(db, book):
    with pytest.raises(NotAuthorized):
        search(db, book.ann)
    with pytest.raises(NotAuthorized):
        totals(db, book.ann)


# === balance adjustments ===================================================================


@pytest.fixture
def staff(make_user, fund) -> dict[str, int]:
    ids = {
        "admin": make_user("root@example.com", role=Role.ADMIN),
        "other_admin": make_user("second@example.com", role=Role.ADMIN),
        "mod": make_user("mod@example.com", role=Role.MODERATOR),
        "user": make_user("payer@example.com"),
    }
    fund(ids["user"], 3)
    fund(ids["admin"], 3)
    return ids


def adjust(db, admin_id: int, user_id: int, tokens: object, reason: str = "support ticket 42"):
    return db.run(lambda s: billing.adjust_balance(s, admin_id, user_id, tokens, reason))


def balance(db, user_id: int) -> int:
    with db.read() as session:
        return billing.balance_of(session, user_id)


def audit_rows(db, action: str | None = None) -> list[AuditEntry]:
    with db.read() as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query))


def test_an_adjustment_is_a_ledger_row_of_its_own_kind(db, staff):
    tx = adjust(db, staff["admin"], staff["user"], "+7", "  compensation for outage  ")

    with db.read() as session:
        row = session.get(Transaction, tx.id)
    assert (row.user_id, row.kind, row.status, row.tokens) == (staff["user"], "adjustment", "success", 7)
    assert (row.note, row.actor_id) == ("compensation for outage", staff["admin"])
    assert (row.amount, row.currency, row.operation) == (None, None, None)


def test_an_adjustment_changes_the_balance_and_keeps_the_ledger_exact(db, staff):
    adjust(db, staff["admin"], staff["user"], "10")
    adjust(db, staff["admin"], staff["user"], "-4")

    assert balance(db, staff["user"]) == 3 + 10 - 4
    with db.read() as session:
        assert billing.ledger_mismatches(session) == []


def test_the_balance_may_be_taken_to_exactly_zero(db, staff):
    adjust(db, staff["admin"], staff["user"], "-3")

    assert balance(db, staff["user"]) == 0


def test_the_balance_cannot_go_below_zero_and_nothing_is_written(db, staff, db_state):
    before = db_state()

    with pytest.raises(ValidationError, match="below zero"):
        adjust(db, staff["admin"], staff["user"], "-4")

    assert db_state() == before


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(db, staff, db_state, reason):
    before = db_state()

    with pytest.raises(ValidationError, match="reason"):
        adjust(db, staff["admin"], staff["user"], "5", reason)

    assert db_state() == before


def test_a_reason_longer_than_255_characters_is_refused(db, staff, db_state):
    before = db_state()

    with pytest.raises(ValidationError, match="255"):
        adjust(db, staff["admin"], staff["user"], "5", "x" * 256)

    assert db_state() == before


BAD_ADJUSTMENTS = [
    "0",
    "-0",
    "",
    None,
    "1.5",
    1.5,
    "abc",
    "1e3",
    "٣",
    True,  # zero or not a whole number
    "+-5",
    "--5",  # two signs
    "1000001",
    "-1000001",
    "9" * 5000,  # beyond a million either way
]


@pytest.mark.parametrize("tokens", BAD_ADJUSTMENTS, ids=lambda v: repr(v)[:20])
def test_zero_non_integer_and_huge_adjustments_are_refused(db, staff, db_state, tokens):
    before = db_state()

    with pytest.raises(ValidationError):
        adjust(db, staff["admin"], staff["user"], tokens)

    assert db_state() == before


@pytest.mark.parametrize(("raw", "tokens"), [("1000000", 1_000_000), (" -2 ", -2), (12, 12)])
def test_whole_numbers_up_to_a_million_either_way_are_accepted(db, staff, raw, tokens):
    assert adjust(db, staff["admin"], staff["user"], raw).tokens == tokens


def test_admins_cannot_adjust_their_own_balance(db, staff, db_state):
    before = db_state()

    with pytest.raises(NotAuthorized, match="own balance"):
        adjust(db, staff["admin"], staff["admin"], "5")

    assert db_state() == before


def test_another_admin_can_adjust_an_admins_balance(db, staff):
    adjust(db, staff["other_admin"], staff["admin"], "5")

    assert balance(db, staff["admin"]) == 8


def test_moderators_cannot_adjust_balances(db, staff, db_state):
    before = db_state()

    with pytest.raises(NotAuthorized):
        adjust(db, staff["mod"], staff["user"], "5")

    assert db_state() == before


def test_users_cannot_adjust_balances(db, staff):
    with pytest.raises(NotAuthorized):
        adjust(db, staff["user"], staff["mod"], "5")


def test_adjusting_an_unknown_user_is_refused(db, staff):
    with pytest.raises(ValidationError, match="does not exist"):
        adjust(db, staff["admin"], 999_999, "5")


def test_each_adjustment_writes_one_audit_row(db, staff):
    first = adjust(db, staff["admin"], staff["user"], "5", "goodwill")
    second = adjust(db, staff["admin"], staff["user"], "-2", "duplicate")

    entries = audit_rows(db, audit.BALANCE_ADJUSTMENT)
    assert [(e.actor_id, e.target_user_id) for e in entries] == [
        (staff["admin"], staff["user"]),
        (staff["admin"], staff["user"]),
    ]
    with db.read() as session:
        details = [row.details for row in audit_log.entries(session, staff["admin"])]
    assert details == [
        {"tokens": -2, "reason": "duplicate", "transaction_id": second.id},
        {"tokens": 5, "reason": "goodwill", "transaction_id": first.id},
    ]


# === the audit log =========================================================================


@pytest.fixture
def crew(make_user) -> dict[str, int]:
    return {
        "admin": make_user("Root@Example.com", role=Role.ADMIN),
        "other_admin": make_user("second@example.com", role=Role.ADMIN),
        "mod": make_user("mod@example.com", role=Role.MODERATOR),
        "user": make_user("payer@example.com"),
    }


def entries(db, actor_id: int, **filters) -> list[audit_log.AuditRow]:
    with db.read() as session:
        return audit_log.entries(session, actor_id, **filters)


def test_set_rate_is_audited_with_the_old_and_new_rate(db, crew):
    db.run(lambda s: billing.set_rate(s, crew["admin"], "eur", "0.25"))

    (row,) = entries(db, crew["admin"])
    assert (row.action, row.actor, row.target) == ("rate_change", "Root@Example.com", None)
    old_rate, old_currency = row.details["old"].split()
    new_rate, new_currency = row.details["new"].split()
    assert (Decimal(old_rate), old_currency) == (Decimal("0.10"), "USD")
    assert (Decimal(new_rate), new_currency) == (Decimal("0.25"), "EUR")


def test_set_role_is_audited_with_the_old_and_new_role(db, crew):
    db.run(lambda s: roles.set_role(s, crew["admin"], crew["user"], "moderator"))

    (row,) = entries(db, crew["admin"])
    assert (row.action, row.actor, row.target) == ("role_change", "Root@Example.com", "payer@example.com")
    assert row.details == {"old": "user", "new": "moderator"}


def test_block_and_unblock_are_audited(db, crew):
    db.run(lambda s: roles.set_blocked(s, crew["admin"], crew["user"], True))
    db.run(lambda s: roles.set_blocked(s, crew["admin"], crew["user"], False))

    unblock, block = entries(db, crew["admin"])
    assert (block.action, block.target, block.details) == (
        "block",
        "payer@example.com",
        {"sessions_ended": 0},
    )
    assert (unblock.action, unblock.target, unblock.details) == ("unblock", "payer@example.com", {})


def test_a_refused_admin_action_writes_no_audit_row(db, crew):
    with pytest.raises(ValidationError):
        db.run(lambda s: roles.set_role(s, crew["admin"], crew["user"], "user"))
    with pytest.raises(ValidationError):
        db.run(lambda s: billing.set_rate(s, crew["admin"], "USD", "0.10"))

    assert audit_rows(db) == []


@pytest.fixture
def history(db, crew) -> dict[str, int]:
    """Four audited actions, placed on three days (newest first by id within a day):

    05-01 10:00  Root    rate_change
    05-02 00:00  second  block payer
    05-02 23:59  Root    unblock payer
    05-03 09:00  second  role_change payer -> moderator
    """

    def build(session) -> None:
        billing.set_rate(session, crew["admin"], "EUR", "0.25")
        roles.set_blocked(session, crew["other_admin"], crew["user"], True)
        roles.set_blocked(session, crew["admin"], crew["user"], False)
        roles.set_role(session, crew["other_admin"], crew["user"], "moderator")
        session.flush()
        audit_ids = session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
        for audit_id, when in zip(
            audit_ids, [at(5, 1, 10), at(5, 2), at(5, 2, 23, 59), at(5, 3, 9)], strict=True
        ):
            place(session, AuditEntry, audit_id, created_at=when)

    db.run(build)
    return crew


def actions(rows: list[audit_log.AuditRow]) -> list[str]:
    return [row.action for row in rows]


def test_entries_are_newest_first(db, history):
    assert actions(entries(db, history["admin"])) == ["role_change", "unblock", "block", "rate_change"]


def test_entries_filter_by_action(db, history):
    assert actions(entries(db, history["admin"], action="block")) == ["block"]


def test_entries_filter_by_actor_email_case_insensitively(db, history):
    assert actions(entries(db, history["admin"], actor_email=" root@EXAMPLE.com ")) == [
        "unblock",
        "rate_change",
    ]


def test_entries_filter_by_whole_utc_days(db, history):
    rows = entries(db, history["admin"], date_from=date(2024, 5, 2), date_to=date(2024, 5, 2))

    assert actions(rows) == ["unblock", "block"]
    assert rows[0].created_at == at(5, 2, 23, 59)


def test_entries_filters_combine(db, history):
    rows = entries(db, history["admin"], actor_email="second@example.com", date_from=date(2024, 5, 3))

    assert actions(rows) == ["role_change"]


def test_moderators_can_read_the_audit_log(db, history):
    assert len(entries(db, history["mod"])) == 4


def test_users_cannot_read_the_audit_log(db, history, make_user):
    with pytest.raises(NotAuthorized):
        entries(db, make_user("plain@example.com"))
