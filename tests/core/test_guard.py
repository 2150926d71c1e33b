"""The answer guard: which answers become the user's edited text, and which are refused.

Most fixtures are answers a small real model gave (tests/core/data/real_model_answers.jsonl:
SmolLM2-135M-Instruct under llama.cpp, recorded with earlier versions of the prompt and no `stop`
option; each record keeps the model's input and raw answer). The clean-up cases quoted in issue 10
are written out where no recorded answer has them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textedit_core.editing.guard import clean_answer, guarded_answer, similarity
from textedit_core.editing.operations import get_operation
from textedit_core.errors import (
    AnswerEchoedInstructions,
    AnswerEmpty,
    AnswerNotAnEdit,
    AnswerNotShorter,
    AnswerRefused,
    AnswerWrongLanguage,
)

DATA = Path(__file__).parent / "data" / "real_model_answers.jsonl"
RECORDED = {record["id"]: record for record in map(json.loads, DATA.read_text("utf-8").splitlines())}


def guard_recorded(record_id: str) -> str:
    record = RECORDED[record_id]
    return guarded_answer(get_operation(record["operation"]), record["input"], record["answer"])


FIX = get_operation("fix")
SHORTEN = get_operation("shorten")
PARAPHRASE = get_operation("paraphrase")


# --- the edited text is taken from the answer ------------------------------------------------


def test_the_text_block_after_a_preamble_is_delivered():
    # "A user message needs to be edited ... Here's the revised text:\n\n<text>...</text>"
    assert guard_recorded("B/en_plain/shorten/1") == (
        "Our team has completed the quarterly report yesterday, with impressive results: 12% growth "
        "in sales (3%) and we opened two new offices in Berlin and Madrid. In the next quarter, we "
        "plan to hire five engineers and improve our onboarding process."
    )


def test_what_follows_the_closing_tag_is_dropped():
    # After </text>: "<br />\nThe user message contains a text between <text> and </text>. ..."
    assert guard_recorded("B/en_plain/fix/2") == (
        "Our team has finished the quarterly report yesterday. The results were better than "
        "expected, and we've opened two new offices in Berlin and Madrid. Next quarter we plan to "
        "hire five engineers and improve our onboarding process."
    )


def test_a_closing_tag_without_an_opening_one_ends_the_text():
    assert guard_recorded("A/ru_inject/paraphrase/-") == (
        "Собрание переносится на четверг, 10 окружации. Итого содержесть выше предлемно применения "
        "долларов и ноутбуках комплечарая."
    )


def test_a_fix_close_to_the_text_is_delivered():
    assert guard_recorded("C/en_plain/fix/2") == (
        "Our team has finished the quarterly report yesterday. The results was better then expected: "
        "sales grew by 12% and we opened two new offices in Berlin and Madrid. Next quarter we plan "
        "to hire five engineers, and to improve our onboarding process, wich still takes too long."
    )


def test_a_shorten_clearly_shorter_is_delivered():
    assert guard_recorded("A/en_plain/shorten/-") == (
        "Our team has finished the quarterly report yesterday. The results were better than expected: "
        "sales grew by 12%, and we opened two new offices in Berlin and Madrid, still taking too long "
        "to improve our onboarding process."
    )


def test_an_unchanged_text_is_a_valid_fix():
    assert guarded_answer(FIX, "The meeting is on Monday.", "The meeting is on Monday.") == (
        "The meeting is on Monday."
    )


def test_a_short_text_may_change_a_few_characters_more_than_the_share_allows():
    assert guarded_answer(FIX, "teh cat sat", "The cat sat.") == "The cat sat."


# --- refused: each rule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record_id",
    [
        "A/en_plain/paraphrase/2",  # English text answered in Russian (the prompt's old example)
        "A/en_plain/fix/2",
        "A/en_plain/shorten/2",
        "A/ru_question/paraphrase/1",  # Russian text answered in English
        "C/ru_plain/paraphrase/1",
    ],
)
def test_an_answer_in_another_script_than_the_text_is_refused(record_id):
    with pytest.raises(AnswerWrongLanguage):
        guard_recorded(record_id)


@pytest.mark.parametrize(
    "record_id",
    [
        "A/en_plain/fix/1",
        "A/en_question/shorten/1",
        "C/en_question/fix/1",  # "...a text between <text> and </text>...": not a text block
        "C/ru_question/paraphrase/1",
    ],
)
def test_an_answer_that_echoes_the_instructions_is_refused(record_id):
    with pytest.raises(AnswerEchoedInstructions):
        guard_recorded(record_id)


def test_words_of_the_instructions_that_the_text_itself_has_are_no_echo():
    text = "The user message contains a text between two quotes."
    assert guarded_answer(FIX, text, text) == text


def test_a_fix_that_drops_a_sentence_is_refused():
    # "...write a poem about the sea." without "Please bring the printed agenda and your laptops."
    with pytest.raises(AnswerNotAnEdit):
        guard_recorded("A/en_inject/fix/1")


def test_a_fix_that_answers_the_question_in_the_text_is_refused():
    with pytest.raises(AnswerNotAnEdit):
        guard_recorded("A/en_question/fix/1")


@pytest.mark.parametrize("record_id", ["A/en_plain/paraphrase/1", "A/en_question/paraphrase/1"])
def test_a_paraphrase_far_longer_than_the_text_is_refused(record_id):
    with pytest.raises(AnswerNotAnEdit):
        guard_recorded(record_id)


def test_a_paraphrase_far_shorter_than_the_text_is_refused():
    # "I'd like to know more about the user's account. What can I do?"
    with pytest.raises(AnswerNotAnEdit):
        guard_recorded("A/en_question/paraphrase/2")


def test_a_reply_to_the_user_instead_of_an_edit_is_refused():
    # "I'd be happy to help you with that. However, ..." (about as long as the text)
    with pytest.raises(AnswerNotAnEdit):
        guard_recorded("C/en_question/paraphrase/2")


@pytest.mark.parametrize(
    "record_id",
    [
        "A/en_plain/shorten/1",  # longer than the text
        "A/en_inject/shorten/1",  # the text less four characters
        "C/en_question/shorten/2",  # the text again, inside a <text> block
    ],
)
def test_a_shorten_that_is_not_clearly_shorter_is_refused(record_id):
    with pytest.raises(AnswerNotShorter):
        guard_recorded(record_id)


def test_a_shorten_that_keeps_almost_nothing_is_refused():
    text = "The meeting is moved to Thursday at 10 am. Please bring the printed agenda and your laptops."
    with pytest.raises(AnswerNotAnEdit):
        guarded_answer(SHORTEN, text, "Meeting.")


@pytest.mark.parametrize("answer", ["<text>\n</text>", "```\n```", '""', "  \n "])
def test_an_answer_empty_after_cleaning_is_refused(answer):
    with pytest.raises(AnswerEmpty):
        guarded_answer(FIX, "Fixd text.", answer)


def test_a_refusal_is_a_broken_answer_with_a_full_sentence():
    with pytest.raises(AnswerRefused) as caught:
        guard_recorded("A/en_inject/fix/1")
    assert str(caught.value) == "The model's answer did not look like an edit of your text."


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (AnswerEmpty, "The model returned an empty answer."),
        (AnswerEchoedInstructions, "The model repeated its instructions instead of editing your text."),
        (AnswerWrongLanguage, "The model answered in a different language from your text."),
        (AnswerNotShorter, "The model could not make this text shorter."),
        (AnswerNotAnEdit, "The model's answer did not look like an edit of your text."),
    ],
)
def test_each_refusal_says_why_in_a_sentence(error, message):
    assert str(error()) == message


# --- clean-up ---------------------------------------------------------------------------------


def test_clean_answer_trims_whitespace():
    assert clean_answer("  Fixed text.\n\n", "Fixd text.") == "Fixed text."


@pytest.mark.parametrize("fence", ["```", "```text"])
def test_clean_answer_drops_code_fences(fence):
    assert clean_answer(f"{fence}\nFixed text.\n```", "Fixd text.") == "Fixed text."


@pytest.mark.parametrize(
    "preamble",
    [
        "Sure! Here is the corrected text:\n\n",
        "Вот исправленный текст:\n",
        "Сокращённая версия:\n",
        "Исправленная версия:\n",
        "Краткий вариант:\n",
        "Paraphrase:\n",
        "**Paraphrased text:**\n\n",
        "Here is the shortened text: ",
        "Here's the edited text with no unnecessary formatting:\n",
    ],
)
def test_clean_answer_drops_a_preamble(preamble):
    assert clean_answer(f"{preamble}Fixed text.", "Fixd text.") == "Fixed text."


def test_clean_answer_keeps_a_first_line_that_only_looks_like_a_preamble():
    # A paraphrase's real first line: it names no text, version or result.
    answer = "Sure enough, the results came in:\nSales grew by 12%."
    assert clean_answer(answer, "As expected, the results arrived:\nSales grew by 12%.") == answer


def test_clean_answer_keeps_a_first_line_that_is_part_of_the_users_text():
    text = "Here is the corrected text:\n1. Open the box.\n2. Take the cake."
    assert clean_answer(text, text) == text


@pytest.mark.parametrize(
    "note",
    [
        "\n\nNote: I corrected the spelling of 'text'.",
        "\n(Note: I corrected two words.)",
        "\n\nI made a few changes to make your text more concise.",
        "\n\nПримечание: я исправил одно слово.",
    ],
)
def test_clean_answer_drops_a_closing_note(note):
    assert clean_answer(f"Fixed text.{note}", "Fixd text.") == "Fixed text."


def test_clean_answer_keeps_a_last_line_in_the_first_person_that_is_not_about_the_edit():
    answer = "We baked all day.\nI made a cake."
    assert clean_answer(answer, "We were baking all day.\nI baked a cake.") == answer


def test_clean_answer_keeps_a_note_that_is_part_of_the_users_text():
    text = "Bring laptops.\n\nNote: the room changed."
    assert clean_answer(text, text) == text


def test_clean_answer_keeps_fences_the_users_text_has():
    text = "```python\nprint('hi')\n```"
    assert clean_answer(text, text) == text


@pytest.mark.parametrize("quoted", ['"Fixed text."', "«Fixed text.»", "“Fixed text.”"])
def test_clean_answer_drops_wrapping_quotes(quoted):
    assert clean_answer(quoted, "Fixd text.") == "Fixed text."


def test_clean_answer_keeps_quotes_that_open_and_close_two_parts():
    assert clean_answer('"A." B."', '"A." B.') == '"A." B."'


def test_clean_answer_keeps_wrapping_quotes_when_the_input_was_quoted():
    assert clean_answer('"Fixed text."', '"Fixd text."') == '"Fixed text."'


def test_clean_answer_drops_text_tags():
    assert clean_answer("<text>\nFixed text.\n</text>", "Fixd text.") == "Fixed text."


def test_clean_answer_keeps_tags_the_users_text_has():
    text = "Wrap it in <text> and </text>."
    assert clean_answer(text, text) == text


# --- similarity -------------------------------------------------------------------------------


def test_similarity_counts_a_typo_as_its_letters_only():
    assert similarity("Hello wrold", "Hello world") == pytest.approx(0.9, abs=0.01)
