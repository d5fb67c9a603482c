"""A batching generation engine over one transformers model, shared by every chat model that
loads the same weights.

Requests from any thread or event loop go into a queue; one worker thread takes whatever has
arrived (up to ``max_batch_size``), groups it by LoRA adapter and decodes each group as one
left-padded batch with a shared KV cache. Each row has its own sampling settings, stop strings
and JSON grammar, so unrelated calls still share one forward pass per token.
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
from memo_graph.models.weights import ResolvedWeights

FinishReason = Literal["stop", "length", "cancelled"]
# A JSON reply starts checking its closing walk this many tokens before its budget ends, and
# follows it with this many tokens to spare (a sampled token can lengthen the walk by a few).
_CLOSING_HORIZON = 96
_CLOSING_MARGIN = 3


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
    token_ids: list[int] = field(default_factory=list)
    text: str = ""
    emitted: int = 0
    finish: FinishReason | None = None
    closing: bool = False  # the token budget is nearly spent: walk the JSON to its end
    lex: JsonLexState = field(default_factory=JsonLexState)

    @property
    def remaining(self) -> int:
        return self.request.params.max_new_tokens - len(self.token_ids)


def _default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


class LocalEngine:
    """One model in memory, its tokenizer, its grammar compiler and its request queue."""

    def __init__(
        self,
        weights: ResolvedWeights,
        device: str | None = None,
        max_batch_size: int = 16,
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
        self.decode_calls = 0  # batches decoded so far; tests and benchmarks read it
        self.gather_window_s = 0.01
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
            batch = [self._queue.get()]
            # Linger briefly: the requests of one batch() call arrive a few ms apart (each
            # renders its prompt on its own thread) and should be decoded together.
            while len(batch) < self.max_batch_size:
                try:
                    batch.append(self._queue.get(timeout=self.gather_window_s))
                except queue.Empty:
                    break
            live = [r for r in batch if not r.future.cancelled()]
            by_adapter: dict[Path | None, list[GenerationRequest]] = {}
            for request in live:
                by_adapter.setdefault(request.adapter, []).append(request)
            for adapter, group in by_adapter.items():
                try:
                    self._decode_group(adapter, group)
                except Exception as exc:  # deliver the failure to every caller, keep serving
                    for request in group:
                        _settle(request.future, exception=exc)

    def _activate_adapter(self, adapter: Path | None) -> Any:
        """Return a context manager that runs the base with ``adapter`` on (or all adapters off)."""
        import contextlib

        if adapter is None:
            if self._adapters:
                return self.model.disable_adapter()
            return contextlib.nullcontext()
        name = self._adapters.get(adapter)
        if name is None:
            name = f"adapter_{len(self._adapters)}"
            self._load_adapter(adapter, name)
            self._adapters[adapter] = name
        self.model.set_adapter(name)
        return contextlib.nullcontext()

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

    @torch.inference_mode()
    def _decode_group(self, adapter: Path | None, requests: list[GenerationRequest]) -> None:
        self.decode_calls += 1
        with self._activate_adapter(adapter):
            rows = [
                _Row(r, xgr.GrammarMatcher(r.grammar) if r.grammar is not None else None)
                for r in requests
            ]
            self._decode(rows)
        for row in rows:
            if row.matcher is not None and not row.matcher.is_completed():
                _settle(
                    row.request.future,
                    exception=StructuredOutputError(
                        f"the reply reached max_tokens={row.request.params.max_new_tokens} before "
                        "completing the JSON schema; raise max_tokens or simplify the schema "
                        f"(the reply ended with {row.text[-120:]!r})."
                    ),
                )
                continue
            _settle(
                row.request.future,
                GenerationResult(
                    text=row.text,
                    prompt_tokens=len(row.request.prompt_ids),
                    completion_tokens=len(row.token_ids),
                    finish_reason="length" if row.closing else (row.finish or "stop"),
                ),
            )

    def _decode(self, rows: list[_Row]) -> None:
        device = self.device
        width = max(len(row.request.prompt_ids) for row in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids = row.request.prompt_ids
            input_ids[i, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            attention[i, width - len(ids) :] = 1
        input_ids, attention = input_ids.to(device), attention.to(device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)

        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        active = list(range(len(rows)))  # indices into rows, aligned with the batch dimension
        bitmask = xgr.allocate_token_bitmask(len(rows), self.vocab_size)
        while True:
            output = self.model(
                input_ids=input_ids,
                attention_mask=attention,
                position_ids=positions,
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            logits = output.logits[:, -1, :].float()
            next_tokens = self._choose_tokens(logits, [rows[i] for i in active], bitmask)
            still_active: list[int] = []
            for batch_index, row_index in enumerate(active):
                row = rows[row_index]
                self._advance(row, int(next_tokens[batch_index]))
                if row.finish is None:
                    still_active.append(batch_index)
            if not still_active:
                return
            if len(still_active) < len(active):
                keep = torch.tensor(still_active, device=device)
                cache.batch_select_indices(keep)
                attention = attention.index_select(0, keep)
                positions = positions.index_select(0, keep)
                next_tokens = next_tokens.index_select(0, keep)
                active = [active[i] for i in still_active]
            input_ids = next_tokens.view(-1, 1)
            attention = torch.cat([attention, attention.new_ones((len(active), 1))], dim=1)
            positions = positions[:, -1:] + 1

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
