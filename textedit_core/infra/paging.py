"""A page of results with the total count, for server-side paginated tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from textedit_core.errors import ValidationError
from textedit_core.i18n import _

T = TypeVar("T")
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def check_paging(page: int, page_size: int) -> tuple[int, int]:
    """(offset, limit) for a 1-based page number."""
    if page < 1:
        raise ValidationError(_("Page numbers start at 1."))
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationError(_("A page holds 1 to {most} rows.", most=MAX_PAGE_SIZE))
    return (page - 1) * page_size, page_size
