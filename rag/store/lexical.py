"""The lexical index: BM25 (bm25s) over the chunks' terms, and over whole documents.

The chunk index is saved with the store; the document index is built in memory from the chunks'
terms when first needed. The only module that knows bm25s.

>>> from rag.types import Chunk, Document
>>> from rag.store.tables import Tables
>>> tables = Tables()
>>> for i, terms in enumerate([["volcan", "gronde"], ["marche", "fleur"]]):
...     doc = Document(f"d{i}", "", "x", "h")
...     tables.add(doc, [Chunk(f"c{i}", doc.id, 0, 1, "x")], [], [terms])
>>> [cid for cid, _ in LexicalIndex(tables).search(["volcan"], 5)]
['c0']
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .tables import Tables

log = logging.getLogger(__name__)
_FILLER = "\x00"  # bm25s cannot index an empty document: a chunk of only stop words gets this term


class LexicalIndex:
    """BM25 over the chunks of ``tables`` (which it reads, never changes), built on first search."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self._bm25: Any = None
        self._order: list[str] = []
        self._doc_bm25: Any = None
        self._chunk_doc: np.ndarray = np.zeros(0, dtype=np.int64)
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Forget the built indexes (the tables changed)."""
        self._bm25 = self._doc_bm25 = None

    @property
    def built(self) -> tuple[bool, bool]:
        """Whether the chunk and the document index are built (for warm-up checks)."""
        return self._bm25 is not None, self._doc_bm25 is not None

    def search(
        self,
        terms: Sequence[str],
        n: int,
        document_weight: float = 0.0,
        only: Collection[str] | None = None,
    ) -> list[tuple[str, float]]:
        """The ``n`` best BM25 matches for the query terms, as (chunk id, score) best first.

        With ``document_weight`` w, a chunk scores ``bm25(chunk) + w * bm25(its whole document)``:
        the question's terms are often spread over a document and not all in the chunk that answers.
        ``only``: the documents whose chunks may be returned (the others score 0 before ranking).
        """
        if not self.tables.chunks or not terms or n <= 0:
            return []
        bm25, order = self._chunk_index()
        known = [t for t in terms if t in bm25.vocab_dict]
        if not known:
            return []
        scores = np.asarray(bm25.get_scores(known), dtype=np.float64)
        if document_weight:
            doc_bm25, chunk_doc = self._document_index()
            scores = scores + document_weight * np.asarray(doc_bm25.get_scores(known))[chunk_doc]
        if only is not None:
            chunks = self.tables.chunks
            keep = np.fromiter((chunks[c].doc_id in only for c in order), dtype=bool, count=len(order))
            scores = np.where(keep, scores, 0.0)
        n = min(n, len(order))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(order[i], float(scores[i])) for i in top.tolist() if scores[i] > 0]

    def _chunk_index(self) -> tuple[Any, list[str]]:
        with self._lock:
            if self._bm25 is None:
                order = list(self.tables.chunks)
                bm25 = _bm25s().BM25()
                bm25.index([self.tables.chunk_terms[c] or [_FILLER] for c in order], show_progress=False)
                self._bm25, self._order = bm25, order
            return self._bm25, self._order

    def _document_index(self) -> tuple[Any, np.ndarray]:
        """BM25 over whole documents, and for each chunk (in the chunk index's order) the row of
        its document."""
        _, order = self._chunk_index()
        with self._lock:
            if self._doc_bm25 is None:
                # A document's terms are its chunks' terms in order (the overlaps count twice, as
                # measured): no re-tokenising, so this costs one BM25 build over the documents.
                t = self.tables
                docs = list(t.documents)
                row = {d: i for i, d in enumerate(docs)}
                terms = [[x for c in t.doc_chunk_ids[d] for x in t.chunk_terms[c]] or [_FILLER] for d in docs]
                doc_bm25 = _bm25s().BM25()
                doc_bm25.index(terms, show_progress=False)
                chunk_doc = np.array([row[t.chunks[c].doc_id] for c in order], dtype=np.int64)
                self._doc_bm25, self._chunk_doc = doc_bm25, chunk_doc
            return self._doc_bm25, self._chunk_doc

    # ----- disk ----------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        if self.tables.chunks:  # bm25s cannot build an index of nothing
            self._chunk_index()[0].save(str(folder))

    def load(self, folder: Path) -> None:
        """Read the saved chunk index; an unreadable one is rebuilt in memory when first needed."""
        if not self.tables.chunks:
            return
        try:
            self._bm25 = _bm25s().BM25.load(str(folder))
            self._order = list(self.tables.chunks)
        except Exception as exc:
            log.warning("lexical index in %s unreadable (%s); rebuilding it in memory", folder, exc)
            self._bm25 = None


def _bm25s() -> Any:
    """The bm25s module, told to keep quiet: it logs every index build at DEBUG with its own handler
    (`rag ask` printed "DEBUG bm25s: Building index from tokens" when building the document BM25)."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s
