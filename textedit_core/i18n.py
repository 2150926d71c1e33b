"""One translation layer: gettext catalogues, the language of the current run, and formatting.

Source strings are English and are their own message ids; `textedit_core/locale/ru/LC_MESSAGES/
textedit.po` holds the Russian catalogue (`make messages` extracts and updates it with Babel).
The catalogue is compiled in memory when first used, so no compiled .mo file can go stale.

The language of a run lives in a context variable: the entrypoint sets it at the top of each
script run (Streamlit runs each session's script in its own thread), a route sets it per request
and the CLI from the environment. Core code raising a domain error translates its message with
`_()` at that moment, in the language of whoever caused it.

Placeholders are named and filled after translation: `_("Added {tokens} tokens.", tokens=...)`,
so a translator can move them. `ngettext` picks the plural form the language needs (Russian
has three: 1 токен, 2 токена, 5 токенов) and fills `{n}` with the number formatted for it.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal as _babel_decimal
from babel.numbers import get_currency_symbol

LANGUAGES = {"en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"
DOMAIN = "textedit"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_language: ContextVar[str] = ContextVar("textedit_language", default=DEFAULT_LANGUAGE)


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _translations(language: str) -> gettext.NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()  # the message ids are the English text
    with catalogue_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def current_language() -> str:
    return _language.get()


def set_language(language: str | None) -> str:
    """Use `language` for the rest of this run (an unknown one means the default); returns it."""
    chosen = language if language in LANGUAGES else DEFAULT_LANGUAGE
    _language.set(chosen)
    return chosen


@contextmanager
def language(code: str) -> Iterator[None]:
    """A block in another language (tests, a route answering one request)."""
    token = _language.set(code if code in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _language.reset(token)


def best_language(accept_language: str | None) -> str:
    """The supported language an Accept-Language header (or a locale such as "ru-RU") asks for
    first; the default when it asks for none of them."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    wanted = []
    for part in accept_language.split(","):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            wanted.append((quality, tag.replace("_", "-")))
    wanted.sort(key=lambda item: -item[0])  # stable: equal weights keep the header's order
    found = negotiate_locale([tag for _q, tag in wanted], list(LANGUAGES), sep="-")
    return found or DEFAULT_LANGUAGE


def _(message: str, **params: object) -> str:
    """`message` in the current language, its {placeholders} filled from `params`."""
    text = _translations(_language.get()).gettext(message)
    return text.format(**params) if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    """The form of `singular`/`plural` that `n` needs in the current language, with {n} filled
    in as a number of that language (1 000 in Russian, 1,000 in English)."""
    text = _translations(_language.get()).ngettext(singular, plural, n)
    return text.format(n=format_number(n), **params)


def N_(message: str) -> str:
    """Marks a string for the catalogue where it is defined; `_()` translates it where shown."""
    return message


def _locale() -> Locale:
    try:
        return Locale.parse(_language.get())
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LANGUAGE)


def format_number(value: int) -> str:
    """An integer with the language's grouping: 12,345 / 12 345 (a non-breaking space)."""
    return _babel_decimal(value, locale=_locale())


def format_decimal(value: Decimal, *, min_places: int = 0, max_places: int = 6, grouped: bool = True) -> str:
    """A Decimal exactly, with between `min_places` and `max_places` decimals, in the
    language's notation (0.10 / 0,10), thousands grouped unless `grouped` is False. Never rounds
    a stored amount up or down beyond `max_places` (money here has at most 6)."""
    whole = "#,##0" if grouped else "0"
    pattern = whole + ("." + "0" * min_places + "#" * (max_places - min_places) if max_places else "")
    return _babel_decimal(value, format=pattern, locale=_locale(), decimal_quantization=False)


def format_money(amount: Decimal, currency: str) -> str:
    """An amount with at least two decimals and its currency: "0.10 USD" / "0,10 USD"; a
    currency the language writes with a symbol of its own shows it: "1 234,50 ₽"."""
    number = format_decimal(amount, min_places=2)
    symbol = get_currency_symbol(currency, locale=_locale())
    if symbol != currency and len(symbol) == 1:
        return f"{number}\u00a0{symbol}" if _language.get() == "ru" else f"{symbol}{number}"
    return f"{number}\u00a0{currency}"


def format_datetime(moment: datetime, zone: tzinfo, *, seconds: bool = False) -> str:
    """A moment in `zone`, in the language's medium form, with the zone named."""
    pattern = "d MMM y, HH:mm:ss" if seconds else "d MMM y, HH:mm"
    local = moment.astimezone(zone)
    return f"{_babel_datetime(local, pattern, locale=_locale())} ({zone_label(local)})"


def format_day(day: date) -> str:
    return _babel_date(day, "d MMM y", locale=_locale())


def zone_label(moment: datetime) -> str:
    """The zone of an aware moment as its offset, "UTC" or "UTC+3": unambiguous in any language
    (zone names differ per language and some read wrongly out of season)."""
    offset = moment.utcoffset()
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
