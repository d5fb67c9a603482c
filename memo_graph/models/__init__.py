"""Model specs and the embedded local chat model."""

from typing import TYPE_CHECKING

from memo_graph.lazy import lazy_attributes

if TYPE_CHECKING:
    from memo_graph.models.local_chat import LocalChatModel
    from memo_graph.models.spec import resolve_chat_model

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "LocalChatModel": "memo_graph.models.local_chat",
        "resolve_chat_model": "memo_graph.models.spec",
    },
)
__all__ = ["LocalChatModel", "resolve_chat_model"]
