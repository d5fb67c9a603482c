"""The MEMORY: backends that answer from trained weights, and the LangChain tool over them."""

from typing import TYPE_CHECKING

from memo_graph.lazy import lazy_attributes

if TYPE_CHECKING:
    from memo_graph.memory.backend import MemoryBackend, MemoryUnavailableError
    from memo_graph.memory.replies import MemoryReply, is_unknown
    from memo_graph.memory.tool import MemoryTool

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "MemoryBackend": "memo_graph.memory.backend",
        "MemoryUnavailableError": "memo_graph.memory.backend",
        "MemoryReply": "memo_graph.memory.replies",
        "is_unknown": "memo_graph.memory.replies",
        "MemoryTool": "memo_graph.memory.tool",
    },
)
__all__ = ["MemoryBackend", "MemoryReply", "MemoryTool", "MemoryUnavailableError", "is_unknown"]
