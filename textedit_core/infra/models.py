"""SQLAlchemy 2 typed models. The schema itself is created by the Alembic migrations."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from textedit_core.infra.coltypes import Money, UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class Role(str, enum.Enum):
    USER = "user"
    MODERATOR = "moderator"
    ADMIN = "admin"


# Staff may look at every user and transaction; only admins may act.
STAFF_ROLES = (Role.ADMIN, Role.MODERATOR)


class TxKind(str, enum.Enum):
    TOPUP = "topup"
    CHARGE = "charge"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"
    # The free tokens a new account starts with (TEXTEDIT_SIGNUP_TOKENS).
    GRANT = "grant"


class TxStatus(str, enum.Enum):
    SUCCESS = "success"
    PENDING = "pending"
    REFUNDED = "refunded"


class User(Base):
    __tablename__ = "users"
    # The staff Users page sorts and filters by these (migrations 0003 and 0013).
    __table_args__ = tuple(
        Index(f"ix_users_{column}", column)
        for column in (
            "role",
            "balance",
            "created_at",
            "last_login_at",
            "requests_count",
            "tokens_spent",
            "pending_approval",
        )
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    # Lower-cased email: uniqueness is case-insensitive on every database.
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.USER.value)
    is_blocked: Mapped[bool] = mapped_column(default=False)
    # Signed up under TEXTEDIT_SIGNUP=approval and not yet approved or rejected by an admin. Such
    # an account is stored blocked too, so every check that refuses a blocked account refuses it.
    pending_approval: Mapped[bool] = mapped_column(default=False)
    # Bumped whenever existing access tokens must stop working (role change, block, ...).
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    # Usage counters kept in step with the ledger by billing (charges and refunds).
    requests_count: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The interface language and time zone the user chose; None: the browser's.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value


class AuthSession(Base):
    """One signed-in device: a family of refresh tokens. Its id is the access token's `sid`."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_user", "user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(255), nullable=True)
    ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # One-time code that lets the browser fetch its first refresh-token cookie after login.
    handoff_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    handoff_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RefreshToken(Base):
    """Opaque refresh token, stored as its SHA-256. Rotated on every use; `rotated_at` marks spent ones."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_session", "session_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("auth_sessions.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginThrottle(Base):
    """Failed logins per account (email) and per client (IP), shared by every app process."""

    __tablename__ = "login_throttle"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PasswordReset(Base):
    """A one-time password-reset code an admin issued, stored as its SHA-256. One per user:
    issuing a new code replaces the old one; redeeming deletes it."""

    __tablename__ = "password_resets"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Transaction(Base):
    """One ledger row: every balance change is one of these, never an overwrite.

    `tokens` is signed (+N top-up, -1 charge, +1 refund); a user's balance is their sum.
    """

    __tablename__ = "transactions"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_transactions_idempotency"),
        Index("ix_transactions_user_created", "user_id", "created_at"),
        Index("ix_transactions_created", "created_at"),
        Index("ix_transactions_status_kind", "status", "kind"),
        Index("ix_transactions_kind_created", "kind", "created_at"),
        # Covers reports.transactions.totals in its GROUP BY order: the whole ledger's totals
        # come from this index alone on SQLite (migration 0014).
        Index("ix_transactions_totals", "kind", "currency", "tokens", "amount"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    tokens: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    rate: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    operation: Mapped[str | None] = mapped_column(String(16), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # A refund points at the charge it returns; unique, so a charge is refunded at most once.
    refund_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("transactions.id"), unique=True, nullable=True
    )
    failure: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Adjustments: the admin's reason, and who made it.
    note: Mapped[str | None] = mapped_column(String(255), nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Pending charges: the worker streaming the answer keeps pushing this forward; once it has
    # passed, the worker is dead and the reconciler refunds. None on charges made before 0004.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EditStatus(str, enum.Enum):
    DONE = "done"  # delivered and charged (or delivered free, cost 0)
    REFUSED = "refused"  # the answer guard refused the answer; refunded
    FAILED = "failed"  # the model failed; refunded
    STOPPED = "stopped"  # the user stopped it or left the page; refunded


class EditRecord(Base):
    """One edit request: what was asked, what came back, what it cost. The user may delete it;
    the ledger row it points at stays."""

    __tablename__ = "edit_history"
    __table_args__ = (
        Index("ix_edit_history_user_created", "user_id", "created_at"),
        Index("ix_edit_history_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    operation: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(128))
    settings_version: Mapped[int] = mapped_column(Integer)
    input_text: Mapped[str] = mapped_column(Text)
    output_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    cost: Mapped[int] = mapped_column(Integer)
    charge_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"), nullable=True)
    # The message the user was shown for a refusal or failure.
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Answered from the shared result cache (editing.cache), without calling the model.
    from_cache: Mapped[bool] = mapped_column(default=False)


class Draft(Base):
    """The editor's state for one user: the text, the operation, and the last result with the
    text it was made from (the review compares the two)."""

    __tablename__ = "drafts"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    text: Mapped[str] = mapped_column(Text)
    operation: Mapped[str] = mapped_column(String(16))
    result_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_source: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_operation: Mapped[str | None] = mapped_column(String(16), nullable=True)
    result_history_id: Mapped[int | None] = mapped_column(
        ForeignKey("edit_history.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One admin action: who, when, what. Written in the same transaction as the action."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_created", "created_at"),
        Index("ix_audit_log_action_created", "action", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    details: Mapped[str] = mapped_column(Text)  # JSON


class RateSetting(Base):
    """History of the top-up rate: the newest row is in force; rows are never edited."""

    __tablename__ = "rate_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Money)
    old_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    old_rate: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OperationSetting(Base):
    """One version of an operation's settings, made by an admin: the newest version of an
    operation is in force; rows are never edited. Version 1 is the built-in defaults
    (editing.operations), which have no row."""

    __tablename__ = "operation_settings"
    # Also the index that finds the version in force: the newest of one operation.
    __table_args__ = (UniqueConstraint("operation", "version", name="uq_operation_settings_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operation: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    task: Mapped[str] = mapped_column(Text)
    # Hundredths (0.35 is 35): exact on every database; the temperature has two decimals at most.
    temperature_hundredths: Mapped[int] = mapped_column(Integer)
    # The answer's budget: one token per this many characters of the text, plus the extra tokens.
    budget_chars_per_token: Mapped[int] = mapped_column(Integer)
    budget_extra_tokens: Mapped[int] = mapped_column(Integer)
    # None: the app's model (TEXTEDIT_MODEL).
    model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CachedEdit(Base):
    """One answer in the result cache shared by every app process: the guard-accepted output of
    a request, found by its key (editing.cache.key_for). Expired by age, capped in number."""

    __tablename__ = "edit_cache"
    __table_args__ = (Index("ix_edit_cache_created", "created_at"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    operation: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(128))
    settings_version: Mapped[int] = mapped_column(Integer)
    output: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_hit_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


class AppSetting(Base):
    """An admin's switch: one row per key holding the value in force (no row: the built-in
    default); each change is audited, so the audit log is its history."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HostState(str, enum.Enum):
    UP = "up"  # answering (or not checked yet): edits go here first
    DOWN = "down"  # the last health check found it unreachable: tried after the hosts up
    COOLING = "cooling"  # failed several calls in a row: tried last, until the checker finds it well


class OllamaHost(Base):
    """One Ollama server of the pool (TEXTEDIT_OLLAMA_HOSTS) as the health checker and the model
    calls of every app process last saw it."""

    __tablename__ = "ollama_hosts"

    url: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default=HostState.UP.value)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    cooldown_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The last failure, as the server or the connection said it (plain text, not translated).
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # JSON lists of model names: loaded in memory (/api/ps) and installed (/api/tags).
    loaded_models: Mapped[str] = mapped_column(Text, default="[]")
    installed_models: Mapped[str] = mapped_column(Text, default="[]")
    version: Mapped[str | None] = mapped_column(String(64), nullable=True)


class TicketState(str, enum.Enum):
    WAITING = "waiting"  # accepted and charged, waiting for a free slot on a host
    RUNNING = "running"  # holding a slot on `host`


class EditTicket(Base):
    """An accepted edit request in the wait queue shared by every app process (editing.queue).
    Deleted in the transaction that settles or refunds its charge."""

    __tablename__ = "edit_queue"
    __table_args__ = (
        Index("ix_edit_queue_state", "state", "id"),
        Index("ix_edit_queue_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Renewed while its request lives; a ticket past it belongs to a dead process and is ignored.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
