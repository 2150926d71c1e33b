"""Admin actions: roles, blocking, sign-up approval, new accounts, balance adjustments, the token
rate (with its preview) and the operations' settings (with a preview run of the model)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from textedit_core import i18n
from textedit_core.billing import ledger, money
from textedit_core.context import Services
from textedit_core.editing import guard, jobs
from textedit_core.editing import settings as op_settings
from textedit_core.errors import ValidationError
from textedit_core.i18n import _
from textedit_core.identity import accounts, resets, roles
from textedit_core.infra import mailer
from textedit_core.infra.models import Role
from textedit_core.usecases.common import act, read

log = logging.getLogger(__name__)

# The amount the rate preview prices: "100.00 USD now buys 1,000 tokens".
PREVIEW_AMOUNT = Decimal(100)


@dataclass(frozen=True)
class UserChanged:
    email: str
    role: str
    blocked: bool


@dataclass(frozen=True)
class Adjusted:
    transaction_id: int
    tokens: int


@dataclass(frozen=True)
class RatePreview:
    currency: str
    rate: Decimal
    amount: Decimal  # PREVIEW_AMOUNT, in `currency`
    tokens: int  # what `amount` buys at `rate` (the top-up quote; 0 if not even one token)


@dataclass(frozen=True)
class RateChangePreview:
    """A proposed rate next to the one in force, for the confirmation: "100.00 USD now buys
    1,000 tokens; was 500"."""

    old: RatePreview  # the rate in force
    new: RatePreview  # the proposed one

    @property
    def changed(self) -> bool:
        return (self.new.currency, self.new.rate) != (self.old.currency, self.old.rate)


@dataclass(frozen=True)
class RateOverview:
    rate: ledger.Rate  # in force
    buys: RatePreview  # what PREVIEW_AMOUNT buys at it
    history: list[ledger.RateChange]  # newest first


def _changed(user) -> UserChanged:
    return UserChanged(user.email, user.role, user.is_blocked)


def set_role(svc: Services, access_token: str | None, target_id: int, role: str) -> UserChanged:
    return act(
        svc, access_token, lambda s, me: _changed(roles.set_role(s, me.id, target_id, role)), Role.ADMIN
    )


def set_blocked(svc: Services, access_token: str | None, target_id: int, blocked: bool) -> UserChanged:
    """Block (ending all the user's sessions at once) or unblock."""
    return act(
        svc,
        access_token,
        lambda s, me: _changed(roles.set_blocked(s, me.id, target_id, blocked)),
        Role.ADMIN,
    )


def approve_signup(svc: Services, access_token: str | None, target_id: int) -> UserChanged:
    """Let an account that signed up under TEXTEDIT_SIGNUP=approval in, crediting its free
    tokens (TEXTEDIT_SIGNUP_TOKENS) in the same transaction; audited."""

    def work(session, me) -> UserChanged:
        user = roles.approve_signup(session, me.id, target_id)
        ledger.grant(session, user.id, svc.settings.signup_tokens)
        return _changed(user)

    return act(svc, access_token, work, Role.ADMIN)


def reject_signup(svc: Services, access_token: str | None, target_id: int) -> UserChanged:
    """Turn a pending sign-up down: the account stays blocked and is kept; audited."""
    return act(
        svc,
        access_token,
        lambda s, me: _changed(roles.reject_signup(s, me.id, target_id)),
        Role.ADMIN,
    )


def adjust_balance(
    svc: Services, access_token: str | None, target_id: int, tokens_raw: object, reason: str
) -> Adjusted:
    def work(session, me) -> Adjusted:
        tx = ledger.adjust_balance(session, me.id, target_id, tokens_raw, reason)
        return Adjusted(tx.id, tx.tokens)

    return act(svc, access_token, work, Role.ADMIN)


