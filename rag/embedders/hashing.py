"""A model-free embedder for tests and quick runs: hashed character trigrams and words.

>>> emb = HashEmbedder(dim=64)
>>> emb.embed_passages(["Le sommet de Washington"]).shape
(1, 64)
>>> emb.model_id
'hash-64'
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np

from ..text import fold, normalize
from .base import unit_rows


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
        return unit_rows(out)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)
