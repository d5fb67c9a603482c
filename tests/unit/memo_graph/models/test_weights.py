"""Locating and converting GGUF weights: bad files, atomic and concurrent first loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from memo_graph import ModelLoadError
from memo_graph.models.gguf import hf_dir_from_gguf
from memo_graph.models.packaged import locate_embedded_gguf
from memo_graph.models.weights import resolve_weights


def test_not_a_gguf(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a gguf at all")
    with pytest.raises(ModelLoadError, match="not a GGUF file"):
        hf_dir_from_gguf(fake)


def test_truncated_gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMO_GRAPH_CACHE", str(tmp_path / "cache"))
    truncated = tmp_path / "cut.gguf"
    with locate_embedded_gguf().open("rb") as handle:
        truncated.write_bytes(handle.read(200_000))
    with pytest.raises(ModelLoadError, match="truncated or corrupt"):
        hf_dir_from_gguf(truncated)
    models = tmp_path / "cache" / "models"
    assert not [p for p in models.iterdir() if p.is_dir() and p.name != ".locks"], (
        "no partial directory may remain"
    )


def test_adapter_dir_names_its_base(tmp_path: Path, tiny_llama_dir: Path) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": str(tiny_llama_dir)})
    )
    resolved = resolve_weights(adapter)
    assert resolved.base_dir == tiny_llama_dir.resolve()
    assert resolved.adapter_dir == adapter.resolve()


_CONVERT = (
    "from memo_graph.models.gguf import hf_dir_from_gguf;"
    "from memo_graph.models.packaged import locate_embedded_gguf;"
    "print(hf_dir_from_gguf(locate_embedded_gguf()))"
)


def test_two_processes_convert_once(tmp_path: Path) -> None:
    env = {**__import__("os").environ, "MEMO_GRAPH_CACHE": str(tmp_path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CONVERT],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]
    dirs = {out.strip() for out, _ in outputs}
    assert len(dirs) == 1
    converted = Path(dirs.pop())
    assert (converted / "model.safetensors").is_file()
    assert (converted / "config.json").is_file()
    assert [
        p.name for p in (tmp_path / "models").iterdir() if p.is_dir() and p.name != ".locks"
    ] == [converted.name]


def test_local_model_env_makes_local_mean_another_model(
    tiny_llama_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMO_GRAPH_LOCAL_MODEL", str(tiny_llama_dir))
    for source in (None, "", "local"):
        assert resolve_weights(source).base_dir == tiny_llama_dir.resolve()
    monkeypatch.setenv("MEMO_GRAPH_LOCAL_MODEL", str(tiny_llama_dir / "missing"))
    with pytest.raises(ModelLoadError, match="does not exist"):
        resolve_weights("local")
