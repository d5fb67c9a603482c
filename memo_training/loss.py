"""Causal-LM loss on labelled positions only.

Most positions of a QA example are prompt; running the LM head (hidden x 49k vocabulary for
SmolLM2) only where a label exists saves most of its time and memory. Works for any
``*ForCausalLM`` whose decoder and output embeddings transformers exposes, LoRA-wrapped or not.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from memo_training.encoding import IGNORE_INDEX


def _causal_lm(model: Any) -> Any:
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def answer_only_loss(
    model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, int]:
    """Mean cross-entropy over labelled next tokens, and how many there were."""
    causal_lm = _causal_lm(model)
    hidden = causal_lm.get_decoder()(
        input_ids=input_ids, attention_mask=attention_mask, use_cache=False
    ).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != IGNORE_INDEX
    logits = causal_lm.get_output_embeddings()(hidden[:, :-1][keep]).float()
    softcap = getattr(causal_lm.config, "final_logit_softcapping", None)
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return F.cross_entropy(logits, targets[keep]), int(keep.sum())
