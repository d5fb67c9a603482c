"""A total deadline for every call of a remote model.

A client's ``timeout`` bounds each socket read, so a server that sends its headers and then a
byte a second keeps a call going for as long as it likes. A remote model is therefore handed
out as a copy of itself under a subclass of its own class (``with_structured_output``,
``bind_tools`` and streaming work as before) whose calls end by ``timeout_s`` per attempt plus
the backoff between retries, whatever the transport does. A blocked synchronous call is left
behind in a daemon thread: nothing can unblock its socket read, but nobody waits on it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import queue
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import Field

from memo_graph.models.remote import RemoteModelError

T = TypeVar("T")

# The openai client's backoff between retries: 0.5 s doubling, capped at 8 s, times a jitter
# of at most 1. Other providers' clients wait about as long; the bound is applied to all.
_FIRST_BACKOFF_S = 0.5
_MAX_BACKOFF_S = 8.0


@dataclass(frozen=True)
class RemoteDeadline:
    """How long one call of the remote model ``spec`` may take in all, retries included."""

    spec: str
    timeout_s: float
    retries: int
    grace_s: float = 1.0
    """Beyond the attempts and the backoff: connecting, and the client's own clock, so that
    its per-request timeout reports first where it applies."""

    @property
    def backoff_s(self) -> float:
        return sum(min(_FIRST_BACKOFF_S * 2**i, _MAX_BACKOFF_S) for i in range(self.retries))

    @property
    def seconds(self) -> float:
        return self.timeout_s * (self.retries + 1) + self.backoff_s + self.grace_s

    def passed(self) -> RemoteModelError:
        attempts = self.retries + 1
        return RemoteModelError(
            f"the remote model ({self.spec}) did not finish within {self.seconds:g} s "
            f"({self.timeout_s:g} s per request x {attempts} attempt{'s' * (attempts > 1)}, "
            f"plus {self.backoff_s:g} s between retries and {self.grace_s:g} s of grace): it "
            "answers too slowly or not at all (a rate limit's waits count too). Check that the "
            "server runs and answers, or raise --timeout / --retries."
        )


class _CallsByDeadline(BaseChatModel):
    """Mixed in before a provider's class: its four ways of calling, under ``total_deadline``
    (None: no deadline)."""

    total_deadline: RemoteDeadline | None = Field(default=None, exclude=True)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # super() is the provider's class: this mixin always comes right before it.
        provider_generate = super()._generate  # type: ignore[safe-super]
        call = functools.partial(provider_generate, messages, stop, run_manager, **kwargs)
        if self.total_deadline is None:
            return call()
        return _call_by(self.total_deadline, call)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = super()._agenerate(messages, stop, run_manager, **kwargs)
        deadline = self.total_deadline
        if deadline is None:
            return await call
        return await _awaited_by(_end_of(deadline), deadline, call)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        open_stream = functools.partial(super()._stream, messages, stop, run_manager, **kwargs)
        if self.total_deadline is None:
            return open_stream()
        return _stream_by(self.total_deadline, open_stream)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        stream = super()._astream(messages, stop, run_manager, **kwargs)
        deadline = self.total_deadline
        try:
            if deadline is None:
                async for chunk in stream:
                    yield chunk
                return
            end = _end_of(deadline)
            while True:
                # Only the wait for the next chunk is timed: the caller's own work between two
                # chunks is never cancelled, though it counts towards the fixed end.
                try:
                    chunk = await _awaited_by(end, deadline, anext(stream))
                except StopAsyncIteration:
                    return
                yield chunk
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()


def _end_of(deadline: RemoteDeadline) -> float:
    return asyncio.get_running_loop().time() + deadline.seconds


async def _awaited_by(end: float, deadline: RemoteDeadline, step: Awaitable[T]) -> T:
    """``step``, cancelled at the event loop's time ``end`` with the deadline's error."""
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(step, max(end - loop.time(), 0.0))
    except (asyncio.TimeoutError, TimeoutError):  # one class from Python 3.11 on
        if loop.time() >= end:
            raise deadline.passed() from None
        raise  # the call's own timeout, before ours


def _call_by(deadline: RemoteDeadline, call: Callable[[], T]) -> T:
    """``call()`` in a thread of its own, waited for until the deadline: a stream of its one
    result."""
    (value,) = _stream_by(deadline, lambda: iter((call(),)))
    return value


_END = object()


def _stream_by(deadline: RemoteDeadline, open_stream: Callable[[], Iterator[T]]) -> Iterator[T]:
    end = time.monotonic() + deadline.seconds
    chunks: queue.Queue[tuple[bool, Any]] = queue.Queue()
    abandoned = threading.Event()  # the caller stopped reading: stop at the next chunk

    def produce() -> None:
        stream: Iterator[T] | None = None
        try:
            stream = open_stream()
            for chunk in stream:
                if abandoned.is_set():
                    break
                chunks.put((True, chunk))
            chunks.put((True, _END))
        except BaseException as error:  # handed over to the caller, who raises it
            chunks.put((False, error))
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    context = contextvars.copy_context()
    threading.Thread(
        target=context.run, args=(produce,), name="remote-model-stream", daemon=True
    ).start()
    try:
        while True:
            try:
                succeeded, item = chunks.get(timeout=max(end - time.monotonic(), 0.0))
            except queue.Empty:
                raise deadline.passed() from None
            if not succeeded:
                raise item
            if item is _END:
                return
            yield item
    finally:
        abandoned.set()


@functools.cache
def _class_with_deadline(provider_class: type[BaseChatModel]) -> type[BaseChatModel]:
    namespace: dict[str, Any] = {"__module__": __name__, "__doc__": provider_class.__doc__}
    # LangChain tells whether a model streams by whether its class overrides _stream and
    # _astream: a provider that does not keeps looking as it did.
    for name in ("_stream", "_astream"):
        if getattr(provider_class, name) is getattr(BaseChatModel, name):
            namespace[name] = getattr(BaseChatModel, name)
    return type(provider_class.__name__, (_CallsByDeadline, provider_class), namespace)


def with_deadline(model: BaseChatModel, deadline: RemoteDeadline) -> BaseChatModel:
    """A copy of ``model`` (sharing its clients) whose every call ends by ``deadline.seconds``,
    with a :class:`RemoteModelError` when it would not. Copies made from it (``model_copy``,
    ``bind``, ``with_structured_output``) keep the deadline."""
    timed = model.model_copy()
    object.__setattr__(timed, "__class__", _class_with_deadline(type(model)))
    timed.total_deadline = deadline  # type: ignore[attr-defined]
    return timed
