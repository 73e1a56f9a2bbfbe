"""The answer composer: hits -> :class:`~rag.types.Answer`, the seam where a reader plugs in.

- ``reader`` (the default): answers only from a sentence that offers what was asked, with the short
  answer first, says what is missing otherwise, summarises an article when asked to;
- ``extractive``: the earlier composer, quoting the best-scoring sentences, kept for comparison;
- ``calibration``: answerability (``Answer.confidence``) and the abstention thresholds, per embedder;
- ``short_answer``, ``summary``, ``messages``: the reader's parts.

A composer implements :class:`Composer`; :data:`COMPOSERS` names the ones available
(``RAG_COMPOSER`` chooses).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ..query import Query
from ..store import Store
from ..types import Answer, Hit
from .calibration import Calibrations, calibrations_for
from .extractive import ComposerSettings, ExtractiveComposer
from .reader import ReaderComposer, ReaderSettings


class Composer(Protocol):
    """Turns the hits of a question into an answer (quotes verbatim, or abstains)."""

    name: str

    def compose(self, query: Query, hits: Sequence[Hit], store: Store, vector: np.ndarray) -> Answer: ...

    def threshold(self, cross_language: bool = False) -> float: ...

    def warm_up(self) -> None:
        """Load what the first answer would otherwise wait for (a model)."""


COMPOSERS: dict[str, type[ExtractiveComposer]] = {
    ReaderComposer.name: ReaderComposer,
    ExtractiveComposer.name: ExtractiveComposer,
}
DEFAULT_COMPOSER = ReaderComposer.name

__all__ = [
    "COMPOSERS",
    "DEFAULT_COMPOSER",
    "ReaderComposer",
    "ReaderSettings",
    "Calibrations",
    "Composer",
    "ComposerSettings",
    "ExtractiveComposer",
    "calibrations_for",
]
