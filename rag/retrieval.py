"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates fused into ranked :class:`Hit` s.

Two fusions are available: a weighted sum of min-max normalised scores (``"minmax"``, the default)
and reciprocal rank fusion (``"rrf"``: ``sum 1 / (rrf_k + rank)``); ``"dense"`` and ``"bm25"`` use one
retriever alone. A chunk's lexical score adds ``document_weight`` times the BM25 of its whole
document, so a passage from an article about the question's subject outranks an equally matching
one from elsewhere. Every hit keeps both retrievers' ranks and scores, so the fusion can be
inspected. The settings' values and how they were chosen: ``docs/tuning.md#retrieval``.

>>> fuse([("a", 0.9), ("b", 0.5)], [("b", 3.0), ("c", 1.0)], 2, RetrievalSettings())
[('a', 0.5), ('b', 0.5)]
>>> fuse([("a", 0.9), ("b", 0.5)], [("b", 3.0), ("c", 1.0)], 3, RetrievalSettings(fusion="rrf"))
[('b', 0.03252247488101534), ('a', 0.01639344262295082), ('c', 0.016129032258064516)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import SettingsError
from .query import Query
from .store import Store
from .types import Hit

FUSIONS = ("rrf", "minmax", "dense", "bm25")
Ranked = Sequence[tuple[str, float]]  # (chunk id, score), best first


@dataclass(frozen=True)
class RetrievalSettings:
    """How the two retrievers are combined (values fitted on PIAF: docs/tuning.md#retrieval)."""

    fusion: str = "minmax"
    rrf_k: int = 60  # for "rrf"
    dense_weight: float = 0.5  # for "minmax": the rest goes to BM25
    candidates: int = 200  # taken from each retriever before fusion
    document_weight: float = 0.5  # the BM25 of the chunk's whole document, added to the chunk's
    copy_spread: int = 4  # with copy groups: k x this fused, so k remain once copies are dropped
    latest_on_subject: float = 0.75  # "the latest on …": hits within this share of the best, newest first

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise SettingsError(f"unknown fusion {self.fusion!r}: use one of {', '.join(FUSIONS)}")


def fuse(dense: Ranked, lexical: Ranked, k: int, settings: RetrievalSettings) -> list[tuple[str, float]]:
    """The ``k`` best chunks by fused score, best first (ties by chunk id)."""
    s = settings
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


def recent_first(store: Store, fused: list[tuple[str, float]], on_subject: float) -> list[tuple[str, float]]:
    """``fused`` with the chunks scoring within ``on_subject`` of the best (those on the subject)
    ordered newest article first (undated last), then the rest as they were."""
    if not fused:
        return fused
    bar = on_subject * fused[0][1]
    near = [f for f in fused if f[1] >= bar]
    near.sort(key=lambda f: store.documents[store.chunks[f[0]].doc_id].date, reverse=True)
    return near + [f for f in fused if f[1] < bar]


def one_per_story(
    store: Store, fused: list[tuple[str, float]], k: int, latest: bool = False
) -> list[tuple[str, float]]:
    """The first ``k`` of ``fused`` (chunk id, score), keeping the chunks of one article per group
    of copies: the group's preferred one (:meth:`rag.store.copies.CopyIndex.preferred`) when it is
    among the candidates, else the best-ranked current version, else the best-ranked member."""
    copies = store.copies
    if not copies.group:
        return fused[:k]
    present: dict[int, list[str]] = {}  # group -> its members among the candidates, best first
    for cid, _ in fused:
        doc_id = store.chunks[cid].doc_id
        group = copies.group.get(doc_id)
        if group is not None and doc_id not in present.setdefault(group, []):
            present[group].append(doc_id)
    chosen = {}
    for group, members in present.items():
        preferred = copies.preferred(members[0], store.documents, latest)
        current = [d for d in members if d not in copies.newer]
        chosen[group] = preferred if preferred in members else (current or members)[0]
    kept = []
    for cid, score in fused:
        doc_id = store.chunks[cid].doc_id
        group = copies.group.get(doc_id)
        if group is None or chosen[group] == doc_id:
            kept.append((cid, score))
            if len(kept) == k:
                break
    return kept


class Retriever:
    """Finds the chunks of a store that best match a query: ``Retriever(store).search(query,
    vector, k)``, with the :class:`~rag.query.Query` from :class:`~rag.query.QuestionAnalyzer` and its
    embedding (``embedder.embed_queries([query.text])[0]``)."""

    def __init__(self, store: Store, settings: RetrievalSettings | None = None) -> None:
        self.store = store
        self.settings = settings or RetrievalSettings()

    def search(self, query: Query, vector: np.ndarray, k: int = 5) -> list[Hit]:
        """The ``k`` best hits for ``query`` (whose embedding is ``vector``), best first (fewer when
        the store is small), among the documents of the query's period if it has one."""
        s = self.settings
        n = max(s.candidates, k)
        dense: Ranked = []
        lexical: Ranked = []
        # A period is searched within, before ranking: the k hits are the best of that period.
        # (a period read from the question's words keeps undated articles: they may be of it)
        period = (query.since, query.until, bool(query.period_words))
        only = self.store.documents_between(*period) if query.since or query.until else None
        if s.fusion != "bm25":
            dense = self.store.search_dense(vector, n, only)
        if s.fusion != "dense":
            lexical = self.store.search_lexical(query.terms, n, s.document_weight, only)
        # Copies of one story would fill the k hits: more are fused, then one article per story kept.
        wide = k * s.copy_spread if self.store.copies.group or query.latest else k
        fused = fuse(dense, lexical, wide, s)
        if query.latest:
            fused = recent_first(self.store, fused, s.latest_on_subject)
        fused = one_per_story(self.store, fused, k, query.latest)
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
