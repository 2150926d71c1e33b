"""The writing systems (scripts) of a piece of text: the single-script test of Unicode TS #39
(section 5.1), which tells a look-alike such as Latin "fiona" with a Cyrillic "о" from a name
written in one alphabet.

Python's unicodedata has no Script property, but a letter's character name starts with its
script (LATIN SMALL LETTER A, CYRILLIC SMALL LETTER A, GREEK SMALL LETTER ALPHA), which is
enough for the scripts people type in addresses. Only letters count: digits, marks and
punctuation are Common or Inherited in TS #39 and fit any script. Text is read in NFKC, so a
full-width or mathematical "Ｆ" counts as the Latin letter it stands for.
"""

from __future__ import annotations

import unicodedata

from textedit_core.i18n import N_, _

# Name prefixes that are not the script's own name.
_ALIASES = {"CJK": "HAN", "IDEOGRAPHIC": "HAN", "KATAKANA-HIRAGANA": "KATAKANA"}
# Letters named for what they are, not for a script (MODIFIER LETTER APOSTROPHE).
_COMMON = frozenset({"MODIFIER"})
# TS #39's augmented script sets: Japanese writes Han with Hiragana and Katakana, Korean Han
# with Hangul, Chinese Han with Bopomofo; each of these mixes is one script there.
_AUGMENTED = {
    "HAN": frozenset({"HAN", "JAPANESE", "KOREAN", "BOPOMOFO"}),
    "HIRAGANA": frozenset({"JAPANESE"}),
    "KATAKANA": frozenset({"JAPANESE"}),
    "HANGUL": frozenset({"KOREAN"}),
    "BOPOMOFO": frozenset({"BOPOMOFO"}),
}
# The scripts whose letters look most alike; others are shown by their Unicode name.
_LABELS = {"LATIN": N_("Latin"), "CYRILLIC": N_("Cyrillic"), "GREEK": N_("Greek")}


def script_of(char: str) -> str | None:
    """The script of a letter ("LATIN", "CYRILLIC", "HAN"...); None for anything else."""
    if not unicodedata.category(char).startswith("L"):
        return None
    prefix = unicodedata.name(char, "").split(" ", 1)[0]
    if not prefix or prefix in _COMMON:
        return None
    return _ALIASES.get(prefix, prefix)


def letters_by_script(text: str) -> dict[str, str]:
    """Each script of `text` with its distinct letters, in the order they first appear."""
    found: dict[str, str] = {}
    for char in unicodedata.normalize("NFKC", text):
        script = script_of(char)
        if script is not None and char not in found.get(script, ""):
            found[script] = found.get(script, "") + char
    return found


def is_single_script(text: str) -> bool:
    """True when one script (in TS #39's augmented sense) can write every letter of `text`."""
    sets = [_AUGMENTED.get(script, frozenset({script})) for script in letters_by_script(text)]
    return not sets or bool(frozenset.intersection(*sets))


def label(script: str) -> str:
    """The script's name for people: "Latin", "Cyrillic" (translated); "Arabic", "Han"..."""
    return _(_LABELS[script]) if script in _LABELS else script.title()
