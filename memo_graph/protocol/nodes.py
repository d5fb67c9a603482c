"""The protocol's nodes. Each stage turn is one node run: the EXECUTIVE decides, the graph
checks the decision against the budgets and rules, then the MEMORY is asked."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langgraph.runtime import Runtime
from langgraph.types import Command
from pydantic import BaseModel

from memo_graph.errors import ProtocolInputError
from memo_graph.memory.backend import MAX_QUESTION_CHARS, MEMORY_MAX_TOKENS, MemoryBackend
from memo_graph.memory.replies import MemoryReply
from memo_graph.memory.sources import catalog_of
from memo_graph.models.spec import pinned_spec, role_model
from memo_graph.protocol import prompts
from memo_graph.protocol.context import ProtocolContext
from memo_graph.protocol.executive import Executive
from memo_graph.protocol.rules import (
    DECISIONS,
    about,
    answer_phrase,
    answer_sources,
    best_candidate,
    confirmed_direct_reply,
    dead_questions,
    decide_answer,
    grounding_questions,
    is_dead,
    is_dropped,
    rank_candidates,
)
from memo_graph.protocol.schemas import (
    FinalAnswer,
    IdentificationStep,
    SeekingStep,
    grounding_plan,
)
from memo_graph.protocol.state import (
    Candidate,
    Cost,
    Exchange,
    ProtocolState,
    Stage,
    add_cost,
)
from memo_graph.text import is_question


class ProtocolRoles:
    """The models the nodes talk to: the ones given here, else those the context names."""

    def __init__(
        self, executive: BaseChatModel | None = None, memory: MemoryBackend | None = None
    ) -> None:
        self._executive = executive
        self._memory = memory
        self._executives: dict[tuple[Any, ...], Executive] = {}
        self._lock = threading.Lock()

    def executive(self, context: ProtocolContext) -> Executive:
        key = (
            context.executive,
            context.executive_max_tokens,
            context.executive_retries,
            context.timeout_s,
            context.remote_retries,
        )
        with self._lock:  # one Executive (and its compiled callers) per model and settings
            if key not in self._executives:
                self._executives[key] = Executive.for_context(self._executive, context)
            return self._executives[key]

    def memory(self, context: ProtocolContext) -> MemoryBackend:
        if self._memory is not None:
            return self._memory
        spec = pinned_spec(context.memory)  # the weights and their catalog read at one time
        model = role_model(
            None,
            spec,
            max_tokens=MEMORY_MAX_TOKENS,
            timeout_s=context.timeout_s,
            retries=context.remote_retries,
        )
        return MemoryBackend(
            model,
            reply_format=context.memory_reply_format,
            description=context.memory,
            catalog=catalog_of(spec),
        )


def _context(runtime: Runtime[ProtocolContext]) -> ProtocolContext:
    return runtime.context if runtime.context is not None else ProtocolContext()


def _checked_query(query: Any, context: ProtocolContext) -> str:
    if not isinstance(query, str) or not query.strip():
        raise ProtocolInputError("the query is empty; pass {'query': 'your question'}.")
    query = query.strip()
    if len(query) > context.max_query_chars:
        raise ProtocolInputError(
            f"the query has {len(query)} characters, more than max_query_chars="
            f"{context.max_query_chars}; shorten it or raise the limit in the context."
        )
    return query


def _rank(
    context: ProtocolContext,
    candidates: list[Candidate],
    proposed: list[str],
    trail: list[Exchange],
    confirmed: str = "",
) -> list[Candidate]:
    return rank_candidates(
        candidates,
        proposed,
        trail,
        demote_after=context.demote_after,
        drop_after=context.drop_after,
        confirmed=confirmed,
    )


DEAD_END = "not sent: the MEMORY already said it does not know this several times"
NOT_A_QUESTION = "not sent: it is not a question"


def _unsent(stage: Stage, question: str, target: str, why: str) -> Exchange:
    return Exchange(
        stage=stage,
        question=question,
        answer="",
        reasoning=why,
        confident=False,
        target=target,
        sent=False,
    )


def _sent(stage: Stage, reply: MemoryReply, target: str) -> Exchange:
    exchange = Exchange(
        stage=stage,
        question=reply.question,
        answer=reply.answer,
        reasoning=reply.reasoning,
        confident=reply.confident,
        target=target,
        sent=True,
    )
    if reply.sources:
        exchange["sources"] = reply.sources
    if reply.unverified_sources:
        exchange["unverified_sources"] = reply.unverified_sources
    return exchange


def _cited(answer: str, reply: str, trail: list[Exchange]) -> dict[str, list[str]]:
    """The output's citation keys that hold titles (see rules.answer_sources): a MEMORY that
    cites nothing leaves the output as it was."""
    sources, unverified = answer_sources(answer, reply, trail)
    cited = {"sources": sources, "unverified_sources": unverified}
    return {key: titles for key, titles in cited.items() if titles}


def _recorded(state: ProtocolState, update: dict[str, Any]) -> dict[str, Any]:
    """``update`` with its new exchanges, cost and errors appended to the state's record."""
    return {
        **update,
        "trail": [*state.get("trail", []), *update.get("trail", [])],
        "cost": add_cost(state.get("cost"), update.get("cost")),
        "errors": [*state.get("errors", []), *update.get("errors", [])],
    }


