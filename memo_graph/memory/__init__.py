"""The MEMORY: backends that answer from trained weights, and the LangChain tool over them."""

from memo_graph.memory.backend import MemoryBackend, MemoryUnavailableError
from memo_graph.memory.replies import MemoryReply, is_unknown
from memo_graph.memory.tool import MemoryTool

__all__ = ["MemoryBackend", "MemoryReply", "MemoryTool", "MemoryUnavailableError", "is_unknown"]
