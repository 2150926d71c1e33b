"""The settings each operation runs with: its task (the instructions to the model), temperature,
answer budget and model, versioned.

Version 1 is the built-in defaults of editing.operations, which have no row. Each admin change
adds a row with the next version and an audit-log entry; rows are never edited, and the newest
version of an operation is in force. An edit reads the version in force in the transaction that
charges for it, and its history row records that version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from textedit_core import i18n
from textedit_core.editing.operations import OPERATIONS, SETTINGS_VERSION, Operation, get_operation
from textedit_core.errors import ValidationError
from textedit_core.i18n import N_, _, ngettext
from textedit_core.identity.accounts import require_role
from textedit_core.infra import audit
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import OperationSetting, Role, User
from textedit_core.infra.text_input import check_characters

MAX_TASK_CHARS = 4000
MAX_TEMPERATURE = Decimal(2)
TEMPERATURE_PLACES = 2
_HUNDREDTH = Decimal(1).scaleb(-TEMPERATURE_PLACES)
# The answer's budget: one token per 1 to 10 characters of the text (Cyrillic runs about 2.5
# characters a token), plus up to 2,048 tokens; gateway.output_budget caps the sum anyway.
MIN_CHARS_PER_TOKEN = 1
MAX_CHARS_PER_TOKEN = 10
MAX_EXTRA_TOKENS = 2048
MAX_MODEL_CHARS = 128
# An Ollama model name: [host/][namespace/]name[:tag], as in qwen2.5:3b, library/qwen2.5:3b or
# hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M.
_NAME_PART = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_MODEL_NAME = re.compile(rf"{_NAME_PART}(?:/{_NAME_PART}){{0,2}}(?::{_NAME_PART})?")
_TEMPERATURE = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
# More digits than any bound here: refused before int() (which refuses past 4,300 digits).
_WHOLE = re.compile(r"[0-9]{1,9}")
# The fields an admin changes, in the order the audit log and the confirmation name them.
FIELDS = ("task", "temperature", "budget_chars_per_token", "budget_extra_tokens", "model")


@dataclass(frozen=True)
class OperationSettings:
    operation: str  # the operation's key
    version: int  # 1: the built-in defaults; 0: entered, not saved
    task: str
    temperature: Decimal  # 0 to 2, two decimals at most
    # The answer's budget: one token per this many characters of the text, plus the extra tokens.
    budget_chars_per_token: int
    budget_extra_tokens: int
    model: str | None  # None: the app's model (TEXTEDIT_MODEL)

    def as_operation(self) -> Operation:
        """The operation as the gateway and the guard take it, with these settings."""
        return replace(
            get_operation(self.operation),
            task=self.task,
            temperature=float(self.temperature),
            budget_chars_per_token=self.budget_chars_per_token,
            budget_extra_tokens=self.budget_extra_tokens,
        )


@dataclass(frozen=True)
class SettingsVersion:
    settings: OperationSettings
    changed_at: datetime | None  # None for the built-in defaults
    changed_by: str | None  # the admin's email; None for the built-in defaults


def defaults(operation_key: str) -> OperationSettings:
    """Version 1: the built-in settings of editing.operations."""
    operation = get_operation(operation_key)
    return OperationSettings(
        operation=operation.key,
        version=SETTINGS_VERSION,
        task=operation.task,
        temperature=Decimal(str(operation.temperature)).quantize(_HUNDREDTH),
        budget_chars_per_token=operation.budget_chars_per_token,
        budget_extra_tokens=operation.budget_extra_tokens,
        model=None,
    )


def _of(row: OperationSetting) -> OperationSettings:
    return OperationSettings(
        operation=row.operation,
        version=row.version,
        task=row.task,
        temperature=Decimal(row.temperature_hundredths).scaleb(-TEMPERATURE_PLACES),
        budget_chars_per_token=row.budget_chars_per_token,
        budget_extra_tokens=row.budget_extra_tokens,
        model=row.model,
    )


def current(session: Session, operation_key: str) -> OperationSettings:
    """The settings in force: the operation's newest version (found by its unique index)."""
    key = get_operation(operation_key).key
    row = session.scalars(
        select(OperationSetting)
        .where(OperationSetting.operation == key)
        .order_by(OperationSetting.version.desc())
        .limit(1)
    ).first()
    return defaults(key) if row is None else _of(row)