def check_adjustment(
    svc: Services, access_token: str | None, target_id: int, tokens_raw: object, reason: str
) -> ledger.Adjustment:
    """What `adjust_balance` would do (balance before and after), refused as it would refuse;
    writes nothing. For the confirmation the admin sees first."""
    return read(
        svc,
        access_token,
        lambda s, me: ledger.check_adjustment(s, me.id, target_id, tokens_raw, reason),
        Role.ADMIN,
    )


def _preview(currency: str, rate: Decimal) -> RatePreview:
    try:
        quote = ledger.quote_topup(PREVIEW_AMOUNT, ledger.Rate(id=0, currency=currency, rate=rate))
    except ValidationError:  # the amount does not buy a single token at this rate
        return RatePreview(currency, rate, PREVIEW_AMOUNT, 0)
    return RatePreview(currency, rate, PREVIEW_AMOUNT, quote.tokens)


def rate_preview(currency_raw: object, rate_raw: object) -> RatePreview:
    """What PREVIEW_AMOUNT would buy at a proposed rate; ValidationError for a bad entry."""
    return _preview(money.parse_currency(currency_raw), money.parse_rate(rate_raw))


def rate_change_preview(in_force: RatePreview, currency_raw: object, rate_raw: object) -> RateChangePreview:
    """A proposed rate compared with the one in force (`RateOverview.buys`); ValidationError for
    a bad entry."""
    return RateChangePreview(in_force, rate_preview(currency_raw, rate_raw))


def rate_overview(svc: Services, access_token: str | None) -> RateOverview:
    def work(session, _me) -> RateOverview:
        rate = ledger.current_rate(session)
        return RateOverview(rate, _preview(rate.currency, rate.rate), ledger.rate_history(session))

    return read(svc, access_token, work, Role.ADMIN)


def set_rate(svc: Services, access_token: str | None, currency_raw: object, rate_raw: object) -> ledger.Rate:
    """A new rate for new top-ups (audited); past top-ups keep theirs."""
    return act(
        svc,
        access_token,
        lambda s, me: ledger.set_rate(s, me.id, currency_raw, rate_raw),
        Role.ADMIN,
    )


@dataclass(frozen=True)
class OperationChange:
    """Settings as entered next to those in force, for the form and its confirmation."""

    in_force: op_settings.OperationSettings
    entered: op_settings.OperationSettings  # version 0: not saved

    @property
    def changes(self) -> dict[str, list[object]]:
        """{field: [old, new]} for each field the entry changes (none: nothing to save)."""
        return op_settings.changes(self.in_force, self.entered)

    @property
    def next_version(self) -> int:
        return self.in_force.version + 1


def operation_change(
    in_force: op_settings.OperationSettings,
    task: object,
    temperature: object,
    budget_chars_per_token: object,
    budget_extra_tokens: object,
    model: object,
) -> OperationChange:
    """Entered settings checked and compared with those in force; ValidationError for a bad
    entry. Reads and writes nothing."""
    entered = op_settings.draft(
        in_force.operation, task, temperature, budget_chars_per_token, budget_extra_tokens, model
    )
    return OperationChange(in_force, entered)


def operation_settings(svc: Services, access_token: str | None) -> dict[str, op_settings.SettingsVersion]:
    """Each operation's settings in force, with their version and who saved them when."""
    return read(svc, access_token, lambda s, _me: op_settings.all_current(s), Role.ADMIN)


def operation_history(
    svc: Services, access_token: str | None, operation: str
) -> list[op_settings.SettingsVersion]:
    """Every version of an operation's settings, newest (in force) first, down to version 1."""
    return read(svc, access_token, lambda s, _me: op_settings.history(s, operation), Role.ADMIN)


