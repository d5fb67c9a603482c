"""JSON-schema grammars for constrained decoding, compiled by xgrammar (the engine vLLM uses)."""

from __future__ import annotations

import json
import threading
from typing import Any

import xgrammar as xgr

from memo_graph.errors import StructuredOutputError

_ANY_OBJECT = {"type": "object"}


class GrammarCompiler:
    """Compiles and caches JSON grammars for one tokenizer. Safe to share across threads."""

    def __init__(self, tokenizer: Any, vocab_size: int) -> None:
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
        self._compiler = xgr.GrammarCompiler(info)
        self._cache: dict[str, xgr.CompiledGrammar] = {}
        self._lock = threading.Lock()

    def compile(self, schema: dict[str, Any] | None) -> xgr.CompiledGrammar:
        """A grammar for ``schema``, or for any JSON object when ``schema`` is None."""
        key = "<json>" if schema is None else json.dumps(schema, sort_keys=True)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        try:
            # Compile the schema as given: property order is the order the model writes in.
            compiled = self._compiler.compile_json_schema(
                json.dumps(schema if schema is not None else _ANY_OBJECT), any_whitespace=False
            )
        except Exception as exc:  # xgrammar raises RuntimeError or ValueError variants
            raise StructuredOutputError(
                f"the grammar compiler rejected this JSON schema ({type(exc).__name__}: {exc}). "
                "Simplify the schema: plain objects, arrays, strings, numbers, booleans, enums."
            ) from exc
        with self._lock:
            self._cache[key] = compiled
        return compiled
