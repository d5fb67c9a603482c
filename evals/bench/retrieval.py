"""Our RAG baselines' retrievers held against published figures: passage recall@2 and @5 of
BM25 (bm25s) and dense retrieval (all-MiniLM-L6-v2) on the first 100 2WikiMultihopQA questions
of HippoRAG's reproduction set, searched over its whole 6,119-passage corpus.

Recall@k is HippoRAG's: per question, the share of its supporting passages among the top k
retrieved, averaged over questions.

    python -m evals.bench.retrieval [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

from evals.bench.common import print_result
from evals.benchmarks import Question, load_benchmark
from evals.benchmarks.files import shared_data_dir
from evals.systems.retrieval import Bm25Index, DenseIndex, PassageIndex, split_passages

KS = (2, 5)

PUBLISHED = {
    # Passage recall (R@2, R@5) on 2WikiMultihopQA over the same 6,119-passage corpus
    # (HippoRAG's questions; the papers use 1,000 of them, we use the first 100).
    # HippoRAG, arXiv 2405.14831, Table 2 (single-step retrieval):
    "HippoRAG 1 BM25": (51.8, 61.9),
    "HippoRAG 1 Contriever": (46.6, 57.5),
    "HippoRAG 1 GTR": (60.2, 67.9),
    # HippoRAG 2, arXiv 2502.14802, Table 3 (passage recall@5 only):
    "HippoRAG 2 BM25": (None, 65.3),
    "HippoRAG 2 Contriever": (None, 57.5),
    "HippoRAG 2 GTR (T5-base)": (None, 67.9),
    "HippoRAG 2 NV-Embed-v2 (7B)": (None, 76.5),
    "HippoRAG 2": (None, 90.4),
}


def top_documents(index: PassageIndex, query: str, k: int) -> list[str]:
    """The ids of the first ``k`` distinct documents among the passages retrieved."""
    found: list[str] = []
    depth = k
    while len(found) < k:
        hits = index.search(query, depth)
        found = list(dict.fromkeys(h.document_id for h in hits))[:k]
        if len(hits) < depth:
            break
        depth *= 2
    return found


def recall_at(index: PassageIndex, questions: list[Question], k: int) -> list[float]:
    scores = []
    for question in questions:
        top = set(top_documents(index, question.question, k))
        scores.append(sum(i in top for i in question.evidence_ids) / len(question.evidence_ids))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=shared_data_dir())
    args = parser.parse_args()
    benchmark = load_benchmark(
        "2wiki", args.data / "2wiki_100.json", args.data / "2wiki_corpus.json"
    )
    questions = benchmark.questions
    passages = split_passages(benchmark.corpus(questions))
    print(f"2wiki: {len(questions)} questions, {len(passages)} passages")
    result: dict[str, object] = {}
    for name, build in (("bm25", Bm25Index), ("dense", DenseIndex)):
        start = time.perf_counter()
        index = build(passages)
        built = time.perf_counter() - start
        by_kind: dict[str, list[float]] = defaultdict(list)
        for k in KS:
            scores = recall_at(index, questions, k)
            result[f"{name}_recall{k}"] = round(100 * sum(scores) / len(scores), 1)
            if k == KS[-1]:
                for question, score in zip(questions, scores, strict=True):
                    by_kind[question.kind].append(score)
        kinds = ", ".join(
            f"{kind} {100 * sum(s) / len(s):.1f} ({len(s)})" for kind, s in sorted(by_kind.items())
        )
        print(
            f"{name}: recall@2 {result[f'{name}_recall2']}, recall@5 {result[f'{name}_recall5']}"
            f" (index {built:.1f} s); recall@5 by kind: {kinds}"
        )
    for name, (at2, at5) in PUBLISHED.items():
        print(f"published, {name}: recall@2 {'-' if at2 is None else at2}, recall@5 {at5}")
    print_result("retrieval", result)


if __name__ == "__main__":
    main()
