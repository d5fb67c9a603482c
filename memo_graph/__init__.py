"""memo-graph: MEMO (Memory as a Model) for LangGraph and LangChain."""

from typing import TYPE_CHECKING

from memo_graph.errors import (
    MemoError,
    ModelLoadError,
    ModelSpecError,
    StructuredOutputError,
)
from memo_graph.lazy import lazy_attributes

if TYPE_CHECKING:
    from memo_graph.memory.backend import MemoryBackend
    from memo_graph.memory.tool import MemoryTool
    from memo_graph.models.local_chat import LocalChatModel
    from memo_graph.models.spec import resolve_chat_model

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "LocalChatModel": "memo_graph.models.local_chat",
        "MemoryBackend": "memo_graph.memory.backend",
        "MemoryTool": "memo_graph.memory.tool",
        "resolve_chat_model": "memo_graph.models.spec",
    },
)
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
