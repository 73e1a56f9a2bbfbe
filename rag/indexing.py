"""Sync a corpus with a saved index: embed what is new or changed, drop what was removed.

>>> import tempfile, pathlib
>>> from rag.embedders import HashEmbedder
>>> corpus = pathlib.Path(tempfile.mkdtemp()); _ = (corpus / "a.txt").write_text("Un article.")
>>> report = update_index(corpus, pathlib.Path(tempfile.mkdtemp()) / "index", HashEmbedder())
>>> (report.added, report.chunks_indexed, report.sentences_embedded)
(1, 1, 1)
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chunking import Chunker
from .config import IVF_MIN_VECTORS
from .corpus import Skipped, load_corpus
from .corpus.changes import FileResult
from .embedders.base import Embedder
from .errors import IndexMismatchError, IndexNotFoundError
from .store import Store
from .text import LexicalAnalyzer
from .types import Chunk, Document, Progress, ProgressFn, Sentence

log = logging.getLogger(__name__)
BATCH = 64  # sentences per embedder call: progress is reported after each


@dataclass(frozen=True)
class IndexReport:
    """What an update did. ``chunks_indexed`` counts the chunks of new or changed documents,
    ``sentences_embedded`` the texts sent to the embedder (unchanged sentences keep their vectors).
    ``skipped`` lists files that could not be read, with the reason. ``vector_index`` is ``"flat"``
    (exact search) or ``"ivf"`` (a large store: see :meth:`rag.store.dense.DenseIndex.tune`)."""

    added: int
    updated: int
    removed: int
    unchanged: int
    chunks_indexed: int
    sentences_embedded: int
    chunks_total: int
    sentences_total: int
    documents_total: int
    seconds: float
    skipped: tuple[Skipped, ...]
    index_dir: str
    vector_index: str = "flat"


@dataclass(frozen=True)
class CorpusChange:
    """What a change to the corpus did (:meth:`rag.Engine.add_files`, ``remove_document``,
    ``restore``): one :class:`~rag.corpus.changes.FileResult` per file given, then the index update
    (``None`` when no file changed, e.g. every upload was refused or identical)."""

    files: tuple[FileResult, ...]
    index: IndexReport | None

    @property
    def refused(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if f.status == "refused")


def _sentence_terms(
    old: Store | None, analyzer: LexicalAnalyzer, doc: Document, sentence: Sentence
) -> list[str]:
    known = old.sentence_terms(sentence.id) if old is not None else None
    return known if known is not None else analyzer.tokens(doc.text[sentence.start : sentence.end])


def with_title(doc: Document, text: str) -> str:
    """What is embedded or lexically indexed for a passage: the title gives it its topic (it helps
    pick the sentence that answers: docs/experiments.md#retrieval).

    >>> from rag.corpus import make_document
    >>> with_title(make_document("a", "Corps.", title="Titre"), "Corps.")
    'Titre\\nCorps.'
    """
    return f"{doc.title}\n{text}" if doc.title and not text.startswith(doc.title) else text


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
    ivf_min: int = IVF_MIN_VECTORS,
) -> IndexReport:
    """Bring the index at ``index_dir`` in line with the files in ``corpus_dir``.

    Only new or changed documents are chunked, and only chunks whose text is new are embedded.
    ``rebuild=True`` starts from an empty index. The previous index stays live until the new one is
    complete. An index built by another embedder raises :class:`IndexMismatchError` (use ``rebuild``).
    From ``ivf_min`` sentence vectors on, dense search uses an inverted file (``RAG_IVF_MIN``).
    """
    started = time.perf_counter()
    chunker = chunker or Chunker()
    analyzer = analyzer or LexicalAnalyzer()
    index_dir = Path(index_dir)
    report = _progress(on_progress)
    report(Progress("load", 0, 1, "reading the corpus"))
    loaded = load_corpus(corpus_dir)
    report(Progress("load", 1, 1, f"{len(loaded.documents)} documents"))
    with _locked(index_dir):
        old = None if rebuild else _load_existing(index_dir, embedder)
        if old is not None and old.chunker != chunker.settings():
            log.info("chunker settings changed: re-chunking every document")
        store = Store(embedder.model_id, embedder.dim, chunker.settings())
        reuse = old.vectors_of(old.sentences) if old is not None else {}
        old_terms = old.terms if old is not None else {}
        rechunk_all = old is None or old.chunker != chunker.settings()
        counts = {"added": 0, "updated": 0, "unchanged": 0, "chunks": 0}
        todo: list[tuple[Document, list[Chunk], list[Sentence]]] = []
        for doc in loaded.documents:
            previous = old.documents.get(doc.id) if old is not None else None
            if previous is not None and previous.content_hash == doc.content_hash and not rechunk_all:
                assert old is not None
                chunks, sentences = old.doc_chunks(doc.id), old.doc_sentences(doc.id)
                counts["unchanged"] += 1
            else:
                chunks, sentences = chunker.split(doc), chunker.sentences(doc)
                counts["updated" if previous is not None else "added"] += 1
                counts["chunks"] += len(chunks)
            todo.append((doc, chunks, sentences))
        pending = [(doc, s) for doc, _, sentences in todo for s in sentences if s.id not in reuse]
        fresh = _embed(embedder, pending, report)
        for doc, chunks, sentences in todo:
            vectors = [fresh[s.id] if s.id in fresh else reuse[s.id] for s in sentences]
            matrix = np.stack(vectors) if vectors else np.zeros((0, embedder.dim), dtype=np.float32)
            terms = [
                old_terms[c.id] if c.id in old_terms else analyzer.tokens(with_title(doc, c.text))
                for c in chunks
            ]
            sentence_terms = [_sentence_terms(old, analyzer, doc, s) for s in sentences]
            store.add(doc, chunks, sentences, matrix, terms, sentence_terms)
        removed = len(set(old.documents) - {d.id for d in loaded.documents}) if old is not None else 0
        report(Progress("save", 0, 1, "saving the index"))
        store.tune(ivf_min, like=old)
        store.save(index_dir)
        report(Progress("save", 1, 1, "saved"))
    result = IndexReport(
        added=counts["added"],
        updated=counts["updated"],
        removed=removed,
        unchanged=counts["unchanged"],
        chunks_indexed=counts["chunks"],
        sentences_embedded=len(pending),
        chunks_total=len(store.chunks),
        sentences_total=len(store.sentences),
        documents_total=len(store.documents),
        seconds=round(time.perf_counter() - started, 3),
        skipped=loaded.skipped,
        index_dir=str(index_dir),
        vector_index=store.vector_index,
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
    embedder: Embedder, pending: Sequence[tuple[Document, Sentence]], report: ProgressFn
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    total = len(pending)
    report(Progress("embed", 0, total, f"embedding {total} sentences"))
    for i in range(0, total, BATCH):
        batch = pending[i : i + BATCH]
        vectors = embedder.embed_passages([with_title(doc, doc.text[s.start : s.end]) for doc, s in batch])
        for (_, sentence), vector in zip(batch, vectors, strict=True):
            out[sentence.id] = vector
        report(Progress("embed", min(i + BATCH, total), total))
    return out
