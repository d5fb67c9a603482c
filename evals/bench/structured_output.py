"""Structured-output benchmark of the embedded chat model: 50 requests with a nested schema
(a list of objects), grammar-constrained, against the same requests decoded freely.

    python -m evals.bench.structured_output [--model SPEC] [--requests 50]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from evals.bench.common import output_tokens, print_result
from memo_graph import resolve_chat_model

TOPICS = [
    "rivers",
    "castles",
    "volcanoes",
    "libraries",
    "bridges",
    "deserts",
    "trains",
    "islands",
    "forests",
    "comets",
]


class QAPair(BaseModel):
    question: str = Field(max_length=80)
    answer: str = Field(max_length=60)


class QASet(BaseModel):
    topic: str = Field(max_length=30)
    pairs: list[QAPair] = Field(min_length=1, max_length=3)


def prompts(count: int) -> list[str]:
    schema = json.dumps(QASet.model_json_schema())
    return [
        f"Write {1 + i % 3} short question-answer pairs about {TOPICS[i % len(TOPICS)]} as JSON "
        f"matching this schema, and nothing else: {schema}"
        for i in range(count)
    ]


def _valid(text: str) -> bool:
    try:
        QASet.model_validate_json(text)
    except (ValidationError, ValueError):
        return False
    return True


def run(spec: str, count: int, max_tokens: int) -> dict[str, object]:
    model = resolve_chat_model(spec, max_tokens=max_tokens, temperature=0.0)
    questions: list[Any] = prompts(count)
    model.invoke("warm up", max_tokens=2)

    structured = model.with_structured_output(QASet, include_raw=True)
    started = time.perf_counter()
    constrained = structured.batch(
        questions, config={"max_concurrency": 16}, return_exceptions=True
    )
    constrained_s = time.perf_counter() - started
    replies = [r for r in constrained if isinstance(r, dict)]
    valid = sum(isinstance(r["parsed"], QASet) for r in replies)
    constrained_tokens = output_tokens(r["raw"] for r in replies)

    started = time.perf_counter()
    free = model.batch(questions, config={"max_concurrency": 16})
    free_s = time.perf_counter() - started
    free_valid = sum(_valid(str(r.content)) for r in free)
    free_tokens = output_tokens(free)

    per_token_constrained = constrained_s / max(constrained_tokens, 1)
    per_token_free = free_s / max(free_tokens, 1)
    return {
        "valid": f"{valid}/{count}",
        "unconstrained_valid": f"{free_valid}/{count}",
        "constrained_s": round(constrained_s, 1),
        "unconstrained_s": round(free_s, 1),
        "constrained_tok_s": round(constrained_tokens / constrained_s, 1),
        "unconstrained_tok_s": round(free_tokens / free_s, 1),
        "time_ratio": round(constrained_s / free_s, 2),
        "per_token_ratio": round(per_token_constrained / per_token_free, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="local")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args()
    result = run(args.model, args.requests, args.max_tokens)
    print_result("structured_output", result)


if __name__ == "__main__":
    main()
