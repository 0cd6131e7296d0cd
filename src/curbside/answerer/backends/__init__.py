"""Answer backends: who writes the answer from the retrieved passages.

- ``extractive`` (default, offline, no GPU): selects and orders sentences of the passages
  (:mod:`curbside.answerer.compose`).
- ``openai_compatible``: an OpenAI-style ``/chat/completions`` server (vLLM, Ollama, llama.cpp
  server...) writes the answer from the same passages; its reply is validated (every ``[n]`` must
  name a passage it was given) and falls back to the extractive answer when it is not usable.
- ``recorded``: replays queued replies through the same validation (tests; no network).

Whatever the backend, the service runs :func:`curbside.answerer.safety.post_check` on the draft.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from curbside.answerer.compose import CompositionRequest, Draft

if TYPE_CHECKING:
    from curbside.settings import Settings


class Backend(Protocol):
    """Writes a :class:`Draft` for a :class:`CompositionRequest`."""

    @property
    def name(self) -> str: ...

    def compose(self, request: CompositionRequest) -> Draft: ...


class BackendError(RuntimeError):
    """A backend could not produce a reply (server down, bad response, nothing recorded)."""


class BackendConfigError(ValueError):
    """The settings name a backend that cannot be built as configured."""


BACKENDS = ("extractive", "openai_compatible")


def make_backend(settings: Settings) -> Backend:
    """The backend the settings ask for (``answer_backend``, ``llm_*``)."""
    from curbside.answerer.backends.extractive import ExtractiveBackend

    if settings.answer_backend == "extractive":
        return ExtractiveBackend()
    if settings.answer_backend == "openai_compatible":
        from curbside.answerer.backends.openai_compatible import OpenAICompatibleBackend

        if not settings.llm_base_url or not settings.llm_model:
            raise BackendConfigError(
                "answer_backend is openai_compatible but llm_base_url or llm_model is not set "
                "(CURBSIDE_LLM_BASE_URL, CURBSIDE_LLM_MODEL)")
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return OpenAICompatibleBackend(settings.llm_base_url, settings.llm_model, api_key=key,
                                       timeout=settings.llm_timeout)
    raise BackendConfigError(f"unknown answer backend {settings.answer_backend!r}; "
                             f"choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "BackendConfigError", "BackendError", "make_backend"]
