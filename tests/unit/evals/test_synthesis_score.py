"""The synthesis scores: coverage of reference pairs, groundedness in the source chunk and
well-formedness, each on pairs that should and should not count."""

from __future__ import annotations

from evals.synthesis_score import is_grounded, is_well_formed, score_synthesis, teaches

CHUNKS = [
    {"id": "c1", "text": "Orvane Tessaly (1871-1934) was born in the river town of Pellmarsh."}
]
REFERENCE = [
    {"question": "Where was Orvane Tessaly born?", "answer": "Pellmarsh, a river town."},
    {"question": "When did Orvane Tessaly die?", "answer": "In 1934."},
]


def pair(question: str, answer: str, step: str = "extraction") -> dict[str, object]:
    return {"question": question, "answer": answer, "step": step, "chunk_ids": ["c1"]}


def test_a_pair_teaches_a_reference_when_it_asks_the_same_and_holds_its_answer() -> None:
    assert teaches(pair("In which town was Orvane Tessaly born?", "Pellmarsh."), REFERENCE[0])
    assert not teaches(pair("Where was Orvane Tessaly born?", "A river town."), REFERENCE[0])
    assert not teaches(pair("What is Pellmarsh?", "Pellmarsh is a town."), REFERENCE[0])


def test_grounded_answers_stand_in_their_chunk() -> None:
    texts = {c["id"]: c["text"] for c in CHUNKS}
    assert is_grounded(pair("Where was Orvane Tessaly born?", "In Pellmarsh."), texts)
    assert not is_grounded(
        pair("What is the history of Pellmarsh?", "A long and winding one, full of stories."), texts
    )


def test_fragments_and_echoes_are_not_well_formed() -> None:
    assert is_well_formed(pair("Where was Orvane Tessaly born?", "Pellmarsh."))
    assert not is_well_formed(pair("1871-1934", "1934"))
    assert not is_well_formed(pair("Who was born in Pellmarsh in 1871?", "Pellmarsh"))


def test_scores_come_per_step_and_for_all_pairs() -> None:
    pairs = [
        pair("Where was Orvane Tessaly born?", "Pellmarsh."),
        pair("Who was born in Pellmarsh in 1871?", "Orvane Tessaly.", step="entity_surfacing"),
    ]
    scores = score_synthesis(pairs, CHUNKS, REFERENCE)
    assert scores["all"] == {"pairs": 2, "coverage": 0.5, "grounded": 1.0, "well_formed": 1.0}
    assert scores["entity_surfacing"]["coverage"] == 0.0
