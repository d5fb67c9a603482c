"""The MEMORY tool: LangChain's standard tool tests, batching, reply formats, agents."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_tests.unit_tests import ToolsUnitTests
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from pydantic import ValidationError

from memo_graph import LocalChatModel
from memo_graph.errors import ModelSpecError
from memo_graph.memory import MemoryBackend, MemoryTool, is_unknown
from tests.scripted import ScriptedChatModel, ToolCallingFakeModel


def fake_memory(*replies: str) -> MemoryBackend:
    return MemoryBackend(
        GenericFakeChatModel(messages=itertools.cycle(AIMessage(r) for r in replies))
    )


class TestMemoryToolStandard(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[MemoryTool]:
        return MemoryTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"backend": fake_memory("Brask.")}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"questions": ["Where was Talves Kormin born?", "What was his trade?"]}


def test_answers_as_text_and_replies_as_artifact() -> None:
    tool = MemoryTool(backend=fake_memory("He was born in Brask.", "I don't know."))
    message = tool.invoke(
        {
            "type": "tool_call",
            "id": "call-1",
            "name": tool.name,
            "args": {"questions": ["Where was Talves born?", "What was his trade?"]},
        }
    )
    assert isinstance(message, ToolMessage)
    assert message.content == (
        "Q: Where was Talves born?\nA: He was born in Brask.\n\n"
        "Q: What was his trade?\nA: I do not know."
    )
    assert message.artifact == [
        {
            "question": "Where was Talves born?",
            "answer": "He was born in Brask.",
            "reasoning": "",
            "confident": True,
            "sources": [],
            "unverified_sources": [],
        },
        {
            "question": "What was his trade?",
            "answer": "I don't know.",
            "reasoning": "",
            "confident": False,
            "sources": [],
            "unverified_sources": [],
        },
    ]


async def test_one_question_as_a_string_async() -> None:
    content, artifact = await MemoryTool(backend=fake_memory("Brask."))._arun("Where?")
    assert content == "Q: Where?\nA: Brask." and artifact[0]["confident"]


@pytest.mark.parametrize(
    "args",
    [{"questions": []}, {"questions": ["ok?", " "]}, {"questions": ""}, {"questions": ["q"] * 33}],
)
def test_bad_arguments_are_refused(args: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        MemoryTool(backend=fake_memory("x")).invoke(args)


def test_all_questions_of_a_call_are_decoded_in_one_batch(tiny_llama_dir: Path) -> None:
    model = LocalChatModel(model=str(tiny_llama_dir), max_tokens=6)
    tool = MemoryTool(backend=MemoryBackend(model))
    model.invoke("warm up")
    model.engine.largest_batch = 0
    tool.invoke({"questions": [f"Question number {n}?" for n in range(6)]})
    assert model.engine.largest_batch == 6


def test_json_reply_format_reads_answer_and_reasoning() -> None:
    replies = [
        json.dumps({"answer": "Brask", "reasoning": "I remember his birth record."}),
        "not JSON at all",
    ]
    backend = MemoryBackend(
        ScriptedChatModel(reply=lambda _: replies.pop(0) if replies else "still not JSON"),
        reply_format="json",
    )
    first, second = backend.answer(["Where?", "When?"], max_concurrency=1)
    assert (first.answer, first.reasoning, first.confident) == (
        "Brask",
        "I remember his birth record.",
        True,
    )
    assert not second.confident and "unusable reply" in second.reasoning


def test_json_reply_format_on_a_local_model_is_grammar_constrained(tiny_llama_dir: Path) -> None:
    backend = MemoryBackend(
        LocalChatModel(model=str(tiny_llama_dir), max_tokens=24), reply_format="json"
    )
    replies = backend.answer(["Where was Talves born?", "Who founded Brask?"])
    assert [r.question for r in replies] == ["Where was Talves born?", "Who founded Brask?"]
    assert all("unusable" not in r.reasoning for r in replies)


@pytest.mark.parametrize(
    ("reply", "unknown"),
    [
        ("I don't know.", True),
        ("I do not remember that.", True),
        ("Sorry, I'm not sure.", True),
        ("Unknown", True),
        ("", True),
        ("Unknown Pleasures is an album.", False),
        ("He was born in Brask.", False),
    ],
)
def test_unknown_replies_are_recognised(reply: str, unknown: bool) -> None:
    assert is_unknown(reply) is unknown


def test_missing_artifact_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelSpecError, match="missing"):
        MemoryTool.from_artifact(tmp_path / "missing")


def test_endpoint_factory_names_the_lora_module() -> None:
    tool = MemoryTool.from_endpoint("http://127.0.0.1:8000/v1", "memo", temperature=0.1)
    assert tool.backend.model.model_name == "memo"  # type: ignore[attr-defined]
    assert tool.temperature == 0.1


def test_drops_into_create_agent() -> None:
    memory = MemoryTool(backend=fake_memory("He was born in Brask."))
    agent_model = ToolCallingFakeModel(
        messages=iter(
            [
                AIMessage(
                    "",
                    tool_calls=[
                        {
                            "name": "ask_memory",
                            "args": {"questions": "Where was Talves born?"},
                            "id": "c1",
                        }
                    ],
                ),
                AIMessage("Talves was born in Brask."),
            ]
        )
    )
    agent = create_agent(agent_model, tools=[memory])
    out = agent.invoke({"messages": [HumanMessage("Where was Talves born?")]})
    tool_message = next(m for m in out["messages"] if isinstance(m, ToolMessage))
    assert "Brask" in tool_message.content
    assert tool_message.artifact[0]["confident"]
    assert out["messages"][-1].content == "Talves was born in Brask."


async def test_runs_in_a_tool_node_graph() -> None:
    memory = MemoryTool(backend=fake_memory("Brask."))
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode([memory]))
    builder.add_edge(START, "tools")
    graph = builder.compile()
    call = AIMessage(
        "",
        tool_calls=[{"name": "ask_memory", "args": {"questions": ["Where?", "Who?"]}, "id": "c1"}],
    )
    out = await graph.ainvoke({"messages": [call]})
    reply = out["messages"][-1]
    assert isinstance(reply, ToolMessage) and reply.tool_call_id == "c1"
    assert [r["question"] for r in reply.artifact] == ["Where?", "Who?"]
