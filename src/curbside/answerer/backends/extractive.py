"""The default backend: sentences selected from the passages, offline (see ``compose``)."""

from __future__ import annotations

from curbside.answerer.compose import CompositionRequest, Draft, compose_extractive


class ExtractiveBackend:
    """Selects and orders sentences of the retrieved passages; no model, no network."""

    name = "extractive"

    def compose(self, request: CompositionRequest) -> Draft:
        return compose_extractive(request)
