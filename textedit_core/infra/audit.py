"""The audit log's write side: one entry per admin action, added in the action's own transaction.

Reading it (with filters, for staff) is `reports.audit`.
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import AuditEntry

RATE_CHANGE = "rate_change"
ROLE_CHANGE = "role_change"
BLOCK = "block"
UNBLOCK = "unblock"
BALANCE_ADJUSTMENT = "balance_adjustment"
EXPORT = "export"
PASSWORD_RESET = "password_reset"
OPERATION_SETTINGS = "operation_settings"
CACHE_SETTING = "cache_setting"
CACHE_CLEAR = "cache_clear"
MODEL_ALLOW_LIST = "model_allow_list"
MODEL_PULL = "model_pull"
SIGNUP_APPROVAL = "signup_approval"
SIGNUP_REJECTION = "signup_rejection"
ACCOUNT_CREATION = "account_creation"
ACTIONS = (
    RATE_CHANGE,
    ROLE_CHANGE,
    BLOCK,
    UNBLOCK,
    BALANCE_ADJUSTMENT,
    EXPORT,
    PASSWORD_RESET,
    OPERATION_SETTINGS,
    CACHE_SETTING,
    CACHE_CLEAR,
    MODEL_ALLOW_LIST,
    MODEL_PULL,
    SIGNUP_APPROVAL,
    SIGNUP_REJECTION,
    ACCOUNT_CREATION,
)


def record(
    session: Session, actor_id: int | None, action: str, details: dict, target_user_id: int | None = None
) -> None:
    session.add(
        AuditEntry(
            created_at=utcnow(),
            actor_id=actor_id,
            action=action,
            target_user_id=target_user_id,
            details=json.dumps(details, default=str, sort_keys=True),
        )
    )
