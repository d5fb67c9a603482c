"""The benchmark loaders on small fixtures written in each format, and corpus selection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.benchmarks import BenchmarkError, load_benchmark
from tests.paths import FIXTURES as TEST_FIXTURES

FIXTURES = TEST_FIXTURES / "evals"


def test_musique_keeps_aliases_evidence_and_shares_paragraphs() -> None:
    bench = load_benchmark("musique", FIXTURES / "musique.json")
    first, second = bench.questions
    assert first.answers == ("Mira Osk", "M. Osk")
    assert [bench.documents[i].title for i in first.evidence_ids] == [
        "Vantor kettle",
        "Brell Works",
    ]
    assert first.kind == "2-hop"
    # "Brell Works" and "Kettle" appear under both questions: one document each.
    assert len(bench.documents) == 5
    assert first.evidence_ids[1] == second.evidence_ids[0]
    assert second.answers == ("1921",)


def test_narrativeqa_cuts_the_story_out_of_its_page_and_skips_missing_texts() -> None:
    bench = load_benchmark("narrativeqa", FIXTURES / "narrativeqa")
    assert set(bench.documents) == {"aa01", "bb02"}
    story = bench.documents["aa01"].text
    assert story.startswith("CHAPTER I") and story.endswith("THE END")
    assert "Gutenberg" not in story and "<body>" not in story and "& kept" in story
    assert bench.documents["aa01"].title == "The Lantern Keeper"
    assert [q.answers for q in bench.questions] == [
        ("Old Tamsin", "Tamsin"),
        ("A brass compass", "a compass"),
        ("At the sea", "the sea"),
    ]
    assert bench.notes == ["1 documents without a story text skipped"]


def test_browsecomp_plus_reads_inline_and_corpus_documents() -> None:
    bench = load_benchmark("browsecomp-plus", FIXTURES / "browsecomp_plus")
    first, second = bench.questions
    assert first.evidence_ids == ("d1", "d2") and first.negative_ids == ("d3",)
    assert bench.documents["d1"].title == "Skerry Light"
    assert second.evidence_ids == ("d2",) and second.negative_ids == ("d4",)
    assert set(bench.documents) == {"d1", "d2", "d3", "d4", "d5"}


def test_invented_benchmark_has_every_kind_of_question() -> None:
    bench = load_benchmark("invented")
    assert len(bench.questions) == 20 and len(bench.documents) == 8
    kinds = {q.kind for q in bench.questions}
    assert kinds == {"single-hop", "reversed", "cross-document"}
    assert all(len(q.evidence_ids) == 2 for q in bench.questions if q.kind == "cross-document")


def test_corpus_without_negatives_is_the_questions_own_documents() -> None:
    bench = load_benchmark("musique", FIXTURES / "musique.json")
    only_first = bench.corpus(bench.select(1))
    assert len(only_first) == 4
    # a benchmark with no per-question documents gives its whole corpus
    invented = load_benchmark("invented")
    assert len(invented.corpus(invented.select(1))) == 8


def test_noise_corpus_adds_k_negatives_per_evidence_document_own_ones_first() -> None:
    bench = load_benchmark("musique", FIXTURES / "musique.json")
    question = bench.questions[0]
    clean = bench.corpus([question], negatives=0)
    assert [d.id for d in clean] == list(question.evidence_ids)
    noisy = bench.corpus([question], negatives=1)
    assert len(noisy) == 4  # 2 evidence + 1 negative for each
    assert set(question.negative_ids) <= {d.id for d in noisy}
    invented = load_benchmark("invented")
    picked = invented.corpus(invented.select(2), negatives=2)
    assert len(picked) == 2 + 4
    assert picked == invented.corpus(invented.select(2), negatives=2)  # fixed seed


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("musique", lambda d: d / "missing.json", "not found"),
        ("musique", lambda d: _write(d / "m.json", "[{"), "not valid UTF-8 JSON"),
        ("musique", lambda d: _write(d / "m.json", '{"a": 1}'), "JSON list of objects"),
        (
            "musique",
            lambda d: _write(
                d / "m.json",
                json.dumps(
                    [
                        {
                            "id": "x",
                            "question": "q",
                            "answer": "a",
                            "paragraphs": [
                                {"title": "t", "paragraph_text": "p", "is_supporting": False}
                            ],
                        }
                    ]
                ),
            ),
            "no paragraph has is_supporting",
        ),
        ("generic", lambda d: d, "no corpus.json"),
        ("narrativeqa", lambda d: d, "NarrativeQA file not found"),
        ("browsecomp-plus", lambda d: d, "benchmark file not found"),
        ("nonesuch", lambda d: d, "unknown benchmark"),
    ],
)
def test_bad_benchmark_files_give_clear_errors(tmp_path, name, make, message) -> None:
    with pytest.raises(BenchmarkError, match=message):
        load_benchmark(name, make(tmp_path))


def test_generic_rejects_evidence_that_is_not_in_the_corpus(tmp_path) -> None:
    _write(tmp_path / "corpus.json", json.dumps([{"title": "A", "text": "a"}]))
    _write(
        tmp_path / "questions.jsonl",
        json.dumps({"question": "q?", "answer": "a", "evidence_ids": ["B"]}) + "\n",
    )
    with pytest.raises(BenchmarkError, match="evidence documents missing.*B"):
        load_benchmark("generic", tmp_path)


def test_generic_without_data_path_says_what_to_pass() -> None:
    with pytest.raises(BenchmarkError, match="--data is required"):
        load_benchmark("generic")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(BenchmarkError, match="limit must be 1 or more"):
        load_benchmark("invented").select(0)
