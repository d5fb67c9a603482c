"""resolve_chat_model: every role's spec string, and a clear error for each bad one."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from memo_graph import LocalChatModel, ModelSpecError, resolve_chat_model


def test_local_and_local_path(tiny_llama_dir: Path) -> None:
    assert isinstance(resolve_chat_model("local"), LocalChatModel)
    model = resolve_chat_model(f"local:{tiny_llama_dir}", temperature=0.3, max_tokens=7)
    assert isinstance(model, LocalChatModel)
    assert (model.model, model.temperature, model.max_tokens) == (str(tiny_llama_dir), 0.3, 7)


def test_openai_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = resolve_chat_model("openai:gpt-4.1-mini", temperature=0.4)
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "gpt-4.1-mini" and model.temperature == 0.4


def test_google_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("langchain_google_genai")
    from langchain_google_genai import ChatGoogleGenerativeAI

    monkeypatch.setenv("GOOGLE_API_KEY", "test-key")
    model = resolve_chat_model("google_genai:gemini-3-flash")
    assert isinstance(model, ChatGoogleGenerativeAI)


@pytest.mark.parametrize("prefix", ["openai-compatible", "vllm"])
def test_openai_compatible_endpoint(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_COMPATIBLE_API_KEY", raising=False)
    model = resolve_chat_model(f"{prefix}:memo@http://127.0.0.1:8000/v1", max_tokens=9)
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "memo"
    assert model.openai_api_base == "http://127.0.0.1:8000/v1"
    assert model.max_tokens == 9


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "the spec is empty"),
        ("gpt-4.1-mini", "PROVIDER:MODEL"),
        ("openai:", "PROVIDER:MODEL"),
        ("nosuchprovider:model-x", "unknown provider 'nosuchprovider'"),
        ("openai-compatible:memo", "model name and a base URL"),
        ("vllm:@http://127.0.0.1:1/v1", "model name and a base URL"),
        ("local:", "PROVIDER:MODEL"),
        ("local:/definitely/not/here", "does not exist"),
    ],
)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(ModelSpecError, match=message) as info:
        resolve_chat_model(spec)
    assert repr(spec.strip()) in str(info.value) or spec == ""


def test_missing_api_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelSpecError, match="OPENAI_API_KEY"):
        resolve_chat_model("openai:gpt-4.1-mini")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    with pytest.raises(ModelSpecError, match="GOOGLE_API_KEY or GEMINI_API_KEY"):
        resolve_chat_model("google_genai:gemini-3-flash")


def test_non_model_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelSpecError, match="not a .gguf model"):
        resolve_chat_model(f"local:{text}")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelSpecError, match="neither config.json"):
        resolve_chat_model(f"local:{empty}")
