"""A batching generation engine over one transformers model, shared by every chat model that
loads the same weights.

Requests from any thread or event loop go into a queue; one worker thread decodes them as one
left-padded batch with a shared KV cache (up to ``max_batch_size`` rows). Batching is
continuous: a request that arrives mid-decode joins at the next step, and a finished row
leaves at once. Each row has its own LoRA adapter (or none), sampling settings, stop strings and
JSON grammar, so unrelated calls still share one forward pass per token.

This module loads the model and runs its forward passes; the rooms around it are
``scheduler`` (the queue and the worker's loop), ``batch`` (rows and their shared cache),
``sampling`` (choosing tokens) and ``detokenize`` (reply text, stop strings, streaming).
"""

from __future__ import annotations

import atexit
import inspect
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import torch
import xgrammar as xgr

from memo_graph.engine.batch import (
    BASE_ADAPTER,
    Batch,
    Row,
    cache_is_mergeable,
    pad_prompts_left,
    prompt_cache,
    prompt_states,
    start_decoding,
)
from memo_graph.engine.cpu_linear import pack_linear_layers
from memo_graph.engine.detokenize import ReplyText
from memo_graph.engine.generation import (
    FinishReason,
    GenerationRequest,
    GenerationResult,
    SamplingParams,
    settle,
)
from memo_graph.engine.grammar import GrammarCompiler
from memo_graph.engine.json_closing import ClosingWalk
from memo_graph.engine.prefix_cache import PrefixCache
from memo_graph.engine.sampling import TokenChooser
from memo_graph.engine.scheduler import Scheduler
from memo_graph.errors import ModelLoadError, StructuredOutputError
from memo_graph.models.loading import load_causal_lm, load_tokenizer
from memo_graph.models.notices import peft_notices_silenced
from memo_graph.models.precision import inference_dtype
from memo_graph.models.weights import ResolvedWeights

__all__ = [
    "FinishReason",
    "GenerationRequest",
    "GenerationResult",
    "LocalEngine",
    "SamplingParams",
    "get_engine",
]


def _default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


