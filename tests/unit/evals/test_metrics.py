import pytest

from evals.metrics import exact_match, normalise_answer, token_f1


def test_normalisation_and_scores() -> None:
    assert normalise_answer("The  Brask, river!") == "brask river"
    assert exact_match("the Brask river.", ["Brask River", "Brask"]) == 1.0
    assert exact_match("Brask", "Quenmoor") == 0.0
    assert token_f1("born in Quenmoor", "Talvesk was born in Quenmoor") == pytest.approx(0.75)
    assert token_f1("", "x") == 0.0 and token_f1("", "") == 1.0


def test_containment_counts_a_gold_answer_inside_a_longer_reply() -> None:
    from evals.metrics import answer_contained

    assert answer_contained("Dunmere, a river city.", ["Dunmere"]) == 1.0
    assert answer_contained("The Dunmere river", "dunmere") == 1.0
    assert answer_contained("Dunmeres", ["Dunmere"]) == 0.0  # whole words only
    assert answer_contained("anything", [""]) == 0.0
    assert answer_contained("born in 1871", ["1934", "1871"]) == 1.0
