"""What a user reads for a ledger row: its kind and status in words, not the stored codes.

Marked here, translated when read (`describe`, `status_label`), in the reader's language.
"""

from __future__ import annotations

from textedit_core.i18n import N_, _
from textedit_core.infra.models import TxKind, TxStatus

# Staff see a kind as one word; a user reads a row through `describe`.
KIND_LABELS = {
    TxKind.TOPUP.value: N_("Top-up"),
    TxKind.CHARGE.value: N_("Charge"),
    TxKind.REFUND.value: N_("Refund"),
    TxKind.ADJUSTMENT.value: N_("Adjustment"),
    TxKind.GRANT.value: N_("Free tokens"),
}
STATUS_LABELS = {
    TxStatus.SUCCESS.value: N_("Settled"),
    TxStatus.PENDING.value: N_("Pending"),
    TxStatus.REFUNDED.value: N_("Refunded"),
}
# A charge by its operation, each a whole label (billing may not import editing's operations).
EDIT_LABELS = {
    "paraphrase": N_("Edit (paraphrase)"),
    "fix": N_("Edit (fix)"),
    "shorten": N_("Edit (shorten)"),
}


def describe(kind: str, operation: str | None, note: str | None) -> str:
    """ "Top-up", "Edit (fix)", "Refund", "Adjustment: <the admin's reason>", or "Free tokens for
    a new account"."""
    if kind == TxKind.TOPUP.value:
        return _("Top-up")
    if kind == TxKind.CHARGE.value:
        if operation in EDIT_LABELS:
            return _(EDIT_LABELS[operation])
        return _("Edit ({operation})", operation=operation) if operation else _("Edit")
    if kind == TxKind.REFUND.value:
        return _("Refund")
    if kind == TxKind.ADJUSTMENT.value:
        return _("Adjustment: {reason}", reason=note) if note else _("Adjustment")
    if kind == TxKind.GRANT.value:
        return _("Free tokens for a new account")
    return kind


def status_label(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind
