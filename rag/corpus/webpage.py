"""``.html`` / ``.htm``: a saved web page; trafilatura extracts the article text and its metadata."""

from __future__ import annotations

from ..errors import CorpusError
from ..types import Document
from .documents import make_document


def load(html: str, name: str) -> list[Document]:
    import trafilatura

    text = trafilatura.extract(html, include_comments=False, include_tables=False, favor_recall=True)
    if not text or not text.strip():
        raise CorpusError(f"{name}: no article text found in the HTML")
    meta = trafilatura.extract_metadata(html)
    title = (meta.title if meta and meta.title else "") or ""
    date = (meta.date if meta and meta.date else "") or ""
    url = (meta.url if meta and meta.url else "") or ""
    return [make_document(name, text, title=title, date=date, source=name, url=url, date_from="html")]
