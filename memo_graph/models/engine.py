"""A batching generation engine over one transformers model, shared by every chat model that
loads the same weights.

Requests from any thread or event loop go into a queue; one worker thread decodes them as one
left-padded batch with a shared KV cache (up to ``max_batch_size`` rows). Batching is
continuous: a request that arrives mid-decode joins at the next step, and a finished row leaves
at once. Each row has its own LoRA adapter (or none), sampling settings, stop strings and JSON
grammar, so unrelated calls still share one forward pass per token.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import xgrammar as xgr

from memo_graph.errors import ModelLoadError, StructuredOutputError
from memo_graph.models.cpu_linear import pack_linear_layers
from memo_graph.models.grammar import GrammarCompiler
from memo_graph.models.json_closing import ClosingWalk, JsonLexState
from memo_graph.models.prefix_cache import PrefixCache
from memo_graph.models.weights import ResolvedWeights

FinishReason = Literal["stop", "length", "cancelled"]
# A JSON reply starts checking its closing walk this many tokens before its budget ends, and
# follows it with this many tokens to spare (a sampled token can lengthen the walk by a few).
_CLOSING_HORIZON = 96
_CLOSING_MARGIN = 3
_BASE_ADAPTER = "__base__"  # peft's adapter name for "no adapter" in a mixed batch


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    stop: tuple[str, ...] = ()
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0

    @property
    def penalised(self) -> bool:
        return self.frequency_penalty != 0.0 or self.presence_penalty != 0.0


@dataclass
class GenerationResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason


@dataclass
class GenerationRequest:
    prompt_ids: list[int]
    params: SamplingParams
    grammar: xgr.CompiledGrammar | None = None
    adapter: Path | None = None
    on_text: Callable[[str], None] | None = None
    future: Future[GenerationResult] = field(default_factory=Future)


@dataclass
class _Row:
    """Decoding state of one request inside a running batch."""

    request: GenerationRequest
    matcher: xgr.GrammarMatcher | None
    adapter_name: str = _BASE_ADAPTER
    token_ids: list[int] = field(default_factory=list)
    text: str = ""
    emitted: int = 0
    finish: FinishReason | None = None
    closing: bool = False  # the token budget is nearly spent: walk the JSON to its end
    lex: JsonLexState = field(default_factory=JsonLexState)

    @property
    def remaining(self) -> int:
        return self.request.params.max_new_tokens - len(self.token_ids)


@dataclass
class _Batch:
    """The rows decoding together and their shared, left-padded KV cache."""

    rows: list[_Row]
    cache: Any  # transformers DynamicCache, one row per entry of ``rows``
    attention: torch.Tensor  # (rows, cached positions): 0 where a row is padded
    positions: torch.Tensor  # (rows, 1): position of each row's pending token
    pending: torch.Tensor  # (rows, 1): the token each row feeds next


def _mergeable(cache: Any) -> bool:
    """Whether rows can join ``cache`` mid-flight: every layer a plain full-attention cache
    (sliding-window layers keep a trimmed window that left padding would misalign)."""
    from transformers.cache_utils import DynamicLayer

    return all(type(layer) is DynamicLayer for layer in cache.layers)


def _pad_left(tensor: torch.Tensor, width: int) -> torch.Tensor:
    """Zero-pad the sequence dimension (dim 1 of a mask, dim 2 of a KV tensor) to ``width``."""
    dim = 1 if tensor.dim() == 2 else 2
    missing = width - tensor.shape[dim]
    if missing == 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    return torch.cat([tensor.new_zeros(shape), tensor], dim=dim)


def _drop_padding_columns(batch: _Batch) -> None:
    """Forget leading positions that are padding in every row left (after rows finished).
    Only for caches that keep every past position (see ``_mergeable``)."""
    if not batch.rows:
        return
    used = batch.attention.any(dim=0).nonzero()
    start = int(used[0]) if len(used) else 0
    if start == 0:
        return
    batch.attention = batch.attention[:, start:]
    for layer in batch.cache.layers:
        layer.keys, layer.values = layer.keys[:, :, start:], layer.values[:, :, start:]


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
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.weights = weights
        self.device = torch.device(device) if device else _default_device()
        self.max_batch_size = max_batch_size
        dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(weights.base_dir)
            model: Any = AutoModelForCausalLM.from_pretrained(weights.base_dir, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(
                f"cannot load the model in {weights.base_dir}: {exc}. Check that the directory "
                "holds config.json, safetensors weights and tokenizer files."
            ) from exc
        self.model: Any = model.to(self.device).eval()
        self.packed_linear_layers = pack_linear_layers(self.model) if dtype == torch.float32 else 0
        self.vocab_size = int(self.model.config.vocab_size)
        self.pad_id = self._pad_token_id()
        self.eos_ids = self._eos_token_ids()
        self.grammars = GrammarCompiler(self.tokenizer, self.vocab_size)
        self._closing_walk = ClosingWalk(self.tokenizer, self.vocab_size)
        self._adapters: dict[Path, str] = {}
        self._bitmask = xgr.allocate_token_bitmask(max_batch_size, self.vocab_size)
        self.largest_batch = 0  # most rows decoded in one step so far; tests read it
        self.gather_window_s = 0.01
        # False: a request that arrives mid-decode waits until the running batch ends (static
        # batching; benchmarks compare the two).
        self.continuous_batching = True
        from transformers import DynamicCache

        # Rows can join a running batch, and reuse cached prompt prefixes, only where every
        # layer keeps all its past states (no sliding window).
        self._rows_can_join = _mergeable(DynamicCache(config=self.model.config))
        self.prefix_cache = PrefixCache(max_bytes=prefix_cache_bytes)
        self._queue: queue.Queue[GenerationRequest] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()

    # ----------------------------------------------------------------- public API
    def submit(self, request: GenerationRequest) -> Future[GenerationResult]:
        """Queue a request; the returned future resolves when its text is complete."""
        if request.grammar is not None:
            self._check_budget_fits(request)
        self._ensure_worker()
        self._queue.put(request)
        return request.future

    def _check_budget_fits(self, request: GenerationRequest) -> None:
        budget = request.params.max_new_tokens
        assert request.grammar is not None
        shortest = self._closing_walk.length(
            xgr.GrammarMatcher(request.grammar), JsonLexState(), budget
        )
        if shortest > budget:
            raise StructuredOutputError(
                f"max_tokens={budget} is too small for this JSON schema: even its shortest "
                "valid reply needs more tokens. Raise max_tokens or simplify the schema."
            )

    def render_chat(self, messages: Sequence[dict[str, str]]) -> list[int]:
        encoded: Any = self.tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, tokenize=True, return_dict=False
        )
        if isinstance(encoded, dict) or hasattr(encoded, "input_ids"):
            encoded = encoded["input_ids"]
        return [int(i) for i in encoded]

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

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._serve_forever, name="memo-local-engine", daemon=True
                )
                self._worker.start()

    # ----------------------------------------------------------------- worker
    def _serve_forever(self) -> None:
        while True:
            first = self._queue.get()
            # Linger briefly: the requests of one batch() call arrive a few ms apart (each
            # renders its prompt on its own thread) and should start together.
            arrivals = [first, *self._take_arrivals(self.max_batch_size - 1, linger=True)]
            self._serve_until_idle(arrivals)

    def _take_arrivals(self, limit: int, linger: bool) -> list[GenerationRequest]:
        taken: list[GenerationRequest] = []
        while len(taken) < limit:
            try:
                if linger:
                    taken.append(self._queue.get(timeout=self.gather_window_s))
                else:
                    taken.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return [request for request in taken if not request.future.cancelled()]

    @torch.inference_mode()
    def _serve_until_idle(self, arrivals: list[GenerationRequest]) -> None:
        """Decode until no request is left. Requests that arrive meanwhile join the running
        batch at the next step (continuous batching), whatever adapter each one asks for."""
        batch: _Batch | None = None
        while True:
            if arrivals:
                try:
                    for joining in self._prefill(self._rows_for(arrivals)):
                        if joining.rows:  # not all finished at their first token
                            batch = joining if batch is None else self._merge(batch, joining)
                except Exception as exc:  # deliver the failure to those callers, keep serving
                    for request in arrivals:
                        _settle(request.future, exception=exc)
            if batch is not None and batch.rows:
                try:
                    self._step(batch)
                except Exception as exc:
                    for row in batch.rows:
                        _settle(row.request.future, exception=exc)
                    batch = None
            if batch is not None and not batch.rows:
                batch = None
            room = self.max_batch_size - (len(batch.rows) if batch else 0)
            can_join = batch is None or (self.continuous_batching and self._rows_can_join)
            arrivals = self._take_arrivals(room, linger=False) if can_join else []
            if batch is None and not arrivals:
                return

    def _rows_for(self, requests: list[GenerationRequest]) -> list[_Row]:
        rows = []
        for request in requests:
            try:
                adapter_name = self._adapter_name(request.adapter)
            except ModelLoadError as exc:
                _settle(request.future, exception=exc)
                continue
            matcher = xgr.GrammarMatcher(request.grammar) if request.grammar is not None else None
            rows.append(_Row(request, matcher, adapter_name))
        return rows

    def _adapter_name(self, adapter: Path | None) -> str:
        """The peft name of ``adapter`` (loaded on first use); peft's name for the bare base."""
        if adapter is None:
            return _BASE_ADAPTER
        name = self._adapters.get(adapter)
        if name is None:
            name = f"adapter_{len(self._adapters)}"
            self._load_adapter(adapter, name)
            self._adapters[adapter] = name
        return name

    def _load_adapter(self, adapter: Path, name: str) -> None:
        from peft import PeftModel

        try:
            if isinstance(self.model, PeftModel):
                self.model.load_adapter(str(adapter), adapter_name=name)
            else:
                self.model = PeftModel.from_pretrained(self.model, str(adapter), adapter_name=name)
        except Exception as exc:
            raise ModelLoadError(
                f"cannot load the LoRA adapter in {adapter}: {type(exc).__name__}: {exc}. It must "
                "be a peft adapter trained on this base model."
            ) from exc
        self.model.eval()

    def _forward(self, rows: list[_Row], **inputs: Any) -> torch.Tensor:
        """Last-position logits; each row runs through its own adapter, or none."""
        if self._adapters:
            inputs["adapter_names"] = [row.adapter_name for row in rows]
        output = self.model(**inputs, use_cache=True, logits_to_keep=1)
        return output.logits[:, -1, :].float()  # type: ignore[no-any-return]

    def _prefill(self, rows: list[_Row]) -> list[_Batch]:
        """Read the prompts of ``rows`` and choose each first token: one row at a time after the
        longest prefix the engine has read before, or as one left-padded batch where rows
        cannot be merged (reading a prompt is compute-bound: batching it gains little)."""
        if self._rows_can_join:
            return [self._prefill_one(row) for row in rows]
        return [self._prefill_together(rows)]

    def _prefill_one(self, row: _Row) -> _Batch:
        from transformers import DynamicCache

        prompt = row.request.prompt_ids
        reused, states = self.prefix_cache.longest_prefix(row.adapter_name, prompt)
        cache: Any = DynamicCache(config=self.model.config)
        for layer_index, (keys, values) in enumerate(states):
            cache.update(keys, values, layer_index)
        new_ids = torch.tensor([prompt[reused:]], dtype=torch.long, device=self.device)
        attention = torch.ones((1, len(prompt)), dtype=torch.long, device=self.device)
        positions = torch.arange(reused, len(prompt), device=self.device).view(1, -1)
        batch = _Batch([row], cache, attention, positions[:, -1:] + 1, new_ids[:, -1:])
        logits = self._forward(
            [row],
            input_ids=new_ids,
            attention_mask=attention,
            position_ids=positions,
            past_key_values=cache,
        )
        self.prefix_cache.store(
            row.adapter_name, prompt, [(layer.keys, layer.values) for layer in cache.layers]
        )
        self._take_tokens(batch, logits, fed=False)
        return batch

    def _prefill_together(self, rows: list[_Row]) -> _Batch:
        from transformers import DynamicCache

        device = self.device
        width = max((len(row.request.prompt_ids) for row in rows), default=0)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids = row.request.prompt_ids
            input_ids[i, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            attention[i, width - len(ids) :] = 1
        input_ids, attention = input_ids.to(device), attention.to(device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        batch = _Batch(
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
                past_key_values=batch.cache,
            )
            self._take_tokens(batch, logits, fed=False)
        return batch

    def _step(self, batch: _Batch) -> None:
        """Feed every row its pending token and choose the next one."""
        self.largest_batch = max(self.largest_batch, len(batch.rows))
        attention = torch.cat([batch.attention, batch.attention.new_ones((len(batch.rows), 1))], 1)
        logits = self._forward(
            batch.rows,
            input_ids=batch.pending,
            attention_mask=attention,
            position_ids=batch.positions,
            past_key_values=batch.cache,
        )
        batch.attention = attention
        self._take_tokens(batch, logits, fed=True)

    def _take_tokens(self, batch: _Batch, logits: torch.Tensor, fed: bool) -> None:
        """Choose and append each row's next token, settle the rows that finished and keep the
        others (with their cache rows) as the batch."""
        next_tokens = self._choose_tokens(logits, batch.rows, self._bitmask)
        survivors: list[int] = []
        for index, row in enumerate(batch.rows):
            self._advance(row, int(next_tokens[index]))
            if row.finish is None:
                survivors.append(index)
            else:
                self._settle_row(row)
        positions = batch.positions + 1 if fed else batch.positions
        pending = next_tokens.view(-1, 1)
        if len(survivors) < len(batch.rows):
            keep = torch.tensor(survivors, dtype=torch.long, device=self.device)
            if survivors:
                batch.cache.batch_select_indices(keep)
            batch.attention = batch.attention.index_select(0, keep)
            positions, pending = positions.index_select(0, keep), pending.index_select(0, keep)
            batch.rows = [batch.rows[i] for i in survivors]
            if self._rows_can_join:
                _drop_padding_columns(batch)
        batch.positions, batch.pending = positions, pending

    def _merge(self, running: _Batch, joining: _Batch) -> _Batch:
        """One batch of both: the shorter side is left-padded (masked) to the other's length."""
        width = max(running.attention.shape[1], joining.attention.shape[1])
        for mine, theirs in zip(running.cache.layers, joining.cache.layers, strict=True):
            mine.keys = torch.cat([_pad_left(mine.keys, width), _pad_left(theirs.keys, width)])
            mine.values = torch.cat(
                [_pad_left(mine.values, width), _pad_left(theirs.values, width)]
            )
        running.attention = torch.cat(
            [_pad_left(running.attention, width), _pad_left(joining.attention, width)]
        )
        running.positions = torch.cat([running.positions, joining.positions])
        running.pending = torch.cat([running.pending, joining.pending])
        running.rows = running.rows + joining.rows
        return running

    def _settle_row(self, row: _Row) -> None:
        if row.matcher is not None and not row.matcher.is_completed():
            _settle(
                row.request.future,
                exception=StructuredOutputError(
                    f"the reply reached max_tokens={row.request.params.max_new_tokens} before "
                    "completing the JSON schema; raise max_tokens or simplify the schema "
                    f"(the reply ended with {row.text[-120:]!r})."
                ),
            )
            return
        _settle(
            row.request.future,
            GenerationResult(
                text=row.text,
                prompt_tokens=len(row.request.prompt_ids),
                completion_tokens=len(row.token_ids),
                finish_reason="length" if row.closing else (row.finish or "stop"),
            ),
        )

    def _choose_tokens(
        self, logits: torch.Tensor, rows: list[_Row], bitmask: torch.Tensor
    ) -> torch.Tensor:
        self._apply_penalties(logits, rows)
        constrained = [i for i, row in enumerate(rows) if row.matcher is not None]
        if constrained:
            for i in constrained:
                rows[i].matcher.fill_next_token_bitmask(bitmask, i)  # type: ignore[union-attr]
            xgr.apply_token_bitmask_inplace(
                logits, bitmask[: len(rows)].to(logits.device), indices=constrained
            )
        chosen = logits.argmax(dim=-1)
        sampled = [i for i, row in enumerate(rows) if row.request.params.temperature > 0]
        if sampled:
            index = torch.tensor(sampled, device=logits.device)
            temperatures = torch.tensor(
                [rows[i].request.params.temperature for i in sampled], device=logits.device
            )
            top_ps = torch.tensor(
                [rows[i].request.params.top_p for i in sampled], device=logits.device
            )
            probs = torch.softmax(logits.index_select(0, index) / temperatures[:, None], dim=-1)
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            before = sorted_probs.cumsum(dim=-1) - sorted_probs
            sorted_probs = sorted_probs.masked_fill(before >= top_ps[:, None], 0.0)
            picks = torch.multinomial(sorted_probs, num_samples=1).squeeze(-1)
            chosen[index] = order.gather(-1, picks[:, None]).squeeze(-1)
        for i in constrained:
            matcher = rows[i].matcher
            if matcher is not None and self._must_close(rows[i], matcher, int(chosen[i])):
                walk_token = self._closing_walk.next_token(matcher, rows[i].lex)
                if walk_token is not None:
                    chosen[i] = walk_token
        return chosen

    def _must_close(self, row: _Row, matcher: xgr.GrammarMatcher, candidate: int) -> bool:
        """Whether a JSON reply must follow its closing walk now to end inside its budget:
        judged after ``candidate``, the token chosen for this step, since one token (a "{" in
        an array of objects) can lengthen the walk by many."""
        if not row.closing and row.remaining <= _CLOSING_HORIZON:
            needed = self._closing_walk.length_after(matcher, row.lex, candidate, row.remaining)
            row.closing = 1 + needed + _CLOSING_MARGIN >= row.remaining
        return row.closing

    @staticmethod
    def _apply_penalties(logits: torch.Tensor, rows: list[_Row]) -> None:
        """OpenAI-style frequency and presence penalties over each row's own reply tokens."""
        for i, row in enumerate(rows):
            params = row.request.params
            if not params.penalised or not row.token_ids:
                continue
            tokens, counts = torch.tensor(row.token_ids, device=logits.device).unique(
                return_counts=True
            )
            penalty = params.frequency_penalty * counts.float() + params.presence_penalty
            logits[i].index_add_(0, tokens, -penalty)

    def _advance(self, row: _Row, token: int) -> None:
        request = row.request
        if request.future.cancelled():
            row.finish = "cancelled"
            return
        if row.matcher is not None:
            row.matcher.accept_token(token)
            row.lex.feed(self._closing_walk.piece(token))
        if token in self.eos_ids:
            row.finish = "stop"
            return
        row.token_ids.append(token)
        text = str(self.tokenizer.decode(row.token_ids, skip_special_tokens=True))
        for stop in request.params.stop if row.matcher is None else ():
            cut = text.find(stop, max(0, row.emitted - len(stop)))
            if cut != -1:
                text, row.finish = text[:cut], "stop"
                break
        row.text = text
        if row.finish is None and row.matcher is not None and row.matcher.is_completed():
            row.finish = "stop"
        if row.finish is None and len(row.token_ids) >= request.params.max_new_tokens:
            row.finish = "length"
        self._emit(row)

    def _emit(self, row: _Row) -> None:
        callback = row.request.on_text
        ready = (
            len(row.text) if row.finish else _safe_prefix_length(row.text, row.request.params.stop)
        )
        if callback is not None and ready > row.emitted:
            callback(row.text[row.emitted : ready])
        row.emitted = max(row.emitted, ready)


def _settle(
    future: Future[GenerationResult],
    result: GenerationResult | None = None,
    exception: BaseException | None = None,
) -> None:
    """Complete ``future`` unless its caller has already cancelled it (a timeout, say)."""
    try:
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(result)  # type: ignore[arg-type]
    except InvalidStateError:
        pass


def _safe_prefix_length(text: str, stops: tuple[str, ...]) -> int:
    """How much of unfinished ``text`` can be streamed: hold back a trailing partial UTF-8
    character, and any tail that may be the start of a stop string."""
    ready = len(text.rstrip("\ufffd"))
    for stop in stops:
        for size in range(min(len(stop) - 1, ready), 0, -1):
            if text[:ready].endswith(stop[:size]):
                ready = min(ready, len(text[:ready]) - size)
                break
    return ready


_ENGINES: dict[tuple[Path, str | None], LocalEngine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(weights: ResolvedWeights, device: str | None = None) -> LocalEngine:
    """The process-wide engine for a base model: one copy of the weights per base, whatever
    adapters and chat model instances use it."""
    key = (weights.base_dir, device)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = LocalEngine(weights, device=device)
            _ENGINES[key] = engine
        return engine
