"""The store's tables: documents, chunks and sentences, which overlap which, and their lexical terms.

Everything here is plain Python kept in step by :meth:`Tables.add` and :meth:`Tables.remove`; the
vectors (rag.store.dense) and BM25 (rag.store.lexical) are built from it.

>>> from rag.types import Chunk, Document, Sentence
>>> doc = Document("d", "T", "Un. Deux.", "h")
>>> tables = Tables()
>>> sentences = [Sentence("s1", "d", 0, 3), Sentence("s2", "d", 4, 9)]
>>> tables.add(doc, [Chunk("c", "d", 0, 9, "Un. Deux.")], sentences, [["un", "deux"]])
>>> [s.id for s in tables.chunk_sentences("c")]
['s1', 's2']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import IndexCorruptError
from ..types import Chunk, Document, Sentence
from .disk import REBUILD_HINT


class Tables:
    """Documents, chunks and sentences (all in document order), their links and lexical terms."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.chunks: dict[str, Chunk] = {}
        self.sentences: dict[str, Sentence] = {}
        self.doc_chunk_ids: dict[str, list[str]] = {}
        self.doc_sentence_ids: dict[str, list[str]] = {}
        self.chunk_sentence_ids: dict[str, list[str]] = {}
        self.sentence_chunk_ids: dict[str, list[str]] = {}
        self.chunk_terms: dict[str, list[str]] = {}
        self.sentence_terms: dict[str, list[str]] = {}  # absent in indexes written before they were

    def add(
        self,
        document: Document,
        chunks: Sequence[Chunk],
        sentences: Sequence[Sentence],
        terms: Sequence[list[str]],
        sentence_terms: Sequence[list[str]] | None = None,
    ) -> None:
        """Add a new document with its chunks (and their terms) and sentences."""
        self.documents[document.id] = document
        self.doc_chunk_ids[document.id] = [c.id for c in chunks]
        self.doc_sentence_ids[document.id] = [s.id for s in sentences]
        for chunk, chunk_terms in zip(chunks, terms, strict=True):
            self.chunks[chunk.id] = chunk
            self.chunk_terms[chunk.id] = list(chunk_terms)
            self.chunk_sentence_ids[chunk.id] = []
        for sentence in sentences:
            self.sentences[sentence.id] = sentence
            self.sentence_chunk_ids[sentence.id] = []
        if sentence_terms is not None:
            for sentence, s_terms in zip(sentences, sentence_terms, strict=True):
                self.sentence_terms[sentence.id] = list(s_terms)
        _link(chunks, sentences, self.chunk_sentence_ids, self.sentence_chunk_ids)

    def remove(self, doc_id: str) -> tuple[list[str], list[str]]:
        """Remove a document; returns the ids of its chunks and sentences."""
        chunk_ids = self.doc_chunk_ids.pop(doc_id)
        sentence_ids = self.doc_sentence_ids.pop(doc_id)
        del self.documents[doc_id]
        for cid in chunk_ids:
            self.chunks.pop(cid, None)
            self.chunk_terms.pop(cid, None)
            self.chunk_sentence_ids.pop(cid, None)
        for sid in sentence_ids:
            self.sentences.pop(sid, None)
            self.sentence_chunk_ids.pop(sid, None)
            self.sentence_terms.pop(sid, None)
        return chunk_ids, sentence_ids

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        return [self.chunks[c] for c in self.doc_chunk_ids.get(doc_id, [])]

    def doc_sentences(self, doc_id: str) -> list[Sentence]:
        return [self.sentences[s] for s in self.doc_sentence_ids.get(doc_id, [])]

    def doc_terms(self, doc_id: str) -> list[str]:
        """The lexical terms of a document: its chunks' terms (the title included), in order."""
        return [t for c in self.doc_chunk_ids.get(doc_id, []) for t in self.chunk_terms[c]]

    def chunk_sentences(self, chunk_id: str) -> list[Sentence]:
        """The sentences overlapping a chunk, in document order (whole, even where the chunk cuts them)."""
        return [self.sentences[s] for s in self.chunk_sentence_ids.get(chunk_id, [])]

    def copy(self) -> Tables:
        other = Tables()
        other.documents = dict(self.documents)
        other.chunks = dict(self.chunks)
        other.sentences = dict(self.sentences)
        for name in ("doc_chunk_ids", "doc_sentence_ids", "chunk_sentence_ids", "sentence_chunk_ids"):
            setattr(other, name, {k: list(v) for k, v in getattr(self, name).items()})
        other.chunk_terms = dict(self.chunk_terms)
        other.sentence_terms = dict(self.sentence_terms)
        return other

    # ----- rows on disk ---------------------------------------------------------------------------
    def document_rows(self) -> list[dict[str, Any]]:
        return [dict(d.__dict__) for d in self.documents.values()]

    def chunk_rows(self) -> list[dict[str, Any]]:
        return [
            {"id": c.id, "doc_id": c.doc_id, "start": c.start, "end": c.end, "terms": self.chunk_terms[c.id]}
            for c in self.chunks.values()
        ]

    def sentence_rows(self) -> list[dict[str, Any]]:
        rows = []
        for sentence in self.sentences.values():
            row = dict(sentence.__dict__)
            if sentence.id in self.sentence_terms:
                row["terms"] = self.sentence_terms[sentence.id]
            rows.append(row)
        return rows

    @classmethod
    def from_rows(
        cls,
        documents: Sequence[dict[str, Any]],
        chunks: Sequence[dict[str, Any]],
        sentences: Sequence[dict[str, Any]],
        where: str,
    ) -> Tables:
        """Tables read back from their rows; ``where`` names the generation in error messages."""
        tables = cls()
        try:
            for row in documents:
                doc = Document(**row)
                tables.documents[doc.id] = doc
                tables.doc_chunk_ids[doc.id] = []
                tables.doc_sentence_ids[doc.id] = []
            for row in chunks:
                doc = tables.documents[row["doc_id"]]
                chunk = Chunk(
                    row["id"], doc.id, row["start"], row["end"], doc.text[row["start"] : row["end"]]
                )
                tables.chunks[chunk.id] = chunk
                tables.chunk_terms[chunk.id] = list(row["terms"])
                tables.chunk_sentence_ids[chunk.id] = []
                tables.doc_chunk_ids[doc.id].append(chunk.id)
            for row in sentences:
                sentence = Sentence(row["id"], tables.documents[row["doc_id"]].id, row["start"], row["end"])
                tables.sentences[sentence.id] = sentence
                tables.sentence_chunk_ids[sentence.id] = []
                tables.doc_sentence_ids[sentence.doc_id].append(sentence.id)
                if "terms" in row:
                    tables.sentence_terms[sentence.id] = list(row["terms"])
        except (KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"{where} has inconsistent chunk or sentence tables ({exc}): {REBUILD_HINT}"
            ) from exc
        for doc_id in tables.documents:
            _link(
                tables.doc_chunks(doc_id),
                tables.doc_sentences(doc_id),
                tables.chunk_sentence_ids,
                tables.sentence_chunk_ids,
            )
        return tables


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
