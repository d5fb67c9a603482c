"""Unit tests decode tiny random models in fp32: their logits are nearly flat, so bf16 rounding,
which depends on the batch's shape, would flip tokens and break the exact batched-equals-alone
checks. Integration tests keep the machine's default (bf16 on an AMX CPU)."""

from __future__ import annotations

import pytest

from memo_graph.models.precision import DTYPE_VARIABLE


@pytest.fixture(autouse=True)
def _decode_in_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DTYPE_VARIABLE, "float32")
