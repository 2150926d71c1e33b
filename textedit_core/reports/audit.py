"""The audit log for staff: entries read with filters (written by `infra.audit` with each action),
each told as a sentence (`describe`) for the page, and reusable by the CLI or an export."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from textedit_core import i18n
from textedit_core.billing.money import format_money
from textedit_core.billing.txlabels import kind_label, status_label
from textedit_core.editing.operations import OPERATIONS
from textedit_core.editing.settings import FIELDS as SETTING_FIELDS
from textedit_core.i18n import N_, _, ngettext
from textedit_core.identity.accounts import email_key, require_role
from textedit_core.identity.roles import role_label
from textedit_core.infra import audit
from textedit_core.infra.clock import day_start
from textedit_core.infra.models import STAFF_ROLES, AuditEntry, User
from textedit_core.infra.text_input import check_characters

# The action filter's labels, in infra.audit.ACTIONS order; shown as `action_label(action)`.
ACTION_LABELS = {
    audit.RATE_CHANGE: N_("Rate change"),
    audit.ROLE_CHANGE: N_("Role change"),
    audit.BLOCK: N_("Blocking"),
    audit.UNBLOCK: N_("Unblocking"),
    audit.BALANCE_ADJUSTMENT: N_("Balance adjustment"),
    audit.EXPORT: N_("Transactions export"),
    audit.PASSWORD_RESET: N_("Password reset"),
    audit.OPERATION_SETTINGS: N_("Operation settings"),
    audit.CACHE_SETTING: N_("Cache setting"),
    audit.CACHE_CLEAR: N_("Cache cleared"),
    audit.MODEL_ALLOW_LIST: N_("Allowed models"),
    audit.MODEL_PULL: N_("Model pull"),
    audit.SIGNUP_APPROVAL: N_("Sign-up approval"),
    audit.SIGNUP_REJECTION: N_("Sign-up rejection"),
    audit.ACCOUNT_CREATION: N_("Account creation"),
}


def action_label(action: str) -> str:
    """The action in the current language; an action this version does not know, as recorded."""
    return _(ACTION_LABELS[action]) if action in ACTION_LABELS else action


@dataclass(frozen=True)
class AuditRow:
    id: int
    created_at: datetime
    actor: str | None
    action: str
    target: str | None
    details: dict  # as the action recorded it (infra.audit callers)

    @property
    def summary(self) -> str:
        return describe(self)


def entries(
    session: Session,
    actor_id: int,
    *,
    action: str | None = None,
    actor_email: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 200,
) -> list[AuditRow]:
    """Newest first. Dates are whole UTC days, both ends included."""
    require_role(session, actor_id, *STAFF_ROLES)
    actor, target = aliased(User), aliased(User)
    query = (
        select(AuditEntry, actor.email, target.email)
        .outerjoin(actor, actor.id == AuditEntry.actor_id)
        .outerjoin(target, target.id == AuditEntry.target_user_id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    if action:
        query = query.where(AuditEntry.action == action)
    if actor_email:
        check_characters(actor_email, N_("Email"))
        query = query.where(actor.email_key == email_key(actor_email.strip()))
    if date_from:
        query = query.where(AuditEntry.created_at >= day_start(date_from))
    if date_to:
        query = query.where(AuditEntry.created_at < day_start(date_to + timedelta(days=1)))
    return [
        AuditRow(e.id, e.created_at, actor_mail, e.action, target_mail, json.loads(e.details))
        for e, actor_mail, target_mail in session.execute(query)
    ]


def _money(text: object) -> str:
    """'0.1 USD' (a rate as ledger.set_rate records it) -> '0.10 USD'; other text unchanged."""
    amount, _sep, currency = str(text).partition(" ")
    try:
        return format_money(Decimal(amount), currency)
    except InvalidOperation:
        return str(text)


def _day(text: str) -> str:
    """An ISO day as recorded ('2024-05-01'), in the current language's notation."""
    try:
        return i18n.format_day(date.fromisoformat(text))
    except ValueError:
        return text


def _signed(tokens: int) -> str:
    """+50 / -1: an adjustment's direction matters as much as its size."""
    sign = "+" if tokens > 0 else "-" if tokens < 0 else ""
    return sign + i18n.format_number(abs(tokens))


def _export_filter(flt: dict) -> str:
    """The export's filter (reports.exports records it), as '1 May 2024 to 31 May 2024; kind: Top-up'."""
    parts = []
    start, end = flt.get("date_from"), flt.get("date_to")
    if start and end:
        parts.append(_("{start} to {end}", start=_day(start), end=_day(end)))
    elif start:
        parts.append(_("from {start}", start=_day(start)))
    elif end:
        parts.append(_("up to {end}", end=_day(end)))
    if flt.get("user_email"):
        parts.append(_("user {email}", email=flt["user_email"]))
    if flt.get("kinds"):
        parts.append(_("kind: {kinds}", kinds=", ".join(map(kind_label, flt["kinds"]))))
    if flt.get("statuses"):
        parts.append(_("status: {statuses}", statuses=", ".join(map(status_label, flt["statuses"]))))
    if flt.get("currencies"):
        parts.append(_("currency: {currencies}", currencies=", ".join(flt["currencies"])))
    return "; ".join(parts)


