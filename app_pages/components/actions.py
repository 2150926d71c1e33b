"""Running a page's read or action and showing its domain error as plain text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st

from app_pages.components.common import show_error
from textedit_core.errors import DomainError

T = TypeVar("T")


def loaded(read: Callable[[], T]) -> T:
    """What a page shows: on a domain error the message is shown and the page stops there."""
    try:
        return read()
    except DomainError as error:
        show_error(str(error))
        st.stop()
        raise  # st.stop() raises; this line only tells the type checker so


@contextmanager
def shown_errors() -> Iterator[None]:
    """An action's block: a domain error ends the block, is shown, and the page goes on."""
    try:
        yield
    except DomainError as error:
        show_error(str(error))