class LocalEngine:
    """One model in memory, its tokenizer, its grammar compiler and its request queue."""

    def __init__(
        self,
        weights: ResolvedWeights,
        device: str | None = None,
        max_batch_size: int = 16,
        prefix_cache_bytes: int = 512 * 2**20,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.weights = weights
        self.device = torch.device(device) if device else _default_device()
        self.max_batch_size = max_batch_size
        dtype = dtype or inference_dtype(self.device)
        try:
            self.tokenizer = load_tokenizer(weights.base_dir)
            model: Any = load_causal_lm(weights.base_dir, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(
                f"cannot load the model in {weights.base_dir}: {exc}. Check that the directory "
                "holds config.json, safetensors weights and tokenizer files."
            ) from exc
        self.model: Any = model.to(self.device).eval()
        # transformers renamed forward's past_key_values to cache (5.2x); older ones lack it
        forward = inspect.signature(self.model.forward).parameters
        self._cache_keyword = "cache" if "cache" in forward else "past_key_values"
        self.packed_linear_layers = pack_linear_layers(self.model)
        self.vocab_size = int(self.model.config.vocab_size)
        self.pad_id = self._pad_token_id()
        self.eos_ids = self._eos_token_ids()
        self.grammars = GrammarCompiler(self.tokenizer, self.vocab_size)
        self._closing_walk = ClosingWalk(self.tokenizer, self.vocab_size)
        self._chooser = TokenChooser(self._closing_walk, max_batch_size, self.vocab_size)
        self._adapters: dict[Path, str] = {}
        self.largest_batch = 0  # most rows decoded in one step so far; tests read it
        self.gather_window_s = 0.01
        # False: a request that arrives mid-decode waits until the running batch ends (static
        # batching; benchmarks compare the two).
        self.continuous_batching = True
        # Rows can join a running batch, and reuse cached prompt prefixes, only where every
        # layer keeps all its past states or a short convolution's state (no sliding window).
        self.rows_can_join = cache_is_mergeable(self.model.config)
        self.prefix_cache = PrefixCache(max_bytes=prefix_cache_bytes)
        self._scheduler = Scheduler(self)

    # ----------------------------------------------------------------- public API
    def submit(self, request: GenerationRequest) -> Future[GenerationResult]:
        """Queue a request; the returned future resolves when its text is complete."""
        if request.grammar is not None:
            self._chooser.check_budget_fits(request)
        self._scheduler.put(request)
        return request.future

    def render_chat(self, messages: Sequence[dict[str, str]]) -> list[int]:
        encoded: Any = self.tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, tokenize=True, return_dict=False
        )
        if isinstance(encoded, dict) or hasattr(encoded, "input_ids"):
            encoded = encoded["input_ids"]
        return [int(i) for i in encoded]

    def stop(self, timeout_s: float = 10.0) -> None:
        """End the worker: requests still decoding are cancelled. Run at interpreter exit,
        since a daemon thread stopped inside a torch call aborts the whole process."""
        self._scheduler.stop(timeout_s)

    # ----------------------------------------------------------------- setup
    def _pad_token_id(self) -> int:
        for candidate in (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id, 0):
            if candidate is not None:
                return int(candidate)
        return 0

    def _eos_token_ids(self) -> set[int]:
        ids: set[int] = set()
        if self.tokenizer.eos_token_id is not None:
            ids.add(int(self.tokenizer.eos_token_id))
        configured = getattr(self.model.generation_config, "eos_token_id", None)
        if isinstance(configured, int):
            ids.add(configured)
        elif configured:
            ids.update(int(i) for i in configured)
        return ids

    def _adapter_name(self, adapter: Path | None) -> str:
        """The peft name of ``adapter`` (loaded on first use); peft's name for the bare base."""
        if adapter is None:
            return BASE_ADAPTER
        name = self._adapters.get(adapter)
        if name is None:
            name = f"adapter_{len(self._adapters)}"
            self._load_adapter(adapter, name)
            self._adapters[adapter] = name
        return name

    def _load_adapter(self, adapter: Path, name: str) -> None:
        from peft import PeftModel

        try:
            with peft_notices_silenced():
                if isinstance(self.model, PeftModel):
                    self.model.load_adapter(str(adapter), adapter_name=name)
                else:
                    self.model = PeftModel.from_pretrained(
                        self.model, str(adapter), adapter_name=name
                    )
        except Exception as exc:
            raise ModelLoadError(
                f"cannot load the LoRA adapter in {adapter}: {type(exc).__name__}: {exc}. It must "
                "be a peft adapter trained on this base model."
            ) from exc
        self.model.eval()

    # ----------------------------------------------------------------- decoding (worker only)
    def prefill(self, requests: list[GenerationRequest]) -> list[Batch]:
        """Read the prompts of ``requests`` and choose each first token: one row at a time
        after the longest prefix the engine has read before, or as one left-padded batch where
        rows cannot be merged (reading a prompt is compute-bound: batching it gains little)."""
        rows = self._rows_for(requests)
        if self.rows_can_join:
            return [self._prefill_one(row) for row in rows]
        return [self._prefill_together(rows)]

    def step(self, batch: Batch) -> None:
        """Feed every row its pending token and choose the next one."""
        self.largest_batch = max(self.largest_batch, len(batch.rows))
        attention = torch.cat([batch.attention, batch.attention.new_ones((len(batch.rows), 1))], 1)
        logits = self._forward(
            batch.rows,
            input_ids=batch.pending,
            attention_mask=attention,
            position_ids=batch.positions,
            cache=batch.cache,
        )
        batch.attention = attention
        self._take_tokens(batch, logits, fed=True)

    def _rows_for(self, requests: list[GenerationRequest]) -> list[Row]:
        rows = []
        for request in requests:
            try:
                adapter_name = self._adapter_name(request.adapter)
            except ModelLoadError as exc:
                settle(request.future, exception=exc)
                continue
            grammar = request.grammar
            matcher = xgr.GrammarMatcher(grammar) if grammar is not None else None
            # A JSON reply ends where its grammar completes: stop strings do not apply.
            stops = request.params.stop if grammar is None else ()
            rows.append(Row(request, matcher, ReplyText(self.tokenizer, stops), adapter_name))
        return rows

    def _forward(self, rows: list[Row], cache: Any, **inputs: Any) -> torch.Tensor:
        """Last-position logits; each row runs through its own adapter, or none."""
        if self._adapters:
            inputs["adapter_names"] = [row.adapter_name for row in rows]
        inputs[self._cache_keyword] = cache
        output = self.model(**inputs, use_cache=True, logits_to_keep=1)
        return output.logits[:, -1, :].float()  # type: ignore[no-any-return]

    def _prefill_one(self, row: Row) -> Batch:
        prompt = row.request.prompt_ids
        reused, states = self.prefix_cache.longest_prefix(row.adapter_name, prompt)
        cache = prompt_cache(self.model.config, states)
        new_ids = torch.tensor([prompt[reused:]], dtype=torch.long, device=self.device)
        attention = torch.ones((1, len(prompt)), dtype=torch.long, device=self.device)
        positions = torch.arange(reused, len(prompt), device=self.device).view(1, -1)
        batch = Batch([row], cache, attention, positions[:, -1:] + 1, new_ids[:, -1:])
        logits = self._forward(
            [row],
            input_ids=new_ids,
            attention_mask=attention,
            position_ids=positions,
            cache=cache,
        )
        self.prefix_cache.store(row.adapter_name, prompt, prompt_states(cache))
        start_decoding(cache)
        self._take_tokens(batch, logits, fed=False)
        return batch

    def _prefill_together(self, rows: list[Row]) -> Batch:
        from transformers import DynamicCache

        input_ids, attention = pad_prompts_left(
            [row.request.prompt_ids for row in rows], self.pad_id
        )
        input_ids, attention = input_ids.to(self.device), attention.to(self.device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        batch = Batch(
            rows=rows,
            cache=DynamicCache(config=self.model.config),
            attention=attention,
            positions=positions[:, -1:] + 1,
            pending=input_ids[:, -1:],
        )
        if rows:
            logits = self._forward(
                rows,
                input_ids=input_ids,
                attention_mask=attention,
                position_ids=positions,
                cache=batch.cache,
            )
            self._take_tokens(batch, logits, fed=False)
        return batch

    def _take_tokens(self, batch: Batch, logits: torch.Tensor, fed: bool) -> None:
        """Choose and append each row's next token, settle the rows that finished and keep the
        others (with their cache rows) as the batch."""
        next_tokens = self._chooser.choose(logits, batch.rows)
        survivors: list[int] = []
        for index, row in enumerate(batch.rows):
            self._advance(row, int(next_tokens[index]))
            if row.finish is None:
                survivors.append(index)
            else:
                self._settle_row(row)
        if fed:
            batch.positions = batch.positions + 1
        batch.pending = next_tokens.view(-1, 1)
        if len(survivors) < len(batch.rows):
            batch.keep(survivors)
            if self.rows_can_join:
                batch.drop_padding_columns()

    def _advance(self, row: Row, token: int) -> None:
        """Take ``token`` into ``row``, decide whether its reply is finished and stream the
        text that is settled."""
        if row.request.future.cancelled():
            row.finish = "cancelled"
            return
        if row.matcher is not None:
            row.matcher.accept_token(token)
            row.lex.feed(self._closing_walk.piece(token))
        if token in self.eos_ids:
            row.finish = "stop"
        else:
            row.reply.add(token)
            if row.reply.stopped or (row.matcher is not None and row.matcher.is_completed()):
                row.finish = "stop"
            elif len(row.token_ids) >= row.request.params.max_new_tokens:
                row.finish = "length"
        if row.finish is not None:
            row.reply.finish()
        piece = row.reply.take_streamable()
        if piece and row.request.on_text is not None:
            row.request.on_text(piece)

    def _settle_row(self, row: Row) -> None:
        if row.finish == "cancelled":
            return  # nobody waits for the result
        text = row.reply.text
        if row.matcher is not None and not row.matcher.is_completed():
            settle(
                row.request.future,
                exception=StructuredOutputError(
                    f"the reply reached max_tokens={row.request.params.max_new_tokens} before "
                    "completing the JSON schema; raise max_tokens or simplify the schema "
                    f"(the reply ended with {text[-120:]!r})."
                ),
            )
            return
        settle(
            row.request.future,
            GenerationResult(
                text=text,
                prompt_tokens=len(row.request.prompt_ids),
                completion_tokens=len(row.token_ids),
                finish_reason="length" if row.closing else (row.finish or "stop"),
            ),
        )


_ENGINES: dict[tuple[Path, str | None, torch.dtype], LocalEngine] = {}
_ENGINES_LOCK = threading.Lock()


@atexit.register
def _stop_engines() -> None:
    for engine in list(_ENGINES.values()):
        engine.stop()


def get_engine(
    weights: ResolvedWeights, device: str | None = None, dtype: str | None = None
) -> LocalEngine:
    """The process-wide engine for a base model: one copy of the weights per base (and type),
    whatever adapters and chat model instances use it. ``dtype``: see ``inference_dtype``."""
    resolved = inference_dtype(torch.device(device) if device else _default_device(), dtype)
    key = (weights.base_dir, device, resolved)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = LocalEngine(weights, device=device, dtype=resolved)
            _ENGINES[key] = engine
        return engine
