"""The audit log told as sentences (reports.audit.describe): each action as staff read it, with
its before and after values, from what the real actions record."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from textedit_core import i18n
from textedit_core.billing import ledger
from textedit_core.identity import accounts, roles
from textedit_core.infra import audit
from textedit_core.infra.models import Role
from textedit_core.reports import audit as audit_log
from textedit_core.reports import exports
from textedit_core.reports.transactions import TxFilter


@pytest.fixture
def crew(make_user) -> dict[str, int]:
    return {"admin": make_user("root@example.com", role=Role.ADMIN), "anna": make_user("anna@example.com")}


def newest_summary(db, crew) -> str:
    with db.read() as session:
        return audit_log.entries(session, crew["admin"])[0].summary


def row(action: str, details: dict, target: str | None = "anna@example.com") -> audit_log.AuditRow:
    return audit_log.AuditRow(
        1, datetime(2024, 5, 1, tzinfo=UTC), "root@example.com", action, target, details
    )


def test_a_rate_change_states_the_new_and_the_old_rate_with_two_decimals_at_least(db, crew):
    db.run(lambda s: ledger.set_rate(s, crew["admin"], "EUR", "0.125"))

    assert newest_summary(db, crew) == "Changed the rate: 1 token = 0.125 EUR (was 0.10 USD)"


def test_a_role_change_states_the_old_and_the_new_role(db, crew):
    db.run(lambda s: roles.set_role(s, crew["admin"], crew["anna"], "moderator"))

    assert newest_summary(db, crew) == "Changed anna@example.com's role: user → moderator"


def test_a_block_states_how_many_sessions_it_ended(db, crew):
    db.run(lambda s: roles.set_blocked(s, crew["admin"], crew["anna"], True))

    assert newest_summary(db, crew) == "Blocked anna@example.com (ended 0 sessions)"


def test_a_block_that_ended_one_session_says_session():
    assert row("block", {"sessions_ended": 1}).summary == "Blocked anna@example.com (ended 1 session)"


def test_an_unblock_names_the_user(db, crew):
    db.run(lambda s: roles.set_blocked(s, crew["admin"], crew["anna"], True))
    db.run(lambda s: roles.set_blocked(s, crew["admin"], crew["anna"], False))

    assert newest_summary(db, crew) == "Unblocked anna@example.com"


def test_a_balance_adjustment_states_the_signed_tokens_and_the_reason(db, crew):
    db.run(lambda s: ledger.adjust_balance(s, crew["admin"], crew["anna"], "50", "Welcome bonus"))

    assert newest_summary(db, crew) == "Adjusted anna@example.com's balance by +50 tokens: Welcome bonus"


def test_a_removal_of_one_token_says_token():
    details = {"tokens": -1, "reason": "Duplicate", "transaction_id": 7}

    assert row("balance_adjustment", details).summary == (
        "Adjusted anna@example.com's balance by -1 token: Duplicate"
    )


def test_an_export_of_everything_states_the_rows_and_the_format(db, crew, tmp_path):
    exports.export_transactions(db, crew["admin"], TxFilter(), "csv", tmp_path / "all.csv")

    assert newest_summary(db, crew) == "Exported 0 transactions as CSV"


def test_a_filtered_export_states_its_filter(db, crew, tmp_path):
    flt = TxFilter(date(2024, 5, 1), date(2024, 5, 31), "anna", ("topup", "charge"), (), ("EUR",))
    exports.export_transactions(db, crew["admin"], flt, "xlsx", tmp_path / "some.xlsx")

    assert newest_summary(db, crew) == (
        "Exported 0 transactions as XLSX "
        "(1 May 2024 to 31 May 2024; user anna; kind: Top-up, Charge; currency: EUR)"
    )


def test_a_large_export_groups_the_thousands():
    details = {"format": "csv", "rows": 1234, "filter": {"date_from": "2024-05-01"}, "file": "x.csv"}

    assert row("export", details, target=None).summary == (
        "Exported 1,234 transactions as CSV (from 1 May 2024)"
    )


def test_an_action_this_version_does_not_know_shows_its_record():
    assert row("merge_accounts", {"into": 3}).summary == 'merge_accounts: {"into": 3}'


def test_a_password_reset_states_how_many_sessions_it_ended():
    details = {"sessions_ended": 2, "expires_at": "2024-05-01 01:00:00+00:00"}

    assert row("password_reset", details).summary == (
        "Issued a password reset code for anna@example.com (ended 2 sessions)"
    )


@pytest.mark.parametrize(
    ("change", "sentence"),
    [([True, False], "Made cache hits free"), ([False, True], "Made cache hits cost a token")],
)
def test_the_cache_switch_states_what_a_hit_costs_now(change, sentence):
    assert row("cache_setting", {"hits_cost_token": change}, None).summary == sentence


def test_clearing_the_cache_states_how_many_answers_went():
    assert row("cache_clear", {"entries": 3}, None).summary == "Cleared the result cache (3 answers)"


def test_a_change_of_the_allowed_models_states_the_list_and_the_one_before():
    details = {"models": [["qwen2.5:3b"], ["qwen2.5:3b", "llama3.2:1b"]]}
    assert row("model_allow_list", details, None).summary == (
        "Changed the allowed models: qwen2.5:3b, llama3.2:1b (was qwen2.5:3b)"
    )


def test_a_pull_names_the_model_and_the_host():
    details = {"host": "http://10.0.0.5:11434", "model": "llama3.2:1b"}
    assert row("model_pull", details, None).summary == (
        "Started pulling llama3.2:1b onto http://10.0.0.5:11434"
    )


def pending(db, email: str) -> int:
    new = accounts.prepare_registration(email, "amber kettle under snow")
    return db.run(lambda s: accounts.create_user(s, new, pending=True).id)


def test_an_approval_names_the_user(db, crew):
    waiting = pending(db, "nina@example.com")
    db.run(lambda s: roles.approve_signup(s, crew["admin"], waiting))

    assert newest_summary(db, crew) == "Approved nina@example.com's sign-up"


def test_a_rejection_names_the_user_and_says_the_account_stays_blocked(db, crew):
    waiting = pending(db, "nina@example.com")
    db.run(lambda s: roles.reject_signup(s, crew["admin"], waiting))

    assert newest_summary(db, crew) == "Rejected nina@example.com's sign-up (the account stays blocked)"


def test_an_account_created_by_an_admin_names_the_user(db, crew):
    new = accounts.prepare_registration("nina@example.com", "amber kettle under snow")
    db.run(lambda s: roles.create_account(s, crew["admin"], new))

    assert newest_summary(db, crew) == "Created an account for nina@example.com"


def test_every_action_has_a_readable_label():
    assert list(audit_log.ACTION_LABELS) == list(audit.ACTIONS)
    assert list(audit_log.ACTION_LABELS.values()) == [
        "Rate change",
        "Role change",
        "Blocking",
        "Unblocking",
        "Balance adjustment",
        "Transactions export",
        "Password reset",
        "Operation settings",
        "Cache setting",
        "Cache cleared",
        "Allowed models",
        "Model pull",
        "Sign-up approval",
        "Sign-up rejection",
        "Account creation",
    ]


# --- in Russian ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ended", "sentence"),
    [
        (1, "Пользователь anna@example.com заблокирован (завершён 1 сеанс)"),
        (2, "Пользователь anna@example.com заблокирован (завершены 2 сеанса)"),
        (5, "Пользователь anna@example.com заблокирован (завершено 5 сеансов)"),
    ],
)
def test_a_block_is_told_in_russian_with_the_plural_form_its_count_needs(ended, sentence):
    with i18n.language("ru"):
        assert row("block", {"sessions_ended": ended}).summary == sentence


def test_a_balance_adjustment_is_told_in_russian_with_its_sign_and_reason():
    details = {"tokens": 50, "reason": "Welcome bonus", "transaction_id": 7}
    with i18n.language("ru"):
        assert row("balance_adjustment", details).summary == (
            "Баланс anna@example.com изменён на +50 токенов: Welcome bonus"
        )


def test_a_filtered_export_is_told_in_russian_with_russian_dates_numbers_and_kinds():
    details = {
        "format": "csv",
        "rows": 1234,
        "filter": {"date_from": "2024-05-01", "date_to": "2024-05-31", "kinds": ["topup"]},
        "file": "x.csv",
    }
    with i18n.language("ru"):
        assert row("export", details, target=None).summary == (
            "Выгружены 1\u00a0234 операции в формате CSV (с 1 мая 2024 по 31 мая 2024; тип: Пополнение)"
        )


def test_a_role_change_names_both_roles_in_russian():
    with i18n.language("ru"):
        assert row("role_change", {"old": "user", "new": "moderator"}).summary == (
            "Изменена роль anna@example.com: пользователь → модератор"
        )
