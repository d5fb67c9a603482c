"""Model specs and the embedded local chat model."""

from memo_graph.models.local_chat import LocalChatModel
from memo_graph.models.spec import resolve_chat_model

__all__ = ["LocalChatModel", "resolve_chat_model"]