def all_current(session: Session) -> dict[str, SettingsVersion]:
    """The version in force of every operation, in the order of editing.operations."""
    newest = (
        select(OperationSetting.operation, func.max(OperationSetting.version).label("version"))
        .group_by(OperationSetting.operation)
        .subquery()
    )
    rows = session.execute(
        select(OperationSetting, User.email)
        .join(
            newest,
            and_(
                OperationSetting.operation == newest.c.operation, OperationSetting.version == newest.c.version
            ),
        )
        .outerjoin(User, User.id == OperationSetting.changed_by_id)
    )
    saved = {row.operation: SettingsVersion(_of(row), row.created_at, email) for row, email in rows}
    return {key: saved.get(key, SettingsVersion(defaults(key), None, None)) for key in OPERATIONS}


def history(session: Session, operation_key: str) -> list[SettingsVersion]:
    """Every version of the operation's settings, newest (in force) first, down to version 1."""
    key = get_operation(operation_key).key
    rows = session.execute(
        select(OperationSetting, User.email)
        .outerjoin(User, User.id == OperationSetting.changed_by_id)
        .where(OperationSetting.operation == key)
        .order_by(OperationSetting.version.desc())
    )
    saved = [SettingsVersion(_of(row), row.created_at, email) for row, email in rows]
    return [*saved, SettingsVersion(defaults(key), None, None)]


# --- entering settings --------------------------------------------------------------------------


def parse_task(raw: object) -> str:
    task = str(raw if raw is not None else "").strip()
    if not task:
        raise ValidationError(_("Enter the task: what the model should do with the text."))
    check_characters(task, N_("The task"), multiline=True)
    if len(task) > MAX_TASK_CHARS:
        raise ValidationError(
            ngettext(
                "The task is too long: {n} character, the limit is {limit}.",
                "The task is too long: {n} characters, the limit is {limit}.",
                len(task),
                limit=i18n.format_number(MAX_TASK_CHARS),
            )
        )
    return task


def parse_temperature(raw: object) -> Decimal:
    """0 to 2 with two decimals at most, exactly (never through a float): from text, with a
    comma or a dot ("0.3", "0,3"), or from a Decimal."""
    text = (
        format(raw, "f") if isinstance(raw, Decimal) else "".join(str(raw if raw is not None else "").split())
    )
    if not text:
        raise ValidationError(_("Enter the temperature."))
    if not _TEMPERATURE.fullmatch(text) or Decimal(text.replace(",", ".")) > MAX_TEMPERATURE:
        raise ValidationError(_("The temperature must be a number from 0 to 2, like 0.3."))
    value = Decimal(text.replace(",", "."))
    if value != value.quantize(_HUNDREDTH):
        raise ValidationError(
            ngettext(
                "The temperature can have at most {n} decimal place.",
                "The temperature can have at most {n} decimal places.",
                TEMPERATURE_PLACES,
            )
        )
    return value.quantize(_HUNDREDTH)


