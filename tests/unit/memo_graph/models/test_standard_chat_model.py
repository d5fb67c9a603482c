"""langchain-tests' standard unit suite for LocalChatModel, on the tiny random llama.

Skipped standard tests, and why:
- test_init_from_env: LocalChatModel reads no environment variables (no keys, no endpoint).
- test_serdes: the model holds a path to local weights; it is not marked lc-serializable.
- test_bind_tool_pydantic: no free-form tool calling (``has_tool_calling`` is False); structured
  output is grammar-constrained instead. The suite returns early for it rather than skipping.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_tests.unit_tests import ChatModelUnitTests

from memo_graph import LocalChatModel


class TestLocalChatModelUnit(ChatModelUnitTests):
    @pytest.fixture(autouse=True)
    def _weights(self, tiny_llama_dir: Path) -> None:
        type(self)._tiny_dir = str(tiny_llama_dir)

    @property
    def chat_model_class(self) -> type[LocalChatModel]:
        return LocalChatModel

    @property
    def chat_model_params(self) -> dict:
        return {"model": getattr(type(self), "_tiny_dir", None)}

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def supports_json_mode(self) -> bool:
        return True
