"""The :class:`Embedder` interface every backend implements, and what backends share.

An embedder turns texts into L2-normalised float32 vectors of shape ``(n, dim)``. Queries and
passages are encoded separately because asymmetric models (e5) prefix them differently. Its
``model_id`` is recorded in the index manifest, so an index is never searched with vectors of
another model or backend.

>>> from rag.embedders.hashing import HashEmbedder
>>> isinstance(HashEmbedder(dim=64), Embedder)
True
>>> unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
[[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """What every embedder provides. ``model_id`` is recorded in the index manifest."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as contiguous float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def quiet_transformers() -> None:
    """No weight-loading progress bars on the user's terminal: the CLI and UI draw their own."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
        pass


class FolderEmbedder:
    """What the backends share: a model folder found on first use, the id, the dimension and the
    prefixes; a backend implements ``_encode(texts, prefix)``, unit float32 rows."""

    def __init__(
        self,
        folder: str | Path | Callable[[], Path],
        *,
        model_id: str,
        dim: int,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        self._locate = locator(folder)
        self._model_id = model_id
        self._dim = dim
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._lock = threading.Lock()  # guards the first load

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        raise NotImplementedError

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)


def locator(folder: str | Path | Callable[[], Path]) -> Callable[[], Path]:
    """A callable giving the model folder: ``folder`` itself when it is one, so that backends can be
    handed a folder that is only built (or found) on first use."""
    if callable(folder):
        return folder
    path = Path(folder)
    return lambda: path
