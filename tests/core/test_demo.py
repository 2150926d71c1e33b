"""Demo mode: the seeded demo database, its guard, the sample texts and `seed-demo`.

One seeded database per backend is shared by the read-only tests of this module (seeding costs
a few seconds, mostly the four Argon2 hashes); tests that write get a database of their own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from tests.conftest import make_test_database
from textedit_core import cli
from textedit_core.billing import ledger
from textedit_core.demo import samples, seed
from textedit_core.errors import ValidationError
from textedit_core.identity import accounts
from textedit_core.infra import audit
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.config import Settings
from textedit_core.infra.db import Database
from textedit_core.infra.models import AuditEntry, Role, Transaction, TxKind, TxStatus, User

REPO_ROOT = Path(__file__).resolve().parents[2]
KNOWN_FAILURES = {reason for reason, _, _ in seed.FAILURES} | {seed.OUTAGE_REASON}


def demo_settings(url: str, data_dir: Path, **overrides) -> Settings:
    values = {"database_url": url, "data_dir": data_dir, "demo_mode": True, **overrides}
    return Settings(_env_file=None, **values)


@dataclass
class Seeded:
    db: Database
    settings: Settings
    summary: seed.DemoSummary
    cache: dict = dataclasses.field(default_factory=dict)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def seeded(request, tmp_path_factory) -> Seeded:
    tmp = tmp_path_factory.mktemp("demo")
    for test_database in make_test_database(request.param, tmp):
        settings = demo_settings(test_database.url, tmp / "data")
        yield Seeded(test_database.db, settings, seed.seed(test_database.db, settings))


def table_rows(db: Database) -> dict[str, list[tuple]]:
    with db.read() as session:
        names = inspect(session.connection()).get_table_names()
        return {
            name: sorted(map(tuple, session.execute(text(f"SELECT * FROM {name}"))), key=repr)
            for name in names
            if name != "alembic_version"
        }


def table_counts(db: Database) -> dict[str, int]:
    with db.read() as session:
        names = inspect(session.connection()).get_table_names()
        return {name: session.scalar(text(f"SELECT COUNT(*) FROM {name}")) for name in names}


def transactions(seeded: Seeded, kind: str) -> list[Transaction]:
    """The ledger rows of one kind, read once per module (the read-only tests share them)."""
    if "transactions" not in seeded.cache:
        with seeded.db.read() as session:
            seeded.cache["transactions"] = list(session.scalars(select(Transaction)))
    return [t for t in seeded.cache["transactions"] if t.kind == kind]


def users(seeded: Seeded) -> list[User]:
    if "users" not in seeded.cache:
        with seeded.db.read() as session:
            seeded.cache["users"] = list(session.scalars(select(User).order_by(User.id)))
    return seeded.cache["users"]


def audit_entries(db: Database, action: str) -> list[AuditEntry]:
    with db.read() as session:
        return list(
            session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        )


# --- accounts -----------------------------------------------------------------------------


def test_seed_creates_the_three_demo_accounts_with_their_roles(seeded):
    roles = {u.email: u.role for u in users(seeded)}
    assert {a.email: roles[a.email] for a in seed.DEMO_ACCOUNTS} == {
        "admin@demo.example": "admin",
        "moderator@demo.example": "moderator",
        "user@demo.example": "user",
    }


def test_seed_creates_at_least_60_more_users_with_plausible_demo_emails(seeded):
    emails = [u.email for u in users(seeded)]
    others = set(emails) - {a.email for a in seed.DEMO_ACCOUNTS}
    assert len(emails) >= 63 and len(others) >= 60
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"[a-z]+[._]?[a-z]+\d*@demo\.example", e) for e in others)
    assert {"anna.petrova@demo.example", "james.miller@demo.example"} <= others


def test_users_were_created_across_the_last_90_days(seeded):
    now = utcnow()
    created = sorted(u.created_at for u in users(seeded))
    assert now - timedelta(days=91) <= created[0] <= now - timedelta(days=85)
    assert created[-1] >= now - timedelta(days=14)
    assert all(c < now for c in created)


def test_the_demo_admin_can_log_in_with_the_printed_password(seeded):
    user = seeded.db.run(lambda s: accounts.authenticate(s, seed.DEMO_ADMIN.email, seed.DEMO_ADMIN.password))
    assert user.role == Role.ADMIN.value


def test_the_demo_user_has_a_healthy_balance(seeded):
    with seeded.db.read() as session:
        user = accounts.find_user_by_email(session, seed.DEMO_USER.email)
    assert user.balance >= 100 and not user.is_blocked


def test_the_generated_users_share_one_hash_apart_from_the_demo_accounts(seeded):
    demo_emails = {a.email for a in seed.DEMO_ACCOUNTS}
    hashes = {u.email: u.password_hash for u in users(seeded)}
    shared = {h for e, h in hashes.items() if e not in demo_emails}
    assert len(shared) == 1
    assert shared.isdisjoint(hashes[e] for e in demo_emails)


def test_the_demo_passwords_meet_the_password_policy():
    for account in seed.DEMO_ACCOUNTS:
        assert accounts.passwords.check_policy(account.password, account.email) == account.password


# --- the ledger ---------------------------------------------------------------------------


def test_seed_creates_every_kind_of_transaction(seeded):
    counts = seeded.summary.transactions
    assert counts["topup"] >= 50 and counts["charge"] >= 1000
    assert counts["refund"] >= 10 and counts["adjustment"] >= 3


def test_transactions_span_the_last_90_days(seeded):
    now = utcnow()
    with seeded.db.read() as session:
        first, last = session.execute(
            select(func.min(Transaction.created_at), func.max(Transaction.created_at))
        ).one()
    assert now - timedelta(days=91) <= first <= now - timedelta(days=85)
    assert now - timedelta(days=1) <= last < now


def test_no_timestamp_lies_in_the_future(seeded):
    now = utcnow()
    with seeded.db.read() as session:
        latest = [
            session.scalar(select(func.max(Transaction.settled_at))),
            session.scalar(select(func.max(AuditEntry.created_at))),
            session.scalar(select(func.max(User.last_login_at))),
        ]
    assert all(moment < now for moment in latest)


def test_every_balance_equals_the_sum_of_its_ledger(seeded):
    with seeded.db.read() as session:
        assert ledger.ledger_mismatches(session) == []


def test_usage_counters_match_the_charges(seeded):
    charges = transactions(seeded, TxKind.CHARGE.value)
    requests = Counter(c.user_id for c in charges)
    spent = Counter(c.user_id for c in charges if c.status != TxStatus.REFUNDED.value)
    for user in users(seeded):
        assert (user.requests_count, user.tokens_spent) == (requests[user.id], spent[user.id])


def test_no_charge_is_left_pending(seeded):
    with seeded.db.read() as session:
        assert ledger.stale_pending_charges(session, 0) == []


def test_every_refund_returns_one_refunded_charge_of_the_same_user(seeded):
    charges = {c.id: c for c in transactions(seeded, TxKind.CHARGE.value)}
    refunds = transactions(seeded, TxKind.REFUND.value)
    refunded = {c.id for c in charges.values() if c.status == TxStatus.REFUNDED.value}
    assert {r.refund_of_id for r in refunds} == refunded
    for refund in refunds:
        charge = charges[refund.refund_of_id]
        assert (refund.user_id, refund.tokens, refund.failure) == (charge.user_id, 1, charge.failure)
        assert refund.created_at == charge.settled_at > charge.created_at


def test_refunds_are_3_to_5_percent_of_charges_with_the_model_failure_messages(seeded):
    refunds = transactions(seeded, TxKind.REFUND.value)
    ratio = len(refunds) / seeded.summary.transactions["charge"]
    assert 0.03 <= ratio <= 0.05
    assert {r.failure for r in refunds} <= KNOWN_FAILURES
    assert "The model did not answer within 120 seconds." in {r.failure for r in refunds}


def test_operations_are_roughly_45_35_20(seeded):
    charges = transactions(seeded, TxKind.CHARGE.value)
    share = {op: n / len(charges) for op, n in Counter(c.operation for c in charges).items()}
    assert share.keys() == {"paraphrase", "fix", "shorten"}
    assert abs(share["paraphrase"] - 0.45) < 0.04
    assert abs(share["fix"] - 0.35) < 0.04
    assert abs(share["shorten"] - 0.20) < 0.04


def test_weekdays_are_busier_than_weekends(seeded):
    days = Counter(c.created_at.date() for c in transactions(seeded, TxKind.CHARGE.value))
    weekday = [n for d, n in days.items() if d.weekday() < 5]
    weekend = [n for d, n in days.items() if d.weekday() >= 5]
    assert sum(weekday) / len(weekday) > 2 * sum(weekend) / len(weekend)


def test_activity_grows_over_time(seeded):
    now = utcnow()
    charges = [c.created_at for c in transactions(seeded, TxKind.CHARGE.value)]
    first_month = sum(1 for c in charges if c < now - timedelta(days=60))
    last_month = sum(1 for c in charges if c >= now - timedelta(days=30))
    assert last_month > 2 * first_month


# --- rate, top-ups, adjustments, audit ----------------------------------------------------


def test_the_rate_changed_about_30_days_ago_from_0_10_to_0_08_usd(seeded):
    with seeded.db.read() as session:
        history = ledger.rate_history(session)
        current = ledger.current_rate(session)
    change, default = history
    assert (current.currency, current.rate) == ("USD", Decimal("0.08"))
    assert (change.old_currency, change.old_rate, change.changed_by) == (
        "USD",
        Decimal("0.1"),
        seed.DEMO_ADMIN.email,
    )
    assert timedelta(days=28) < utcnow() - change.changed_at < timedelta(days=32)
    assert default.changed_at < change.changed_at


def test_the_rate_change_is_in_the_audit_log(seeded):
    (entry,) = audit_entries(seeded.db, audit.RATE_CHANGE)
    assert json.loads(entry.details) == {"old": "0.1 USD", "new": "0.08 USD"}


def test_top_ups_buy_tokens_at_the_rate_in_force_then(seeded):
    with seeded.db.read() as session:
        change = ledger.rate_history(session)[0]
    quotes = {
        rate: {ledger.quote_topup(a, ledger.Rate(0, "USD", rate)).charged for a in (5, 10, 20, 50)}
        for rate in (Decimal("0.1"), Decimal("0.08"))
    }
    for topup in transactions(seeded, TxKind.TOPUP.value):
        expected = Decimal("0.1") if topup.created_at < change.changed_at else Decimal("0.08")
        assert (topup.currency, topup.rate) == ("USD", expected)
        assert topup.amount == topup.tokens * topup.rate
        assert topup.amount in quotes[expected]
        assert topup.idempotency_key


def test_every_adjustment_has_a_reason_and_a_matching_audit_entry(seeded):
    adjustments = {t.id: t for t in transactions(seeded, TxKind.ADJUSTMENT.value)}
    entries = audit_entries(seeded.db, audit.BALANCE_ADJUSTMENT)
    admin_id = users(seeded)[0].id
    assert len(entries) == len(adjustments)
    for entry in entries:
        details = json.loads(entry.details)
        tx = adjustments[details["transaction_id"]]
        assert (tx.tokens, tx.note, tx.user_id) == (
            details["tokens"],
            details["reason"],
            entry.target_user_id,
        )
        assert tx.actor_id == entry.actor_id == admin_id and tx.created_at == entry.created_at
        assert tx.note.strip()
    assert any(t.tokens < 0 for t in adjustments.values())


def test_role_changes_in_the_audit_log_lead_to_the_roles_users_have(seeded):
    by_id = {u.id: u for u in users(seeded)}
    entries = audit_entries(seeded.db, audit.ROLE_CHANGE)
    assert len(entries) >= 2
    last = {}
    for entry in entries:
        details = json.loads(entry.details)
        assert details["old"] == last.get(entry.target_user_id, Role.USER.value)
        last[entry.target_user_id] = details["new"]
    assert all(by_id[user_id].role == role for user_id, role in last.items())
    staff = {u.id for u in by_id.values() if u.role != Role.USER.value and u.email != seed.DEMO_ADMIN.email}
    assert staff <= set(last)


def test_one_user_is_blocked_with_an_audit_entry_and_no_charges_after_it(seeded):
    blocked = [u for u in users(seeded) if u.is_blocked]
    (entry,) = audit_entries(seeded.db, audit.BLOCK)
    assert [u.id for u in blocked] == [entry.target_user_id]
    charges = [c for c in transactions(seeded, TxKind.CHARGE.value) if c.user_id == entry.target_user_id]
    assert charges and max(c.created_at for c in charges) < entry.created_at


def test_token_versions_count_the_role_changes_and_blocks(seeded):
    with seeded.db.read() as session:
        bumps = Counter(
            session.scalars(
                select(AuditEntry.target_user_id).where(
                    AuditEntry.action.in_([audit.ROLE_CHANGE, audit.BLOCK])
                )
            )
        )
    assert {u.id: u.token_version for u in users(seeded) if u.token_version} == dict(bumps)


# --- idempotency --------------------------------------------------------------------------


def test_seeding_again_writes_nothing_and_says_so(seeded):
    before = table_rows(seeded.db)
    again = seed.seed(seeded.db, seeded.settings)
    assert not again.created
    assert table_rows(seeded.db) == before
    assert (again.users, again.transactions) == (seeded.summary.users, seeded.summary.transactions)


def test_the_summary_counts_what_is_in_the_database(seeded):
    counts = table_counts(seeded.db)
    assert seeded.summary.created
    assert seeded.summary.users == counts["users"]
    assert seeded.summary.transactions_total == counts["transactions"]
    assert seeded.summary.audit_entries == counts["audit_log"]


class Rollback(Exception):
    pass


def test_rows_added_after_seeding_get_fresh_ids(seeded):
    # The seed gives ids itself; on PostgreSQL the sequences must have moved past them.
    with seeded.db.read() as session:
        user_id = session.scalar(select(User.id).where(User.email == seed.DEMO_USER.email))
        top_user, top_tx = session.execute(
            select(select(func.max(User.id)).scalar_subquery(), func.max(Transaction.id))
        ).one()
    new_ids = []
    # Rollback: leave the shared database as it was.
    with pytest.raises(Rollback), seeded.db.write() as session:
        new_ids.append(ledger.charge(session, user_id, "fix").id)
        new_ids.append(accounts.create_user(session, accounts.NewAccount("late@demo.example", "x")).id)
        raise Rollback
    assert new_ids[0] > top_tx and new_ids[1] > top_user


# --- the guard ----------------------------------------------------------------------------


def test_seed_refuses_when_demo_mode_is_off(sqlite_db, tmp_path):
    settings = demo_settings(sqlite_db.url, tmp_path, demo_mode=False)
    with pytest.raises(ValidationError, match="TEXTEDIT_DEMO_MODE=true"):
        seed.seed(sqlite_db, settings)
    assert table_counts(sqlite_db)["users"] == 0


def test_seed_refuses_when_the_settings_name_the_main_database(sqlite_db, tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, demo_mode=True)
    assert settings.database_url == "sqlite:///data/textedit.db"
    with pytest.raises(ValidationError, match="main database"):
        seed.seed(sqlite_db, settings)
    assert table_counts(sqlite_db)["users"] == 0


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///data/textedit.db",
        "sqlite:///./data/textedit.db",
        "sqlite:///data/../data/textedit.db",
        f"sqlite:///{Path.cwd() / 'data' / 'textedit.db'}",
    ],
)
def test_the_guard_knows_the_main_database_however_it_is_spelled(url, tmp_path):
    with pytest.raises(ValidationError, match="main database"):
        seed.check_allowed(demo_settings(url, tmp_path))


def test_the_guard_allows_a_separate_database_in_demo_mode(tmp_path):
    seed.check_allowed(demo_settings(seed.DEMO_DATABASE_URL, tmp_path))


def test_seed_refuses_a_database_that_already_has_other_accounts(sqlite_db, tmp_path):
    def add(session) -> None:
        session.add(
            User(
                email="real@example.com",
                email_key="real@example.com",
                password_hash="x",
                role="user",
                is_blocked=False,
                token_version=0,
                balance=0,
                created_at=utcnow(),
            )
        )

    sqlite_db.run(add)
    with pytest.raises(ValidationError, match="new, empty database"):
        seed.seed(sqlite_db, demo_settings(sqlite_db.url, tmp_path))
    assert table_counts(sqlite_db)["users"] == 1


# --- sample texts -------------------------------------------------------------------------


def test_there_are_at_least_four_english_and_four_russian_samples():
    languages = Counter(s.language for s in samples.sample_texts())
    assert languages["en"] >= 4 and languages["ru"] >= 4
    assert set(languages) == {"en", "ru"}


def test_each_language_has_a_sample_for_every_operation():
    pairs = {(s.language, s.operation) for s in samples.sample_texts()}
    assert pairs == {(lang, op) for lang in ("en", "ru") for op in ("fix", "paraphrase", "shorten")}


def test_samples_fit_the_default_input_limit_and_have_titles():
    limit = Settings(_env_file=None).max_input_chars
    for sample in samples.sample_texts():
        assert sample.title.strip() and 200 <= len(sample.text) <= limit


def test_samples_are_frozen():
    sample = samples.sample_texts()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.text = "changed"


# --- the command line ---------------------------------------------------------------------


def run_seed_demo(cwd: Path, **env_vars: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTEDIT_")}
    env.update(env_vars)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "textedit_core", "seed-demo"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,  # no .env from the repository; a relative main database would land here
        timeout=120,
    )


def test_seed_demo_seeds_then_reports_the_data_already_present(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo-data' / 'demo.db'}"
    env = {
        "TEXTEDIT_DATABASE_URL": url,
        "TEXTEDIT_DATA_DIR": str(tmp_path / "demo-data"),
        "TEXTEDIT_DEMO_MODE": "true",
    }
    first = run_seed_demo(tmp_path, **env)
    assert first.returncode == 0, first.stderr
    assert "demo data created" in first.stdout
    db = Database(url)
    try:
        counts = table_counts(db)
        second = run_seed_demo(tmp_path, **env)
        assert second.returncode == 0, second.stderr
        assert "demo data already present" in second.stdout
        assert table_counts(db) == counts
    finally:
        db.dispose()
    for output in (first.stdout, second.stdout):
        for account in seed.DEMO_ACCOUNTS:
            assert account.email in output and account.password in output
        assert "http://localhost:8501" in output
    assert not (tmp_path / "data" / "textedit.db").exists()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """The CLI in this process, run from an empty folder with no TEXTEDIT_ variables set."""
    for name in list(os.environ):
        if name.startswith("TEXTEDIT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_seed_demo_outside_demo_mode_exits_2_and_creates_no_database(in_tmp, monkeypatch, capsys):
    demo_db = in_tmp / "demo-data" / "demo.db"
    monkeypatch.setenv("TEXTEDIT_DATABASE_URL", f"sqlite:///{demo_db}")
    assert cli.main(["seed-demo"]) == 2
    assert "TEXTEDIT_DEMO_MODE=true" in capsys.readouterr().err
    assert list(in_tmp.iterdir()) == []


def test_seed_demo_refuses_the_main_database_and_does_not_create_it(in_tmp, monkeypatch, capsys):
    monkeypatch.setenv("TEXTEDIT_DEMO_MODE", "true")
    assert cli.main(["seed-demo"]) == 2
    assert "main database" in capsys.readouterr().err
    assert list(in_tmp.iterdir()) == []
