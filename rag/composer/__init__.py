"""The answer composer: hits -> :class:`~rag.types.Answer`, the seam where a reader plugs in.

- ``extractive``: the current composer, quoting the best-scoring sentences verbatim;
- ``calibration``: answerability (``Answer.confidence``) and the abstention thresholds, per embedder.

A composer implements :class:`Composer`; :data:`COMPOSERS` names the ones available.
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


class Composer(Protocol):
    """Turns the hits of a question into an answer (quotes verbatim, or abstains)."""

    name: str

    def compose(self, query: Query, hits: Sequence[Hit], store: Store, vector: np.ndarray) -> Answer: ...

    def threshold(self, cross_language: bool = False) -> float: ...


COMPOSERS: dict[str, type[ExtractiveComposer]] = {ExtractiveComposer.name: ExtractiveComposer}

__all__ = [
    "COMPOSERS",
    "Calibrations",
    "Composer",
    "ComposerSettings",
    "ExtractiveComposer",
    "calibrations_for",
]
