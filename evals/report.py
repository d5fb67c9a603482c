"""The evaluation's report in ``--out``: CSV and Markdown tables (systems x metrics), the
noise comparison when negatives were added, and PNG plots."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.scoring import SCORES, summarise
from memo_graph.files import write_text_atomically

SUMMARY_COLUMNS = (
    "condition", "system", "questions", "exact_match", "f1", "contained", "judge_correct",
    "recall_at_k",
    "executive_input_tokens", "executive_output_tokens", "memory_calls", "wall_s", "errors",
)  # fmt: skip
ROW_COLUMNS = (
    "condition", "system", "question_id", "kind", "question", "gold", "answer", "exact_match",
    "f1", "contained", "judge_correct", "recall_at_k", "executive_input_tokens",
    "executive_output_tokens", "memory_calls", "wall_s", "error", "decided_by",
)  # fmt: skip


def format_value(value: Any) -> str:
    """A score or cost as the tables show it: '-' for none, 3 decimals for small floats."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def _cell(value: Any) -> str:
    return format_value(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def noise_rows(summary: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per system: accuracy on the evidence alone, with negatives, and the change."""
    conditions = list(dict.fromkeys(row["condition"] for row in summary))
    if len(conditions) != 2:
        return []
    clean, noisy = conditions
    metric = "judge_correct" if any(r["judge_correct"] is not None for r in summary) else "f1"
    by_key = {(r["condition"], r["system"]): r for r in summary}
    rows = []
    for system in dict.fromkeys(row["system"] for row in summary):
        before = by_key[(clean, system)][metric]
        after = by_key[(noisy, system)][metric]
        change = None if before is None or after is None else round(after - before, 4)
        rows.append(
            {"system": system, "metric": metric, clean: before, noisy: after, "change": change}
        )
    return rows


KIND_COLUMNS = ("condition", "system", "kind", "questions", *SCORES)


def _kind(row: dict[str, Any]) -> str:
    return row.get("kind") or "-"


def kind_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Means per condition, system and kind of question (hops, 2Wiki's types); empty when
    every question is of one kind."""
    order = {kind: i for i, kind in enumerate(dict.fromkeys(_kind(row) for row in rows))}
    if len(order) < 2:
        return []
    groups: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
    for row in rows:
        by_kind = groups.setdefault((row["condition"], row["system"]), {})
        by_kind.setdefault(_kind(row), []).append(row)
    return [
        {"condition": condition, "system": system, "kind": kind, **summarise(by_kind[kind])}
        for (condition, system), by_kind in groups.items()
        for kind in sorted(by_kind, key=order.__getitem__)
    ]


def accuracy_vs_cost_plot(summary: Sequence[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = "judge_correct" if any(r["judge_correct"] is not None for r in summary) else "f1"
    figure, axes = plt.subplots(figsize=(6, 4))
    several = len({row["condition"] for row in summary}) > 1
    for row in summary:
        tokens = (row["executive_input_tokens"] or 0) + (row["executive_output_tokens"] or 0)
        label = f"{row['system']} ({row['condition']})" if several else row["system"]
        axes.scatter(tokens, row[metric] or 0.0, label=label, s=40)
    axes.set_ylim(-0.05, 1.05)
    axes.legend(fontsize=7, loc="best")
    axes.set_xlabel("executive tokens per query (in + out)")
    axes.set_ylabel("judge accuracy" if metric == "judge_correct" else "F1")
    axes.set_title("Accuracy vs cost")
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)


def _save(figure: Any, path: Path) -> None:
    staging = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(staging, dpi=120)
    staging.replace(path)


def write_report(
    out: Path, title: str, rows: list[dict[str, Any]], summary: list[dict[str, Any]]
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "summary_csv": out / "summary.csv",
        "rows_csv": out / "results.csv",
        "markdown": out / "report.md",
        "plot": out / "accuracy_vs_cost.png",
    }
    write_text_atomically(files["summary_csv"], csv_text(summary, SUMMARY_COLUMNS))
    write_text_atomically(files["rows_csv"], csv_text(rows, ROW_COLUMNS))
    text = f"# {title}\n\n## Systems\n\n" + markdown_table(summary, SUMMARY_COLUMNS)
    noise = noise_rows(summary)
    if noise:
        text += "\n## Noise\n\n" + markdown_table(noise, list(noise[0]))
    kinds = kind_rows(rows)
    if kinds:
        text += "\n## By kind of question\n\n" + markdown_table(kinds, KIND_COLUMNS)
    text += (
        "\nScores are means per question; recall_at_k only for the retrieval systems; costs "
        "are per query.\n"
    )
    write_text_atomically(files["markdown"], text)
    accuracy_vs_cost_plot(summary, files["plot"])
    return files
