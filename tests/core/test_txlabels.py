"""The words a user reads for a ledger row's kind and status."""

from __future__ import annotations

import pytest

from textedit_core import i18n
from textedit_core.billing import txlabels


@pytest.mark.parametrize(
    "kind, operation, note, words",
    [
        ("topup", None, None, "Top-up"),
        ("charge", "fix", None, "Edit (fix)"),
        ("charge", "shorten", None, "Edit (shorten)"),
        ("refund", "fix", "model timed out", "Refund"),
        ("adjustment", None, "Goodwill for the outage", "Adjustment: Goodwill for the outage"),
        ("grant", None, None, "Free tokens for a new account"),
    ],
)
def test_each_kind_reads_as_words(kind, operation, note, words):
    assert txlabels.describe(kind, operation, note) == words


@pytest.mark.parametrize(
    "kind, word",
    [
        ("topup", "Top-up"),
        ("charge", "Charge"),
        ("refund", "Refund"),
        ("adjustment", "Adjustment"),
        ("grant", "Free tokens"),
    ],
)
def test_staff_read_each_kind_as_one_word(kind, word):
    assert txlabels.kind_label(kind) == word


@pytest.mark.parametrize(
    "status, words", [("success", "Settled"), ("pending", "Pending"), ("refunded", "Refunded")]
)
def test_each_status_reads_as_a_word(status, words):
    assert txlabels.status_label(status) == words


@pytest.mark.parametrize(
    "kind, operation, note, words",
    [
        ("topup", None, None, "Пополнение"),
        ("charge", "paraphrase", None, "Правка (перефразирование)"),
        ("refund", "fix", "model timed out", "Возврат"),
        ("adjustment", None, "Goodwill for the outage", "Корректировка: Goodwill for the outage"),
    ],
)
def test_a_russian_reader_reads_each_kind_in_russian(kind, operation, note, words):
    with i18n.language("ru"):
        assert txlabels.describe(kind, operation, note) == words


def test_a_russian_reader_reads_each_status_in_russian():
    with i18n.language("ru"):
        assert [txlabels.status_label(s) for s in ("success", "pending", "refunded")] == [
            "Проведено",
            "В обработке",
            "Возвращено",
        ]
