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
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .chunking import Chunker
from .config import IVF_MIN_VECTORS
from .corpus import LoadResult, Skipped, load_corpus
from .corpus.changes import FileResult
from .embedders.base import Embedder
from .errors import IndexMismatchError, IndexNotFoundError, RagError
from .store import FORMAT_VERSION, Store, current_generation, read_manifest
from .store.checkpoint import Checkpoint
from .store.disk import relink_generation
from .text import LexicalAnalyzer
from .types import Chunk, Document, Progress, ProgressFn, Sentence

log = logging.getLogger(__name__)
BATCH = 64  # sentences per embedder call: progress is reported after each


@dataclass(frozen=True)
class IndexReport:
    """What an update did. ``chunks_indexed`` counts the chunks of new or changed documents,
    ``sentences_embedded`` the texts sent to the embedder (unchanged sentences keep their vectors,
    and a text is embedded once however many sentences hold it),
    ``sentences_resumed`` those whose vectors a stopped build had saved (``rag.store.checkpoint``).
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
    sentences_resumed: int = 0


@dataclass(frozen=True)
class CorpusChange:
    """What a change to the corpus did (:meth:`rag.Engine.add_files`, ``remove_document``,
    ``restore``, ``add_web``): one :class:`~rag.corpus.changes.FileResult` per file given (per article
    or failed item of a feed), then the index update
    (``None`` when no file changed, e.g. every upload was refused or identical)."""

    files: tuple[FileResult, ...]
    index: IndexReport | None
    notes: tuple[str, ...] = ()  # what the user should know beyond the files (a feed cut short)

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


BUILDING = ".building"  # the running build's progress, for a second build waiting on the lock
WAIT_POLL_S = 0.5


@contextlib.contextmanager
def _locked(index_dir: Path, report: ProgressFn) -> Iterator[ProgressFn]:
    """One writer at a time per index (a CLI build and the web app may both update it). A build
    that finds the lock taken says so and reports the other build's progress while it waits. Yields
    the progress callback to use while holding the lock (it also tells waiting builds)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        if not _try_lock(fh):
            log.warning(
                "another build of the index %s is running (%s): waiting for it to finish",
                index_dir,
                _other_build(index_dir).get("message", "progress unknown"),
            )
            while not _try_lock(fh):
                other = _other_build(index_dir)
                if other.get("stage") == "embed":
                    report(Progress("wait", int(other["done"]), int(other["total"]), "the other build"))
                time.sleep(WAIT_POLL_S)
        state = index_dir / BUILDING
        last = [0.0]

        def tell(event: Progress) -> None:
            report(event)
            now = time.monotonic()
            if now - last[0] >= WAIT_POLL_S or event.done == event.total:
                last[0] = now
                row = {"pid": os.getpid(), "stage": event.stage, "done": event.done, "total": event.total}
                row["message"] = f"pid {os.getpid()}, {event.stage} {event.done}/{event.total}"
                with contextlib.suppress(OSError):
                    tmp = state.with_name(f"{BUILDING}.{os.getpid()}")
                    tmp.write_text(json.dumps(row), encoding="utf-8")
                    os.replace(tmp, state)

        try:
            yield tell
        finally:
            with contextlib.suppress(OSError):
                state.unlink()
            fcntl.flock(fh, fcntl.LOCK_UN)


