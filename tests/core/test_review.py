"""Reviewing an edit: the word-level changes between the original and the model's text, each
accepted or rejected on its own (textedit_core.editing.review)."""

from __future__ import annotations

from textedit_core.editing.review import Change, Review, Same, apply, compare


def test_accepting_every_change_gives_the_edited_text():
    review = compare("I has a apple. Thx for teh help!", "I have an apple. Thanks for the help.")
    assert apply(review, {0, 1, 2, 3}) == "I have an apple. Thanks for the help."


def test_rejecting_every_change_gives_the_original_text():
    review = compare("I has a apple. Thx for teh help!", "I have an apple. Thanks for the help.")
    assert apply(review, set()) == "I has a apple. Thx for teh help!"


def test_accepting_every_change_of_a_russian_text_gives_the_edited_text():
    review = compare("Я пошол в магазин, и купил хлеб.", "Я пошёл в магазин и купил хлеба.")
    assert apply(review, {change.id for change in review.changes}) == "Я пошёл в магазин и купил хлеба."


def test_rejecting_every_change_of_a_russian_text_gives_the_original():
    review = compare("Я пошол в магазин, и купил хлеб.", "Я пошёл в магазин и купил хлеба.")
    assert apply(review, ()) == "Я пошол в магазин, и купил хлеб."


def test_identical_texts_have_no_changes():
    review = compare("Nothing to fix here.\n\nНичего.", "Nothing to fix here.\n\nНичего.")
    assert review == Review((Same("Nothing to fix here.\n\nНичего."),))


def test_the_changes_are_listed_in_order_with_ids_from_zero():
    review = compare("I has a apple. Thx for teh help!", "I have an apple. Thanks for the help.")
    assert review.changes == (
        Change(0, "has a", "have an"),
        Change(1, "Thx", "Thanks"),
        Change(2, "teh", "the"),
        Change(3, "!", "."),
    )


def test_the_segments_hold_the_shared_text_between_the_changes():
    review = compare("I has a apple.", "I have an apple.")
    assert review.segments == (Same("I "), Change(0, "has a", "have an"), Same(" apple."))


def test_a_partial_accept_mixes_the_two_texts():
    review = compare("I has a apple. Thx for teh help!", "I have an apple. Thanks for the help.")
    assert apply(review, {1, 3}) == "I has a apple. Thanks for teh help."


def test_accepting_only_the_first_change_keeps_the_rest_of_the_original():
    review = compare("I has a apple. I has two pear.", "I have an apple. I have two pears.")
    assert [(c.removed, c.inserted) for c in review.changes] == [
        ("has a", "have an"),
        ("has", "have"),
        ("pear", "pears"),
    ]
    assert apply(review, {0}) == "I have an apple. I has two pear."


def test_a_partial_accept_of_a_russian_text_mixes_the_two_texts():
    review = compare("Я пошол в магазин, и купил хлеб.", "Я пошёл в магазин и купил хлеба.")
    assert apply(review, {1}) == "Я пошол в магазин и купил хлеб."


def test_ids_the_review_does_not_have_are_ignored():
    review = compare("I has a apple.", "I have an apple.")
    assert apply(review, {0, 7}) == "I have an apple."


def test_changes_separated_by_a_space_read_as_one_change():
    review = compare("teh cat sat.", "the dog sat.")
    assert review.changes == (Change(0, "teh cat", "the dog"),)


def test_changes_separated_by_a_word_stay_apart():
    review = compare("teh big cat", "the big dog")
    assert review.changes == (Change(0, "teh", "the"), Change(1, "cat", "dog"))


def test_a_line_break_between_two_changes_keeps_them_apart():
    review = compare("teh\ncat", "the\ndog")
    assert review.segments == (Change(0, "teh", "the"), Same("\n"), Change(1, "cat", "dog"))


def test_a_russian_word_changes_as_a_whole_word():
    review = compare("Я пошол в магазин.", "Я пошёл в магазин.")
    assert review.segments == (Same("Я "), Change(0, "пошол", "пошёл"), Same(" в магазин."))


def test_a_word_with_an_apostrophe_changes_as_a_whole_word():
    review = compare("He don't know.", "He doesn't know.")
    assert review.changes == (Change(0, "don't", "doesn't"),)


def test_a_hyphenated_russian_word_changes_as_a_whole_word():
    review = compare("Он вышел из-под стола.", "Он вышел из-за стола.")
    assert review.changes == (Change(0, "из-под", "из-за"),)


def test_an_added_comma_is_an_insertion_of_the_comma_alone():
    review = compare("Well I think so.", "Well, I think so.")
    assert review.segments == (Same("Well"), Change(0, "", ","), Same(" I think so."))


def test_a_change_kind_names_insertion_deletion_and_replacement():
    review = compare("Hello world. It was big and bright", "Hello, world. It was and light")
    assert [(c.removed, c.inserted, c.kind) for c in review.changes] == [
        ("", ",", "insert"),
        ("big ", "", "delete"),
        ("bright", "light", "replace"),
    ]


def test_paragraphs_and_line_breaks_are_kept():
    original = "First line\nsecond line.\n\nНовый абзац\n\n\nlast"
    edited = "First line\nsecond lines.\n\nНовый абзац!\n\n\nlast"
    review = compare(original, edited)
    assert review.segments == (
        Same("First line\nsecond "),
        Change(0, "line", "lines"),
        Same(".\n\nНовый абзац"),
        Change(1, "", "!"),
        Same("\n\n\nlast"),
    )
    assert apply(review, {0}) == "First line\nsecond lines.\n\nНовый абзац\n\n\nlast"


def test_a_changed_line_break_is_a_change():
    review = compare("One.\nTwo.", "One.\n\nTwo.")
    assert review.segments == (Same("One."), Change(0, "\n", "\n\n"), Same("Two."))


def test_an_empty_original_is_one_insertion():
    review = compare("", "Новый текст.")
    assert review.segments == (Change(0, "", "Новый текст."),)
    assert apply(review, ()) == ""


def test_an_empty_edit_is_one_deletion():
    review = compare("Old text.", "")
    assert review.segments == (Change(0, "Old text.", ""),)
    assert apply(review, {0}) == ""


def test_two_empty_texts_have_no_segments():
    assert compare("", "") == Review(())


def test_a_passage_rewritten_in_another_language_is_one_change():
    original = "the quick brown fox jumps over the lazy dog " * 40
    edited = "съешь же ещё этих мягких французских булок " * 40
    assert compare(original, edited).segments == (Change(0, original, edited),)


def test_a_long_stretch_without_a_shared_word_and_space_is_not_compared_word_by_word():
    """Over 200 x 200 tokens, comparing token by token could take seconds; the stretch is one change."""
    original = "cat dog " * 60
    edited = "cat\ndog\n" * 60
    assert compare(original, edited).segments == (Change(0, original, edited),)


def test_a_short_stretch_without_a_shared_word_and_space_is_compared_word_by_word():
    review = compare("cat dog cat", "cat\ndog\ncat")
    assert review.segments == (
        Same("cat"),
        Change(0, " ", "\n"),
        Same("dog"),
        Change(1, " ", "\n"),
        Same("cat"),
    )