def _replied(reply: str, answer: str) -> str:
    """The MEMORY's whole reply, for a justification whose answer gives only its phrase."""
    return f"The MEMORY replied {reply!r}. " if reply and reply != answer else ""


CONFIRMED_DIRECT = "memory_confirmed_direct"
"""The decision (rules.DECISIONS) of a run that ended at grounding on a confirmed direct reply."""


def _elapsed(state: ProtocolState) -> float:
    return round(time.time() - state.get("started_at", time.time()), 3)


class ProtocolNodes:
    """Node functions bound to one set of roles."""

    def __init__(self, roles: ProtocolRoles) -> None:
        self.roles = roles

    # ------------------------------------------------------------------ the two roles
    async def _ask_executive(
        self,
        context: ProtocolContext,
        stage: str,
        schema: type[BaseModel],
        system: str,
        user: str,
        temperature: float,
    ) -> tuple[Any, Cost, list[str]]:
        """(parsed reply or None, cost, errors)."""
        executive = await asyncio.to_thread(self.roles.executive, context)  # may load weights
        return await executive.ask(stage, schema, system, user, temperature)

    async def _ask_memory(
        self,
        context: ProtocolContext,
        runtime: Runtime[ProtocolContext],
        stage: Stage,
        questions: list[str],
        target: str = "",
        temperature: float | None = None,
    ) -> tuple[list[Exchange], Cost]:
        if not questions:
            return [], Cost()
        if temperature is None:
            temperature = {
                "grounding": context.memory_grounding_temperature,
                "identification": context.memory_identification_temperature,
                "seeking": context.memory_seeking_temperature,
            }[stage]
        backend = await asyncio.to_thread(self.roles.memory, context)
        started = time.perf_counter()
        replies = await backend.aanswer(
            questions, temperature=temperature, max_concurrency=context.memory_concurrency
        )
        spent = time.perf_counter() - started
        exchanges = [_sent(stage, reply, target) for reply in replies]
        for exchange in exchanges:
            runtime.stream_writer({"exchange": dict(exchange)})
        return exchanges, Cost(memory_calls=len(questions), stage_seconds={stage: spent})

    async def _ask_unless_dead(
        self,
        context: ProtocolContext,
        runtime: Runtime[ProtocolContext],
        stage: Stage,
        question: str,
        target: str,
        trail: list[Exchange],
    ) -> tuple[list[Exchange], Cost]:
        """Ask one question, unless it is no question at all or the MEMORY already said too
        often that it does not know."""
        if not is_question(question):
            why = NOT_A_QUESTION
        elif is_dead(question, trail, context.dead_end_after):
            why = DEAD_END
        else:
            return await self._ask_memory(context, runtime, stage, [question], target)
        # Streamed like a sent exchange, so a caller following the stream sees the whole trail.
        exchange = _unsent(stage, question, target, why)
        runtime.stream_writer({"exchange": dict(exchange)})
        return [exchange], Cost()

    def _notebook(self, state: ProtocolState, context: ProtocolContext, turns_left: int) -> str:
        trail = state.get("trail", [])
        parts = [
            prompts.render_query(state["query"]),
            prompts.render_exchanges(trail),
            prompts.render_candidates(state.get("candidates", []), state.get("known_facts", [])),
            prompts.render_dead_questions(dead_questions(trail, context.dead_end_after)),
            prompts.render_turns_left(turns_left),
        ]
        return "\n\n".join(p for p in parts if p)

    # ------------------------------------------------------------------ stage 1
    async def grounding(
        self, state: ProtocolState, runtime: Runtime[ProtocolContext]
    ) -> dict[str, Any]:
        context = _context(runtime)
        query = _checked_query(state.get("query"), context)
        started_at = time.time()
        plan, cost, errors = await self._ask_executive(
            context,
            "grounding",
            grounding_plan(context.max_subquestions),
            prompts.GROUNDING.format(limit=context.max_subquestions),
            prompts.render_query(query),
            context.grounding_temperature,
        )
        questions = grounding_questions(
            query[:MAX_QUESTION_CHARS], plan.sub_questions if plan else [], context.max_subquestions
        )
        # The query as the MEMORY alone would get it, beside the sub-questions; the local
        # engine batches the two calls all the same.
        (direct, direct_cost), (others, others_cost) = await asyncio.gather(
            self._ask_memory(
                context,
                runtime,
                "grounding",
                questions[:1],
                temperature=context.memory_query_temperature,
            ),
            self._ask_memory(context, runtime, "grounding", questions[1:]),
        )
        exchanges = [*direct, *others]
        spent = [
            c.get("stage_seconds", {}).get("grounding", 0.0) for c in (direct_cost, others_cost)
        ]
        memory_cost = Cost(memory_calls=len(questions), stage_seconds={"grounding": max(spent)})
        return {
            "query": query,
            "started_at": started_at,
            "sub_questions": questions,
            "identification_turn": 0,
            "seeking_turn": 0,
            "candidates": [],
            "known_facts": [],
            "entity": "",
            "identified": False,
            "trail": exchanges,
            "cost": add_cost(cost, memory_cost),
            "errors": errors,
        }

    # ------------------------------------------------------------------ stage 2
    async def identification(
        self, state: ProtocolState, runtime: Runtime[ProtocolContext]
    ) -> Command[Literal["identification", "seeking"]]:
        context = _context(runtime)
        trail = list(state.get("trail", []))
        candidates: list[Candidate] = list(state.get("candidates", []))
        turn = state.get("identification_turn", 0)
        direct = confirmed_direct_reply(state["query"], trail)
        if turn == 0 and context.end_on_confirmed_reply and direct is not None:
            return Command(goto="seeking", update={"decided_by": CONFIRMED_DIRECT})
        if turn >= context.identification_turns:
            return Command(goto="seeking", update={"entity": best_candidate(candidates)})
        step, cost, errors = await self._ask_executive(
            context,
            "identification",
            IdentificationStep,
            prompts.IDENTIFICATION,
            self._notebook(state, context, turns_left=context.identification_turns - turn),
            context.identification_temperature,
        )
        turn += 1
        update: dict[str, Any] = {"identification_turn": turn, "cost": cost, "errors": errors}
        if step is None:
            update["entity"] = best_candidate(candidates)
            return Command(goto="seeking", update=_recorded(state, update))
        candidates = _rank(context, candidates, step.candidates, trail)
        update["known_facts"] = list(step.known_facts)
        confirmed = best_candidate(candidates) if step.decision == "confirm" else ""
        if confirmed:
            update["candidates"] = _rank(context, candidates, [], trail, confirmed)
            update.update(entity=confirmed, identified=True)
            return Command(goto="seeking", update=_recorded(state, update))
        question = step.question.strip()
        if step.decision != "ask":  # gave up, or confirmed with every candidate dropped
            update.update(candidates=candidates, entity=best_candidate(candidates))
            return Command(goto="seeking", update=_recorded(state, update))
        if question:
            target = "" if is_dropped(step.target, candidates) else step.target.strip()
            exchanges, memory_cost = await self._ask_unless_dead(
                context, runtime, "identification", question, target, trail
            )
            update.update(trail=exchanges, cost=add_cost(cost, memory_cost))
            trail.extend(exchanges)
        candidates = _rank(context, candidates, [], trail)
        update["candidates"] = candidates
        if turn < context.identification_turns:
            return Command(goto="identification", update=_recorded(state, update))
        update["entity"] = best_candidate(candidates)
        return Command(goto="seeking", update=_recorded(state, update))

    # ------------------------------------------------------------------ stage 3
    async def seeking_step(
        self, state: ProtocolState, runtime: Runtime[ProtocolContext]
    ) -> Command[Literal["seeking_step", "final_answer"]]:
        context = _context(runtime)
        trail = list(state.get("trail", []))
        candidates: list[Candidate] = list(state.get("candidates", []))
        entity = state.get("entity", "")
        turn = state.get("seeking_turn", 0)
        if turn >= context.seeking_turns or state.get("decided_by") == CONFIRMED_DIRECT:
            return Command(goto="final_answer")
        turns_left = context.seeking_turns - turn
        system = prompts.SEEKING.format(entity=entity) if entity else prompts.SEEKING_NO_ENTITY
        step, cost, errors = await self._ask_executive(
            context,
            "seeking",
            SeekingStep,
            system,
            self._notebook(state, context, turns_left),
            context.seeking_temperature,
        )
        turn += 1
        update: dict[str, Any] = {"seeking_turn": turn, "cost": cost, "errors": errors}
        if step is None or step.decision == "answer":
            return Command(goto="final_answer", update=_recorded(state, update))
        proposed = step.entity.strip()
        if step.decision == "pivot" and proposed and not is_dropped(proposed, candidates):
            entity = proposed
            candidates = _rank(context, candidates, [entity], trail)
        question = about(entity, step.question.strip())
        if question:
            exchanges, memory_cost = await self._ask_unless_dead(
                context, runtime, "seeking", question, entity, trail
            )
            update.update(trail=exchanges, cost=add_cost(cost, memory_cost))
            trail.extend(exchanges)
        if candidates:
            candidates = _rank(context, candidates, [], trail)
            if entity and is_dropped(entity, candidates):  # the drop rule holds here too
                entity = best_candidate(candidates) or entity
        update.update(candidates=candidates, entity=entity)
        goto: Literal["seeking_step", "final_answer"] = (
            "seeking_step" if turn < context.seeking_turns else "final_answer"
        )
        return Command(goto=goto, update=_recorded(state, update))

    async def final_answer(
        self, state: ProtocolState, runtime: Runtime[ProtocolContext]
    ) -> dict[str, Any]:
        context = _context(runtime)
        trail = state.get("trail", [])
        entity = state.get("entity", "")
        direct = confirmed_direct_reply(state["query"], trail)
        if state.get("decided_by") == CONFIRMED_DIRECT and direct is not None:
            confirming = [e["question"] for e in trail if e is not direct and e["confident"]]
            answer, reply = answer_phrase(direct["answer"], trail)
            update = {
                "answer": answer,
                "justification": _replied(reply, answer)
                + (
                    "The MEMORY answered the query directly, and its reply to "
                    f"{confirming[0]!r} confirms it."
                    if confirming
                    else direct["reasoning"] or "The MEMORY answered the query directly."
                ),
                "decided_by": CONFIRMED_DIRECT,
                "cost": Cost(wall_s=_elapsed(state)),
                "errors": [],
            }
            return _recorded(state, {**update, **_cited(answer, reply, trail)})
        notes = [prompts.render_query(state["query"])]
        if entity:
            notes.append(f"The query is about: {entity}")
        notes.append(prompts.render_exchanges(trail, confident_only=True))
        final, cost, errors = await self._ask_executive(
            context,
            "final answer",
            FinalAnswer,
            prompts.FINAL,
            "\n\n".join(notes),
            context.final_temperature,
        )
        # Without a usable final reply, the best remaining candidate stands in for it.
        proposed = final.answer if final is not None else entity
        if context.check_support:
            answer, decided_by = decide_answer(state["query"], proposed, trail)
        else:
            answer, decided_by = proposed.strip(), "executive_unchecked"
        justification = final.justification.strip() if final is not None else ""
        if not (justification and answer == proposed.strip()):  # empty: none given
            justification = f"Chosen by the graph ({DECISIONS[decided_by]})."
        answer, reply = answer_phrase(answer, trail)
        justification = _replied(reply, answer) + justification
        update = {
            "answer": answer,
            "justification": justification,
            "decided_by": decided_by,
            "executive_answer": proposed.strip(),
            "cost": add_cost(cost, Cost(wall_s=_elapsed(state))),
            "errors": errors,
        }
        return _recorded(state, {**update, **_cited(answer, reply, trail)})
