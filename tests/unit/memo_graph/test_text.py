"""The words of answers and replies, read alike in every script."""

from __future__ import annotations

from memo_graph.text import FUNCTION_WORDS, content_words, is_question, normalise, support


def test_normalise_folds_case_and_punctuation_and_keeps_every_script() -> None:
    assert normalise("  The  Lornhaven-Observatory! ") == "the lornhaven observatory"
    assert normalise("Zürich, 東京 и Αθήνα?") == "zürich 東京 и αθήνα"
    assert normalise("STRASSE") == normalise("strasse")


def test_a_question_in_any_script_has_words_to_match() -> None:
    question = "Кто основал Орленби?"
    assert is_question(question)
    assert normalise(question) == "кто основал орленби"
    assert support("Мира Талвеск", "Мира Талвеск основала Орленби.") == 1.0


def test_content_words_leave_out_the_function_words_and_a_reply_that_knows_nothing() -> None:
    assert content_words("Who founded the town of Orlenby?") == {"founded", "town", "orlenby"}
    assert content_words("I do not know the answer.") == set()
    assert {"the", "of", "who", "was"} <= FUNCTION_WORDS