def _whole(raw: object, low: int, high: int, refusal: str) -> int:
    """A whole number from `low` to `high`, given as an int or its digits; else `refusal`."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    else:
        text = "".join(str(raw if raw is not None else "").split())
        if not _WHOLE.fullmatch(text):
            raise ValidationError(refusal)
        value = int(text)
    if not low <= value <= high:
        raise ValidationError(refusal)
    return value


def parse_chars_per_token(raw: object) -> int:
    refusal = _(
        "Characters per answer token must be a whole number from {low} to {high}.",
        low=MIN_CHARS_PER_TOKEN,
        high=MAX_CHARS_PER_TOKEN,
    )
    return _whole(raw, MIN_CHARS_PER_TOKEN, MAX_CHARS_PER_TOKEN, refusal)


def parse_extra_tokens(raw: object) -> int:
    refusal = _(
        "Extra answer tokens must be a whole number from {low} to {high}.",
        low=0,
        high=i18n.format_number(MAX_EXTRA_TOKENS),
    )
    return _whole(raw, 0, MAX_EXTRA_TOKENS, refusal)


def parse_model(raw: object) -> str | None:
    """An Ollama model name, or None (empty): the app's model."""
    name = str(raw if raw is not None else "").strip()
    if not name:
        return None
    if len(name) > MAX_MODEL_CHARS:
        raise ValidationError(
            ngettext(
                "The model name is too long: at most {n} character.",
                "The model name is too long: at most {n} characters.",
                MAX_MODEL_CHARS,
            )
        )
    if not _MODEL_NAME.fullmatch(name):
        raise ValidationError(
            _(
                "The model name must look like an Ollama model's, such as qwen2.5:3b or "
                "namespace/name:tag (letters, digits, dots, dashes and underscores), or be empty "
                "for the app's model."
            )
        )
    return name


def draft(
    operation_key: str,
    task: object,
    temperature: object,
    budget_chars_per_token: object,
    budget_extra_tokens: object,
    model: object,
) -> OperationSettings:
    """Settings as entered, each field checked (ValidationError for the first bad one); not
    saved, so version 0."""
    return OperationSettings(
        operation=get_operation(operation_key).key,
        version=0,
        task=parse_task(task),
        temperature=parse_temperature(temperature),
        budget_chars_per_token=parse_chars_per_token(budget_chars_per_token),
        budget_extra_tokens=parse_extra_tokens(budget_extra_tokens),
        model=parse_model(model),
    )


def _plain(value: object) -> object:
    return f"{value:f}" if isinstance(value, Decimal) else value


def changes(old: OperationSettings, new: OperationSettings) -> dict[str, list[object]]:
    """The fields `new` changes, as [old, new] in plain values (a temperature as text, "0.10"),
    as the audit log records them."""
    return {
        name: [_plain(getattr(old, name)), _plain(getattr(new, name))]
        for name in FIELDS
        if getattr(old, name) != getattr(new, name)
    }


def _changed_meanwhile(operation_key: str) -> ValidationError:
    return ValidationError(
        _(
            "Another admin has just saved new settings for {operation}. Check the version in force "
            "and save again.",
            operation=_(OPERATIONS[operation_key].label),
        )
    )


def change(
    session: Session,
    admin_id: int,
    operation_key: str,
    task: object,
    temperature: object,
    budget_chars_per_token: object,
    budget_extra_tokens: object,
    model: object,
    *,
    expected_version: int | None = None,
) -> OperationSettings:
    """Save the settings as the operation's next version, in force from the next edit on, with
    an audit-log entry. `expected_version`: the version the admin started from; refused if
    another admin has saved one since."""
    require_role(session, admin_id, Role.ADMIN)
    entered = draft(operation_key, task, temperature, budget_chars_per_token, budget_extra_tokens, model)
    in_force = current(session, entered.operation)
    if expected_version is not None and expected_version != in_force.version:
        raise _changed_meanwhile(entered.operation)
    if replace(entered, version=in_force.version) == in_force:
        raise ValidationError(_("Nothing changed: these are the settings in force."))
    saved = replace(entered, version=in_force.version + 1)
    row = OperationSetting(
        operation=saved.operation,
        version=saved.version,
        task=saved.task,
        temperature_hundredths=int(saved.temperature.scaleb(TEMPERATURE_PLACES)),
        budget_chars_per_token=saved.budget_chars_per_token,
        budget_extra_tokens=saved.budget_extra_tokens,
        model=saved.model,
        changed_by_id=admin_id,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Another admin saved this version first (PostgreSQL, READ COMMITTED: both read the same
        # version in force; SQLite takes its write lock before reading, so never gets here).
        raise _changed_meanwhile(saved.operation) from None
    audit.record(
        session,
        admin_id,
        audit.OPERATION_SETTINGS,
        {"operation": saved.operation, "version": saved.version, "changes": changes(in_force, saved)},
    )
    return saved
