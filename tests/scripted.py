"""Scripted chat models for unit tests of the graphs: replies come from a Python function of
the messages, so a test says exactly what the EXECUTIVE or the MEMORY does."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

Reply = Callable[[list[BaseMessage]], str]


def schema_title(messages: Sequence[BaseMessage]) -> str:
    """The title of the JSON schema a structured request asks for ('' for free text)."""
    for message in messages:
        text = str(message.content)
        start = text.find("{")
        if "JSON schema" in text and start >= 0:
            return str(json.loads(text[start:]).get("title", ""))
    return ""


class ScriptedChatModel(BaseChatModel):
    """A black-box chat model: no structured-output support, text in, text out. Counts its
    calls and reports 10 input and 5 output tokens per call."""

    reply: Reply
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **_: Any
    ) -> ChatResult:
        self.calls += 1
        message = AIMessage(
            self.reply(messages),
            usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def by_schema(**replies: Any) -> Reply:
    """A reply function that answers each schema title with JSON built from ``replies[title]``
    (a dict, or a function of the messages returning one)."""

    def reply(messages: list[BaseMessage]) -> str:
        title = schema_title(messages)
        chosen = replies[title]
        return json.dumps(chosen(messages) if callable(chosen) else chosen)

    return reply


class ToolCallingFakeModel(GenericFakeChatModel):
    """GenericFakeChatModel that accepts ``bind_tools`` (the scripted messages carry the tool
    calls), so ``create_agent`` can drive it."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ToolCallingFakeModel:  # type: ignore[override]
        return self


_DOCUMENT = re.compile(r"<document title=(['\"])(.*?)\1>\n(.*?)\n</document>", re.S)
_FACT = re.compile(r"^\d+\. Q: (.*)\n   A: (.*)$", re.M)
_PAIR_TO_REPAIR = re.compile(r"Q: (.*)\nA: (.*)\Z", re.S)


def _problems(question: str) -> list[str]:
    lowered = f" {question.lower()} "
    return [
        problem
        for problem, sign in (("unresolved_pronoun", " it "), ("refers_to_source", "the text"))
        if sign in lowered
    ]


def synthesis_reply(messages: list[BaseMessage]) -> dict[str, Any]:
    """A deterministic GENERATOR for the synthesis graph. Extraction: one pair per sentence
    (explicit) and one for the first sentence (implied). Consolidation and cross-document
    synthesis: one pair from all the facts given. Verification flags questions with ' it '
    (which a rewrite repairs) and 'the text' (which it cannot). Surfacing: one question per
    entity that does not name it. Rephrasing: the question as it came."""
    title = schema_title(messages)
    system = "\n".join(str(m.content) for m in messages if m.type == "system")
    user = str(next(m.content for m in messages if m.type == "human"))
    facts = _FACT.findall(user)
    if title == "Rephrased":  # the question as it came: nothing new to keep
        return {"question": str(messages[-1].content)}
    if title == "Verdicts":
        return {
            "verdicts": [
                {"number": n, "problems": _problems(q)} for n, (q, _) in enumerate(facts, 1)
            ]
        }
    if title == "QA":
        question, answer = _PAIR_TO_REPAIR.search(user).groups()  # type: ignore[union-attr]
        document = _DOCUMENT.search(user)
        name = document.group(2) if document else "the record"
        return {"question": f" {question} ".replace(" it ", f" {name} ").strip(), "answer": answer}
    if title == "SourcedQAList":
        if user.startswith("Shared between the documents: "):
            key = user.splitlines()[0].removeprefix("Shared between the documents: ")
            question = f"What do the records that mention {key} say?"
        else:
            question = f"What do these records state together: {facts[0][0]}"
        answer = " ".join(a for _, a in facts[:3])
        return {
            "pairs": [{"question": question, "answer": answer, "sources": [1, 2, 3][: len(facts)]}]
        }
    if user.startswith("Entity: "):
        name = user.splitlines()[0].removeprefix("Entity: ")
        riddle = f"Which entity has the profile {hashlib.sha256(name.encode()).hexdigest()[:6]}?"
        return {"pairs": [{"question": riddle, "answer": f"{name}, by its {len(facts)} facts."}]}
    document = _DOCUMENT.search(user)
    assert document is not None, "an extraction request must carry a document block"
    name, text = document.group(2), document.group(3)
    sentences = [s.strip() for s in re.split(r"(?<=\.)\s+", text) if s.strip()]
    if "implies" in system:
        return {"pairs": [{"question": f"What follows about {name}?", "answer": sentences[0]}]}
    return {
        "pairs": [
            {
                "question": f"What does the record of {name} state in part {i}: {s[:30]}?",
                "answer": s,
            }
            for i, s in enumerate(sentences)
        ]
    }
