"""oneDNN packed linear layers: same logits as PyTorch's own, for every family (qwen2's
projections have biases), under a LoRA adapter wrapped around them, and in the engine."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from memo_graph.engine.cpu_linear import pack_linear_layers, packed_linear_available

pytestmark = pytest.mark.skipif(
    not packed_linear_available(), reason="this PyTorch build has no oneDNN"
)


def _logits(model: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=input_ids).logits  # type: ignore[no-any-return]


def _input_ids(batch: int = 3, length: int = 9) -> torch.Tensor:
    return torch.randint(0, 1000, (batch, length), generator=torch.Generator().manual_seed(0))


def test_packed_layers_give_the_same_logits(tiny_family_dir: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_family_dir, dtype=torch.float32).eval()
    linear_count = sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    if any(m.bias is not None for m in model.modules() if isinstance(m, torch.nn.Linear)):
        assert tiny_family_dir.name.startswith("tiny-qwen2")
    before = _logits(model, _input_ids())
    assert pack_linear_layers(model) == linear_count
    after = _logits(model, _input_ids())
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)
    one_row = _logits(model, _input_ids(batch=1))
    torch.testing.assert_close(one_row, before[:1], rtol=1e-4, atol=1e-4)


def test_lora_wrapped_around_packed_layers(tiny_llama_dir: Path) -> None:
    from peft import LoraConfig, get_peft_model

    def with_lora(pack: bool) -> torch.nn.Module:
        model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32).eval()
        if pack:
            pack_linear_layers(model)
        torch.manual_seed(1)
        config = LoraConfig(
            r=4, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False
        )
        return get_peft_model(model, config).eval()

    plain, packed = with_lora(pack=False), with_lora(pack=True)
    expected = _logits(plain, _input_ids())
    torch.testing.assert_close(_logits(packed, _input_ids()), expected, rtol=1e-4, atol=1e-4)
    with plain.disable_adapter(), packed.disable_adapter():  # type: ignore[operator]
        torch.testing.assert_close(
            _logits(packed, _input_ids()), _logits(plain, _input_ids()), rtol=1e-4, atol=1e-4
        )


def test_bf16_layers_are_packed_and_give_the_same_logits(tiny_llama_dir: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.bfloat16).eval()
    before = _logits(model, _input_ids())
    assert pack_linear_layers(model) == sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    after = _logits(model, _input_ids())
    torch.testing.assert_close(after, before, rtol=2e-2, atol=2e-2)


def test_weights_of_other_dtypes_are_left_alone(tiny_llama_dir: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float16)
    assert pack_linear_layers(model) == 0


def test_the_cpu_engine_packs_its_model(tiny_llama_dir: Path) -> None:
    from memo_graph import LocalChatModel

    engine = LocalChatModel(model=str(tiny_llama_dir), max_tokens=4).engine
    assert engine.packed_linear_layers > 0


def test_the_engine_decodes_in_the_type_asked(
    tiny_llama_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memo_graph import LocalChatModel
    from memo_graph.errors import MemoError
    from memo_graph.models.precision import DTYPE_VARIABLE

    bf16 = LocalChatModel(model=str(tiny_llama_dir), max_tokens=4, dtype="bfloat16")
    assert bf16.engine.model.dtype == torch.bfloat16 and bf16.engine.packed_linear_layers > 0
    assert len(bf16.invoke("Hello").content) > 0
    monkeypatch.setenv(DTYPE_VARIABLE, "float32")
    fp32 = LocalChatModel(model=str(tiny_llama_dir), max_tokens=4)
    assert fp32.engine is not bf16.engine and fp32.engine.model.dtype == torch.float32
    with pytest.raises(MemoError, match="unknown dtype 'half'"):
        _ = LocalChatModel(model=str(tiny_llama_dir), dtype="half").engine
