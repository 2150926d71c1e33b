"""The changes between a text and the model's edit of it, word by word, for the user to accept
or reject one at a time.

Both texts are cut into words, whitespace runs and single punctuation marks and compared with
difflib, in two passes for speed (words with their trailing spaces, then each differing stretch
token by token). Every character of both texts is in exactly one segment, so accepting every
change gives the edit back and rejecting every change gives the original back.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal, TypeAlias

# A word may hold apostrophes and hyphens between its letters ("don't", "из-за"), so a fix inside
# such a word reads as one change. Every character matches one branch: nothing is dropped.
_WORD = r"\w+(?:['’-]\w+)*"
_TOKEN = re.compile(rf"{_WORD}|\s+|[^\w\s]")
# The first pass compares words and marks with the spaces after them. Spaces as tokens of their
# own would be half of each list, and difflib's matching slows down with the square of how often
# a token recurs: about 0.3 s instead of a few ms for two 6,000-character texts.
_COARSE_TOKEN = re.compile(rf"(?:{_WORD}|[^\w\s])\s*|\s+")
# A differing stretch longer than this (tokens of one side times the other's) is a rewritten
# passage: token by token it shares only spaces and marks, and comparing it would take seconds
# (an English text against a Russian one: 11 s). It stays one change.
_MAX_REFINED = 200 * 200


@dataclass(frozen=True)
class Same:
    """Text both versions share."""

    text: str


@dataclass(frozen=True)
class Change:
    """One place where the edit differs: `removed` from the original, `inserted` in its place."""

    id: int
    removed: str
    inserted: str

    @property
    def kind(self) -> Literal["insert", "delete", "replace"]:
        if not self.removed:
            return "insert"
        if not self.inserted:
            return "delete"
        return "replace"


Segment: TypeAlias = Same | Change


@dataclass(frozen=True)
class Review:
    """The original and the edit as one sequence: shared text and changes, in reading order."""

    segments: tuple[Segment, ...]

    @property
    def changes(self) -> tuple[Change, ...]:
        return tuple(segment for segment in self.segments if isinstance(segment, Change))


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


@dataclass
class _Part:
    """A segment being built: equal text (removed == inserted) or a change."""

    equal: bool
    removed: str
    inserted: str


def _opcodes(a: list[str], b: list[str]) -> list[_Part]:
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return [
        _Part(tag == "equal", "".join(a[i1:i2]), "".join(b[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
    ]


def _refined(change: _Part) -> list[_Part]:
    a, b = tokenize(change.removed), tokenize(change.inserted)
    return _opcodes(a, b) if len(a) * len(b) <= _MAX_REFINED else [change]


def _coarse(original: str, edited: str) -> list[_Part]:
    """The coarse comparison. The shared start and end are set aside first: difflib's time grows
    with how often tokens recur, and a near-identical repetitive text ("ha ha ha ...") would
    otherwise take a second."""
    a, b = _COARSE_TOKEN.findall(original), _COARSE_TOKEN.findall(edited)
    shortest = min(len(a), len(b))
    start = 0
    while start < shortest and a[start] == b[start]:
        start += 1
    end = 0
    while end < shortest - start and a[-1 - end] == b[-1 - end]:
        end += 1
    head, tail = "".join(a[:start]), "".join(a[len(a) - end :])
    middle = _opcodes(a[start : len(a) - end], b[start : len(b) - end])
    return [_Part(True, head, head), *middle, _Part(True, tail, tail)]


def _diff(original: str, edited: str) -> list[_Part]:
    """Coarse tokens first, then each differing stretch again token by token: "cat " -> "cat, "
    becomes the insertion of ",". Adjacent equal parts are joined, empty ones dropped."""
    parts: list[_Part] = []
    for coarse in _coarse(original, edited):
        for part in [coarse] if coarse.equal else _refined(coarse):
            if part.equal and not part.removed:
                continue
            if part.equal and parts and parts[-1].equal:
                parts[-1].removed += part.removed
                parts[-1].inserted += part.inserted
            else:
                parts.append(part)
    return parts


def _joins_changes(part: _Part) -> bool:
    """Spaces between two changes: "teh cat" -> "the dog" reads better as one change than two.
    A line break is not bridged, so no change spans two lines or paragraphs."""
    return part.equal and part.removed.isspace() and "\n" not in part.removed and "\r" not in part.removed


def _merge(parts: list[_Part]) -> list[_Part]:
    merged: list[_Part] = []
    for part in parts:
        if not part.equal and len(merged) >= 2 and not merged[-2].equal and _joins_changes(merged[-1]):
            space = merged.pop()
            merged[-1].removed += space.removed + part.removed
            merged[-1].inserted += space.inserted + part.inserted
        else:
            merged.append(_Part(part.equal, part.removed, part.inserted))
    return merged


def _segments(parts: Iterable[_Part]) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    changes = 0
    for part in parts:
        if part.equal:
            segments.append(Same(part.removed))
        else:
            segments.append(Change(changes, part.removed, part.inserted))
            changes += 1
    return tuple(segments)


def compare(original: str, edited: str) -> Review:
    """The word-level changes that turn `original` into `edited`."""
    return Review(_segments(_merge(_diff(original, edited))))


def apply(review: Review, accepted: Collection[int]) -> str:
    """The text with the `accepted` changes made and every other change left as in the original.
    Ids the review does not have are ignored."""
    return "".join(
        segment.text
        if isinstance(segment, Same)
        else segment.inserted
        if segment.id in accepted
        else segment.removed
        for segment in review.segments
    )
