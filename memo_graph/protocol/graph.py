"""The three-stage protocol as a LangGraph graph (``memo`` in langgraph.json).

    grounding -> identification (loops, budgeted) -> answer_seeking [seek (loops) -> synthesize]

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
    """The protocol graph's builder; compile it with a checkpointer as you need. ``executive``
    and ``memory`` replace the models named in the context."""
    nodes = ProtocolNodes(ProtocolRoles(executive, memory))

    seeking = StateGraph(ProtocolState, context_schema=ProtocolContext)
    seeking.add_node("seek", nodes.seek)
    seeking.add_node("synthesize", nodes.synthesize)
    seeking.add_edge(START, "seek")
    seeking.add_edge("synthesize", END)

    builder = StateGraph(
        ProtocolState,
        context_schema=ProtocolContext,
        input_schema=ProtocolInput,
        output_schema=ProtocolOutput,
    )
    builder.add_node("grounding", nodes.grounding)
    builder.add_node("identification", nodes.identification)
    builder.add_node("answer_seeking", seeking.compile(name="answer_seeking"))
    builder.add_edge(START, "grounding")
    builder.add_edge("grounding", "identification")
    builder.add_edge("answer_seeking", END)
    return builder


builder = build_protocol()
graph = builder.compile(name="memo")