def _temperature(text: object) -> str:
    """A temperature as editing.settings records it ('0.10'), as the form shows it: 0.1."""
    try:
        return i18n.format_decimal(Decimal(str(text)), min_places=1, max_places=2)
    except InvalidOperation:
        return str(text)


def setting_changes(changes: dict) -> list[str]:
    """An operation's changed settings ({field: [old, new]}, as editing.settings.changes gives
    them) in words, one per field in the form's order: "temperature 0.1 → 0.3"."""
    words = []
    # The log stores them with sorted keys; unknown fields (a newer writer's) go last.
    order = sorted(
        changes, key=lambda f: SETTING_FIELDS.index(f) if f in SETTING_FIELDS else len(SETTING_FIELDS)
    )
    for field in order:
        old, new = changes[field]
        if field == "task":
            words.append(_("new task"))
        elif field == "temperature":
            words.append(_("temperature {old} → {new}", old=_temperature(old), new=_temperature(new)))
        elif field == "budget_chars_per_token":
            words.append(_("characters per answer token {old} → {new}", old=old, new=new))
        elif field == "budget_extra_tokens":
            words.append(
                _(
                    "extra answer tokens {old} → {new}",
                    old=i18n.format_number(int(old)),
                    new=i18n.format_number(int(new)),
                )
            )
        elif field == "model":
            default = _("the app's model")
            words.append(_("model {old} → {new}", old=old or default, new=new or default))
        else:  # a field this version does not know (a newer writer)
            words.append(f"{field}: {old} → {new}")
    return words


def describe(row: AuditRow) -> str:
    """What happened, as one sentence in the current language with the before and after values:
    "Changed payer@example.com's role: user → moderator"."""
    d, user = row.details, row.target or _("(unknown user)")
    if row.action == audit.RATE_CHANGE:
        return _(
            "Changed the rate: 1 token = {new} (was {old})",
            new=_money(d.get("new")),
            old=_money(d.get("old")),
        )
    if row.action == audit.ROLE_CHANGE:
        return _(
            "Changed {user}'s role: {old} → {new}",
            user=user,
            old=role_label(str(d.get("old"))),
            new=role_label(str(d.get("new"))),
        )
    if row.action == audit.BLOCK:
        ended = int(d.get("sessions_ended", 0))
        return ngettext(
            "Blocked {user} (ended {n} session)", "Blocked {user} (ended {n} sessions)", ended, user=user
        )
    if row.action == audit.UNBLOCK:
        return _("Unblocked {user}", user=user)
    if row.action == audit.BALANCE_ADJUSTMENT:
        tokens = int(d.get("tokens", 0))
        return ngettext(
            "Adjusted {user}'s balance by {tokens} token: {reason}",
            "Adjusted {user}'s balance by {tokens} tokens: {reason}",
            abs(tokens),
            user=user,
            tokens=_signed(tokens),
            reason=d.get("reason"),
        )
    if row.action == audit.PASSWORD_RESET:
        ended = int(d.get("sessions_ended", 0))
        return ngettext(
            "Issued a password reset code for {user} (ended {n} session)",
            "Issued a password reset code for {user} (ended {n} sessions)",
            ended,
            user=user,
        )
    if row.action == audit.EXPORT:
        rows, fmt = int(d.get("rows", 0)), str(d.get("format", "")).upper()
        scope = _export_filter(d.get("filter") or {})
        if scope:
            return ngettext(
                "Exported {n} transaction as {format} ({scope})",
                "Exported {n} transactions as {format} ({scope})",
                rows,
                format=fmt,
                scope=scope,
            )
        return ngettext(
            "Exported {n} transaction as {format}", "Exported {n} transactions as {format}", rows, format=fmt
        )
    if row.action == audit.OPERATION_SETTINGS:
        key = str(d.get("operation"))
        return _(
            "Saved version {version} of the {operation} settings: {changes}",
            version=i18n.format_number(int(d.get("version", 0))),
            operation=_(OPERATIONS[key].label) if key in OPERATIONS else key,
            changes="; ".join(setting_changes(d.get("changes") or {})),
        )
    if row.action == audit.CACHE_SETTING:
        # Recorded as [old, new].
        if (d.get("hits_cost_token") or [None, True])[-1]:
            return _("Made cache hits cost a token")
        return _("Made cache hits free")
    if row.action == audit.CACHE_CLEAR:
        return ngettext(
            "Cleared the result cache ({n} answer)",
            "Cleared the result cache ({n} answers)",
            int(d.get("entries", 0)),
        )
    if row.action == audit.MODEL_ALLOW_LIST:
        # Recorded as [old list, new list].
        old, new = (d.get("models") or [[], []])[:2]
        return _("Changed the allowed models: {new} (was {old})", new=", ".join(new), old=", ".join(old))
    if row.action == audit.MODEL_PULL:
        return _("Started pulling {model} onto {host}", model=d.get("model"), host=d.get("host"))
    if row.action == audit.SIGNUP_APPROVAL:
        return _("Approved {user}'s sign-up", user=user)
    if row.action == audit.SIGNUP_REJECTION:
        return _("Rejected {user}'s sign-up (the account stays blocked)", user=user)
    if row.action == audit.ACCOUNT_CREATION:
        return _("Created an account for {user}", user=user)
    # An action this version does not know (a newer writer): its raw record.
    return f"{row.action}: {json.dumps(d, sort_keys=True)}"