def change_operation_settings(
    svc: Services,
    access_token: str | None,
    operation: str,
    task: object,
    temperature: object,
    budget_chars_per_token: object,
    budget_extra_tokens: object,
    model: object,
    *,
    expected_version: int | None = None,
) -> op_settings.OperationSettings:
    """Save the settings as the operation's next version, in force from the next edit (audited).
    `expected_version`: the version the form started from (refused if another admin saved since)."""
    return act(
        svc,
        access_token,
        lambda s, me: op_settings.change(
            s,
            me.id,
            operation,
            task,
            temperature,
            budget_chars_per_token,
            budget_extra_tokens,
            model,
            expected_version=expected_version,
        ),
        Role.ADMIN,
    )


def preview_operation(
    svc: Services,
    access_token: str | None,
    operation: str,
    task: object,
    temperature: object,
    budget_chars_per_token: object,
    budget_extra_tokens: object,
    model: object,
    sample_text: str,
) -> str:
    """The answer to `sample_text` with the entered settings, unsaved, as an edit would deliver it
    (through the answer guard). An admin's tool: it charges nothing and writes nothing. A model
    failure or a refused answer raises its ModelError, as in the editor."""
    read(svc, access_token, lambda _s, _me: None, Role.ADMIN)
    entered = op_settings.draft(
        operation, task, temperature, budget_chars_per_token, budget_extra_tokens, model
    )
    jobs.validate_text(sample_text, svc.settings.max_input_chars)
    prompt = entered.as_operation()
    answer = "".join(svc.gateway.stream(prompt, sample_text, entered.model, record=False))
    return guard.guarded_answer(prompt, sample_text, answer)


@dataclass(frozen=True)
class ResetIssued:
    email: str
    code: str  # shown to the admin once; only its hash is stored
    expires_at: datetime
    sessions_ended: int
    # None: no mail server is configured; False: sending failed (the code works all the same).
    emailed: bool | None


def issue_password_reset(svc: Services, access_token: str | None, target_id: int) -> ResetIssued:
    """A one-time reset code for the user (replacing any older one), ending all their sessions;
    audited. Also emailed to them when a mail server is configured."""
    issued = act(svc, access_token, lambda s, me: resets.issue(s, me.id, target_id), Role.ADMIN)
    return _delivered(svc, issued)


def create_account(svc: Services, access_token: str | None, email: str) -> ResetIssued:
    """A new, active account for `email`, with its free tokens (TEXTEDIT_SIGNUP_TOKENS) and a
    one-time code for its owner to set a password on the login page (emailed too when a mail
    server is configured). The way in when sign-up is closed; audited. The admin never knows
    the password: until the code is used, the account has a random one nobody was told."""
    read(svc, access_token, lambda _s, _me: None, Role.ADMIN)  # refused before the slow hash
    new = accounts.prepare_registration(email, secrets.token_urlsafe(32))

    def work(session, me) -> resets.Issued:
        user = roles.create_account(session, me.id, new)
        ledger.grant(session, user.id, svc.settings.signup_tokens)
        return resets.issue(session, me.id, user.id)

    return _delivered(svc, act(svc, access_token, work, Role.ADMIN))


def _delivered(svc: Services, issued: resets.Issued) -> ResetIssued:
    """The issued code, emailed to its user when a mail server is configured."""
    emailed = None
    if mailer.configured(svc.settings):
        # In the user's language (the admin's, if they never chose one); the expiry in UTC,
        # since their time zone may be unknown.
        with i18n.language(issued.language or i18n.current_language()):
            subject = _("Your TextEdit password reset code")
            body = _(
                "An administrator of TextEdit issued a password reset code for your account:\n\n"
                "    {code}\n\n"
                "It works once, until {expires}. On the login page, open Reset password and "
                "enter your email, this code and a new password.\n",
                code=issued.code,
                expires=i18n.format_datetime(issued.expires_at, UTC),
            )
        try:
            mailer.send(svc.settings, issued.email, subject, body)
            emailed = True
        except mailer.MailFailed as error:
            log.warning("could not email the reset code for user %d: %s", issued.user_id, error)
            emailed = False
    return ResetIssued(issued.email, issued.code, issued.expires_at, issued.sessions_ended, emailed)
