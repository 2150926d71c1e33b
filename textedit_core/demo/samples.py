"""Sample texts in English and Russian that the editor offers in demo mode."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from textedit_core.editing.operations import OPERATIONS

SAMPLES_FILE = Path(__file__).with_name("samples.json")


@dataclass(frozen=True)
class Sample:
    title: str
    language: str  # "en" | "ru"
    operation: str  # a key of operations.OPERATIONS
    text: str


LANGUAGES = ("en", "ru")


@lru_cache(maxsize=1)
def _load_samples() -> tuple[Sample, ...]:
    raw = json.loads(SAMPLES_FILE.read_text(encoding="utf-8"))
    samples = []
    for item in raw:
        sample = Sample(item["title"], item["language"], item["operation"], item["text"])
        if sample.language not in LANGUAGES or sample.operation not in OPERATIONS:
            raise ValueError(f"{SAMPLES_FILE}: bad language or operation in {sample.title!r}")
        if not sample.title.strip() or not sample.text.strip():
            raise ValueError(f"{SAMPLES_FILE}: a sample needs a title and a text")
        samples.append(sample)
    return tuple(samples)


def sample_texts() -> list[Sample]:
    """Texts the editor offers in demo mode, in file order."""
    return list(_load_samples())
