"""The transaction row described once (textedit_core.reports.txcolumns) drives the exports, and the
transaction filter has one query-string form (ledger.TxFilter), shared by the page's export
links, serve.py's export route and the command line."""

from __future__ import annotations

import io
from datetime import date
from urllib.parse import urlencode

import pytest
from starlette.datastructures import QueryParams

from textedit_core import i18n
from textedit_core.errors import ValidationError
from textedit_core.reports.exports import header, write_csv
from textedit_core.reports.transactions import ExportRow, TxFilter, TxRow
from textedit_core.reports.txcolumns import TX_COLUMNS, ColumnType

NAMES = [
    "id",
    "created_at",
    "user_email",
    "kind",
    "status",
    "tokens",
    "amount",
    "currency",
    "rate",
    "operation",
    "note",
    "actor_email",
]


def test_the_descriptors_name_the_twelve_columns_in_order():
    assert [c.name for c in TX_COLUMNS] == NAMES
    assert [c.label for c in TX_COLUMNS] == [
        "ID",
        "When (UTC)",
        "User",
        "Kind",
        "Status",
        "Tokens",
        "Amount",
        "Currency",
        "Rate",
        "Operation",
        "Note",
        "By",
    ]


def test_the_row_types_have_one_field_per_descriptor():
    assert list(TxRow._fields) == NAMES
    assert list(ExportRow._fields) == NAMES


ENGLISH_HEADER = [
    "ID",
    "When (UTC ISO 8601)",
    "User",
    "Kind",
    "Status",
    "Tokens",
    "Amount",
    "Currency",
    "Rate",
    "Operation",
    "Note",
    "By",
]


def test_the_csv_header_is_the_column_headings_and_says_the_times_are_utc_iso_8601():
    out = io.BytesIO()
    write_csv([], out)
    assert out.getvalue() == ("\ufeff" + ",".join(ENGLISH_HEADER) + "\r\n").encode()


def test_the_export_header_follows_the_language_of_whoever_exports():
    with i18n.language("ru"):
        assert header() == [
            "ID",
            "Когда (UTC ISO 8601)",
            "Пользователь",
            "Тип",
            "Статус",
            "Токены",
            "Сумма",
            "Валюта",
            "Курс",
            "Действие",
            "Примечание",
            "Кто",
        ]


def test_text_columns_are_neutralised_in_csv_and_code_columns_are_not_user_input():
    types = {c.name: c.type for c in TX_COLUMNS}
    assert [n for n, t in types.items() if t is ColumnType.TEXT] == [
        "user_email",
        "currency",
        "operation",
        "note",
        "actor_email",
    ]
    assert [n for n, t in types.items() if t is ColumnType.CODE] == ["kind", "status"]
    assert [n for n, t in types.items() if t is ColumnType.MONEY] == ["amount", "rate"]


FULL = TxFilter(
    date_from=date(2026, 11, 1),
    date_to=date(2026, 11, 29),
    user_email="ann@example.com",
    kinds=("topup", "adjustment"),
    statuses=("success",),
    currencies=("EUR", "USD"),
)
FULL_PARAMS = {
    "from": "2026-11-01",
    "to": "2026-11-29",
    "user": "ann@example.com",
    "kind": ["topup", "adjustment"],
    "status": ["success"],
    "currency": ["EUR", "USD"],
}


def test_a_filter_becomes_query_params():
    assert FULL.to_query_params() == FULL_PARAMS


def test_an_empty_filter_has_no_query_params():
    assert TxFilter().to_query_params() == {}


def test_query_params_become_the_filter():
    assert TxFilter.from_query_params(FULL_PARAMS) == FULL


def test_the_filter_round_trips_through_a_query_string():
    query = (
        "from=2026-11-01&to=2026-11-29&user=ann%40example.com&kind=topup&kind=adjustment"
        "&status=success&currency=EUR&currency=USD"
    )
    assert TxFilter.from_query_params(QueryParams(query)) == FULL
    # As the page builds its export links:
    assert urlencode(FULL.to_query_params(), doseq=True) == query
    assert TxFilter.from_query_params(QueryParams(urlencode(FULL.to_query_params(), doseq=True))) == FULL


def test_missing_and_empty_query_params_mean_any():
    assert TxFilter.from_query_params({}) == TxFilter()
    assert TxFilter.from_query_params({"from": "", "user": "", "kind": []}) == TxFilter()
    assert TxFilter.from_query_params({"from": None, "to": None, "user": None}) == TxFilter()


def test_a_single_string_counts_as_one_value():
    assert TxFilter.from_query_params({"kind": "charge"}) == TxFilter(kinds=("charge",))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-13-01"}, "'from' must be a date like 2026-11-29."),
        ({"to": "yesterday"}, "'to' must be a date like 2026-11-29."),
        ({"from": "2026-11-29", "to": "2026-11-01"}, "The start date is after the end date."),
        ({"kind": ["gift", "topup"]}, "Unknown kind: gift."),
        ({"status": ["lost"]}, "Unknown status: lost."),
    ],
)
def test_bad_query_params_are_refused_with_a_clear_message(params, message):
    with pytest.raises(ValidationError) as raised:
        TxFilter.from_query_params(params)
    assert str(raised.value) == message
