"""Which floating-point type a model computes in on this machine: one rule for serving and
training."""

from __future__ import annotations

import os

import torch

from memo_graph.errors import MemoError

DTYPE_VARIABLE = "MEMO_LOCAL_DTYPE"
"""Environment variable that sets the local engine's type where a chat model does not."""
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def cpu_multiplies_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (Intel AMX). Elsewhere bf16 matrix
    products are emulated and slower than fp32."""
    return bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())


def inference_dtype(device: torch.device, choice: str | None = None) -> torch.dtype:
    """``choice`` ("float32", "bfloat16", "auto"; None: ``$MEMO_LOCAL_DTYPE``, else "auto").
    Auto is bf16 on a GPU and on a CPU with AMX, else fp32: decoding reads every weight once per
    token, so halving the bytes nearly halves a CPU step (SmolLM2-135M on 2 AMX cores, 8 rows:
    60 ms in fp32, 35 ms in bf16, both through packed oneDNN layers). Only fp32 keeps every
    reply exactly what the request would get decoded alone; bf16 rounding depends on the
    batch's shape."""
    choice = choice or os.environ.get(DTYPE_VARIABLE) or "auto"
    if choice in _DTYPES:
        return _DTYPES[choice]
    if choice != "auto":
        raise MemoError(
            f"unknown dtype {choice!r} for the local engine; use one of auto, "
            f"{', '.join(_DTYPES)} (from the chat model's dtype or ${DTYPE_VARIABLE})."
        )
    if device.type == "cuda" or (device.type == "cpu" and cpu_multiplies_bf16()):
        return torch.bfloat16
    return torch.float32
