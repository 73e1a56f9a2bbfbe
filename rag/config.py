"""Settings: an explicit argument wins, then an environment variable, then the default.

>>> Settings.resolve(k=3).k
3

Environment variables: ``RAG_CORPUS``, ``RAG_INDEX``, ``RAG_MODEL``, ``RAG_CACHE``,
``RAG_CHUNK_SIZE``, ``RAG_CHUNK_OVERLAP``, ``RAG_K``, ``RAG_IVF_MIN``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import SettingsError
from .store import IVF_MIN_VECTORS

DEFAULT_MODEL = "multilingual-e5-small"
MAX_QUESTION_CHARS = 2000

_ENV = {
    "corpus_dir": "RAG_CORPUS",
    "index_dir": "RAG_INDEX",
    "model": "RAG_MODEL",
    "cache_dir": "RAG_CACHE",
    "chunk_size": "RAG_CHUNK_SIZE",
    "chunk_overlap": "RAG_CHUNK_OVERLAP",
    "k": "RAG_K",
    "ivf_min": "RAG_IVF_MIN",
}


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag"


@dataclass(frozen=True)
class Settings:
    """Everything a user may tune. Chunker settings are recorded in the index manifest."""

    corpus_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    model: str = DEFAULT_MODEL
    cache_dir: Path = _default_cache()
    chunk_size: int = 500
    chunk_overlap: int = 100
    k: int = 5
    ivf_min: int = IVF_MIN_VECTORS  # sentence vectors from which dense search is approximate; 0: never

    @classmethod
    def resolve(cls, **overrides: Any) -> Settings:
        """Build settings from explicit values (``None`` means "not given"), the environment, defaults."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            given = overrides.get(f.name)
            if given is not None:
                values[f.name] = given
            elif os.environ.get(_ENV[f.name]):
                values[f.name] = os.environ[_ENV[f.name]]
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        settings = replace(cls(), **values)
        return settings._coerced()

    def _coerced(self) -> Settings:
        return replace(
            self,
            corpus_dir=Path(self.corpus_dir),
            index_dir=Path(self.index_dir),
            cache_dir=Path(self.cache_dir),
            chunk_size=_integer("chunk_size", self.chunk_size),
            chunk_overlap=_integer("chunk_overlap", self.chunk_overlap),
            k=_integer("k", self.k),
            ivf_min=_integer("ivf_min", self.ivf_min),
        )


def _integer(name: str, value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SettingsError(
            f"setting {name} = {value!r} is not a whole number: fix the flag or the environment "
            f"variable {_ENV[name]} (unset it for the default, {getattr(Settings(), name)})"
        ) from None
