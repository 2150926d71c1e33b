"""The edits a user can ask for, with their instructions to the model. No model client here:
reports and the demo name operations without talking to Ollama."""

from __future__ import annotations

from dataclasses import dataclass

from textedit_core.errors import ValidationError


@dataclass(frozen=True)
class Operation:
    key: str
    label: str
    task: str
    temperature: float


OPERATIONS: dict[str, Operation] = {
    op.key: op
    for op in (
        Operation(
            "paraphrase",
            "Paraphrase",
            "Rewrite the text in different words. Keep its meaning, tone and level of detail.",
            0.6,
        ),
        Operation(
            "fix",
            "Fix",
            "Correct spelling, grammar and punctuation mistakes. Change nothing else: keep the "
            "wording, style and meaning. If there are no mistakes, return the text unchanged.",
            0.1,
        ),
        Operation(
            "shorten",
            "Shorten",
            "Make the text clearly shorter, about half its length, keeping the key information "
            "and its meaning.",
            0.3,
        ),
    )
}


def get_operation(key: str) -> Operation:
    try:
        return OPERATIONS[key]
    except KeyError:
        raise ValidationError(f"Unknown operation {key!r}.") from None
