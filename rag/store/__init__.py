"""The index store: tables, dense vectors and BM25 for a set of documents, searchable and savable.

The store is one facade over five parts, each in its own module:

- ``tables``: documents, chunks, sentences, which overlap which, and their lexical terms;
- ``dense``: the FAISS sentence vectors (exact, or an inverted file for large stores);
- ``lexical``: BM25 over chunks and over whole documents;
- ``copies``: near-duplicate articles (wire copies, versions) grouped by MinHash;
- ``disk``: generations on disk, the ``CURRENT`` pointer and the manifest (the folder layout is
  described there).

Dense search runs over sentences (each embedded with its document's title); a chunk scores as its
best sentence. BM25 runs over chunks. A store is changed only by the indexer, on a copy; searches
run on a store nobody changes, so concurrent questions never see a half-updated index.

>>> import tempfile
>>> from rag.chunking import Chunker
>>> from rag.corpus import make_document
>>> from rag.embedders import HashEmbedder
>>> from rag.text import LexicalAnalyzer
>>> emb, chunker = HashEmbedder(64), Chunker()
>>> doc = make_document("a.txt", "Il pleuvra à Lyon demain.")
>>> chunks, sentences = chunker.split(doc), chunker.sentences(doc)
>>> store = Store(emb.model_id, emb.dim, chunker.settings())
>>> store.add(doc, chunks, sentences, emb.embed_passages(["Il pleuvra à Lyon demain."]),
...           [LexicalAnalyzer().tokens(c.text) for c in chunks])
>>> folder = store.save(tempfile.mkdtemp())
>>> Store.load(folder.parent).documents == store.documents
True
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError, IndexMismatchError
from ..types import Chunk, Document, Sentence
from .copies import CopyIndex
from .dense import DenseIndex
from .disk import (
    FORMAT_VERSION,
    REBUILD_HINT,
    check_digests,
    current_generation,
    file_digests,
    read_jsonl,
    read_manifest,
    write_generation,
    write_json,
    write_jsonl,
)
from .lexical import LexicalIndex
from .tables import Tables

__all__ = ["FORMAT_VERSION", "REBUILD_HINT", "Store", "current_generation", "read_manifest"]

log = logging.getLogger(__name__)


class Store:
    """Sentence vectors, chunks and lexical terms for a set of documents, searchable and savable."""

    def __init__(self, model_id: str, dim: int, chunker: dict[str, Any]) -> None:
        self.model_id = model_id
        self.dim = dim
        self.chunker = chunker
        self.built_at = ""
        self.corpus_read_at = 0.0  # when the build read the corpus (epoch seconds; 0: unknown)
        self.corpus_files: tuple[str, ...] = ()  # every file the build saw, indexed or skipped
        self.document_files: dict[str, str] = {}  # document id -> the corpus file holding it
        self.generation = ""  # the folder it was loaded from
        self.tables = Tables()
        self.dense = DenseIndex(dim)
        self.lexical = LexicalIndex(self.tables)
        self.copies = CopyIndex()
        self._dates: tuple[str, str] | None = None  # date_span's, until the documents change

    # ----- reading -------------------------------------------------------------------------------
    @property
    def documents(self) -> dict[str, Document]:
        return self.tables.documents

    @property
    def chunks(self) -> dict[str, Chunk]:
        return self.tables.chunks

    @property
    def sentences(self) -> dict[str, Sentence]:
        return self.tables.sentences

    @property
    def terms(self) -> dict[str, list[str]]:
        """Lexical terms by chunk id (read-only use)."""
        return self.tables.chunk_terms

    def sentence_terms(self, sentence_id: str) -> list[str] | None:
        """The lexical terms of a sentence, as indexed (None for an index written before they were)."""
        return self.tables.sentence_terms.get(sentence_id)

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        return self.tables.doc_chunks(doc_id)

    def doc_sentences(self, doc_id: str) -> list[Sentence]:
        return self.tables.doc_sentences(doc_id)

    def chunk_sentences(self, chunk_id: str) -> list[Sentence]:
        """The sentences overlapping a chunk, in document order (whole, even where the chunk cuts them)."""
        return self.tables.chunk_sentences(chunk_id)

    def vectors_of(self, sentence_ids: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the given sentences (those present), so unchanged text is not re-embedded."""
        return self.dense.vectors_of(s for s in sentence_ids if s in self.tables.sentences)

    def sentence_matrix(self, sentence_ids: Sequence[str]) -> np.ndarray:
        """The vectors of these sentences as a ``(n, dim)`` array, in order."""
        return self.dense.matrix(sentence_ids)

    # ----- changes -------------------------------------------------------------------------------
    def add(
        self,
        document: Document,
        chunks: Sequence[Chunk],
        sentences: Sequence[Sentence],
        vectors: np.ndarray,
        terms: Sequence[list[str]],
        sentence_terms: Sequence[list[str]] | None = None,
    ) -> None:
        """Add (or replace) a document: its chunks with their lexical terms, its sentences with
        their unit vectors (one row per sentence) and, optionally, their lexical terms."""
        if document.id in self.tables.documents:
            self.remove(document.id)
        sentence_ids = [s.id for s in sentences]
        ids = self.dense.check_new(sentence_ids, document.id)  # before anything changes
        self.tables.add(document, chunks, sentences, terms, sentence_terms)
        self.dense.add(sentence_ids, vectors, ids)
        self.lexical.invalidate()
        self._dates = None

    def remove(self, doc_id: str) -> int:
        """Remove a document from the vectors and the lexical index together; returns chunks removed."""
        if doc_id not in self.tables.documents:
            return 0
        chunk_ids, sentence_ids = self.tables.remove(doc_id)
        self.dense.remove(sentence_ids)
        self.lexical.invalidate()
        self._dates = None
        return len(chunk_ids)

    def copy(self) -> Store:
        other = Store(self.model_id, self.dim, dict(self.chunker))
        other.built_at = self.built_at
        other.corpus_read_at = self.corpus_read_at
        other.corpus_files = self.corpus_files
        other.document_files = dict(self.document_files)
        other.tables = self.tables.copy()
        other.dense = self.dense.copy()
        other.lexical = LexicalIndex(other.tables)
        other.copies = self.copies.copy()
        return other

    def group_copies(self, like: Store | None = None) -> int:
        """Group the near-duplicate documents (before a save); the signatures of texts ``like`` (the
        previous index) knows are reused. Returns the number of groups."""
        if like is not None and not self.copies.signatures:
            self.copies.signatures = dict(like.copies.signatures)
        self.copies.regroup(self.documents)
        return len(self.copies.members)

    # ----- search --------------------------------------------------------------------------------
    @property
    def vector_index(self) -> str:
        """``"flat"`` (exact search) or ``"ivf"`` (inverted file, approximate)."""
        return self.dense.kind

    def tune(self, ivf_min: int, like: Store | None = None) -> str:
        """Choose the vector index for the store's size before a save (see :meth:`DenseIndex.tune`)."""
        return self.dense.tune(ivf_min, like.dense if like is not None else None)

    def search_dense(
        self, query: np.ndarray, n: int, only: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The (at most ``n``) chunks whose best sentence is nearest to a unit query vector, as
        (chunk id, cosine of that sentence), best first; ``only``: among these documents' chunks."""
        sentences = None
        if only is not None:
            sentences = [s for d in only for s in self.tables.doc_sentence_ids.get(d, ())]
        return self.dense.search(query, n, self.tables.sentence_chunk_ids, sentences)

    def search_lexical(
        self, terms: Sequence[str], n: int, document_weight: float = 0.0, only: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``n`` best BM25 matches for the query terms (see :meth:`LexicalIndex.search`)."""
        return self.lexical.search(terms, n, document_weight, only)

    def date_span(self) -> tuple[str, str]:
        """(oldest, newest) publication date of the dated documents (ISO days); ``("", "")`` when
        none is dated. Computed once per snapshot: questions read it every time."""
        if self._dates is None:
            dates = [d.date[:10] for d in self.documents.values() if d.date]
            self._dates = (min(dates), max(dates)) if dates else ("", "")
        return self._dates

    def documents_between(self, since: str = "", until: str = "", undated: bool = False) -> set[str]:
        """The documents dated from ``since`` to ``until`` (ISO dates, both included; ``""``: no
        bound), and with ``undated`` those without a date."""
        return {
            d.id
            for d in self.documents.values()
            if (undated and not d.date)
            or (d.date and (not since or d.date[:10] >= since) and (not until or d.date[:10] <= until))
        }

    # ----- disk ----------------------------------------------------------------------------------
    def manifest(self, files: dict[str, Any] | None = None) -> dict[str, Any]:
        """What ``manifest.json`` says; ``files``: the size and checksum of each file saved."""
        return {
            "format_version": FORMAT_VERSION,
            "embedder": {"model_id": self.model_id, "dim": self.dim},
            "chunker": self.chunker,
            "built_at": self.built_at,
            "corpus": {
                "read_at": self.corpus_read_at,
                "files": list(self.corpus_files),
                "documents": {d: f for d, f in self.document_files.items() if d in self.documents},
            },
            "counts": {
                "documents": len(self.documents),
                "chunks": len(self.chunks),
                "sentences": len(self.sentences),
            },
            "vectors": {
                "index": self.vector_index,
                "lists": self.dense.lists,
                "trained_on": self.dense.trained_on,
            },
            "documents": {d.id: d.content_hash for d in self.documents.values()},
            "files": files or {},
        }

    def save(self, index_dir: str | Path) -> Path:
        """Write a new generation under ``index_dir`` and make it live atomically; returns its path."""
        self.built_at = datetime.now(timezone.utc).isoformat(timespec="seconds")

        def write(folder: Path) -> None:
            self.dense.write(folder / "vectors.faiss")
            write_jsonl(folder / "documents.jsonl", self.tables.document_rows())
            write_jsonl(folder / "chunks.jsonl", self.tables.chunk_rows())
            write_jsonl(folder / "sentences.jsonl", self.tables.sentence_rows())
            self.lexical.save(folder / "lexical")
            self.copies.write(folder / "copies.npz")
            write_json(folder / "manifest.json", self.manifest(file_digests(folder)))

        generation = write_generation(Path(index_dir), write)
        log.info("saved index generation %s (%d chunks)", generation.name, len(self.chunks))
        return generation

    @classmethod
    def load(cls, index_dir: str | Path, expected_model_id: str | None = None) -> Store:
        """Load the live generation; check its format and (if given) the embedder that built it."""
        root = Path(index_dir)
        gen = current_generation(root)
        manifest = read_manifest(root)
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index {root} has format version {version}, this rag reads version {FORMAT_VERSION}: "
                f"{REBUILD_HINT}"
            )
        try:
            model_id = str(manifest["embedder"]["model_id"])
            dim = int(manifest["embedder"]["dim"])
            chunker = dict(manifest["chunker"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"{gen / 'manifest.json'} lacks {exc}: {REBUILD_HINT}") from exc
        if expected_model_id is not None and model_id != expected_model_id:
            raise IndexMismatchError(
                f"index {root} was built with embedder {model_id!r} but the embedder in use is "
                f"{expected_model_id!r}: use the same model (--model / RAG_MODEL) or {REBUILD_HINT}"
            )
        check_digests(gen, manifest.get("files"))
        store = cls(model_id, dim, chunker)
        store.built_at = str(manifest.get("built_at", ""))
        store.generation = gen.name
        corpus = manifest.get("corpus") or {}  # (absent from indexes saved before it was recorded)
        try:
            store.corpus_read_at = float(corpus.get("read_at") or 0.0)
            store.corpus_files = tuple(str(f) for f in corpus.get("files") or ())
            store.document_files = {str(d): str(f) for d, f in (corpus.get("documents") or {}).items()}
        except (TypeError, ValueError, AttributeError) as exc:
            raise IndexCorruptError(
                f"{gen / 'manifest.json'} has a bad 'corpus' entry ({exc}): {REBUILD_HINT}"
            ) from exc
        store.tables = Tables.from_rows(
            read_jsonl(gen / "documents.jsonl"),
            read_jsonl(gen / "chunks.jsonl"),
            read_jsonl(gen / "sentences.jsonl"),
            str(gen),
        )
        # Indexes written before the IVF switch have no "vectors" entry: they are flat.
        vectors = manifest.get("vectors") or {}
        trained_on = int(vectors.get("trained_on", 0)) if vectors.get("index") == "ivf" else 0
        store.dense = DenseIndex.read(gen / "vectors.faiss", dim, store.tables.sentences, trained_on)
        store.lexical = LexicalIndex(store.tables)
        store.lexical.load(gen / "lexical")
        _check_counts(store, manifest, gen)
        store.copies = CopyIndex.read(gen / "copies.npz", store.documents)
        return store


def _check_counts(store: Store, manifest: dict[str, Any], gen: Path) -> None:
    """The tables hold as many rows as the manifest says were written."""
    counts = manifest.get("counts") or {}
    tables: dict[str, dict[str, Any]] = {
        "documents": store.documents,
        "chunks": store.chunks,
        "sentences": store.sentences,
    }
    for table, rows in tables.items():
        if table in counts and counts[table] != len(rows):
            raise IndexCorruptError(
                f"{gen / (table + '.jsonl')} holds {len(rows)} {table}, the manifest says "
                f"{counts[table]}: {REBUILD_HINT}"
            )
