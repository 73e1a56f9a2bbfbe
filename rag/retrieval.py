"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates fused into ranked :class:`Hit` s.

Two fusions are available: a weighted sum of min-max normalised scores (``"minmax"``, the default)
and reciprocal rank fusion (``"rrf"``: ``sum 1 / (rrf_k + rank)``). A chunk's lexical score adds
``document_weight`` times the BM25 of its whole document, so a passage from an article about the
question's subject outranks an equally matching one from elsewhere. Every hit keeps both retrievers'
ranks and scores, so the fusion can be inspected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .embedding import Embedder
from .store import Store
from .text import LexicalAnalyzer
from .types import Hit

FUSIONS = ("rrf", "minmax", "dense", "bm25")


@dataclass(frozen=True)
class RetrievalSettings:
    # Chosen on PIAF (all 3,835 questions, e5 int8): min-max with 0.5 dense and half the document's
    # BM25 added to the chunk's gives R@1 0.770, R@5 0.912, MRR@10 0.831 (50 candidates), against
    # 0.742 / 0.900 / 0.811 for RRF (k = 60) and 0.742 / 0.898 / 0.808 for min-max with 0.7 dense.
    fusion: str = "minmax"
    rrf_k: int = 60  # for "rrf"
    dense_weight: float = 0.5  # for "minmax": the rest goes to BM25
    # Taken from each retriever before fusion. Min-max maps the last candidate's score to 0, so a
    # deeper list keeps a second-tier match from flooring out: 50 / 100 / 200 / 300 / all 1,620
    # chunks gave PIAF R@5 0.912 / 0.914 / 0.919 / 0.918 / 0.908, MRR@10 0.831 / 0.834 / 0.835 /
    # 0.835 / 0.819; XQuAD (English, not used to choose) R@5 0.998 / – / 0.997 / 0.997.
    candidates: int = 200
    document_weight: float = 0.5  # the BM25 of the chunk's whole document, added to the chunk's


class Retriever:
    """Finds the chunks of a store that best match a query.

    >>> # retriever = Retriever(store, embedder); retriever.search("l'enjeu pour Washington", k=5)
    """

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        analyzer: LexicalAnalyzer | None = None,
        settings: RetrievalSettings | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.analyzer = analyzer or LexicalAnalyzer()
        self.settings = settings or RetrievalSettings()
        if self.settings.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.settings.fusion!r}: use one of {FUSIONS}")

    def search(self, query: str, k: int = 5, query_vector: np.ndarray | None = None) -> list[Hit]:
        """The ``k`` best hits for ``query``, best first (fewer when the store is small)."""
        s = self.settings
        n = max(s.candidates, k)
        dense: list[tuple[str, float]] = []
        lexical: list[tuple[str, float]] = []
        if s.fusion != "bm25":
            if query_vector is None:
                query_vector = self.embedder.embed_queries([query])[0]
            dense = self.store.search_dense(query_vector, n)
        if s.fusion != "dense":
            lexical = self.store.search_lexical(self.analyzer.tokens(query), n, s.document_weight)
        fused = self._fuse(dense, lexical, k)
        kept = {cid for cid, _ in fused}
        dense_at = {cid: (r, v) for r, (cid, v) in enumerate(dense, start=1) if cid in kept}
        lexical_at = {cid: (r, v) for r, (cid, v) in enumerate(lexical, start=1) if cid in kept}
        hits = []
        for rank, (cid, score) in enumerate(fused, start=1):
            chunk = self.store.chunks[cid]
            doc = self.store.documents[chunk.doc_id]
            d = dense_at.get(cid)
            lx = lexical_at.get(cid)
            hits.append(
                Hit(
                    chunk=chunk,
                    title=doc.title,
                    date=doc.date,
                    source=doc.source,
                    rank=rank,
                    score=score,
                    dense_rank=d[0] if d else None,
                    dense_score=d[1] if d else None,
                    lexical_rank=lx[0] if lx else None,
                    lexical_score=lx[1] if lx else None,
                )
            )
        return hits

    def _fuse(
        self, dense: list[tuple[str, float]], lexical: list[tuple[str, float]], k: int
    ) -> list[tuple[str, float]]:
        """The ``k`` best chunks by fused score, best first (ties by chunk id)."""
        s = self.settings
        scores: dict[str, float] = {}
        if s.fusion == "rrf":
            for ranked in (dense, lexical):
                for rank, (cid, _) in enumerate(ranked, start=1):
                    scores[cid] = scores.get(cid, 0.0) + 1.0 / (s.rrf_k + rank)
        else:
            weights = {
                "minmax": (s.dense_weight, 1 - s.dense_weight),
                "dense": (1.0, 0.0),
                "bm25": (0.0, 1.0),
            }
            for ranked, weight in zip((dense, lexical), weights[s.fusion], strict=True):
                if not ranked or weight == 0:
                    continue
                values = np.fromiter((v for _, v in ranked), dtype=np.float64, count=len(ranked))
                lo, hi = float(values.min()), float(values.max())
                norm = weight * ((values - lo) / (hi - lo) if hi > lo else np.ones_like(values))
                for (cid, _), x in zip(ranked, norm.tolist(), strict=True):
                    scores[cid] = scores.get(cid, 0.0) + x
        items = list(scores.items())
        if len(items) > k:
            # Only k of a few hundred candidates are kept: the k-th best score bounds the sort
            # (every tie with it stays in, so ties are still broken by chunk id).
            values = np.fromiter((v for _, v in items), dtype=np.float64, count=len(items))
            kth = float(np.partition(values, len(items) - k)[len(items) - k])
            items = [item for item, v in zip(items, values.tolist(), strict=True) if v >= kth]
        return sorted(items, key=lambda item: (-item[1], item[0]))[:k]
