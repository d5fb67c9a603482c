"""The three-stage protocol as a LangGraph graph (``memo`` in langgraph.json).

    grounding -> identification (loops, budgeted) -> seeking [seeking_step (loops) -> final_answer]

``graph`` reads its models from the run's context (``ProtocolContext``); ``build_protocol``
takes model objects instead, for code that already holds them.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph

from memo_graph.memory.backend import MemoryBackend
from memo_graph.protocol.context import ProtocolContext
from memo_graph.protocol.nodes import ProtocolNodes, ProtocolRoles
from memo_graph.protocol.state import ProtocolInput, ProtocolOutput, ProtocolState

ProtocolBuilder = StateGraph[ProtocolState, ProtocolContext, ProtocolInput, ProtocolOutput]


def build_protocol(
    executive: BaseChatModel | None = None, memory: MemoryBackend | None = None
) -> ProtocolBuilder:
    """The protocol graph's builder; compile it with a checkpointer as you need.

    Args:
        executive: the EXECUTIVE chat model; None: the one ``ProtocolContext.executive`` names.
        memory: the MEMORY backend; None: the one ``ProtocolContext.memory`` names.

    Returns:
        A ``StateGraph`` with input ``{"query": ...}``, output the answer, its justification,
        the trail of exchanges and the cost, and ``ProtocolContext`` as its context schema.
    """
    nodes = ProtocolNodes(ProtocolRoles(executive, memory))

    seeking = StateGraph(ProtocolState, context_schema=ProtocolContext)
    seeking.add_node("seeking_step", nodes.seeking_step)
    seeking.add_node("final_answer", nodes.final_answer)
    seeking.add_edge(START, "seeking_step")
    seeking.add_edge("final_answer", END)

    builder = StateGraph(
        ProtocolState,
        context_schema=ProtocolContext,
        input_schema=ProtocolInput,
        output_schema=ProtocolOutput,
    )
    builder.add_node("grounding", nodes.grounding)
    builder.add_node("identification", nodes.identification)
    builder.add_node("seeking", seeking.compile(name="seeking"))
    builder.add_edge(START, "grounding")
    builder.add_edge("grounding", "identification")
    builder.add_edge("seeking", END)
    return builder


builder = build_protocol()
graph = builder.compile(name="memo")
