"""Serving a MEMORY: the vLLM command line for an artifact, and the spec that reaches it."""

from __future__ import annotations

import json
import shlex

from memo_training.artifact import Artifact

# Where `memo serve` serves a MEMORY, and the name clients ask for.
SERVED_NAME = "memo"
SERVED_HOST = "127.0.0.1"
SERVED_PORT = 8000
# vLLM accepts these values for --max-lora-rank.
_VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def _lora_rank(artifact: Artifact) -> int:
    rank = int(json.loads((artifact.path / "adapter_config.json").read_text())["r"])
    return next((r for r in _VLLM_LORA_RANKS if r >= rank), rank)


def vllm_command(
    artifact: Artifact, name: str = SERVED_NAME, host: str = SERVED_HOST, port: int = SERVED_PORT
) -> list[str]:
    """``vllm serve`` for the artifact: its base with the adapter as a LoRA module, or the full
    weights under ``name``."""
    address = ["--host", host, "--port", str(port)]
    if artifact.kind == "lora":
        base = str(artifact.manifest["base"]["path"])
        return [
            "vllm", "serve", base, *address, "--enable-lora",
            "--lora-modules", f"{name}={artifact.path.resolve()}",
            "--max-lora-rank", str(_lora_rank(artifact)),
        ]  # fmt: skip
    return ["vllm", "serve", str(artifact.path.resolve()), *address, "--served-model-name", name]


def client_spec(name: str = SERVED_NAME, host: str = SERVED_HOST, port: int = SERVED_PORT) -> str:
    """The model spec a memo-graph role uses to reach the server."""
    return f"openai-compatible:{name}@http://{host}:{port}/v1"


def render(command: list[str]) -> str:
    return shlex.join(command)


def vllm_available() -> bool:
    import shutil

    import torch

    return shutil.which("vllm") is not None and torch.cuda.is_available()
