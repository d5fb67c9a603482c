"""Run one chat model at several temperatures (the protocol sets one per stage)."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel


def with_temperature(model: BaseChatModel, temperature: float | None) -> BaseChatModel:
    """A copy of ``model`` sampling at ``temperature``; the model itself when it has no
    temperature setting (a scripted model) or ``temperature`` is None. Copies share clients and
    loaded weights."""
    if temperature is None or "temperature" not in type(model).model_fields:
        return model
    if getattr(model, "temperature", None) == temperature:
        return model
    return model.model_copy(update={"temperature": temperature})
