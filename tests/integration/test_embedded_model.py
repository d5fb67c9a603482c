"""The real embedded SmolLM2 model through LangChain and the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import BaseModel

from memo_graph import LocalChatModel, resolve_chat_model

pytestmark = pytest.mark.integration


class Capital(BaseModel):
    country: str
    capital: str


def test_answers_a_known_fact() -> None:
    llm = resolve_chat_model("local", max_tokens=24)
    assert "Paris" in str(llm.invoke("What is the capital of France?").content)


def test_structured_answer_is_right_and_typed() -> None:
    llm = LocalChatModel(max_tokens=64)
    reply = llm.with_structured_output(Capital).invoke("What is the capital of France?")
    assert isinstance(reply, Capital)
    assert "Paris" in reply.capital


def test_json_mode_without_schema_gives_an_object() -> None:
    llm = LocalChatModel(max_tokens=96, frequency_penalty=0.5)
    reply = llm.with_structured_output(method="json_mode").invoke(
        "Give the name and age of a fictional person as JSON."
    )
    assert isinstance(reply, dict)


def _memo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memo_graph.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_chat_answers() -> None:
    done = _memo("chat", "What is the capital of France?", "--max-tokens", "24")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Paris" in done.stdout
    assert "tokens in" in done.stdout


def test_cli_bad_spec_is_a_clear_error() -> None:
    done = _memo("chat", "hi", "--model", "nosuchprovider:x")
    assert done.returncode == 2
    assert "unknown provider 'nosuchprovider'" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_cli_help_lists_commands() -> None:
    done = _memo("--help")
    assert done.returncode == 0 and "chat" in done.stdout
