"""One resolver for every model role: a spec string in, a LangChain chat model out.

Spec syntax:

- ``local``: the embedded SmolLM2-135M-Instruct, run in process;
- ``local:PATH``: a Hugging Face model directory, a ``.gguf`` file or a memory artifact;
- ``hf:ORG/NAME``: a Hugging Face Hub model, from the Hub cache (fetched when online), run in
  process;
- ``openai-compatible:MODEL@BASE_URL`` (alias ``vllm:MODEL@BASE_URL``): any OpenAI-compatible
  server such as ``vllm serve``; the key comes from ``OPENAI_COMPATIBLE_API_KEY`` (default
  ``EMPTY``);
- ``PROVIDER:MODEL``: anything ``langchain.chat_models.init_chat_model`` knows, e.g.
  ``openai:gpt-4.1-mini`` or ``google_genai:gemini-3-flash``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from memo_graph.errors import ModelSpecError

ENDPOINT_PREFIXES = ("openai-compatible", "vllm")
REMOTE_TIMEOUT_S = 60.0
"""Seconds a remote model (an endpoint or a hosted provider) may take to answer one request."""
REMOTE_RETRIES = 2
"""Retries of a remote request that timed out or could not connect, before the error."""
ENDPOINT_KEY_ENV = "OPENAI_COMPATIBLE_API_KEY"

# Environment variables each hosted provider reads its key from, checked up front so that a
# missing key fails at resolution time with the variable's name, not on the first request.
_API_KEY_ENV: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "google_genai": ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "mistralai": ("MISTRAL_API_KEY",),
    "fireworks": ("FIREWORKS_API_KEY",),
    "together": ("TOGETHER_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "xai": ("XAI_API_KEY",),
    "cohere": ("COHERE_API_KEY",),
    "perplexity": ("PPLX_API_KEY",),
}
_INSTALL_HINT = {"google_genai": "pip install 'memo-graph[google]'"}


def _supported_providers() -> set[str]:
    from langchain.chat_models import base

    return set(getattr(base, "_SUPPORTED_PROVIDERS", ())) | set(_API_KEY_ENV)


def _resolve_local(spec: str, path: str | None, kwargs: dict[str, Any]) -> BaseChatModel:
    from memo_graph.models.local_chat import LocalChatModel
    from memo_graph.models.weights import resolve_weights

    if path is not None and not path.strip():
        raise ModelSpecError(
            spec, "the path after 'local:' is empty", "Write local:/path/to/model."
        )
    try:
        resolve_weights(path)  # validates the path (and converts a GGUF) now, not on first use
    except Exception as exc:
        raise ModelSpecError(
            spec, str(exc).rstrip("."), "Fix the path or use plain 'local'."
        ) from exc
    return LocalChatModel(model=path, **kwargs)


def _resolve_endpoint(spec: str, target: str, kwargs: dict[str, Any]) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    model, sep, base_url = target.rpartition("@")
    if not sep or not model or not base_url.startswith(("http://", "https://")):
        raise ModelSpecError(
            spec,
            "an OpenAI-compatible endpoint needs a model name and a base URL",
            "Write openai-compatible:MODEL@http://HOST:PORT/v1, e.g. "
            "openai-compatible:memo@http://127.0.0.1:8000/v1.",
        )
    kwargs.setdefault("api_key", os.environ.get(ENDPOINT_KEY_ENV, "EMPTY"))
    return ChatOpenAI(model=model, base_url=base_url, **kwargs)


def _resolve_provider(
    spec: str, provider: str, model: str, kwargs: dict[str, Any]
) -> BaseChatModel:
    from langchain.chat_models import init_chat_model

    if provider not in _supported_providers():
        raise ModelSpecError(
            spec,
            f"unknown provider {provider!r}",
            "Use local, local:PATH, openai-compatible:MODEL@URL, or a provider that "
            "langchain's init_chat_model knows, e.g. openai:gpt-4.1-mini or "
            "google_genai:gemini-3-flash.",
        )
    key_vars = _API_KEY_ENV.get(provider, ())
    if key_vars and "api_key" not in kwargs and not any(os.environ.get(v) for v in key_vars):
        raise ModelSpecError(
            spec,
            f"no API key for {provider}",
            f"Set {' or '.join(key_vars)} in the environment (or pass api_key=...).",
        )
    try:
        return init_chat_model(model, model_provider=provider, **kwargs)
    except ImportError as exc:
        hint = _INSTALL_HINT.get(provider, f"pip install langchain-{provider.replace('_', '-')}")
        raise ModelSpecError(spec, f"the {provider} integration is not installed", hint) from exc
    except Exception as exc:
        raise ModelSpecError(
            spec, f"{type(exc).__name__}: {exc}", "Check the model name and its settings."
        ) from exc


def resolve_chat_model(
    spec: str,
    *,
    timeout_s: float = REMOTE_TIMEOUT_S,
    retries: int = REMOTE_RETRIES,
    **kwargs: Any,
) -> BaseChatModel:
    """Build the chat model that ``spec`` names; ``kwargs`` (temperature, max_tokens, ...) go to
    its constructor. A remote model (endpoint or provider) waits at most ``timeout_s`` per
    request and retries ``retries`` times (explicit ``timeout`` / ``max_retries`` kwargs win),
    and each call ends by its total deadline (see :mod:`memo_graph.models.deadline`).
    Raises :class:`ModelSpecError` naming the spec and the fix."""
    if not isinstance(spec, str) or not spec.strip():
        raise ModelSpecError(
            str(spec),
            "the spec is empty",
            "Write local, PROVIDER:MODEL or openai-compatible:MODEL@URL.",
        )
    spec = spec.strip()
    if spec == "local":
        return _resolve_local(spec, None, kwargs)
    prefix, sep, rest = spec.partition(":")
    if not sep or not prefix or not rest:
        raise ModelSpecError(
            spec,
            "a spec has the form PROVIDER:MODEL",
            "Write e.g. openai:gpt-4.1-mini, google_genai:gemini-3-flash, local or local:PATH.",
        )
    if prefix == "local":
        return _resolve_local(spec, rest, kwargs)
    if prefix == "hf":  # a Hub model, run in process like local:PATH
        return _resolve_local(spec, spec, kwargs)
    kwargs.setdefault("timeout", timeout_s)
    kwargs.setdefault("max_retries", retries)
    if prefix in ENDPOINT_PREFIXES:
        model = _resolve_endpoint(spec, rest, kwargs)
    else:
        model = _resolve_provider(spec, prefix, rest, kwargs)
    return _with_total_deadline(model, spec, kwargs["timeout"], kwargs["max_retries"])


def _with_total_deadline(
    model: BaseChatModel, spec: str, timeout: Any, retries: Any
) -> BaseChatModel:
    # A client's timeout bounds each socket read; the deadline bounds the whole call. A
    # timeout given as None or as a client's own object (httpx.Timeout) is left to the client.
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        return model
    from memo_graph.models.deadline import RemoteDeadline, with_deadline

    if not isinstance(retries, int) or retries < 0:  # None: the client's default, 2 as ours
        retries = REMOTE_RETRIES
    return with_deadline(model, RemoteDeadline(spec, float(timeout), retries))


def pinned_spec(spec: str) -> str:
    """``local:PATH`` with its links resolved, any other spec as it is: a model kept under the
    pinned spec stays the weights it was loaded from when a link such as a library's
    ``current`` is switched, and the next run under the link loads the new ones."""
    prefix, _, rest = spec.strip().partition(":")
    if prefix != "local" or not rest.strip():
        return spec
    path = Path(rest).expanduser()
    return f"local:{path.resolve()}" if path.exists() else spec


@functools.lru_cache(maxsize=32)
def _shared_model(spec: str, settings: tuple[tuple[str, Any], ...]) -> BaseChatModel:
    return resolve_chat_model(spec, **dict(settings))


def role_model(given: BaseChatModel | None, spec: str, **settings: Any) -> BaseChatModel:
    """The model a role plays with: ``given`` when the caller passed a model object, else the
    one ``spec`` names with ``settings``, built once per process (a local model loads slowly)
    and shared by every graph and run that asks for the same."""
    if given is not None:
        return given
    return _shared_model(pinned_spec(spec), tuple(sorted(settings.items())))
