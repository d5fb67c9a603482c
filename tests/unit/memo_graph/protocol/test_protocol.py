"""The protocol graph against scripted EXECUTIVEs and MEMORYs: budgets, rules, errors, cost."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver

from memo_graph import LocalChatModel
from memo_graph.errors import ModelSpecError, ProtocolInputError, ProtocolSettingsError
from memo_graph.memory import MemoryBackend, MemoryUnavailableError
from memo_graph.protocol import ProtocolContext, build_protocol
from tests.scripted import ScriptedChatModel, by_schema

PLAN = {"sub_questions": ["Who founded the Quenmoor glassworks?", "Who was born in Brask?"]}
FINAL = {"answer": "Talves Kormin", "justification": "The memory said so."}
NEVER_STOPS = by_schema(
    GroundingPlan=PLAN,
    IdentificationStep={
        "known_facts": [],
        "candidates": ["Talves Kormin", "Dramin Ashyor"],
        "decision": "ask",
        "target": "",
        "question": "Which glassblower was born in Brask?",
    },
    SeekingStep={
        "decision": "ask",
        "entity": "Talves Kormin",
        "question": "When did Talves Kormin open a workshop?",
    },
    FinalAnswer=FINAL,
)


def memory_saying(*replies: str) -> MemoryBackend:
    return MemoryBackend(
        GenericFakeChatModel(messages=itertools.cycle(AIMessage(r) for r in replies))
    )


async def run(
    executive: Any, memory: MemoryBackend, query: str = "Who was the glassblower?", **settings: Any
) -> dict[str, Any]:
    graph = build_protocol(executive, memory).compile(checkpointer=InMemorySaver())
    return await graph.ainvoke(
        {"query": query},
        {"configurable": {"thread_id": "t"}},
        context=ProtocolContext(**settings),
    )


def memory_answering(replies: dict[str, str], otherwise: str) -> MemoryBackend:
    """A MEMORY whose reply depends on the question."""
    return MemoryBackend(
        ScriptedChatModel(reply=lambda messages: replies.get(str(messages[-1].content), otherwise))
    )


QUERIES = ("Who was the glassblower?", "Who?", "Who else?")


def memory_beyond_the_query(reply: str) -> MemoryBackend:
    """A MEMORY that does not know the queries asked as they are (so that the graph does not
    end early on a confirmed direct reply) and gives ``reply`` to every other question."""
    return memory_answering(dict.fromkeys(QUERIES, "I don't know."), reply)


async def test_budgets_hold_against_an_executive_that_never_stops() -> None:
    executive = ScriptedChatModel(reply=NEVER_STOPS)
    memory = memory_answering({"Who was the glassblower?": "I don't know."}, "Talves Kormin.")
    # Default recursion limit (25): the budgets, not the limit, must end the run.
    out = await run(executive, memory)
    assert out["answer"] == "Talves Kormin"
    assert out["decided_by"] == "executive_supported"
    assert not out["identified"]
    stages = [e["stage"] for e in out["trail"]]
    assert stages.count("grounding") == 3  # the query itself, then the two sub-questions
    assert stages.count("identification") == 7
    assert stages.count("seeking") == 8
    assert executive.calls == 1 + 7 + 8 + 1
    assert out["cost"]["executive_calls"] == 17
    assert out["cost"]["executive_input_tokens"] == 170
    assert out["cost"]["executive_output_tokens"] == 85
    assert out["cost"]["memory_calls"] == len(out["trail"])
    stage_seconds = out["cost"]["stage_seconds"]
    assert set(stage_seconds) == {"grounding", "identification", "seeking"}
    assert 0 < sum(stage_seconds.values()) <= out["cost"]["wall_s"]
    assert out["errors"] == []


async def test_smaller_budgets_are_honoured() -> None:
    executive = ScriptedChatModel(reply=NEVER_STOPS)
    out = await run(
        executive, memory_beyond_the_query("Yes."), identification_turns=2, seeking_turns=1
    )
    stages = [e["stage"] for e in out["trail"]]
    assert (stages.count("identification"), stages.count("seeking")) == (2, 1)
    assert executive.calls == 1 + 2 + 1 + 1


async def test_a_question_is_dead_after_three_unknowns() -> None:
    out = await run(ScriptedChatModel(reply=NEVER_STOPS), memory_saying("I don't know."))
    repeated = [e for e in out["trail"] if e["question"] == "Which glassblower was born in Brask?"]
    assert len(repeated) == 7
    assert [e["sent"] for e in repeated] == [True] * 3 + [False] * 4
    assert out["cost"]["memory_calls"] == sum(e["sent"] for e in out["trail"])


async def test_a_targeted_candidate_is_demoted_then_dropped_and_never_confirmed() -> None:
    turn = itertools.count()

    def identification(_: list[BaseMessage]) -> dict[str, Any]:
        n = next(turn)
        return {
            "known_facts": [],
            "candidates": ["Dramin Ashyor", "Talves Kormin"],
            "decision": "confirm" if n >= 4 else "ask",
            "target": "Dramin Ashyor",
            "question": f"Was Dramin Ashyor a glassblower? ({n})",
        }

    executive = ScriptedChatModel(
        reply=by_schema(
            GroundingPlan=PLAN,
            IdentificationStep=identification,
            SeekingStep={"decision": "answer", "entity": "", "question": ""},
            FinalAnswer=FINAL,
        )
    )
    out = await run(executive, memory_saying("I don't know."))
    by_name = {c["name"]: c for c in out["candidates"]}
    assert by_name["Dramin Ashyor"]["status"] == "dropped"
    assert by_name["Dramin Ashyor"]["unknown_replies"] == 3
    # Confirming puts forward the first candidate that is not dropped.
    assert out["entity"] == "Talves Kormin" and out["identified"]
    assert by_name["Talves Kormin"]["status"] == "confirmed"


async def test_demoted_after_two_targeted_unknowns() -> None:
    def identification(_: list[BaseMessage]) -> dict[str, Any]:
        return {
            "known_facts": ["born in Brask"],
            "candidates": ["Dramin Ashyor", "Talves Kormin"],
            "decision": "ask",
            "target": "Dramin Ashyor",
            "question": "Was Dramin Ashyor born in Brask?",
        }

    executive = ScriptedChatModel(
        reply=by_schema(
            GroundingPlan=PLAN,
            IdentificationStep=identification,
            SeekingStep={"decision": "answer", "entity": "", "question": ""},
            FinalAnswer=FINAL,
        )
    )
    out = await run(executive, memory_saying("I don't know."), identification_turns=2)
    assert [c["status"] for c in out["candidates"]] == ["active", "demoted"]
    assert out["candidates"][0]["name"] == "Talves Kormin"
    assert out["entity"] == "Talves Kormin"
    assert out["known_facts"] == ["born in Brask"]


async def test_confirmed_entity_is_named_in_every_seeking_question() -> None:
    executive = ScriptedChatModel(
        reply=by_schema(
            GroundingPlan=PLAN,
            IdentificationStep={
                "known_facts": [],
                "candidates": ["Talves Kormin"],
                "decision": "confirm",
                "target": "Talves Kormin",
                "question": "",
            },
            SeekingStep={"decision": "ask", "entity": "Talves Kormin", "question": "Which year?"},
            FinalAnswer=FINAL,
        )
    )
    out = await run(executive, memory_beyond_the_query("1802."), seeking_turns=3)
    assert out["identified"] and out["entity"] == "Talves Kormin"
    seeking = [e for e in out["trail"] if e["stage"] == "seeking"]
    assert len(seeking) == 3
    assert all("Talves Kormin" in e["question"] for e in seeking)
    assert all(e["target"] == "Talves Kormin" for e in seeking)


async def test_the_final_answer_sees_only_replies_that_were_not_unknown() -> None:
    seen: list[str] = []

    def final(messages: list[BaseMessage]) -> dict[str, str]:
        seen.append(str(messages[-1].content))
        return FINAL

    executive = ScriptedChatModel(
        reply=by_schema(
            GroundingPlan=PLAN,
            IdentificationStep={
                "known_facts": [],
                "candidates": [],
                "decision": "give_up",
                "target": "",
                "question": "",
            },
            SeekingStep={"decision": "answer", "entity": "", "question": ""},
            FinalAnswer=final,
        )
    )
    unknown = {
        "Who was the glassblower?": "I don't know.",
        "Who was born in Brask?": "I don't know.",
    }
    await run(executive, memory_answering(unknown, "Talves Kormin founded it."))
    assert "Talves Kormin founded it." in seen[0]
    assert "Who was born in Brask?" not in seen[0]


async def test_garbage_from_the_executive_is_retried_then_recorded() -> None:
    executive = ScriptedChatModel(reply=lambda _: "Sure! Here is my answer: the glassblower.")
    out = await run(executive, memory_saying("Talves Kormin."), executive_retries=1)
    stages = ["grounding", "identification", "seeking", "final answer"]
    assert [e.split(":")[0] for e in out["errors"]] == stages
    assert executive.calls == 2 * len(stages)
    # Grounding falls back to asking the query itself; the run still returns an answer.
    assert out["trail"][0]["question"] == "Who was the glassblower?"
    assert out["answer"] == "Talves Kormin"


async def test_exchanges_stream_as_custom_events() -> None:
    """Answer seeking is a subgraph: its events reach the caller with ``subgraphs=True``."""
    memory = memory_beyond_the_query("Yes.")
    graph = build_protocol(ScriptedChatModel(reply=NEVER_STOPS), memory).compile()
    events = [
        (namespace, chunk)
        async for namespace, chunk in graph.astream(
            {"query": "Who?"},
            context=ProtocolContext(identification_turns=1, seeking_turns=1),
            stream_mode="custom",
            subgraphs=True,
        )
    ]
    assert [bool(namespace) for namespace, _ in events] == [False] * 4 + [True]
    assert [e["exchange"]["stage"] for _, e in events] == [
        "grounding",
        "grounding",
        "grounding",
        "identification",
        "seeking",
    ]


async def test_a_thread_reused_for_a_new_query_starts_a_fresh_record() -> None:
    memory = memory_beyond_the_query("Yes.")
    graph = build_protocol(ScriptedChatModel(reply=NEVER_STOPS), memory).compile(
        checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "same"}}
    context = ProtocolContext(identification_turns=1, seeking_turns=1)
    first = await graph.ainvoke({"query": "Who?"}, config, context=context)
    second = await graph.ainvoke({"query": "Who else?"}, config, context=context)
    assert len(second["trail"]) == len(first["trail"]) == 5
    assert second["cost"]["executive_calls"] == 4


@pytest.mark.parametrize("query", ["", "   ", "x" * 5000])
async def test_bad_queries_are_refused(query: str) -> None:
    with pytest.raises(ProtocolInputError, match="query"):
        await run(ScriptedChatModel(reply=NEVER_STOPS), memory_saying("Yes."), query=query)


@pytest.mark.parametrize(
    "settings",
    [
        {"identification_turns": 0},
        {"seeking_turns": -1},
        {"max_subquestions": 0},
        {"dead_end_after": 0},
        {"executive_retries": -1},
        {"memory_concurrency": 0},
        {"grounding_temperature": 3.0},
        {"demote_after": 4, "drop_after": 3},
        {"executive": " "},
    ],
)
def test_bad_settings_are_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ProtocolSettingsError):
        ProtocolContext(**settings)


async def test_bad_settings_given_as_a_dict_fail_at_invoke() -> None:
    graph = build_protocol(ScriptedChatModel(reply=NEVER_STOPS), memory_saying("Yes.")).compile()
    with pytest.raises(ProtocolSettingsError, match="identification_turns"):
        await graph.ainvoke({"query": "Who?"}, context={"identification_turns": 0})


async def test_a_memory_that_is_down_gives_a_clear_error() -> None:
    down = ChatOpenAI(
        model="memo", base_url="http://127.0.0.1:9/v1", api_key="none", max_retries=0, timeout=5
    )
    with pytest.raises(MemoryUnavailableError, match="server is running"):
        await run(ScriptedChatModel(reply=NEVER_STOPS), MemoryBackend(down))


async def test_a_missing_artifact_gives_a_clear_error(tmp_path: Any) -> None:
    graph = build_protocol(ScriptedChatModel(reply=NEVER_STOPS)).compile()
    with pytest.raises(ModelSpecError, match="does not exist|no such|not found"):
        await graph.ainvoke({"query": "Who?"}, context={"memory": f"local:{tmp_path / 'missing'}"})


async def test_runs_on_a_real_local_model_as_both_roles(tiny_llama_dir: Any) -> None:
    """A tiny random model writes nonsense, but the grammar keeps every executive reply valid:
    the run completes within its budgets with no recorded error."""
    model = LocalChatModel(model=str(tiny_llama_dir), max_tokens=48)
    out = await run(
        model,
        MemoryBackend(model.model_copy(update={"max_tokens": 8})),
        identification_turns=2,
        seeking_turns=2,
    )
    assert out["errors"] == []
    assert out["cost"]["executive_calls"] >= 3
    assert out["cost"]["executive_output_tokens"] > 0
    assert 1 <= sum(e["stage"] == "grounding" for e in out["trail"]) <= 4
    assert isinstance(out["answer"], str)
