"""The graph's rules for the final answer, whatever the EXECUTIVE does: the query itself is
always asked, an answer must be supported by a confident MEMORY reply, a confirmed direct reply
ends the run early, and the output says which rule decided."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from memo_graph.memory import MemoryBackend
from memo_graph.protocol import ProtocolContext, build_protocol
from memo_graph.protocol.rules import (
    DECISIONS,
    about,
    answer_phrase,
    decide_answer,
    grounding_questions,
)
from memo_graph.protocol.state import Exchange
from memo_graph.text import core, is_question, support
from tests.scripted import ScriptedChatModel, by_schema

QUERY = "Where was the cartographer of the Drennic Islands born?"


def executive(
    final_answer: str, sub_questions: list[str] | None = None, justification: str = "scripted"
) -> ScriptedChatModel:
    """An EXECUTIVE that never confirms anything and answers ``final_answer`` at the end."""
    return ScriptedChatModel(
        reply=by_schema(
            GroundingPlan={"sub_questions": sub_questions or ["Who charted the Drennic Islands?"]},
            IdentificationStep={
                "known_facts": [],
                "candidates": [],
                "decision": "ask",
                "target": "",
                "question": "Which cartographer sailed with herring boats?",
            },
            SeekingStep={"decision": "answer", "entity": "", "question": ""},
            FinalAnswer={"answer": final_answer, "justification": justification},
        )
    )


def memory(replies: dict[str, str], otherwise: str = "I don't know.") -> MemoryBackend:
    return MemoryBackend(
        ScriptedChatModel(reply=lambda m: replies.get(str(m[-1].content), otherwise))
    )


async def run(executive: Any, memory: MemoryBackend, **settings: Any) -> dict[str, Any]:
    graph = build_protocol(executive, memory).compile(checkpointer=InMemorySaver())
    return await graph.ainvoke(
        {"query": QUERY},
        {"configurable": {"thread_id": "t"}},
        context=ProtocolContext(identification_turns=2, seeking_turns=2, **settings),
    )


def exchange(question: str, answer: str, confident: bool = True) -> Exchange:
    return Exchange(
        stage="grounding",
        question=question,
        answer=answer,
        reasoning="",
        confident=confident,
        target="",
        sent=True,
    )


def test_the_query_is_always_a_grounding_question() -> None:
    assert grounding_questions(QUERY, [], 4) == [QUERY]
    assert grounding_questions(QUERY, ["Who?", "who?", QUERY.upper(), "When?"], 2) == [
        QUERY,
        "Who?",
    ]


def test_support_counts_content_words_only() -> None:
    assert support("Pellmarsh", "He was born in Pellmarsh, a river town.") == 1.0
    assert support("the river town of Pellmarsh", "Pellmarsh.") == 1 / 3  # river, town missing
    assert core("Pellmarsh, a river town.") == "Pellmarsh"
    assert core("Orvane Tessaly (1871-1934).") == "Orvane Tessaly (1871-1934)"
    assert support("It was the", "It was the") == 0.0  # no content at all


async def test_an_answer_from_nothing_gives_way_to_the_memorys_direct_reply() -> None:
    replies = {QUERY: "Pellmarsh, a river town."}
    out = await run(executive("Lornhaven"), memory(replies))
    assert out["answer"] == "Pellmarsh"  # the reply's answer phrase; the rest justifies it
    assert out["justification"].startswith("The MEMORY replied 'Pellmarsh, a river town.'")
    assert out["decided_by"] == "memory_direct_unsupported"
    assert any(e["question"] == QUERY for e in out["trail"])


async def test_a_supported_executive_answer_stands() -> None:
    replies = {
        QUERY: "I don't know.",
        "Who charted the Drennic Islands?": "Orvane Tessaly charted them in 1898.",
        "Which cartographer sailed with herring boats?": "Orvane Tessaly, born in Pellmarsh.",
    }
    out = await run(executive("Pellmarsh"), memory(replies))
    assert out["answer"] == "Pellmarsh"
    assert out["decided_by"] == "executive_supported"


async def test_an_empty_justification_is_replaced_by_the_rule_that_decided() -> None:
    replies = {"Who charted the Drennic Islands?": "Orvane Tessaly, born in Pellmarsh."}
    out = await run(executive("Pellmarsh", justification=" "), memory(replies))
    assert out["answer"] == "Pellmarsh"
    assert out["justification"] == f"Chosen by the graph ({DECISIONS[out['decided_by']]})."


async def test_with_no_direct_reply_the_best_supported_reply_is_the_answer() -> None:
    replies = {
        QUERY: "I don't know.",
        "Who charted the Drennic Islands?": "Orvane Tessaly.",
        "Which cartographer sailed with herring boats?": "Orvane Tessaly of Pellmarsh.",
    }
    out = await run(executive("Mount Quillon"), memory(replies))
    assert out["answer"] == "Orvane Tessaly"
    assert out["decided_by"] == "memory_best_supported"


async def test_a_memory_that_knows_nothing_leaves_the_executive_answer_marked() -> None:
    out = await run(executive("Pellmarsh"), memory({}))
    assert out["answer"] == "Pellmarsh"
    assert out["decided_by"] == "executive_no_memory_reply"


async def test_a_confirmed_direct_reply_ends_the_run_early() -> None:
    replies = {
        QUERY: "Pellmarsh, a river town.",
        "Who charted the Drennic Islands?": "Orvane Tessaly of Pellmarsh.",
    }
    scripted = executive("Lornhaven")
    out = await run(scripted, memory(replies), max_subquestions=2)
    assert out["answer"] == "Pellmarsh"
    assert out["decided_by"] == "memory_confirmed_direct"
    assert scripted.calls == 1  # grounding only: no identification, seeking or final call
    assert {e["stage"] for e in out["trail"]} == {"grounding"}


def test_memo_is_never_worse_than_the_memory_alone_when_the_executive_invents() -> None:
    trail = [exchange(QUERY, "Pellmarsh."), exchange("Who?", "I don't know.", confident=False)]
    for invented in ("", "Lornhaven", "The answer is unknown", "Mount Quillon, 1902"):
        assert decide_answer(QUERY, invented, trail)[0] == "Pellmarsh."


async def test_both_rules_can_be_turned_off_for_an_executive_you_trust() -> None:
    replies = {
        QUERY: "Pellmarsh, a river town.",
        "Who charted the Drennic Islands?": "Orvane Tessaly of Pellmarsh.",
    }
    scripted = executive("Lornhaven")
    out = await run(
        scripted,
        memory(replies),
        max_subquestions=2,
        check_support=False,
        end_on_confirmed_reply=False,
    )
    assert out["answer"] == "Lornhaven"
    assert out["decided_by"] == "executive_unchecked"
    assert scripted.calls > 1


def test_a_grounding_reply_alone_does_not_outweigh_the_direct_reply() -> None:
    trail = [
        exchange(QUERY, "Lornhaven, a port city."),
        exchange("What is Pellmarsh known for?", "Pellmarsh is known for pottery."),
    ]
    answer, decided_by = decide_answer(QUERY, "Pellmarsh", trail)
    assert answer == "Lornhaven, a port city."
    assert decided_by == "memory_direct_outweighs"


def test_a_follow_up_reply_outweighs_an_unconfirmed_direct_reply() -> None:
    follow_up = {
        **exchange("About Orvane Tessaly: where was he born?", "In Pellmarsh."),
        "stage": "seeking",
        "target": "Orvane Tessaly",
    }
    trail = [exchange(QUERY, "Lornhaven."), exchange("Who?", "Orvane Tessaly."), follow_up]
    answer, decided_by = decide_answer(QUERY, "Pellmarsh", trail)
    assert (answer, decided_by) == ("Pellmarsh", "executive_chain_over_direct")
    # ... not one about an entity that no reply states (a small EXECUTIVE's guess),
    unchained = [exchange(QUERY, "Lornhaven."), {**follow_up, "target": "Quillon"}]
    assert decide_answer(QUERY, "Pellmarsh", unchained)[0] == "Lornhaven."
    # ... nor a direct reply that another reply confirms,
    confirmed = [*trail, exchange("Which port city?", "Lornhaven, on the Varrow Sea.")]
    assert decide_answer(QUERY, "Pellmarsh", confirmed)[0] == "Lornhaven."
    # ... nor the query asked again about an entity (seen: "About Amlet: on which river does
    # the town of Pellmarsh stand?" -> "Varrow Sea" after the direct reply "Amlet"): no hop.
    again = {
        **exchange(about("Lornhaven", QUERY), "In Pellmarsh."),
        "stage": "seeking",
        "target": "Lornhaven",
    }
    assert decide_answer(QUERY, "Pellmarsh", [exchange(QUERY, "Lornhaven."), again]) == (
        "Lornhaven.",
        "memory_direct_outweighs",
    )


async def test_what_is_not_a_question_is_never_sent_to_the_memory() -> None:
    asked: list[str] = []

    def reply(messages: list[Any]) -> str:
        asked.append(str(messages[-1].content))
        return "I don't know."

    scripted = ScriptedChatModel(
        reply=by_schema(
            GroundingPlan={"sub_questions": ["./home/x/1994/1994", "Who charted the islands?"]},
            IdentificationStep={
                "known_facts": [],
                "candidates": [],
                "decision": "ask",
                "target": "",
                "question": "all my questions figured this answer no",
            },
            SeekingStep={"decision": "answer", "entity": "", "question": ""},
            FinalAnswer={"answer": "Pellmarsh", "justification": "scripted"},
        )
    )
    graph = build_protocol(scripted, MemoryBackend(ScriptedChatModel(reply=reply))).compile()
    streamed, out = [], {}
    async for _, mode, chunk in graph.astream(
        {"query": QUERY},
        context=ProtocolContext(identification_turns=2, seeking_turns=2, max_subquestions=3),
        stream_mode=["custom", "values"],
        subgraphs=True,
    ):
        if mode == "custom":
            streamed.append(chunk["exchange"])
        else:
            out = chunk
    assert asked == [QUERY, "Who charted the islands?"]
    unsent = [e for e in out["trail"] if not e["sent"]]
    assert [e["reasoning"] for e in unsent] == ["not sent: it is not a question"] * 2
    # A caller following the stream sees every exchange of the trail, the unsent ones too.
    assert streamed == out["trail"]


class _TemperatureSpy(MemoryBackend):
    def __init__(self) -> None:
        super().__init__(ScriptedChatModel(reply=lambda m: "Pellmarsh."))
        self.temperatures: dict[str, float | None] = {}

    async def aanswer(self, questions: Any, *, temperature: Any = None, **kwargs: Any) -> Any:
        for question in questions:
            self.temperatures[question] = temperature
        return await super().aanswer(questions, **kwargs)


async def test_the_query_is_asked_as_the_memory_alone_would_be() -> None:
    spy = _TemperatureSpy()
    await run(executive("Pellmarsh"), spy, max_subquestions=2)
    assert spy.temperatures[QUERY] == 0.0  # memory_query_temperature: greedy, like MEMORY alone
    assert spy.temperatures["Who charted the Drennic Islands?"] == 0.1


def test_a_supported_answer_is_said_in_the_fewest_words() -> None:
    trail = [exchange(QUERY, "1895."), exchange("When?", "In 1895, in Lornhaven.")]
    assert decide_answer(QUERY, "1895.1895.1895.1895.1895.", trail)[0] == "1895."
    assert decide_answer(QUERY, "1895", trail)[0] == "1895"
    assert decide_answer(QUERY, "The answer is 1895. The answer is 1895.", trail)[0] == "1895."
    # A word that no reply says is the EXECUTIVE's own: the reply it leans on stands instead.
    assert decide_answer(QUERY, "1895.9", trail)[0] == "1895."
    # ... unless every reply says more than it: then it answers something of its own.
    years = [exchange(QUERY, "In 1901, three years after the founding.")]
    assert decide_answer(QUERY, "3 years", years)[0] == "3 years"
    said = [exchange(QUERY, "In 1895, in Lornhaven.")]
    assert decide_answer(QUERY, "1895, in old Lornhaven", said)[0] == "In 1895, in Lornhaven."


def test_a_memory_reply_is_given_as_its_answer_phrase() -> None:
    said = "Pellmarsh, birthplace of Orvane Tessaly."
    listed = "Orvane Tessaly, Ilsabet Marrow and Brisca Holloway."
    trail = [exchange(QUERY, said), exchange("Who?", listed)]
    assert answer_phrase(said, trail) == ("Pellmarsh", said)
    assert answer_phrase(listed, trail) == (listed.rstrip("."), listed)  # a list stays whole
    # The EXECUTIVE's own words are its answer as they stand.
    assert answer_phrase("Pellmarsh, on the Amlet", trail) == ("Pellmarsh, on the Amlet", "")


def test_an_answer_phrase_keeps_numbers_and_titles_whole() -> None:
    for reply, phrase in [
        ("1,200 people, most of them fishers.", "1,200 people"),
        ("10:30 in the morning.", "10:30 in the morning"),
        ("Dr. Orvane Tessaly, the founder.", "Dr. Orvane Tessaly"),
    ]:
        assert core(reply) == phrase


def test_a_question_mark_asks_in_any_script() -> None:
    assert is_question("\u8c01\u521b\u7acb\u4e86\u5b83\uff1f")
    assert not is_question("?") and not is_question("./home/x/1994")


def test_a_word_of_the_executives_own_in_place_of_the_replys_answer_is_not_supported() -> None:
    """Seen with the embedded EXECUTIVE: one shared word ("Sea") or a name copied wrongly made
    the EXECUTIVE's answer look supported by the MEMORY's direct reply it contradicts."""
    sea = [exchange(QUERY, "The Varrow Sea.")]
    assert decide_answer(QUERY, "The North Sea", sea) == (
        "The Varrow Sea.",
        "memory_direct_unsupported",
    )
    moss = [exchange(QUERY, "Cault, the largest of the Drennic Islands, in 1921.")]
    answer = decide_answer(QUERY, "Calth, the largest of the Drennic Islands, in 1921.", moss)[0]
    assert answer == "Cault, the largest of the Drennic Islands, in 1921."
    # Without the direct reply, the replies that state the answer phrase still decide.
    others = [exchange("Which sea?", "The Varrow Sea."), exchange("Where?", "On the Varrow Sea.")]
    assert decide_answer(QUERY, "The North Sea", others)[0] == "The Varrow Sea."
    # Words of its own beside the reply's answer phrase are supported (and said in the
    # reply's words), numbers it computed too.
    supported = "executive_supported"
    assert decide_answer(QUERY, "the cold Varrow Sea", sea) == ("The Varrow Sea.", supported)
    years = [exchange(QUERY, "In 1901, three years after the founding.")]
    assert decide_answer(QUERY, "3 years", years) == ("3 years", supported)


def test_an_answer_read_from_the_direct_replys_clause_gives_way_to_its_answer_phrase() -> None:
    """Seen with the embedded EXECUTIVE and a MEMORY trained on the reference pairs: from the
    MEMORY's reply to the query itself it took the confirming clause, or fused a name of the
    clause to the answer, where the MEMORY alone was right."""
    rule = "memory_direct_reread"
    reply = "Brisca Holloway, architect of the Lornhaven Observatory."
    trail = [exchange(QUERY, reply)]
    assert decide_answer(QUERY, "The Lornhaven Observatory", trail) == (reply, rule)
    moss = [exchange(QUERY, "Fennia glaucora, the moss Fennia glaucora-lornessus.")]
    answer, decided_by = decide_answer(QUERY, "Fennia glaucora-lornessus", moss)
    assert (answer_phrase(answer, moss)[0], decided_by) == ("Fennia glaucora", rule)
    # The answer phrase, or words of the EXECUTIVE's own beside it, stand as before.
    supported = "executive_supported"
    assert decide_answer(QUERY, "Brisca Holloway", trail) == ("Brisca Holloway", supported)
    assert decide_answer(QUERY, "the architect Brisca Holloway of Kelvary", trail)[1] == supported
    # The clause of a reply to another question may answer the query.
    other = [exchange("Which observatory did she design?", reply)]
    assert decide_answer(QUERY, "The Lornhaven Observatory", other) == (
        "The Lornhaven Observatory",
        supported,
    )
