"""The transaction row, described once: each column's name, label, type and SQL expression.

Everything that shows or writes a ledger row derives from `TX_COLUMNS`: the staff page's rows
and its column configuration, the export rows and queries, the CSV and XLSX headers and cell
formats. Add, drop or reorder a column here and every one of them follows.

`name` is the field of the row types; `label` is the column's heading (marked for translation:
show it as `_(column.label)`), and `heading(column)` its heading in an export, in the language of
whoever exports (the time's says it is UTC ISO 8601); `type` decides how a value is read, shown
and written:

- INTEGER, TOKENS: whole numbers (tokens are signed: +3, -1);
- TIME: an aware UTC datetime on the page, UTC ISO-8601 text (made by the database) in exports;
- MONEY: an exact `Decimal` (or None);
- CODE: text from a fixed vocabulary (CHECK constraints), never user input;
- TEXT: text a user or an admin may have typed (or None): exports neutralise it.
"""

from __future__ import annotations

import enum
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import QueryableAttribute, aliased

from textedit_core.i18n import N_, _
from textedit_core.infra.models import Transaction, User


class ColumnType(enum.Enum):
    INTEGER = "integer"
    TOKENS = "tokens"
    TIME = "time"
    MONEY = "money"
    CODE = "code"
    TEXT = "text"


class Sources(NamedTuple):
    """The users a row names, besides the transaction itself."""

    owner: type[User]  # an alias: whose balance the row changes
    actor: type[User]  # an alias: the admin who made an adjustment (outer join)


@dataclass(frozen=True)
class TxColumn:
    name: str
    label: str
    type: ColumnType
    sql: Callable[[Sources], ColumnElement[Any] | QueryableAttribute[Any]]
    help: str | None = None
    width: int = 12  # XLSX column width, in characters
    export_label: str | None = None  # an export's header, where it differs from `label`


TX_COLUMNS: tuple[TxColumn, ...] = (
    TxColumn("id", N_("ID"), ColumnType.INTEGER, lambda s: Transaction.id),
    TxColumn(
        "created_at",
        N_("When (UTC)"),
        ColumnType.TIME,
        lambda s: Transaction.created_at,
        width=20,
        export_label=N_("When (UTC ISO 8601)"),
    ),
    TxColumn("user_email", N_("User"), ColumnType.TEXT, lambda s: s.owner.email, width=28),
    TxColumn("kind", N_("Kind"), ColumnType.CODE, lambda s: Transaction.kind),
    TxColumn("status", N_("Status"), ColumnType.CODE, lambda s: Transaction.status),
    TxColumn("tokens", N_("Tokens"), ColumnType.TOKENS, lambda s: Transaction.tokens),
    TxColumn("amount", N_("Amount"), ColumnType.MONEY, lambda s: Transaction.amount),
    TxColumn("currency", N_("Currency"), ColumnType.TEXT, lambda s: Transaction.currency),
    TxColumn("rate", N_("Rate"), ColumnType.MONEY, lambda s: Transaction.rate),
    TxColumn("operation", N_("Operation"), ColumnType.TEXT, lambda s: Transaction.operation),
    TxColumn(
        "note",
        N_("Note"),
        ColumnType.TEXT,
        lambda s: func.coalesce(Transaction.note, Transaction.failure),
        help=N_("Adjustment reason, or why a charge was refunded"),
        width=40,
    ),
    TxColumn("actor_email", N_("By"), ColumnType.TEXT, lambda s: s.actor.email, width=28),
)
COLUMNS: list[str] = [column.name for column in TX_COLUMNS]


def heading(column: TxColumn) -> str:
    """The column's header in an export, in the current language. Exports keep their times in
    UTC ISO 8601 whoever exports them, and the time's header says so."""
    return _(column.export_label or column.label)


def sources() -> Sources:
    """Fresh aliases of the owner and the actor, for one query (see `ledger`)."""
    return Sources(aliased(User), aliased(User))


def indexes(*types: ColumnType) -> tuple[int, ...]:
    """Positions of the columns of these types, in row order."""
    return tuple(i for i, column in enumerate(TX_COLUMNS) if column.type in types)


RowValues = tuple[Any, ...]  # a row of the types below, as the checker sees it


def row_type(name: str, module: str, doc: str) -> Any:
    """A named tuple class with one field per column, in order (fast to build from a result
    row). Typed Any: the checker cannot see fields made at run time; rows are RowValues."""
    made = namedtuple(name, COLUMNS, module=module)  # type: ignore[misc]
    made.__doc__ = doc
    return made
