"""The loaders on the real benchmark files in ../shared/data (HippoRAG's MuSiQue and
2WikiMultihopQA slices): counts, kinds, every evidence id resolving to a passage. Skipped, with
the reason, on a checkout that has no shared data beside it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from evals.benchmarks import BenchmarkError, load_benchmark
from evals.benchmarks.files import shared_data_dir

DATA = shared_data_dir()
needs_data = pytest.mark.skipif(
    not (DATA / "2wiki_corpus.json").exists(), reason=f"no real benchmark files in {DATA}"
)


@needs_data
def test_musique_30_loads_every_record_with_its_hops_and_aliases() -> None:
    bench = load_benchmark("musique", DATA / "musique_30.json")
    assert len(bench.questions) == 30
    assert Counter(q.kind for q in bench.questions) == {"2-hop": 17, "3-hop": 8, "4-hop": 5}
    raw = json.loads((DATA / "musique_30.json").read_text())
    for question, record in zip(bench.questions, raw, strict=True):
        assert question.answers[0] == record["answer"]
        assert set(question.answers[1:]) == set(record["answer_aliases"]) - {record["answer"]}
        supporting = [p for p in record["paragraphs"] if p["is_supporting"]]
        assert len(question.evidence_ids) == len(supporting)
        assert len(question.evidence_ids) + len(question.negative_ids) == len(record["paragraphs"])
        assert all(i in bench.documents for i in (*question.evidence_ids, *question.negative_ids))
    # 600 paragraphs, some shared between questions: one document each.
    assert len(bench.documents) < 600
    assert len(bench.corpus(bench.questions)) == len(bench.documents)


@needs_data
def test_2wiki_100_over_the_full_corpus_resolves_every_supporting_passage() -> None:
    bench = load_benchmark("2wiki", DATA / "2wiki_100.json", DATA / "2wiki_corpus.json")
    assert len(bench.questions) == 100
    assert len(bench.documents) == 6119
    assert Counter(q.kind for q in bench.questions) == {
        "compositional": 45,
        "comparison": 25,
        "bridge_comparison": 23,
        "inference": 7,
    }
    raw = json.loads((DATA / "2wiki_100.json").read_text())
    for question, record in zip(bench.questions, raw, strict=True):
        titles = {bench.documents[i].title for i in question.evidence_ids}
        assert titles == {title for title, _ in record["supporting_facts"]}
        # A context may hold the same passage twice: one document.
        own = {title for title, _ in record["context"]}
        assert len(question.evidence_ids) + len(question.negative_ids) == len(own)
    # Asked against the whole corpus by default, as HippoRAG 2 evaluates.
    assert len(bench.corpus(bench.questions[:3])) == 6119


@needs_data
def test_2wiki_own_scope_asks_only_against_the_questions_own_passages() -> None:
    bench = load_benchmark(
        "2wiki", DATA / "2wiki_100.json", DATA / "2wiki_corpus.json", scope="own"
    )
    pool = bench.corpus(bench.questions[:3])
    assert len(pool) <= 30
    assert {d.id for d in pool} >= {i for q in bench.questions[:3] for i in q.evidence_ids}
    alone = load_benchmark("2wiki", DATA / "2wiki_100.json")
    assert [d.id for d in alone.corpus(alone.questions[:3])] == [d.id for d in pool]


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


RECORD = {
    "_id": "q1",
    "type": "compositional",
    "question": "Who founded the company that made the Vantor kettle?",
    "answer": "Mira Osk",
    "context": [
        ["Vantor kettle", ["The Vantor kettle is made by Brell Works."]],
        ["Brell Works", ["Brell Works was founded by Mira Osk.", "It is in Kell."]],
        ["Kell", ["Kell is a town."]],
    ],
    "supporting_facts": [["Vantor kettle", 0], ["Brell Works", 0]],
}


def test_2wiki_format_joins_sentences_and_takes_evidence_from_supporting_facts(
    tmp_path: Path,
) -> None:
    questions = _write(tmp_path / "q.json", [RECORD])
    bench = load_benchmark("2wiki", questions)
    (question,) = bench.questions
    assert [bench.documents[i].title for i in question.evidence_ids] == [
        "Vantor kettle",
        "Brell Works",
    ]
    assert [bench.documents[i].title for i in question.negative_ids] == ["Kell"]
    assert bench.documents[question.evidence_ids[1]].text == (
        "Brell Works was founded by Mira Osk. It is in Kell."
    )
    assert question.kind == "compositional"


def test_2wiki_errors_name_the_record_and_what_is_wrong(tmp_path: Path) -> None:
    questions = _write(tmp_path / "q.json", [RECORD])
    corpus = _write(tmp_path / "corpus.json", [{"title": "Kell", "text": "Kell is a town."}])
    with pytest.raises(BenchmarkError, match="record 1: context passage 'Vantor kettle'"):
        load_benchmark("2wiki", questions, corpus)
    with pytest.raises(BenchmarkError, match="needs the corpus file"):
        load_benchmark("2wiki", questions, scope="corpus")
    stray = dict(RECORD, supporting_facts=[["Nowhere", 0]])
    with pytest.raises(BenchmarkError, match="not in its context: \\['Nowhere'\\]"):
        load_benchmark("2wiki", _write(tmp_path / "stray.json", [stray]))
    with pytest.raises(BenchmarkError, match="apply to 2wiki only"):
        load_benchmark("musique", questions, corpus)
