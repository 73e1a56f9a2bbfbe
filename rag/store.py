"""The index store: FAISS vectors + chunk table + BM25 lexical index + manifest, on disk.

The only module that knows the FAISS and bm25s file formats. On disk an index is a folder::

    index/
      CURRENT             name of the live generation, replaced atomically
      gen-…/              one complete, immutable build
        manifest.json     format version, embedder id and dim, chunker settings, document hashes, time
        vectors.faiss     IndexIDMap2(IndexFlatIP): inner product on unit vectors = cosine
        documents.jsonl   the documents (original text: citation offsets point into it)
        chunks.jsonl      chunk id, document, offsets, FAISS id, lexical terms
        lexical/          the bm25s index (numpy arrays + json, no pickle)

A save writes a new generation beside the old one and then swaps ``CURRENT``; a build that fails or is
killed leaves the previous generation live and intact. Nothing here uses pickle.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from .types import Chunk, Document

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
REBUILD_HINT = "rebuild it with `rag index --rebuild`"


def _faiss_id(chunk_id: str) -> int:
    # Chunk ids are hex digests: 60 bits of them make a positive int64 id FAISS can remove by.
    return int(chunk_id[:15], 16)


class Store:
    """Vectors, chunks and lexical terms for a set of documents, searchable and savable.

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
        self.built_at = ""
        self._doc_chunks: dict[str, list[str]] = {}
        self._terms: dict[str, list[str]] = {}
        self._by_fid: dict[int, str] = {}
        self._vectors: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._bm25: Any = None
        self._bm25_order: list[str] = []
        self._lock = threading.Lock()

    # ----- changes -------------------------------------------------------------------------------
    def add(
        self, document: Document, chunks: Sequence[Chunk], vectors: np.ndarray, terms: Sequence[list[str]]
    ) -> None:
        """Add (or replace) a document with its chunks, their unit vectors and lexical terms."""
        if document.id in self.documents:
            self.remove(document.id)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(chunks), self.dim)
        ids = np.array([_faiss_id(c.id) for c in chunks], dtype=np.int64)
        clash = [self._by_fid[i] for i in ids.tolist() if i in self._by_fid]
        if clash or len(set(ids.tolist())) != len(ids):
            raise ValueError(f"chunk id collision in document {document.id!r}: {clash}")
        self.documents[document.id] = document
        self._doc_chunks[document.id] = [c.id for c in chunks]
        for chunk, fid, chunk_terms in zip(chunks, ids.tolist(), terms, strict=True):
            self.chunks[chunk.id] = chunk
            self._terms[chunk.id] = list(chunk_terms)
            self._by_fid[fid] = chunk.id
        if len(chunks):
            self._vectors.add_with_ids(vectors, ids)
        self._bm25 = None

    def remove(self, doc_id: str) -> int:
        """Remove a document from the vectors and the lexical index together; returns chunks removed."""
        if doc_id not in self.documents:
            return 0
        chunk_ids = self._doc_chunks.pop(doc_id)
        del self.documents[doc_id]
        fids = np.array([_faiss_id(c) for c in chunk_ids], dtype=np.int64)
        if len(fids):
            self._vectors.remove_ids(fids)
        for cid, fid in zip(chunk_ids, fids.tolist(), strict=True):
            self.chunks.pop(cid, None)
            self._terms.pop(cid, None)
            self._by_fid.pop(fid, None)
        self._bm25 = None
        return len(chunk_ids)

    def vectors_of(self, chunk_ids: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the given chunks (those present), so unchanged text is not re-embedded."""
        out: dict[str, np.ndarray] = {}
        for cid in chunk_ids:
            if cid in self.chunks:
                out[cid] = self._vectors.reconstruct(_faiss_id(cid))
        return out

    @property
    def terms(self) -> dict[str, list[str]]:
        """Lexical terms by chunk id (read-only use)."""
        return self._terms

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        return [self.chunks[c] for c in self._doc_chunks.get(doc_id, [])]

    def copy(self) -> Store:
        import faiss

        other = Store(self.model_id, self.dim, dict(self.chunker))
        other.documents = dict(self.documents)
        other.chunks = dict(self.chunks)
        other.built_at = self.built_at
        other._doc_chunks = {k: list(v) for k, v in self._doc_chunks.items()}
        other._terms = dict(self._terms)
        other._by_fid = dict(self._by_fid)
        other._vectors = faiss.clone_index(self._vectors)
        return other

    # ----- search --------------------------------------------------------------------------------
    def search_dense(self, query: np.ndarray, n: int) -> list[tuple[str, float]]:
        """The ``n`` chunks nearest to a unit query vector, as (chunk id, cosine) best first."""
        if not self.chunks or n <= 0:
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        scores, ids = self._vectors.search(q, min(n, len(self.chunks)))
        return [(self._by_fid[int(i)], float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]

    def search_lexical(self, terms: Sequence[str], n: int) -> list[tuple[str, float]]:
        """The ``n`` best BM25 matches for the query terms, as (chunk id, score) best first."""
        if not self.chunks or not terms or n <= 0:
            return []
        bm25, order = self._lexical()
        known = [t for t in terms if t in bm25.vocab_dict]
        if not known:
            return []
        scores = np.asarray(bm25.get_scores(known))
        n = min(n, len(order))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(order[i], float(scores[i])) for i in top.tolist() if scores[i] > 0]

    def _lexical(self) -> tuple[Any, list[str]]:
        with self._lock:
            if self._bm25 is None:
                import bm25s

                logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
                order = list(self.chunks)
                bm25 = bm25s.BM25()
                # bm25s cannot index an empty document; a chunk of only stop words gets a filler term
                bm25.index([self._terms[c] or ["\x00"] for c in order], show_progress=False)
                self._bm25, self._bm25_order = bm25, order
            return self._bm25, self._bm25_order

    # ----- disk ----------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "embedder": {"model_id": self.model_id, "dim": self.dim},
            "chunker": self.chunker,
            "built_at": self.built_at,
            "counts": {"documents": len(self.documents), "chunks": len(self.chunks)},
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
        for row in _read_jsonl(gen / "chunks.jsonl"):
            try:
                doc = self.documents[row["doc_id"]]
                chunk = Chunk(
                    row["id"], doc.id, row["start"], row["end"], doc.text[row["start"] : row["end"]]
                )
            except (KeyError, TypeError) as exc:
                raise IndexCorruptError(
                    f"{gen / 'chunks.jsonl'} is inconsistent ({exc}): {REBUILD_HINT}"
                ) from exc
            self.chunks[chunk.id] = chunk
            self._terms[chunk.id] = list(row["terms"])
            self._doc_chunks[doc.id].append(chunk.id)
            self._by_fid[_faiss_id(chunk.id)] = chunk.id
        if self._vectors.ntotal != len(self.chunks) or self._vectors.d != self.dim:
            raise IndexCorruptError(
                f"{vectors_path} holds {self._vectors.ntotal} vectors of dim {self._vectors.d} for "
                f"{len(self.chunks)} chunks of dim {self.dim}: {REBUILD_HINT}"
            )
        if not self.chunks:
            return
        try:
            import bm25s

            self._bm25 = bm25s.BM25.load(str(gen / "lexical"))
            self._bm25_order = list(self.chunks)
        except Exception as exc:
            log.warning("lexical index in %s unreadable (%s); rebuilding it in memory", gen, exc)
            self._bm25 = None


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
