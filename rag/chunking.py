"""Documents -> :class:`~rag.types.Chunk` and :class:`~rag.types.Sentence` records with exact offsets.

Chunks (a few sentences) are what BM25 indexes and what a hit shows; sentences are what is embedded
and what an answer quotes. A chunk's dense score is its best sentence's.

Splitting is langchain-text-splitters' recursive splitter with French-friendly separators
(paragraph, line, sentence, clause, word). Offsets are recovered by locating each chunk in the
document, so ``document.text[chunk.start:chunk.end] == chunk.text`` holds for every chunk.

>>> from rag.corpus import make_document
>>> doc = make_document("d", "Une phrase. " * 60)
>>> chunks = Chunker(size=200, overlap=40).split(doc)
>>> all(doc.text[c.start:c.end] == c.text for c in chunks)
True
"""

from __future__ import annotations

import hashlib
from typing import Any

from .text import sentence_spans
from .types import Chunk, Document, Sentence

CHUNKER_VERSION = 2
MIN_CHUNK_SIZE = 50  # characters; smaller chunks would hold less than a sentence
MAX_SENTENCE_CHARS = 600  # longer "sentences" (lists, run-ons) are cut at a clause or word
# Regexes, tried in order: paragraph, line, sentence end, clause, word. The separator stays at the
# end of the piece it closes (keep_separator="end") so pieces concatenate back to the exact text.
SEPARATORS = [
    r"\n\s*\n",
    r"\n",
    r"(?<=[.!?…])\s+",
    r"(?<=[;:])\s+",
    r"(?<=,)\s+",
    r"\s+",
    "",
]


def span_id(doc_id: str, title: str, text: str, occurrence: int) -> str:
    """The stable id of a chunk or a sentence, from its document's id and title and its own text
    (the ``occurrence``-th time that text appears in the document): unchanged text keeps its id.

    The title is part of it because it is embedded with the text (see ``indexing.with_title``).

    >>> span_id("a.txt", "Titre", "Une phrase.", 0)
    '18c76a46a7a70e271683f010'
    """
    digest = hashlib.sha256(f"{doc_id}\x00{title}\x00{occurrence}\x00{text}".encode()).hexdigest()
    return digest[:24]


class Chunker:
    """Splits documents into overlapping chunks of about ``size`` characters."""

    def __init__(self, size: int = 500, overlap: int = 100) -> None:
        if size < MIN_CHUNK_SIZE:
            raise ValueError(f"chunk size {size} is too small: use at least {MIN_CHUNK_SIZE} characters")
        if not 0 <= overlap < size:
            raise ValueError(f"chunk overlap {overlap} must be between 0 and the chunk size {size}")
        self.size = size
        self.overlap = overlap
        self._splitter: Any = None

    def settings(self) -> dict[str, Any]:
        """What the index manifest records: a change means chunks must be rebuilt."""
        return {
            "splitter": "langchain RecursiveCharacterTextSplitter",
            "version": CHUNKER_VERSION,
            "size": self.size,
            "overlap": self.overlap,
            "separators": SEPARATORS,
            "max_sentence_chars": MAX_SENTENCE_CHARS,
        }

    def _get_splitter(self) -> Any:
        if self._splitter is None:
            from langchain_text_splitters import RecursiveCharacterTextSplitter

            self._splitter = RecursiveCharacterTextSplitter(
                chunk_size=self.size,
                chunk_overlap=self.overlap,
                separators=SEPARATORS,
                is_separator_regex=True,
                keep_separator="end",
                strip_whitespace=True,
            )
        return self._splitter

    def split(self, doc: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        seen: dict[str, int] = {}
        cursor = 0
        for piece in self._get_splitter().split_text(doc.text):
            if not piece.strip():
                continue
            start = doc.text.find(piece, cursor)
            if start < 0:  # never expected: pieces are substrings by construction
                raise AssertionError(f"chunk not found in document {doc.id!r} at or after {cursor}")
            end = start + len(piece)
            occurrence = seen.get(piece, 0)
            seen[piece] = occurrence + 1
            chunks.append(Chunk(span_id(doc.id, doc.title, piece, occurrence), doc.id, start, end, piece))
            cursor = start + 1
        return chunks

    def sentences(self, doc: Document) -> list[Sentence]:
        """The document's sentences, each at most ``MAX_SENTENCE_CHARS`` long, with stable ids."""
        out: list[Sentence] = []
        seen: dict[str, int] = {}
        for start, end in sentence_spans(doc.text):
            for s, e in _bounded(doc.text, start, end, MAX_SENTENCE_CHARS):
                text = doc.text[s:e]
                occurrence = seen.get(text, 0)
                seen[text] = occurrence + 1
                out.append(Sentence(span_id(doc.id, doc.title, text, occurrence), doc.id, s, e))
        return out


_CUTS = ("; ", ": ", ", ", " ")


def _bounded(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Split [start, end) into pieces of at most ``limit`` characters at the best boundary."""
    pieces = []
    while end - start > limit:
        window = text[start : start + limit]
        cut = next((window.rfind(sep) + len(sep) for sep in _CUTS if window.rfind(sep) > limit // 3), limit)
        piece_end = start + cut
        stripped = piece_end
        while stripped > start and text[stripped - 1].isspace():
            stripped -= 1
        pieces.append((start, stripped))
        start = piece_end
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces
