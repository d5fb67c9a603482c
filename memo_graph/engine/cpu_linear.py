"""Linear layers for CPU decoding through oneDNN with weights packed once.

Decoding multiplies a few rows (one per request in the batch) by every weight matrix. PyTorch's
default CPU path (MKL gemm) is tuned for one row or for many: on an AVX2 machine the 135M
embedded model's decode step costs ~1.7x as much at 4 rows as at 1, which leaves little for
batching to gain. oneDNN with the weight reordered once into its blocked layout costs ~1.1x, so
four questions take little longer than one (``python -m evals.bench.protocol``).
"""

from __future__ import annotations

import types
from typing import Any

import torch

# Rows per multiplication the packed layout is tuned for; measured to do as well at 1 and 16 rows.
_PACKING_BATCH_HINT = 4
_PACKABLE = (torch.float32, torch.bfloat16)


def packed_linear_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def pack_linear_layers(model: torch.nn.Module) -> int:
    """Run every fp32 or bf16 CPU ``nn.Linear`` of ``model`` through oneDNN with a packed copy
    of its weight; return how many were packed. For inference only: the packed copy does not
    follow later changes to the weight and has no gradient. The original weights stay in
    place, so LoRA layers wrapped around these ones (peft) and tied embeddings work as
    before."""
    if not packed_linear_available():
        return 0
    packed_count = 0
    for module in model.modules():
        if not isinstance(module, torch.nn.Linear) or module.weight.dtype not in _PACKABLE:
            continue
        if module.weight.device.type != "cpu":
            continue
        packed = torch.ops.mkldnn._reorder_linear_weight(
            module.weight.detach(), _PACKING_BATCH_HINT
        )
        bias = None if module.bias is None else module.bias.detach()
        module.forward = types.MethodType(_packed_forward(packed, bias), module)  # type: ignore[method-assign]
        packed_count += 1
    return packed_count


def _packed_forward(packed: torch.Tensor, bias: torch.Tensor | None) -> Any:
    def forward(_module: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._linear_pointwise(x, packed, bias, "none", [], "")

    return forward
