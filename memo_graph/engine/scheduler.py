"""The engine's request queue and the one worker thread that decodes it, batching continuously:
a request that arrives mid-decode joins the running batch at the next step, and a finished row
leaves at once."""

from __future__ import annotations

import queue
import threading
from typing import Protocol

import torch

from memo_graph.engine.batch import Batch
from memo_graph.engine.generation import GenerationRequest, SamplingParams, settle

# Queued by ``Scheduler.stop`` to wake a worker waiting for requests.
_STOP = GenerationRequest(prompt_ids=[], params=SamplingParams())

# A worker with nothing to decode for this long ends; the next request starts another. A live
# thread that has run torch's parallel loops keeps an OpenMP thread pool, and with more pooled
# threads than cores OpenMP workers sleep instead of spinning between loops: training in the
# same process after the engine answered ran at 0.8x its speed (2 cores, SmolLM2-135M).
IDLE_EXIT_S = 2.0


class Decoder(Protocol):
    """What the scheduler drives: the engine's batch size, settings and decoding steps."""

    max_batch_size: int
    gather_window_s: float
    continuous_batching: bool
    rows_can_join: bool

    def prefill(self, requests: list[GenerationRequest]) -> list[Batch]:
        """Read the prompts and choose each first token, as one or more new batches."""
        ...

    def step(self, batch: Batch) -> None:
        """Decode one token for every row of ``batch``; finished rows leave it."""
        ...


class Scheduler:
    """Queues requests from any thread and decodes them on one worker thread."""

    def __init__(self, decoder: Decoder) -> None:
        self._decoder = decoder
        self._queue: queue.Queue[GenerationRequest] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stopping = threading.Event()

    def put(self, request: GenerationRequest) -> None:
        # Under the lock a worker ending for idleness either sees this request or is replaced.
        with self._start_lock:
            self._queue.put(request)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._serve_forever, name="memo-local-engine", daemon=True
                )
                self._worker.start()

    def stop(self, timeout_s: float) -> None:
        """End the worker: requests still decoding are cancelled."""
        self._stopping.set()
        worker = self._worker
        if worker is not None and worker.is_alive():
            self._queue.put(_STOP)
            worker.join(timeout_s)

    def _serve_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                first = self._queue.get(timeout=IDLE_EXIT_S)
            except queue.Empty:
                with self._start_lock:
                    if self._queue.empty():
                        self._worker = None
                        return
                continue
            if first is _STOP:
                return
            # Linger briefly: the requests of one batch() call arrive a few ms apart (each
            # renders its prompt on its own thread) and should start together.
            arrivals = [first, *self._take_arrivals(self._decoder.max_batch_size - 1, True)]
            self._serve_until_idle(arrivals)

    def _take_arrivals(self, limit: int, linger: bool) -> list[GenerationRequest]:
        taken: list[GenerationRequest] = []
        while len(taken) < limit:
            try:
                if linger:
                    taken.append(self._queue.get(timeout=self._decoder.gather_window_s))
                else:
                    taken.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return [r for r in taken if r is not _STOP and not r.future.cancelled()]

    @torch.inference_mode()
    def _serve_until_idle(self, arrivals: list[GenerationRequest]) -> None:
        """Decode until no request is left. Requests that arrive meanwhile join the running
        batch at the next step, whatever adapter each one asks for."""
        decoder = self._decoder
        batch: Batch | None = None
        while True:
            if arrivals:
                try:
                    for joining in decoder.prefill(arrivals):
                        if not joining.rows:  # every row finished at its first token
                            continue
                        if batch is None:
                            batch = joining
                        else:
                            batch.merge(joining)
                except Exception as exc:  # deliver the failure to those callers, keep serving
                    for request in arrivals:
                        settle(request.future, exception=exc)
            if batch is not None and batch.rows:
                try:
                    decoder.step(batch)
                except Exception as exc:
                    for row in batch.rows:
                        settle(row.request.future, exception=exc)
                    batch = None
            if batch is not None and not batch.rows:
                batch = None
            if self._stopping.is_set():
                for row in batch.rows if batch else []:
                    row.request.future.cancel()
                return
            room = decoder.max_batch_size - (len(batch.rows) if batch else 0)
            can_join = batch is None or (decoder.continuous_batching and decoder.rows_can_join)
            arrivals = self._take_arrivals(room, linger=False) if can_join else []
            if batch is None and not arrivals:
                return
