"""The transaction row, described once: each column's name, label, type and SQL expression.

Everything that shows or writes a ledger row derives from `TX_COLUMNS`: the staff page's rows
and its column configuration, the export rows and queries, the CSV and XLSX headers and cell
formats. Add, drop or reorder a column here and every one of them follows.

`name` is the field of the row types and the header of the CSV and XLSX files; `label` is the
page's column heading; `type` decides how a value is read, shown and written:

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


TX_COLUMNS: tuple[TxColumn, ...] = (
    TxColumn("id", "ID", ColumnType.INTEGER, lambda s: Transaction.id),
    TxColumn("created_at", "When (UTC)", ColumnType.TIME, lambda s: Transaction.created_at, width=20),
    TxColumn("user_email", "User", ColumnType.TEXT, lambda s: s.owner.email, width=28),
    TxColumn("kind", "Kind", ColumnType.CODE, lambda s: Transaction.kind),
    TxColumn("status", "Status", ColumnType.CODE, lambda s: Transaction.status),
    TxColumn("tokens", "Tokens", ColumnType.TOKENS, lambda s: Transaction.tokens),
    TxColumn("amount", "Amount", ColumnType.MONEY, lambda s: Transaction.amount),
    TxColumn("currency", "Currency", ColumnType.TEXT, lambda s: Transaction.currency),
    TxColumn("rate", "Rate", ColumnType.MONEY, lambda s: Transaction.rate),
    TxColumn("operation", "Operation", ColumnType.TEXT, lambda s: Transaction.operation),
    TxColumn(
        "note",
        "Note",
        ColumnType.TEXT,
        lambda s: func.coalesce(Transaction.note, Transaction.failure),
        help="Adjustment reason, or why a charge was refunded",
        width=40,
    ),
    TxColumn("actor_email", "By", ColumnType.TEXT, lambda s: s.actor.email, width=28),
)
COLUMNS: list[str] = [column.name for column in TX_COLUMNS]


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
