"""The three-stage MEMO protocol: grounding, entity identification, answer seeking."""

from memo_graph.protocol.context import ProtocolContext
from memo_graph.protocol.graph import build_protocol, builder, graph
from memo_graph.protocol.state import ProtocolInput, ProtocolOutput

__all__ = [
    "ProtocolContext",
    "ProtocolInput",
    "ProtocolOutput",
    "build_protocol",
    "builder",
    "graph",
]
