"""The lifecycle bench's measure of forgetting: the exact-unlearning reference's pairs and the
probes that count against the library."""

from __future__ import annotations

import json
from pathlib import Path

from evals.bench.lifecycle import cited_pairs, document_probes, forgotten_exact, only_there


def test_the_never_taught_memorys_pairs_leave_out_every_pair_of_the_document(
    tmp_path: Path,
) -> None:
    every = [json.loads(line) for line in cited_pairs(tmp_path).read_text().splitlines()]
    without = [
        json.loads(line)
        for line in cited_pairs(tmp_path, without="lornhaven").read_text().splitlines()
    ]
    drawing = [p for p in every if "lornhaven" in p["document_ids"]]
    assert drawing and any(len(p["document_ids"]) > 1 for p in drawing)
    assert len(without) == len(every) - len(drawing)
    assert all("lornhaven" not in p["document_ids"] for p in without)
    assert all(p["answer"].rstrip().endswith("]") for p in without)  # cited as a library's


def test_only_what_the_never_taught_memory_cannot_answer_counts_against_a_forget() -> None:
    assert forgotten_exact([True, False, False], [True, False, False]) == 0.0
    assert forgotten_exact([True, True, False], [True, False, False]) == 0.5
    assert forgotten_exact([True], [True]) == "na"
    assert forgotten_exact([True, False], None) == "na"


def test_probes_no_single_other_document_states_are_the_forgotten_ones() -> None:
    exclusive, shared = only_there("lornhaven", document_probes("lornhaven", 100, about=True))
    assert exclusive and shared
    assert not {p["question"] for p in exclusive} & {p["question"] for p in shared}
