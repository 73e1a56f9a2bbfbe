"""Making :class:`~rag.types.Document` records: the title fallback and the content hash.

>>> doc = make_document("a.txt", "Titre\\nCorps.")
>>> (doc.title, len(doc.content_hash))
('Titre', 32)
"""

from __future__ import annotations

import hashlib
import json

from ..types import Document
from .dates import publication_date

MAX_TITLE_CHARS = 120  # a first line used as the title is cut at a word beyond this


def content_hash(text: str, title: str = "", date: str = "", source: str = "", url: str = "") -> str:
    """Hash of everything indexed about a document: a change in any of it means re-indexing."""
    payload = json.dumps([title, date, source, url, text], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def make_document(
    id: str,
    text: str,
    title: str = "",
    date: str = "",
    source: str = "",
    url: str = "",
    date_from: str = "metadata",
) -> Document:
    """A Document with its title falling back to the first line, its date normalised (the
    metadata's ``date``, named ``date_from``, else a dateline: :func:`~rag.corpus.dates.publication_date`)
    and its content hash filled in.

    >>> make_document("a.txt", "PARIS, 12 juillet 2020 (AFP) - Un texte.").date
    '2020-07-12'
    """
    title = " ".join(title.split()) or first_line(text)
    date, date_source = publication_date(date, text, date_from)
    return Document(
        id=id,
        title=title,
        text=text,
        content_hash=content_hash(text, title, date, source, url),
        date=date,
        source=source,
        url=url,
        date_source=date_source,
    )


def first_line(text: str) -> str:
    """The first non-empty line, without Markdown heading marks, shortened at a word if long."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            if len(line) <= MAX_TITLE_CHARS:
                return line
            return line[: MAX_TITLE_CHARS - 3].rsplit(" ", 1)[0] + "…"
    return ""
