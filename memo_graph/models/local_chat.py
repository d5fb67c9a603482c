"""``LocalChatModel``: a LangChain chat model over a local transformers model (the embedded
SmolLM2 by default), with batching, streaming and grammar-constrained structured output."""

from __future__ import annotations

import asyncio
import json
import queue
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import ConfigDict, Field, PrivateAttr

from memo_graph.engine.local_engine import (
    GenerationRequest,
    GenerationResult,
    LocalEngine,
    SamplingParams,
    get_engine,
)
from memo_graph.errors import MemoError, PromptTooLongError, StructuredOutputError
from memo_graph.models.weights import resolve_weights

StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]
_ROLE_BY_TYPE = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


def _message_text(message: BaseMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    parts: list[str] = []
    for block in message.content:
        if isinstance(block, str):
            parts.append(block)
        elif block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        else:
            raise MemoError(
                f"LocalChatModel reads text only, not {block.get('type')!r} content blocks; "
                "send text, or use a multimodal provider model for this role."
            )
    return "".join(parts)


def _to_chat_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    rendered = []
    for message in messages:
        if isinstance(message, ChatMessage):
            role = message.role
        elif isinstance(message, (SystemMessage, HumanMessage, AIMessage, ToolMessage)):
            role = _ROLE_BY_TYPE[message.type]
        else:
            role = _ROLE_BY_TYPE.get(message.type, "user")
        rendered.append({"role": role, "content": _message_text(message)})
    return rendered


def _with_schema_instruction(
    chat: list[dict[str, str]], schema: dict[str, Any]
) -> list[dict[str, str]]:
    instruction = (
        "Reply with one JSON object that matches this JSON schema, and nothing else:\n"
        + json.dumps(schema)
    )
    if chat and chat[0]["role"] == "system":
        return [{"role": "system", "content": f"{chat[0]['content']}\n\n{instruction}"}, *chat[1:]]
    return [{"role": "system", "content": instruction}, *chat]


def _usage(result: GenerationResult) -> UsageMetadata:
    return UsageMetadata(
        input_tokens=result.prompt_tokens,
        output_tokens=result.completion_tokens,
        total_tokens=result.prompt_tokens + result.completion_tokens,
    )


class LocalChatModel(BaseChatModel):
    """A chat model over local weights, run in process (CPU, or CUDA when present).

    Every instance that loads the same base weights shares one copy of them and one batching
    queue, so concurrent ``ainvoke``/``abatch`` calls (and calls from several threads) are
    decoded together. ``adapter`` names a LoRA adapter directory served on top of that base.

    Example:
        .. code-block:: python

            from memo_graph import LocalChatModel

            llm = LocalChatModel(max_tokens=64)  # the embedded SmolLM2-135M-Instruct
            llm.invoke("Name a colour.")
    """

    model: str | None = None
    """A .gguf file, a Hugging Face model directory or a memory artifact; None = embedded."""
    adapter: str | None = None
    """A LoRA adapter directory applied on top of ``model``."""
    temperature: float = 0.0
    """0 decodes greedily."""
    top_p: float = 1.0
    frequency_penalty: float = 0.0
    """Lowers a token's logit by this much per earlier use in the reply (as OpenAI's)."""
    presence_penalty: float = 0.0
    """Lowers a token's logit by this much once it has appeared in the reply (as OpenAI's)."""
    max_tokens: int = 512
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    device: str | None = None
    """"cpu", "cuda", ...; None picks CUDA when available."""
    dtype: str | None = None
    """"float32", "bfloat16" or "auto" (bf16 on a GPU or an AMX CPU); None: $MEMO_LOCAL_DTYPE,
    else auto. Only float32 makes every reply exactly the one its request gets decoded alone."""
    streaming: bool = False
    schema_in_prompt: bool = True
    """With structured output, also tell the model the JSON schema in a system message: the
    grammar guarantees the form, the instruction helps a small model fill it sensibly."""
    timeout: float | None = None
    """Seconds to wait for a reply (queueing included); None waits as long as it takes."""

    model_config = ConfigDict(populate_by_name=True, protected_namespaces=())

    _engine: LocalEngine | None = PrivateAttr(default=None)
    _adapter_dir: Path | None = PrivateAttr(default=None)
    _display_name: str = PrivateAttr(default="")

    @property
    def _llm_type(self) -> str:
        return "memo-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model or "local",
            "adapter": self.adapter,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "memo-local"
        params["ls_model_name"] = kwargs.get("model") or self.model or "local"
        params["ls_temperature"] = kwargs.get("temperature", self.temperature)
        params["ls_max_tokens"] = kwargs.get("max_tokens", self.max_tokens)
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    # ------------------------------------------------------------------ loading
    @property
    def engine(self) -> LocalEngine:
        """The shared engine, loaded on first use."""
        if self._engine is None:
            weights = resolve_weights(self.model)
            adapter = Path(self.adapter).expanduser().resolve() if self.adapter else None
            if adapter is not None and not (adapter / "adapter_config.json").is_file():
                raise MemoError(
                    f"no LoRA adapter at {adapter} (adapter_config.json is missing); pass the "
                    "directory a training run wrote."
                )
            self._adapter_dir = adapter or weights.adapter_dir
            self._display_name = weights.display_name
            self._engine = get_engine(weights, self.device, self.dtype)
        return self._engine

    # ------------------------------------------------------------------ requests
    def _request(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        on_text: Any = None,
    ) -> GenerationRequest:
        engine = self.engine
        response_format = kwargs.get("response_format")
        schema = _schema_of(response_format) if response_format is not None else None
        chat = _to_chat_dicts(messages)
        if schema is not None and self.schema_in_prompt:
            chat = _with_schema_instruction(chat, schema)
        prompt_ids = engine.render_chat(chat)
        max_tokens = int(kwargs.get("max_tokens", self.max_tokens))
        if max_tokens < 1:
            raise MemoError(f"max_tokens must be at least 1, got {max_tokens}.")
        limit = getattr(engine.model.config, "max_position_embeddings", None)
        if limit and len(prompt_ids) + max_tokens > limit:
            raise PromptTooLongError(
                f"the prompt has {len(prompt_ids)} tokens and max_tokens is {max_tokens}, more "
                f"than the model's context of {limit}; shorten the messages or max_tokens."
            )
        grammar = engine.grammars.compile(schema) if response_format is not None else None
        params = SamplingParams(
            temperature=float(kwargs.get("temperature", self.temperature)),
            top_p=float(kwargs.get("top_p", self.top_p)),
            max_new_tokens=max_tokens,
            stop=tuple(stop or self.stop or ()),
            frequency_penalty=float(kwargs.get("frequency_penalty", self.frequency_penalty)),
            presence_penalty=float(kwargs.get("presence_penalty", self.presence_penalty)),
        )
        return GenerationRequest(
            prompt_ids, params, grammar=grammar, adapter=self._adapter_dir, on_text=on_text
        )

    def _timed_out(self) -> MemoError:
        return MemoError(
            f"no reply within timeout={self.timeout}s; raise the timeout or send fewer "
            "concurrent requests."
        )

    def _result(self, result: GenerationResult) -> ChatResult:
        message = AIMessage(
            content=result.text,
            usage_metadata=_usage(result),
            response_metadata={
                "finish_reason": result.finish_reason,
                "model_name": self._display_name,
                "model_provider": "memo-local",
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            chunks = list(self._stream(messages, stop, run_manager, **kwargs))
            return self._result_from_chunks(chunks)
        request = self._request(messages, stop, kwargs)
        future = self.engine.submit(request)
        try:
            return self._result(future.result(timeout=self.timeout))
        except FutureTimeout as exc:
            future.cancel()
            raise self._timed_out() from exc

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            chunks = [chunk async for chunk in self._astream(messages, stop, run_manager, **kwargs)]
            return self._result_from_chunks(chunks)
        # Loading the engine (first call only) and rendering the prompt block: do it off the loop.
        request = await asyncio.to_thread(self._request, messages, stop, kwargs)
        future = self.engine.submit(request)
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except asyncio.TimeoutError as exc:
            future.cancel()
            raise self._timed_out() from exc
        return self._result(result)

    @staticmethod
    def _result_from_chunks(chunks: list[ChatGenerationChunk]) -> ChatResult:
        merged = chunks[0]
        for chunk in chunks[1:]:
            merged += chunk
        message = merged.message
        return ChatResult(
            generations=[
                ChatGeneration(
                    message=AIMessage(
                        content=message.content,
                        usage_metadata=getattr(message, "usage_metadata", None),
                        response_metadata=message.response_metadata,
                    )
                )
            ]
        )

    def _final_chunk(self, result: GenerationResult) -> ChatGenerationChunk:
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=_usage(result),
                response_metadata={
                    "finish_reason": result.finish_reason,
                    "model_name": self._display_name,
                    "model_provider": "memo-local",
                },
                chunk_position="last",
            )
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        pieces: queue.Queue[str] = queue.Queue()
        request = self._request(messages, stop, kwargs, on_text=pieces.put)
        future = self.engine.submit(request)
        finished = False
        while not finished:
            finished = future.done()  # read before draining, so no late piece is lost
            while True:
                try:
                    text = pieces.get(timeout=0.05 if not finished else 0)
                except queue.Empty:
                    break
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                if run_manager:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        yield self._final_chunk(future.result())

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | None] = asyncio.Queue()

        def on_text(text: str) -> None:
            loop.call_soon_threadsafe(pieces.put_nowait, text)

        request = await asyncio.to_thread(self._request, messages, stop, kwargs, on_text)
        future = self.engine.submit(request)
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(pieces.put_nowait, None))
        while (text := await pieces.get()) is not None:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager:
                await run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk
        yield self._final_chunk(await asyncio.wrap_future(future))

    # ------------------------------------------------------------------ structured output
    def with_structured_output(  # type: ignore[override]
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: StructuredMethod = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Return a runnable whose replies always parse: decoding is constrained by the JSON
        schema's grammar, whichever ``method`` is named; "json_mode" without a schema decodes
        to any JSON object."""
        if kwargs:
            raise ValueError(f"unsupported arguments: {sorted(kwargs)}")
        if method not in ("json_schema", "function_calling", "json_mode"):
            raise ValueError(
                f"method must be 'json_schema', 'function_calling' or 'json_mode', not {method!r}"
            )
        if schema is None and method != "json_mode":
            raise ValueError("schema is required unless method='json_mode'")
        # json_mode with a schema still decodes to that schema: the parsed reply must fit it.
        json_schema = None if schema is None else _json_schema(schema)
        # Fail now, not on the first call, if the grammar compiler rejects the schema.
        self.engine.grammars.compile(json_schema)
        response_format = (
            {"type": "json_object"}
            if json_schema is None
            else {"type": "json_schema", "json_schema": {"schema": json_schema}}
        )
        bound = self.bind(
            response_format=response_format,
            ls_structured_output_format={
                "kwargs": {"method": method, "strict": strict},
                "schema": json_schema,
            },
        )
        parser: Runnable[Any, Any]
        if isinstance(schema, type) and is_basemodel_subclass(schema):
            parser = PydanticOutputParser(pydantic_object=schema)
        else:
            parser = JsonOutputParser()
        if not include_raw:
            return bound | parser
        parse_raw = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        ).with_fallbacks(
            [RunnablePassthrough.assign(parsed=lambda _: None)], exception_key="parsing_error"
        )
        return RunnableMap(raw=bound) | parse_raw


def _json_schema(schema: dict[str, Any] | type) -> dict[str, Any]:
    """A JSON schema from a Pydantic model, a TypedDict, an OpenAI tool or response format, or
    a JSON schema given as is."""
    if isinstance(schema, dict) and schema.get("type") == "json_schema":
        return dict(schema["json_schema"]["schema"])
    try:
        return convert_to_json_schema(schema)
    except (ValueError, TypeError) as exc:
        if isinstance(schema, dict):
            return schema
        raise StructuredOutputError(
            f"cannot read a JSON schema from {schema!r}: {exc}. Pass a Pydantic model, a "
            "TypedDict or a JSON schema dict."
        ) from exc


def _schema_of(response_format: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema in an OpenAI-style ``response_format``; None means any JSON object."""
    kind = response_format.get("type")
    if kind == "json_object":
        return response_format.get("schema")
    if kind == "json_schema":
        return dict(response_format["json_schema"]["schema"])
    raise MemoError(
        f"response_format type {kind!r} is not supported; use 'json_schema' or 'json_object'."
    )
