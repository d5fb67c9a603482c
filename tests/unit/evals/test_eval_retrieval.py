"""The RAG systems' indexes find the evidence of our invented questions."""

from __future__ import annotations

import pytest

from evals.benchmarks import load_benchmark
from evals.systems.retrieval import Bm25Index, DenseIndex, split_passages


@pytest.mark.parametrize("index_type", [Bm25Index, DenseIndex])
def test_top_hit_is_evidence_for_most_questions(index_type) -> None:
    bench = load_benchmark("invented")
    index = index_type(split_passages(list(bench.documents.values())))
    hits = [index.search(q.question, 1)[0].document_id in q.evidence_ids for q in bench.questions]
    assert sum(hits) >= 14, hits  # of 20; cross-document questions have two evidence documents


def test_passages_are_word_windows_that_remember_their_document() -> None:
    bench = load_benchmark("invented")
    document = bench.documents["orvane-tessaly"]
    passages = split_passages([document], words=20, overlap=5)
    assert len(passages) > 1
    assert all(p.document_id == "orvane-tessaly" for p in passages)
    assert all(len(p.text.split()) <= 20 for p in passages)
    assert passages[0].text.split()[-5:] == passages[1].text.split()[:5]


def test_search_never_asks_for_more_than_the_index_holds() -> None:
    bench = load_benchmark("invented")
    index = Bm25Index(split_passages(list(bench.documents.values())[:2]))
    assert len(index.search("Who founded the society?", 10)) == 2
    assert len(index.search("the of and", 10)) == 2  # nothing but stopwords
