"""langchain-tests' standard integration suite for LocalChatModel on the real embedded model.

Skipped or disabled standard tests, and why:
- tool calling (test_tool_calling*, test_tool_choice, test_bind_runnables_as_tools,
  test_tool_message_*, test_structured_few_shot_examples, test_agent_loop,
  test_unicode_tool_call_integration, ...): ``has_tool_calling`` is False. A 135M model does not
  choose tools reliably; structured output is grammar-constrained instead of tool-based.
- image, audio, video and PDF inputs: the model reads text only (``supports_*_inputs`` False).
- model override tests: one process serves the weights it loaded; there is no other model name to
  switch to per call (no ``model_override_value``).
- test_stream_time: a benchmark fixture, not a behaviour check.
"""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from memo_graph import LocalChatModel

pytestmark = pytest.mark.integration


class TestLocalChatModelIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[LocalChatModel]:
        return LocalChatModel

    @property
    def chat_model_params(self) -> dict:
        # Room for the structured tests' JSON (the free-text replies end well before), and a
        # frequency penalty that keeps the 135M model out of greedy repetition loops.
        return {"max_tokens": 192, "frequency_penalty": 0.5}

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supported_usage_metadata_details(self) -> dict:
        return {"invoke": [], "stream": []}
