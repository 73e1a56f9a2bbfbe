"""The dense index: FAISS sentence vectors, searched exactly (flat) or, for large stores, with an
inverted file (IVF), and the map from FAISS hits to chunks.

Vectors are unit length, so inner product is cosine. FAISS ids derive from sentence ids (hex
digests), so a document's vectors can be removed by id. The only module that knows FAISS.

>>> import numpy as np
>>> dense = DenseIndex(dim=2)
>>> dense.add(["a" * 24, "b" * 24], np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
>>> dense.search(np.array([0.9, 0.1]), 1, {"a" * 24: ["chunk-a"], "b" * 24: ["chunk-b"]})
[('chunk-a', 0.8999999761581421)]
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError
from .disk import REBUILD_HINT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DenseSettings:
    """How the vector index is laid out and searched (provenance: docs/tuning.md#dense-index)."""

    ivf_lists_per_sqrt: float = 4.0  # an inverted file has about 4·√n lists
    ivf_min_points_per_list: int = 39  # FAISS warns (and k-means degrades) below 39 points a list
    ivf_probed: float = 0.25  # share of the lists searched per question
    ivf_reuse_growth: float = 2.0  # trained lists are kept until the store holds this many times more
    depth_factor: int = 2  # sentences searched per chunk asked for (several sentences map to a chunk)
    depth_extra: int = 8


def faiss_id(sentence_id: str) -> int:
    """Sentence ids are hex digests: 60 bits of them make a positive int64 id FAISS can remove by."""
    return int(sentence_id[:15], 16)


class DenseIndex:
    """Sentence vectors by sentence id, searchable for the chunks of the nearest sentences."""

    def __init__(self, dim: int, settings: DenseSettings | None = None) -> None:
        import faiss

        self.dim = dim
        self.settings = settings or DenseSettings()
        self.index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.by_fid: dict[int, str] = {}
        self.trained_on = 0  # vectors the IVF's lists were trained on (0: flat, exact search)
        self._map: _DenseMap | None = None  # FAISS id -> chunks, built when first searched
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        """``"flat"`` (exact search) or ``"ivf"`` (inverted file, approximate)."""
        return "ivf" if self.trained_on else "flat"

    @property
    def lists(self) -> int:
        return int(self.index.nlist) if self.trained_on else 0

    # ----- changes -------------------------------------------------------------------------------
    def check_new(self, sentence_ids: Sequence[str], doc_id: str) -> np.ndarray:
        """The FAISS ids of new sentences, or a ValueError if one is taken (or repeated)."""
        ids = np.array([faiss_id(s) for s in sentence_ids], dtype=np.int64)
        clash = [self.by_fid[i] for i in ids.tolist() if i in self.by_fid]
        if clash or len(set(ids.tolist())) != len(ids):
            raise ValueError(f"sentence id collision in document {doc_id!r}: {clash}")
        return ids

    def add(self, sentence_ids: Sequence[str], vectors: np.ndarray, ids: np.ndarray | None = None) -> None:
        """Add one row of ``vectors`` per sentence (``ids``: from :meth:`check_new`, if called)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(sentence_ids), self.dim)
        if ids is None:
            ids = self.check_new(sentence_ids, "?")
        for sid, fid in zip(sentence_ids, ids.tolist(), strict=True):
            self.by_fid[fid] = sid
        if len(sentence_ids):
            self.index.add_with_ids(vectors, ids)
        self._map = None

    def remove(self, sentence_ids: Sequence[str]) -> None:
        fids = np.array([faiss_id(s) for s in sentence_ids], dtype=np.int64)
        if len(fids):
            self.index.remove_ids(fids)
        for fid in fids.tolist():
            self.by_fid.pop(fid, None)
        self._map = None

    def vector(self, sentence_id: str) -> np.ndarray:
        vector: np.ndarray = self.index.reconstruct(faiss_id(sentence_id))
        return vector

    def vectors_of(self, sentence_ids: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored vectors of the given sentences."""
        return {sid: self.vector(sid) for sid in sentence_ids}

    def matrix(self, sentence_ids: Sequence[str]) -> np.ndarray:
        """The vectors of these sentences as a ``(n, dim)`` array, in order."""
        if not sentence_ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.vector(sid) for sid in sentence_ids])

    def copy(self) -> DenseIndex:
        import faiss

        other = DenseIndex(self.dim, self.settings)
        other.index = faiss.clone_index(self.index)
        other.by_fid = dict(self.by_fid)
        other.trained_on = self.trained_on
        return other

    # ----- layout --------------------------------------------------------------------------------
    def tune(self, ivf_min: int, like: DenseIndex | None = None) -> str:
        """Choose the vector index for the number of vectors; returns :attr:`kind`.

        Under ``ivf_min`` vectors search is exact. From ``ivf_min`` on the vectors go into an inverted
        file of about 4·√n lists, a quarter of them searched per question. Its lists are trained once
        (k-means, minutes at 500k vectors) and kept while the store is at most twice the size they
        were trained on: pass the previous index as ``like`` so that an update only removes and adds
        the vectors that changed. ``ivf_min <= 0`` keeps search exact at any size.
        """
        import faiss

        s = self.settings
        n = len(self)
        if ivf_min <= 0 or n < ivf_min:
            if self.trained_on:
                ids, vectors = self.all_vectors()
                self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
                self.index.add_with_ids(vectors, ids)
                self.trained_on = 0
            return self.kind
        if self.trained_on and n <= s.ivf_reuse_growth * self.trained_on:
            return self.kind
        reusable = like is not None and like.dim == self.dim and n <= s.ivf_reuse_growth * like.trained_on
        if reusable:
            assert like is not None
            # Start from the previous inverted file: drop what left, add what is new. Re-adding every
            # vector would assign each to its list again (seconds at 500k vectors, for one article).
            ivf: Any = faiss.clone_index(like.index)
            gone = np.array([f for f in like.by_fid if f not in self.by_fid], dtype=np.int64)
            if len(gone):
                ivf.remove_ids(gone)
            new = [f for f in self.by_fid if f not in like.by_fid]
            if new:
                ivf.add_with_ids(np.stack([self.index.reconstruct(f) for f in new]), np.array(new))
            self.index, self.trained_on = ivf, like.trained_on
            self._map = None
            return self.kind
        ids, vectors = self.all_vectors()
        lists = max(1, min(round(s.ivf_lists_per_sqrt * n**0.5), n // s.ivf_min_points_per_list))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, lists, faiss.METRIC_INNER_PRODUCT)
        log.info("training an inverted file of %d lists on %d vectors", lists, n)
        ivf.train(vectors)
        # A hash map from sentence id to list entry, to reconstruct and remove vectors by id.
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        ivf.nprobe = math.ceil(lists * s.ivf_probed)
        ivf.add_with_ids(vectors, ids)
        self.index, self.trained_on = ivf, n
        self._map = None
        return self.kind

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every stored vector with its FAISS id."""
        fids = np.array(list(self.by_fid), dtype=np.int64)
        if not len(fids):
            return fids, np.zeros((0, self.dim), dtype=np.float32)
        return fids, np.stack([self.index.reconstruct(int(f)) for f in fids.tolist()])

    # ----- search --------------------------------------------------------------------------------
    def search(
        self,
        query: np.ndarray,
        n: int,
        sentence_chunks: Mapping[str, list[str]],
        only: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]:
        """The (at most ``n``) chunks whose best sentence is nearest to a unit query vector, as
        (chunk id, cosine of that sentence), best first, among the chunks of the ``2n + 8`` nearest
        sentences. ``sentence_chunks`` maps each sentence to the chunks it overlaps. ``only``: the
        sentences to search among (FAISS skips the others while it searches), else all."""
        if not self.by_fid or n <= 0 or (only is not None and not only):
            return []
        s = self.settings
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        # Several sentences map to one chunk (and one sentence to two or more): look deeper. Twice
        # n sentences gave the same PIAF figures as four times n, for half the search and mapping.
        depth = min(s.depth_factor * n + s.depth_extra, len(self.by_fid) if only is None else len(only))
        if only is None:
            scores, ids = self.index.search(q, depth)
        else:
            scores, ids = self.index.search(q, depth, params=self._selecting(only))
        found = ids[0] >= 0
        dense_map = self._dense_map(sentence_chunks)
        # Hundreds of hits per question: mapped with arrays, as a Python loop over them cost 1 ms.
        rows = np.searchsorted(dense_map.fids, ids[0][found])
        chunks = dense_map.chunks[rows].ravel()
        chunk_scores = np.repeat(scores[0][found], dense_map.chunks.shape[1])
        linked = chunks >= 0
        chunks, chunk_scores = chunks[linked], chunk_scores[linked]
        # Hits come best first, so a chunk's first occurrence is its best sentence.
        unique, first = np.unique(chunks, return_index=True)
        order = np.argsort(first, kind="stable")[:n]
        names = dense_map.names
        best = chunk_scores[first[order]].tolist()
        return [(names[i], score) for i, score in zip(unique[order].tolist(), best, strict=True)]

    def _selecting(self, sentence_ids: Sequence[str]) -> Any:
        """FAISS search parameters that keep only these sentences (the IVF's nprobe kept)."""
        import faiss

        selector = faiss.IDSelectorBatch(np.fromiter((faiss_id(x) for x in sentence_ids), dtype=np.int64))
        params: Any = faiss.SearchParametersIVF() if self.kind == "ivf" else faiss.SearchParameters()
        params.sel = selector
        if self.kind == "ivf":
            params.nprobe = int(self.index.nprobe)
        params.selector_keepalive = selector  # (the parameters do not own the selector)
        return params

    def _dense_map(self, sentence_chunks: Mapping[str, list[str]]) -> _DenseMap:
        with self._lock:
            if self._map is None:
                self._map = _DenseMap.of(self.by_fid, sentence_chunks)
            return self._map

    # ----- disk ----------------------------------------------------------------------------------
    def write(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def read(cls, path: Path, dim: int, sentence_ids: Iterable[str], trained_on: int) -> DenseIndex:
        """The index saved at ``path``, checked against the ``sentence_ids`` it must hold."""
        import faiss

        dense = cls(dim)
        try:
            dense.index = faiss.read_index(str(path))
        except Exception as exc:  # faiss raises RuntimeError with C++ text for any bad file
            raise IndexCorruptError(f"cannot read {path} ({exc}): {REBUILD_HINT}") from exc
        dense.by_fid = {faiss_id(sid): sid for sid in sentence_ids}
        if dense.index.ntotal != len(dense.by_fid) or dense.index.d != dim:
            raise IndexCorruptError(
                f"{path} holds {dense.index.ntotal} vectors of dim {dense.index.d} for "
                f"{len(dense.by_fid)} sentences of dim {dim}: {REBUILD_HINT}"
            )
        dense.trained_on = trained_on
        return dense


@dataclass(frozen=True)
class _DenseMap:
    """For the FAISS ids in ascending order (``fids``), the chunks each sentence belongs to, as rows
    of indices into ``names`` padded with -1."""

    fids: np.ndarray
    chunks: np.ndarray
    names: list[str]

    @classmethod
    def of(cls, by_fid: dict[int, str], sentence_chunks: Mapping[str, list[str]]) -> _DenseMap:
        fids = np.array(sorted(by_fid), dtype=np.int64)
        width = max((len(sentence_chunks[by_fid[f]]) for f in fids.tolist()), default=1) or 1
        names: list[str] = []
        at: dict[str, int] = {}
        chunks = np.full((len(fids), width), -1, dtype=np.int64)
        for row, fid in enumerate(fids.tolist()):
            for col, cid in enumerate(sentence_chunks[by_fid[fid]]):
                if cid not in at:
                    at[cid] = len(names)
                    names.append(cid)
                chunks[row, col] = at[cid]
        return cls(fids, chunks, names)
