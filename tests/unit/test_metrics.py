import pytest

from evals.metrics import exact_match, normalise_answer, token_f1


def test_normalisation_and_scores() -> None:
    assert normalise_answer("The  Brask, river!") == "brask river"
    assert exact_match("the Brask river.", ["Brask River", "Brask"]) == 1.0
    assert exact_match("Brask", "Quenmoor") == 0.0
    assert token_f1("born in Quenmoor", "Talvesk was born in Quenmoor") == pytest.approx(0.75)
    assert token_f1("", "x") == 0.0 and token_f1("", "") == 1.0
