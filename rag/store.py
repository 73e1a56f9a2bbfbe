"""The index store: FAISS sentence vectors + chunk and sentence tables + BM25 + manifest, on disk.

The only module that knows the FAISS and bm25s file formats. On disk an index is a folder::

    index/
      CURRENT             name of the live generation, replaced atomically
      gen-…/              one complete, immutable build
        manifest.json     format version, embedder id and dim, chunker settings, vector index kind,
                          document hashes, time
        vectors.faiss     sentence vectors, inner product = cosine: exact search (IndexIDMap2 over
                          IndexFlatIP) up to IVF_MIN_VECTORS of them, an inverted file above
        documents.jsonl   the documents (original text: citation offsets point into it)
        chunks.jsonl      chunk id, document, offsets, lexical terms
        sentences.jsonl   sentence id, document, offsets, lexical terms (FAISS ids derive from sentence ids)
        lexical/          the bm25s index (numpy arrays + json, no pickle)

A save writes a new generation beside the old one and then swaps ``CURRENT``; a build that fails or is
killed leaves the previous generation live and intact. Nothing here uses pickle.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from .types import Chunk, Document, Sentence

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
REBUILD_HINT = "rebuild it with `rag index --rebuild`"

# Exact search costs ~23 ms a question at 100k vectors and ~240 ms at 1M on 2 cores (bench/RESULTS.md,
# scale). An inverted file is faster but approximate, and on real e5 question -> sentence vectors
# (PIAF) it needs to scan a quarter of its lists to keep recall@10 at 0.965 (233 lists; 2.6 % of them
# gave 0.648): worth it only where exact search gets slow.
IVF_MIN_VECTORS = 500_000
IVF_PROBED = 0.25  # share of the lists searched per question


def _faiss_id(item_id: str) -> int:
    # Sentence ids are hex digests: 60 bits of them make a positive int64 id FAISS can remove by.
    return int(item_id[:15], 16)


class Store:
    """Sentence vectors, chunks and lexical terms for a set of documents, searchable and savable.

    Dense search runs over sentences (each embedded with its document's title); a chunk scores as
    its best sentence. BM25 runs over chunks.

    A store is changed only by the indexer, on a copy; searches run on a store nobody changes, so
    concurrent questions never see a half-updated index.
    """

    def __init__(self, model_id: str, dim: int, chunker: dict[str, Any]) -> None:
        import faiss

        self.model_id = model_id
        self.dim = dim
        self.chunker = chunker
        self.documents: dict[str, Document] = {}
        self.chunks: dict[str, Chunk] = {}
        self.sentences: dict[str, Sentence] = {}
        self.built_at = ""
        self._doc_chunks: dict[str, list[str]] = {}
        self._doc_sentences: dict[str, list[str]] = {}
        self._sentence_chunks: dict[str, list[str]] = {}
        self._chunk_sentences: dict[str, list[str]] = {}
        self._terms: dict[str, list[str]] = {}
        self._sentence_terms: dict[str, list[str]] = {}  # for the composer's coverage features
        self._by_fid: dict[int, str] = {}
        self._vectors: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._trained_on = 0  # vectors the IVF's lists were trained on (0: flat, exact search)
        self._bm25: Any = None
        self._bm25_order: list[str] = []
        self._doc_bm25: Any = None  # over whole documents, built in memory when first needed
        self._chunk_doc: np.ndarray = np.zeros(0, dtype=np.int64)
        self._dense_map: _DenseMap | None = None  # FAISS id -> chunks, built when first searched
        self._lock = threading.Lock()

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
        if document.id in self.documents:
            self.remove(document.id)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(sentences), self.dim)
        ids = np.array([_faiss_id(s.id) for s in sentences], dtype=np.int64)
        clash = [self._by_fid[i] for i in ids.tolist() if i in self._by_fid]
        if clash or len(set(ids.tolist())) != len(ids):
            raise ValueError(f"sentence id collision in document {document.id!r}: {clash}")
        self.documents[document.id] = document
        self._doc_chunks[document.id] = [c.id for c in chunks]
        self._doc_sentences[document.id] = [s.id for s in sentences]
        for chunk, chunk_terms in zip(chunks, terms, strict=True):
            self.chunks[chunk.id] = chunk
            self._terms[chunk.id] = list(chunk_terms)
            self._chunk_sentences[chunk.id] = []
        for sentence, fid in zip(sentences, ids.tolist(), strict=True):
            self.sentences[sentence.id] = sentence
            self._by_fid[fid] = sentence.id
            self._sentence_chunks[sentence.id] = []
        if sentence_terms is not None:
            for sentence, s_terms in zip(sentences, sentence_terms, strict=True):
                self._sentence_terms[sentence.id] = list(s_terms)
        _link(chunks, sentences, self._chunk_sentences, self._sentence_chunks)
        if len(sentences):
            self._vectors.add_with_ids(vectors, ids)
        self._bm25 = self._doc_bm25 = self._dense_map = None

    def remove(self, doc_id: str) -> int:
        """Remove a document from the vectors and the lexical index together; returns chunks removed."""
        if doc_id not in self.documents:
            return 0
        chunk_ids = self._doc_chunks.pop(doc_id)
        sentence_ids = self._doc_sentences.pop(doc_id)
        del self.documents[doc_id]
        fids = np.array([_faiss_id(s) for s in sentence_ids], dtype=np.int64)
        if len(fids):
            self._vectors.remove_ids(fids)
        for cid in chunk_ids:
            self.chunks.pop(cid, None)
            self._terms.pop(cid, None)
            self._chunk_sentences.pop(cid, None)
        for sid, fid in zip(sentence_ids, fids.tolist(), strict=True):
            self.sentences.pop(sid, None)
            self._sentence_chunks.pop(sid, None)
            self._sentence_terms.pop(sid, None)
            self._by_fid.pop(fid, None)
        self._bm25 = self._doc_bm25 = self._dense_map = None
        return len(chunk_ids)

    def vectors_of(self, sentence_ids: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the given sentences (those present), so unchanged text is not re-embedded."""
        return {
            sid: self._vectors.reconstruct(_faiss_id(sid)) for sid in sentence_ids if sid in self.sentences
        }

    def sentence_matrix(self, sentence_ids: Sequence[str]) -> np.ndarray:
        """The vectors of these sentences as a ``(n, dim)`` array, in order."""
        if not sentence_ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors.reconstruct(_faiss_id(sid)) for sid in sentence_ids])

    @property
    def terms(self) -> dict[str, list[str]]:
        """Lexical terms by chunk id (read-only use)."""
        return self._terms

    def sentence_terms(self, sentence_id: str) -> list[str] | None:
        """The lexical terms of a sentence, as indexed (None for an index written before they were)."""
        return self._sentence_terms.get(sentence_id)

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        return [self.chunks[c] for c in self._doc_chunks.get(doc_id, [])]

    def doc_sentences(self, doc_id: str) -> list[Sentence]:
        return [self.sentences[s] for s in self._doc_sentences.get(doc_id, [])]

    def chunk_sentences(self, chunk_id: str) -> list[Sentence]:
        """The sentences overlapping a chunk, in document order (whole, even where the chunk cuts them)."""
        return [self.sentences[s] for s in self._chunk_sentences.get(chunk_id, [])]

    def copy(self) -> Store:
        import faiss

        other = Store(self.model_id, self.dim, dict(self.chunker))
        other.documents = dict(self.documents)
        other.chunks = dict(self.chunks)
        other.sentences = dict(self.sentences)
        other.built_at = self.built_at
        other._doc_chunks = {k: list(v) for k, v in self._doc_chunks.items()}
        other._doc_sentences = {k: list(v) for k, v in self._doc_sentences.items()}
        other._chunk_sentences = {k: list(v) for k, v in self._chunk_sentences.items()}
        other._sentence_chunks = {k: list(v) for k, v in self._sentence_chunks.items()}
        other._terms = dict(self._terms)
        other._sentence_terms = dict(self._sentence_terms)
        other._by_fid = dict(self._by_fid)
        other._vectors = faiss.clone_index(self._vectors)
        other._trained_on = self._trained_on
        return other

    # ----- vector layout -------------------------------------------------------------------------
    @property
    def vector_index(self) -> str:
        """``"flat"`` (exact search) or ``"ivf"`` (inverted file, approximate)."""
        return "ivf" if self._trained_on else "flat"

    def tune(self, ivf_min: int = IVF_MIN_VECTORS, like: Store | None = None) -> str:
        """Choose the vector index for the store's size, before a save; returns :attr:`vector_index`.

        Under ``ivf_min`` vectors search is exact. From ``ivf_min`` on the vectors go into an inverted
        file of about 4·√n lists, a quarter of them searched per question. Its lists are trained once
        (k-means, minutes at 500k vectors) and kept while the store is at most twice the size they
        were trained on: pass the previous store as ``like`` so that an update only removes and adds
        the vectors that changed. ``ivf_min <= 0`` keeps search exact at any size.
        """
        import faiss

        n = int(self._vectors.ntotal)
        if ivf_min <= 0 or n < ivf_min:
            if self._trained_on:
                ids, vectors = self._all_vectors()
                self._vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
                self._vectors.add_with_ids(vectors, ids)
                self._trained_on = 0
            return self.vector_index
        if self._trained_on and n <= 2 * self._trained_on:
            return self.vector_index
        base = like if like is not None and like.dim == self.dim and n <= 2 * like._trained_on else None
        if base is not None:
            # Start from the previous inverted file: drop what left, add what is new. Re-adding every
            # vector would assign each to its list again (seconds at 500k vectors, for one article).
            ivf: Any = faiss.clone_index(base._vectors)
            gone = np.array([f for f in base._by_fid if f not in self._by_fid], dtype=np.int64)
            if len(gone):
                ivf.remove_ids(gone)
            new = [f for f in self._by_fid if f not in base._by_fid]
            if new:
                ivf.add_with_ids(np.stack([self._vectors.reconstruct(f) for f in new]), np.array(new))
            self._vectors, self._trained_on = ivf, base._trained_on
            return self.vector_index
        ids, vectors = self._all_vectors()
        lists = max(1, min(round(4 * n**0.5), n // 39))  # faiss wants >= 39 points per list
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, lists, faiss.METRIC_INNER_PRODUCT)
        log.info("training an inverted file of %d lists on %d vectors", lists, n)
        ivf.train(vectors)
        # A hash map from sentence id to list entry, to reconstruct and remove vectors by id.
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        ivf.nprobe = math.ceil(lists * IVF_PROBED)
        ivf.add_with_ids(vectors, ids)
        self._vectors, self._trained_on = ivf, n
        return self.vector_index

    def _all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every stored vector with its FAISS id."""
        fids = np.array(list(self._by_fid), dtype=np.int64)
        if not len(fids):
            return fids, np.zeros((0, self.dim), dtype=np.float32)
        return fids, np.stack([self._vectors.reconstruct(int(f)) for f in fids.tolist()])

    # ----- search --------------------------------------------------------------------------------
    def search_dense(self, query: np.ndarray, n: int) -> list[tuple[str, float]]:
        """The (at most ``n``) chunks whose best sentence is nearest to a unit query vector, as
        (chunk id, cosine of that sentence), best first, among the chunks of the ``2n + 8`` nearest
        sentences."""
        if not self.sentences or n <= 0:
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        # Several sentences map to one chunk (and one sentence to two or more): look deeper. Twice
        # n sentences gave the same PIAF figures as four times n, for half the search and mapping.
        scores, ids = self._vectors.search(q, min(2 * n + 8, len(self.sentences)))
        found = ids[0] >= 0
        dense_map = self._dense()
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

    def _dense(self) -> _DenseMap:
        with self._lock:
            if self._dense_map is None:
                self._dense_map = _DenseMap.of(self._by_fid, self._sentence_chunks)
            return self._dense_map

    def search_lexical(
        self, terms: Sequence[str], n: int, document_weight: float = 0.0
    ) -> list[tuple[str, float]]:
        """The ``n`` best BM25 matches for the query terms, as (chunk id, score) best first.

        With ``document_weight`` w, a chunk scores ``bm25(chunk) + w * bm25(its whole document)``:
        the question's terms are often spread over a document and not all in the chunk that answers.
        """
        if not self.chunks or not terms or n <= 0:
            return []
        bm25, order = self._lexical()
        known = [t for t in terms if t in bm25.vocab_dict]
        if not known:
            return []
        scores = np.asarray(bm25.get_scores(known), dtype=np.float64)
        if document_weight:
            doc_bm25, chunk_doc = self._document_lexical()
            scores = scores + document_weight * np.asarray(doc_bm25.get_scores(known))[chunk_doc]
        n = min(n, len(order))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(order[i], float(scores[i])) for i in top.tolist() if scores[i] > 0]

    def _lexical(self) -> tuple[Any, list[str]]:
        with self._lock:
            if self._bm25 is None:
                order = list(self.chunks)
                bm25 = _bm25s().BM25()
                # bm25s cannot index an empty document; a chunk of only stop words gets a filler term
                bm25.index([self._terms[c] or ["\x00"] for c in order], show_progress=False)
                self._bm25, self._bm25_order = bm25, order
            return self._bm25, self._bm25_order

    def _document_lexical(self) -> tuple[Any, np.ndarray]:
        """BM25 over whole documents, and for each chunk (in the chunk index's order) the row of
        its document."""
        bm25, order = self._lexical()
        with self._lock:
            if self._doc_bm25 is None:
                # A document's terms are its chunks' terms in order (the overlaps count twice, as
                # measured): no re-tokenising, so this costs one BM25 build over the documents.
                docs = list(self.documents)
                row = {d: i for i, d in enumerate(docs)}
                terms = [[t for c in self._doc_chunks[d] for t in self._terms[c]] or ["\x00"] for d in docs]
                doc_bm25 = _bm25s().BM25()
                doc_bm25.index(terms, show_progress=False)
                chunk_doc = np.array([row[self.chunks[c].doc_id] for c in order], dtype=np.int64)
                self._doc_bm25, self._chunk_doc = doc_bm25, chunk_doc
            return self._doc_bm25, self._chunk_doc

    # ----- disk ----------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "embedder": {"model_id": self.model_id, "dim": self.dim},
            "chunker": self.chunker,
            "built_at": self.built_at,
            "counts": {
                "documents": len(self.documents),
                "chunks": len(self.chunks),
                "sentences": len(self.sentences),
            },
            "vectors": {
                "index": self.vector_index,
                "lists": int(self._vectors.nlist) if self._trained_on else 0,
                "trained_on": self._trained_on,
            },
            "documents": {d.id: d.content_hash for d in self.documents.values()},
        }

    def save(self, index_dir: str | Path) -> Path:
        """Write a new generation under ``index_dir`` and make it live atomically; returns its path."""
        import faiss

        root = Path(index_dir)
        root.mkdir(parents=True, exist_ok=True)
        self.built_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        tmp = root / f".tmp-{name}"
        try:
            tmp.mkdir()
            faiss.write_index(self._vectors, str(tmp / "vectors.faiss"))
            _write_jsonl(tmp / "documents.jsonl", (d.__dict__ for d in self.documents.values()))
            _write_jsonl(
                tmp / "chunks.jsonl",
                (
                    {
                        "id": c.id,
                        "doc_id": c.doc_id,
                        "start": c.start,
                        "end": c.end,
                        "terms": self._terms[c.id],
                    }
                    for c in self.chunks.values()
                ),
            )
            _write_jsonl(tmp / "sentences.jsonl", (self._sentence_row(s) for s in self.sentences.values()))
            if self.chunks:  # bm25s cannot build an index of nothing
                self._lexical()[0].save(str(tmp / "lexical"))
            _write_json(tmp / "manifest.json", self.manifest())
            _fsync_dir(tmp)
            os.rename(tmp, root / name)
            _write_json(root / "CURRENT.tmp", {"generation": name})
            os.replace(root / "CURRENT.tmp", root / "CURRENT")
            _fsync_dir(root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _prune(root, keep={name})
        log.info("saved index generation %s (%d chunks)", name, len(self.chunks))
        return root / name

    def _sentence_row(self, sentence: Sentence) -> dict[str, Any]:
        row = dict(sentence.__dict__)
        if sentence.id in self._sentence_terms:
            row["terms"] = self._sentence_terms[sentence.id]
        return row

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
        store = cls(model_id, dim, chunker)
        store.built_at = str(manifest.get("built_at", ""))
        store._read(gen)
        # Indexes written before the IVF switch have no "vectors" entry: they are flat.
        vectors = manifest.get("vectors") or {}
        store._trained_on = int(vectors.get("trained_on", 0)) if vectors.get("index") == "ivf" else 0
        return store

    def _read(self, gen: Path) -> None:
        import faiss

        vectors_path = gen / "vectors.faiss"
        try:
            self._vectors = faiss.read_index(str(vectors_path))
        except Exception as exc:  # faiss raises RuntimeError with C++ text for any bad file
            raise IndexCorruptError(f"cannot read {vectors_path} ({exc}): {REBUILD_HINT}") from exc
        for row in _read_jsonl(gen / "documents.jsonl"):
            doc = Document(**row)
            self.documents[doc.id] = doc
            self._doc_chunks[doc.id] = []
            self._doc_sentences[doc.id] = []
        try:
            for row in _read_jsonl(gen / "chunks.jsonl"):
                doc = self.documents[row["doc_id"]]
                chunk = Chunk(
                    row["id"], doc.id, row["start"], row["end"], doc.text[row["start"] : row["end"]]
                )
                self.chunks[chunk.id] = chunk
                self._terms[chunk.id] = list(row["terms"])
                self._chunk_sentences[chunk.id] = []
                self._doc_chunks[doc.id].append(chunk.id)
            for row in _read_jsonl(gen / "sentences.jsonl"):
                sentence = Sentence(row["id"], self.documents[row["doc_id"]].id, row["start"], row["end"])
                self.sentences[sentence.id] = sentence
                self._sentence_chunks[sentence.id] = []
                self._doc_sentences[sentence.doc_id].append(sentence.id)
                self._by_fid[_faiss_id(sentence.id)] = sentence.id
                if "terms" in row:
                    self._sentence_terms[sentence.id] = list(row["terms"])
        except (KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"{gen} has inconsistent chunk or sentence tables ({exc}): {REBUILD_HINT}"
            ) from exc
        for doc_id in self.documents:
            _link(
                self.doc_chunks(doc_id),
                self.doc_sentences(doc_id),
                self._chunk_sentences,
                self._sentence_chunks,
            )
        if self._vectors.ntotal != len(self.sentences) or self._vectors.d != self.dim:
            raise IndexCorruptError(
                f"{vectors_path} holds {self._vectors.ntotal} vectors of dim {self._vectors.d} for "
                f"{len(self.sentences)} sentences of dim {self.dim}: {REBUILD_HINT}"
            )
        if not self.chunks:
            return
        try:
            self._bm25 = _bm25s().BM25.load(str(gen / "lexical"))
            self._bm25_order = list(self.chunks)
        except Exception as exc:
            log.warning("lexical index in %s unreadable (%s); rebuilding it in memory", gen, exc)
            self._bm25 = None


@dataclass(frozen=True)
class _DenseMap:
    """For the FAISS ids in ascending order (``fids``), the chunks each sentence belongs to, as rows
    of indices into ``names`` padded with -1."""

    fids: np.ndarray
    chunks: np.ndarray
    names: list[str]

    @classmethod
    def of(cls, by_fid: dict[int, str], sentence_chunks: dict[str, list[str]]) -> _DenseMap:
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


def _bm25s() -> Any:
    """The bm25s module, told to keep quiet: it logs every index build at DEBUG with its own handler
    (`rag ask` printed "DEBUG bm25s: Building index from tokens" when building the document BM25)."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def _link(
    chunks: Sequence[Chunk],
    sentences: Sequence[Sentence],
    chunk_sentences: dict[str, list[str]],
    sentence_chunks: dict[str, list[str]],
) -> None:
    """Record which sentences overlap which chunks (both lists are in document order)."""
    first = 0
    for chunk in chunks:
        while first < len(sentences) and sentences[first].end <= chunk.start:
            first += 1
        i = first
        while i < len(sentences) and sentences[i].start < chunk.end:
            chunk_sentences[chunk.id].append(sentences[i].id)
            sentence_chunks[sentences[i].id].append(chunk.id)
            i += 1


def current_generation(index_dir: Path) -> Path:
    """The folder of the live generation, or :class:`IndexNotFoundError`."""
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        raise IndexNotFoundError(
            f"no index at {index_dir}: build it with `rag index --corpus seeds/ --index {index_dir}`"
        )
    try:
        name = json.loads(pointer.read_text(encoding="utf-8"))["generation"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"{pointer} is unreadable ({exc}): {REBUILD_HINT}") from exc
    gen = index_dir / str(name)
    if not gen.is_dir() or "/" in str(name):
        raise IndexCorruptError(f"{pointer} names a missing generation {name!r}: {REBUILD_HINT}")
    return gen


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The live generation's manifest, or an error naming the file."""
    path = current_generation(index_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path} is unreadable ({exc}): {REBUILD_HINT}") from exc
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"{path} is not a JSON object: {REBUILD_HINT}")
    return manifest


def _write_json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path} is unreadable ({exc}): {REBUILD_HINT}") from exc


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _prune(root: Path, keep: set[str]) -> None:
    """Delete older generations and leftovers of killed builds (older than a minute)."""
    now = time.time()
    for child in root.iterdir():
        if child.name in keep or not child.is_dir():
            continue
        stale = child.name.startswith(".tmp-") and now - child.stat().st_mtime > 60
        if child.name.startswith("gen-") or stale:
            shutil.rmtree(child, ignore_errors=True)
