"""The answer guard: the edited text out of a model's raw answer, or a refusal.

Pure functions, no I/O. Every rule here was seen failing on a small real model (126 recorded
answers of SmolLM2-135M, tests/core/data/real_model_answers.jsonl): preambles before a <text>
block, text after </text>, the instructions echoed, English texts answered in Russian, a "fix"
that dropped a sentence, answers several times longer than the text. A refused answer raises an
`AnswerRefused`; the edit job refunds its token and never delivers it.
"""

from __future__ import annotations

import difflib
import re

from textedit_core.editing.operations import CLOSE_TAG, OPEN_TAG, Operation, system_prompt
from textedit_core.errors import (
    AnswerEchoedInstructions,
    AnswerEmpty,
    AnswerNotAnEdit,
    AnswerNotShorter,
    AnswerWrongLanguage,
)

# --- clean-up ---------------------------------------------------------------------------------

_FENCE = re.compile(r"^```[\w-]*\n(.*?)\n?```$", re.DOTALL)
# A line that introduces the result: "Sure! Here is the corrected text:", "**Paraphrased text:**",
# "Paraphrase:", "Вот исправленный текст:", "Сокращённая версия:", "Краткий вариант:". The
# result may follow on the same line. It must name the text as a result (a "here is", an
# adjective such as "corrected", or "paraphrase"): "Sure enough, the results came in:" is content.
_PREAMBLE = re.compile(
    r"""^[*_#\s]{0,4}
    (?:
      (?:(?:sure|certainly|of\ course|okay|ok|alright|absolutely)\b[!.,]*\s*)?
      (?P<en_here>(?:here(?:'s|\ is|\ are)|below\ is|this\ is|i've\ \w+|i\ have\ \w+)\s+)?
      (?:(?:the|your|a|an|my)\s+)?
      (?P<en_adj>(?:corrected|edited|fixed|shortened|shorter|condensed|concise|paraphrased|rewritten
        |revised|reworded|improved|updated|final)\s+)?
      (?P<en_noun>text|version|sentence|paraphrase|rewrite|result)s?\b
    |
      (?:(?:конечно|хорошо)\b[!.,]*\s*)?
      (?P<ru_here>вот\s+)?
      (?P<ru_adj>(?:исправленн|сокращённ|сокращенн|перефразированн|кратк|отредактированн|улучшенн
        |переписанн)\w*\s+)?
      (?:текст|версия|вариант|пересказ)\w*
    )
    [^\n:]{0,60}:[*_]{0,2}(?:[ \t]*\n\s*|[ \t]+(?=\S))""",
    re.IGNORECASE | re.VERBOSE,
)
# A closing remark after the text: "Note: I corrected ...", "I made a few changes ...". Only
# remarks about the edit: "I made a cake." may well end a paraphrase of the user's own text.
_TRAILER = re.compile(
    r"""\n\s*[(*_]*
    (?:note|n\.b\.|p\.s\.|примечание
      |(?:i|we)(?:\ have|'ve)?\ (?:corrected|fixed|rephrased|reworded|shortened
        |made\ (?:a\ few|some|several|the\ following)\ (?:changes|corrections|edits))
      |я\ (?:исправил|сократил|перефразировал)\w*
    )\b.*\Z""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)
_QUOTE_PAIRS = {'"': '"', "'": "'", "«": "»", "“": "”", "„": "“"}


def _is_preamble(found: re.Match[str]) -> bool:
    names = ("en_here", "en_adj", "ru_here", "ru_adj")
    return any(found.group(name) for name in names) or (found.group("en_noun") or "").lower() in (
        "paraphrase",
        "rewrite",
    )


def _preamble(text: str) -> re.Match[str] | None:
    found = _PREAMBLE.match(text)
    return found if found and _is_preamble(found) else None


def _wrapped_in_quotes(text: str) -> bool:
    """One pair of quotes around the whole text: `"A." B."` is two quoted parts, not one."""
    if len(text) < 2 or _QUOTE_PAIRS.get(text[0]) != text[-1]:
        return False
    inner = text[1:-1]
    return text[0] not in inner and text[-1] not in inner


def _until_close_tag(answer: str, original: str) -> str:
    """What the model said before closing the <text> block: the request's `stop` ends the answer
    there. When the user's own text holds the tags, they are content and the answer is whole."""
    if OPEN_TAG in original or CLOSE_TAG in original:
        return answer
    end = answer.find(CLOSE_TAG)
    return answer if end == -1 else answer[:end]


def extract_text_block(answer: str, original: str) -> str:
    """The inside of the answer's <text> block, wherever it stands; the answer itself without one."""
    text = _until_close_tag(answer, original)
    if OPEN_TAG in original or CLOSE_TAG in original:
        return text
    start = text.rfind(OPEN_TAG)
    return text if start == -1 else text[start + len(OPEN_TAG) :]


def clean_answer(answer: str, original: str) -> str:
    """The edited text: the <text> block, without code fences, a chatty first line, a closing
    note or wrapping quotes, unless the user's own text has them too."""
    text = extract_text_block(answer, original).strip()
    original = original.strip()
    fenced = _FENCE.match(text)
    if fenced and not _FENCE.match(original):
        text = fenced.group(1).strip()
    preamble = _preamble(text)
    if preamble and not _preamble(original):
        text = text[preamble.end() :].strip()
    if not _TRAILER.search(original):
        text = _TRAILER.sub("", text).strip()
    if _wrapped_in_quotes(text) and not _wrapped_in_quotes(original):
        text = text[1:-1].strip()
    return text


# --- checks -----------------------------------------------------------------------------------

# Below this many letters the script of a text is not judged (a name, a number, "OK").
MIN_LETTERS_FOR_SCRIPT = 20
# A text is "in" a script when this share of its letters is in it; an answer must then have at
# least ANSWER_SCRIPT_SHARE of its letters in that script (Latin names in a Russian text are fine).
INPUT_SCRIPT_SHARE = 0.7
ANSWER_SCRIPT_SHARE = 0.5
# Five words in a row from the instructions that the user's text does not have: an echo.
ECHO_WORDS = 5
# Shorten: clearly shorter than the text (a recorded "shortened" answer was the text less four
# characters), but not a stub of it.
SHORTEN_MAX_RATIO = 0.9
SHORTEN_MIN_RATIO = 0.1
# Paraphrase: about as long as the text; short texts get some room ("Hi." -> "Hello there.").
PARAPHRASE_MIN_RATIO = 0.5
PARAPHRASE_MAX_RATIO = 1.5
PARAPHRASE_SLACK_CHARS = 20
# Fix: the corrected text stays close to the text. The recorded fix that dropped one sentence of
# three scored 0.80; real corrections of typo-heavy texts 0.9 and above. Short texts may change
# a few characters more than the share allows ("teh cat" -> "the cat").
FIX_MIN_SIMILARITY = 0.85
FIX_SLACK_CHARS = 20
# A reply to the user rather than an edit, when the user's text does not start that way.
_CHATTY_OPENING = re.compile(
    r"^(?:i'm sorry|i am sorry|i apologi[sz]e|i'd be happy|i would be happy|i can't|i cannot"
    r"|i'll (?:edit|make|help|add)|as an ai|as a text editor|hey there|dear \[|hi \[)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def _letters(text: str) -> tuple[int, int]:
    """(Cyrillic, Latin) letters of the text."""
    cyrillic = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return cyrillic, latin


def script_of(text: str) -> str | None:
    """ "cyrillic" or "latin" when most of the text's letters are in it; None when undecided."""
    cyrillic, latin = _letters(text)
    letters = cyrillic + latin
    if letters < MIN_LETTERS_FOR_SCRIPT:
        return None
    if cyrillic >= INPUT_SCRIPT_SHARE * letters:
        return "cyrillic"
    if latin >= INPUT_SCRIPT_SHARE * letters:
        return "latin"
    return None


def in_another_script(original: str, text: str) -> bool:
    """The text is in Latin or Cyrillic, and most letters of the answer are not."""
    script = script_of(original)
    cyrillic, latin = _letters(text)
    if script is None or cyrillic + latin < MIN_LETTERS_FOR_SCRIPT:
        return False
    same = cyrillic if script == "cyrillic" else latin
    return same < ANSWER_SCRIPT_SHARE * (cyrillic + latin)


def _word_runs(text: str, size: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.casefold())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def echoes_instructions(operation: Operation, original: str, text: str) -> bool:
    """Five words in a row of the instructions that the user's text does not have."""
    echoed = _word_runs(text, ECHO_WORDS) & _word_runs(system_prompt(operation), ECHO_WORDS)
    return bool(echoed - _word_runs(original, ECHO_WORDS))


def similarity(original: str, text: str) -> float:
    """How much of the two texts is the same, 0 to 1, by characters (difflib's ratio).

    Matched on words first (character matching is quadratic: minutes on 6,000 repetitive
    characters), then on the characters of each replaced run of words, so a typo costs only
    its letters."""
    if original == text:
        return 1.0
    a, b = _TOKEN.findall(original), _TOKEN.findall(text)
    total = sum(map(len, a)) + sum(map(len, b))
    same = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        if tag == "equal":
            same += 2 * sum(len(word) for word in a[i1:i2])
        elif tag == "replace":
            old, new = " ".join(a[i1:i2]), " ".join(b[j1:j2])
            # A long replaced run is a rewrite, not a correction: not worth matching letters.
            if len(old) + len(new) <= 200:
                blocks = difflib.SequenceMatcher(None, old, new, autojunk=False).get_matching_blocks()
                same += 2 * sum(block.size for block in blocks)
    return same / total if total else 1.0


def _check_length(operation: Operation, original: str, text: str) -> None:
    size, answer = len(original), len(text)
    if operation.key == "shorten":
        if answer > SHORTEN_MAX_RATIO * size:
            raise AnswerNotShorter
        if answer < SHORTEN_MIN_RATIO * size:
            raise AnswerNotAnEdit
    elif operation.key == "paraphrase":
        if not PARAPHRASE_MIN_RATIO * size <= answer <= PARAPHRASE_MAX_RATIO * size + PARAPHRASE_SLACK_CHARS:
            raise AnswerNotAnEdit
    elif operation.key == "fix":
        ratio = similarity(original, text)
        changed = (1 - ratio) * (size + answer)
        if ratio < FIX_MIN_SIMILARITY and changed > FIX_SLACK_CHARS:
            raise AnswerNotAnEdit


def guarded_answer(operation: Operation, original: str, answer: str) -> str:
    """The edited text to deliver, or an AnswerRefused saying why the answer is not one."""
    text = clean_answer(answer, original)
    original = original.strip()
    if not text:
        raise AnswerEmpty
    # Judged on all the model said, not only its <text> block: an echo that mentions the tags
    # ("...a text between <text> and </text>") would otherwise pass as a block of its own.
    if echoes_instructions(operation, original, _until_close_tag(answer, original)):
        raise AnswerEchoedInstructions
    if in_another_script(original, text):
        raise AnswerWrongLanguage
    if _CHATTY_OPENING.match(text) and not _CHATTY_OPENING.match(original):
        raise AnswerNotAnEdit
    _check_length(operation, original, text)
    return text
