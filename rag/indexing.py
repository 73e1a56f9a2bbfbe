"""Sync a corpus with a saved index: embed what is new or changed, drop what was removed.

>>> import tempfile, pathlib
>>> from rag.embedding import HashEmbedder
>>> corpus = pathlib.Path(tempfile.mkdtemp()); _ = (corpus / "a.txt").write_text("Un article.")
>>> report = update_index(corpus, pathlib.Path(tempfile.mkdtemp()) / "index", HashEmbedder())
>>> (report.added, report.chunks_embedded)
(1, 1)
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chunking import Chunker
from .embedding import Embedder
from .errors import IndexMismatchError, IndexNotFoundError
from .loading import Skipped, load_corpus
from .store import Store
from .text import LexicalAnalyzer
from .types import Chunk, Document

log = logging.getLogger(__name__)
BATCH = 64


@dataclass(frozen=True)
class Progress:
    """One step of an index update: ``done`` of ``total`` units of ``stage``."""

    stage: str  # "load" | "embed" | "save"
    done: int
    total: int
    message: str = ""


@dataclass(frozen=True)
class IndexReport:
    """What an update did. ``skipped`` lists files that could not be read, with the reason."""

    added: int
    updated: int
    removed: int
    unchanged: int
    chunks_embedded: int
    chunks_total: int
    documents_total: int
    seconds: float
    skipped: tuple[Skipped, ...]
    index_dir: str


ProgressFn = Callable[[Progress], None]


def passage_text(doc: Document, chunk: Chunk) -> str:
    """What is embedded and lexically indexed for a chunk: the title gives the passage its topic."""
    return f"{doc.title}\n{chunk.text}" if doc.title and not chunk.text.startswith(doc.title) else chunk.text


@contextlib.contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
    # One writer at a time per index (a CLI build and the web app may both update it).
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def update_index(
    corpus_dir: str | Path,
    index_dir: str | Path,
    embedder: Embedder,
    chunker: Chunker | None = None,
    *,
    rebuild: bool = False,
    on_progress: ProgressFn | None = None,
    analyzer: LexicalAnalyzer | None = None,
) -> IndexReport:
    """Bring the index at ``index_dir`` in line with the files in ``corpus_dir``.

    Only new or changed documents are chunked, and only chunks whose text is new are embedded.
    ``rebuild=True`` starts from an empty index. The previous index stays live until the new one is
    complete. An index built by another embedder raises :class:`IndexMismatchError` (use ``rebuild``).
    """
    started = time.perf_counter()
    chunker = chunker or Chunker()
    analyzer = analyzer or LexicalAnalyzer()
    index_dir = Path(index_dir)
    report = _progress(on_progress)
    report(Progress("load", 0, 1, f"reading {corpus_dir}"))
    loaded = load_corpus(corpus_dir)
    report(Progress("load", 1, 1, f"{len(loaded.documents)} documents"))
    with _locked(index_dir):
        old = None if rebuild else _load_existing(index_dir, embedder)
        if old is not None and old.chunker != chunker.settings():
            log.info("chunker settings changed: re-chunking every document")
        store = Store(embedder.model_id, embedder.dim, chunker.settings())
        reuse = old.vectors_of(old.chunks) if old is not None else {}
        old_terms = old.terms if old is not None else {}
        rechunk_all = old is None or old.chunker != chunker.settings()
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        todo: list[tuple[Document, list[Chunk]]] = []
        for doc in loaded.documents:
            previous = old.documents.get(doc.id) if old is not None else None
            if previous is not None and previous.content_hash == doc.content_hash and not rechunk_all:
                assert old is not None
                chunks = old.doc_chunks(doc.id)
                counts["unchanged"] += 1
            else:
                chunks = chunker.split(doc)
                counts["updated" if previous is not None else "added"] += 1
            todo.append((doc, chunks))
        pending = [(doc, c) for doc, chunks in todo for c in chunks if c.id not in reuse]
        fresh = _embed(embedder, pending, report)
        for doc, chunks in todo:
            vectors = (
                np.stack([fresh[c.id] if c.id in fresh else reuse[c.id] for c in chunks])
                if chunks
                else (np.zeros((0, embedder.dim), dtype=np.float32))
            )
            terms = [
                old_terms[c.id] if c.id in old_terms else analyzer.tokens(passage_text(doc, c))
                for c in chunks
            ]
            store.add(doc, chunks, vectors, terms)
        removed = len(set(old.documents) - {d.id for d in loaded.documents}) if old is not None else 0
        report(Progress("save", 0, 1, f"saving {index_dir}"))
        store.save(index_dir)
        report(Progress("save", 1, 1, "saved"))
    result = IndexReport(
        added=counts["added"],
        updated=counts["updated"],
        removed=removed,
        unchanged=counts["unchanged"],
        chunks_embedded=len(pending),
        chunks_total=len(store.chunks),
        documents_total=len(store.documents),
        seconds=round(time.perf_counter() - started, 3),
        skipped=loaded.skipped,
        index_dir=str(index_dir),
    )
    log.info("index updated: %s", result)
    return result


def _progress(on_progress: ProgressFn | None) -> ProgressFn:
    def report(event: Progress) -> None:
        log.debug("%s %d/%d %s", event.stage, event.done, event.total, event.message)
        if on_progress is not None:
            on_progress(event)

    return report


def _load_existing(index_dir: Path, embedder: Embedder) -> Store | None:
    try:
        store = Store.load(index_dir)
    except IndexNotFoundError:
        return None
    if store.model_id != embedder.model_id or store.dim != embedder.dim:
        raise IndexMismatchError(
            f"index {index_dir} was built with embedder {store.model_id!r} (dim {store.dim}) but the "
            f"embedder in use is {embedder.model_id!r} (dim {embedder.dim}): rebuild it with "
            "`rag index --rebuild`, or use the same model"
        )
    return store


def _embed(
    embedder: Embedder, pending: Sequence[tuple[Document, Chunk]], report: ProgressFn
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    total = len(pending)
    report(Progress("embed", 0, total, f"embedding {total} chunks with {embedder.model_id}"))
    for i in range(0, total, BATCH):
        batch = pending[i : i + BATCH]
        vectors = embedder.embed_passages([passage_text(doc, c) for doc, c in batch])
        for (_, chunk), vector in zip(batch, vectors, strict=True):
            out[chunk.id] = vector
        report(Progress("embed", min(i + BATCH, total), total))
    return out
