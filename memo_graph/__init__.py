"""memo-graph: MEMO (Memory as a Model) for LangGraph and LangChain."""

from memo_graph.errors import (
    MemoError,
    ModelLoadError,
    ModelSpecError,
    StructuredOutputError,
)
from memo_graph.memory import MemoryBackend, MemoryTool
from memo_graph.models import LocalChatModel, resolve_chat_model

__all__ = [
    "LocalChatModel",
    "MemoError",
    "MemoryBackend",
    "MemoryTool",
    "ModelLoadError",
    "ModelSpecError",
    "StructuredOutputError",
    "resolve_chat_model",
]
__version__ = "0.1.0"