def _try_lock(fh: Any) -> bool:
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _other_build(index_dir: Path) -> dict[str, Any]:
    try:
        row = json.loads((index_dir / BUILDING).read_text(encoding="utf-8"))
        return row if isinstance(row, dict) else {}
    except (OSError, ValueError):
        return {}


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
    loaded_store: Store | None = None,
) -> IndexReport:
    """Bring the index at ``index_dir`` in line with the files in ``corpus_dir``.

    Only new or changed documents are chunked, and only chunks whose text is new are embedded.
    ``rebuild=True`` starts from an empty index. The previous index stays live until the new one is
    complete. An index built by another embedder raises :class:`IndexMismatchError` (use ``rebuild``).
    From ``ivf_min`` sentence vectors on, dense search uses an inverted file (``RAG_IVF_MIN``).
    ``loaded_store``: the index as already loaded (a running engine's), used instead of reading it
    again when it is still the live generation.
    """
    started = time.perf_counter()
    chunker = chunker or Chunker()
    analyzer = analyzer or LexicalAnalyzer()
    index_dir = Path(index_dir)
    report = _progress(on_progress)
    report(Progress("load", 0, 1, "reading the corpus"))
    read_at = time.time()  # a file changed after this is not in this build
    loaded = load_corpus(corpus_dir)
    report(Progress("load", 1, 1, f"{len(loaded.documents)} documents"))
    with _locked(index_dir, report) as report:
        same = None if rebuild else _nothing_changed(index_dir, embedder, chunker, loaded, ivf_min)
        if same is not None:  # the index stays as it is: only what it knows of the corpus is renewed
            corpus = _corpus_record(loaded, read_at)
            relink_generation(index_dir, {**same, "corpus": corpus})
            Checkpoint(index_dir, embedder.model_id).clear()  # what a stopped build left is not needed
            report(Progress("save", 1, 1, "nothing changed"))
            counts = same["counts"]
            return IndexReport(
                added=0,
                updated=0,
                removed=0,
                unchanged=len(loaded.documents),
                chunks_indexed=0,
                sentences_embedded=0,
                chunks_total=int(counts["chunks"]),
                sentences_total=int(counts["sentences"]),
                documents_total=int(counts["documents"]),
                seconds=round(time.perf_counter() - started, 3),
                skipped=loaded.skipped,
                index_dir=str(index_dir),
                vector_index=str((same.get("vectors") or {}).get("index", "flat")),
            )
        old = None if rebuild else _load_existing(index_dir, embedder, loaded_store)
        if old is not None and old.chunker != chunker.settings():
            log.info("chunker settings changed: re-chunking every document")
        store = Store(embedder.model_id, embedder.dim, chunker.settings())
        corpus = _corpus_record(loaded, read_at)
        store.corpus_read_at = corpus["read_at"]
        store.corpus_files = tuple(corpus["files"])
        store.document_files = dict(corpus["documents"])
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
        checkpoint = Checkpoint(index_dir, embedder.model_id)
        fresh, resumed, embedded = _embed(embedder, pending, report, checkpoint, old)
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
        groups = store.group_copies(like=old)
        log.info("%d groups of near-duplicate documents", groups)
        store.save(index_dir)
        checkpoint.clear()
        report(Progress("save", 1, 1, "saved"))
    result = IndexReport(
        added=counts["added"],
        updated=counts["updated"],
        removed=removed,
        unchanged=counts["unchanged"],
        chunks_indexed=counts["chunks"],
        sentences_embedded=embedded,
        sentences_resumed=resumed,
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


def _corpus_record(loaded: LoadResult, read_at: float) -> dict[str, Any]:
    """What the manifest keeps of the corpus a build read (see ``Engine.pending_changes``)."""
    return {
        "read_at": read_at,
        "files": sorted({*loaded.files.values(), *(s.path for s in loaded.skipped)}),
        "documents": dict(loaded.files),
    }


def _nothing_changed(
    index_dir: Path, embedder: Embedder, chunker: Chunker, loaded: LoadResult, ivf_min: int
) -> dict[str, Any] | None:
    """The live manifest when the index already holds exactly ``loaded``'s documents, built by this
    embedder and chunker with the vector index ``ivf_min`` asks for; else None (then the index is
    loaded and compared in full, and any mismatch reported there)."""
    try:
        manifest = read_manifest(index_dir)
        embedded = manifest["embedder"]
        counts = manifest["counts"]
        kind = (manifest.get("vectors") or {}).get("index", "flat")
        same = (
            manifest.get("format_version") == FORMAT_VERSION
            and embedded == {"model_id": embedder.model_id, "dim": embedder.dim}
            and manifest.get("chunker") == chunker.settings()
            and manifest.get("documents") == {d.id: d.content_hash for d in loaded.documents}
            and (kind == "ivf") == (0 < ivf_min <= int(counts["sentences"]))
            and "copies.npz" in (manifest.get("files") or {})  # (saved before checksums or copies: anew)
        )
    except (RagError, KeyError, TypeError, ValueError):
        return None
    return manifest if same else None


def _load_existing(index_dir: Path, embedder: Embedder, loaded: Store | None = None) -> Store | None:
    try:
        live = current_generation(index_dir).name
    except IndexNotFoundError:
        return None
    if loaded is not None and loaded.generation == live:
        store = loaded  # (a store is never changed once loaded: the update builds a new one)
    else:
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
    embedder: Embedder,
    pending: Sequence[tuple[Document, Sentence]],
    report: ProgressFn,
    checkpoint: Checkpoint,
    old: Store | None = None,
) -> tuple[dict[str, np.ndarray], int, int]:
    """Vectors for the ``pending`` sentences, and how many were resumed and how many texts were
    embedded: those a stopped build saved in ``checkpoint`` are taken back; a text (with its title)
    is embedded once however many sentences hold it (copies, boilerplate), and not at all when the
    ``old`` index holds it under another id; the rest goes to the embedder a batch at a time, each
    batch saved in ``checkpoint`` as soon as it is done."""
    saved = checkpoint.load()
    out = {s.id: saved[s.id] for _, s in pending if s.id in saved}
    resumed = len(out)
    if resumed:
        log.info("resuming a stopped build: %d sentences were already embedded", resumed)
    by_text: dict[str, list[str]] = {}  # text as embedded -> the sentences holding it
    for doc, s in pending:
        if s.id not in out:
            by_text.setdefault(with_title(doc, doc.text[s.start : s.end]), []).append(s.id)
    for text, vector in _vectors_by_text(old, set(by_text)).items():
        out.update((sid, vector) for sid in by_text.pop(text))
    texts = list(by_text)
    total = len(texts)
    report(Progress("embed", 0, total, f"embedding {total} sentences"))
    for i in range(0, total, BATCH):
        batch = texts[i : i + BATCH]
        vectors = embedder.embed_passages(batch)
        ids = [sid for text in batch for sid in by_text[text]]
        rows = [vector for text, vector in zip(batch, vectors, strict=True) for _ in by_text[text]]
        checkpoint.save(ids, np.stack(rows))
        out.update(zip(ids, rows, strict=True))
        report(Progress("embed", min(i + BATCH, total), total))
    return out, resumed, total


def _vectors_by_text(old: Store | None, texts: set[str]) -> dict[str, np.ndarray]:
    """The vectors the ``old`` index holds for any of these texts (as embedded), by text."""
    if old is None or not texts:
        return {}
    found: dict[str, str] = {}
    for doc in old.documents.values():
        for s in old.doc_sentences(doc.id):
            text = with_title(doc, doc.text[s.start : s.end])
            if text in texts:
                found.setdefault(text, s.id)
    vectors = old.vectors_of(found.values())
    return {text: vectors[sid] for text, sid in found.items() if sid in vectors}
