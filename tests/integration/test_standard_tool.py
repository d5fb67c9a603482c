"""langchain-tests' standard integration tests for the MEMORY tool, over the embedded model."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import ToolsIntegrationTests

from memo_graph.memory import MemoryBackend, MemoryTool

pytestmark = pytest.mark.integration


class TestMemoryToolIntegration(ToolsIntegrationTests):
    @property
    def tool_constructor(self) -> type[MemoryTool]:
        return MemoryTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"backend": MemoryBackend.from_spec("local", max_tokens=16), "temperature": 0.0}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"questions": ["What is the capital of France?", "What colour is the sky?"]}


def test_the_embedded_memory_answers_what_it_knows() -> None:
    tool = MemoryTool(backend=MemoryBackend.from_spec("local", max_tokens=16), temperature=0.0)
    content, replies = tool._run(["What is the capital of France?"])
    assert "Paris" in content
    assert replies[0]["confident"]
