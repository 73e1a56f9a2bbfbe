"""``.jsonl``: one article a line, a JSON object with ``text`` and optionally ``id``, ``title``,
``date``, ``source``, ``url``. A line without an article is skipped and said so: :func:`parse`
returns the reason for each, and the corpus reader reports them beside the files it skipped.

>>> [d.id for d in load('{"id": "x", "text": "Un."}\\n{"text": "Deux."}', "a.jsonl")]
['x', 'a.jsonl#2']
>>> parse('{"text": "Un."}\\n{"titre": "Deux"}', "a.jsonl")[1]
["line 2: not an article object with a 'text' field (KeyError 'text')"]
"""

from __future__ import annotations

import json
import logging

from ..errors import CorpusError
from ..types import Document
from .documents import make_document

log = logging.getLogger(__name__)


def load(text: str, name: str) -> list[Document]:
    documents, skipped = parse(text, name)
    for line in skipped:
        log.warning("skipping %s %s", name, line)
    return documents


def parse(text: str, name: str) -> tuple[list[Document], list[str]]:
    """The file's documents, and a message for each line skipped (``"line <n>: <why>"``).
    A file without a single article is a :class:`CorpusError`."""
    docs: list[Document] = []
    skipped: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise TypeError("a JSON object is needed")
            body = row["text"]
            if not isinstance(body, str):
                raise TypeError("'text' must be a string")
        except (ValueError, KeyError, TypeError) as exc:
            why = f"{type(exc).__name__} {exc}" if isinstance(exc, KeyError) else str(exc)
            skipped.append(f"line {lineno}: not an article object with a 'text' field ({why})")
            continue
        if not body.strip():
            skipped.append(f"line {lineno}: empty text")
            continue
        doc_id = str(row.get("id") or f"{name}#{lineno}")
        docs.append(
            make_document(
                doc_id,
                body,
                title=str(row.get("title") or ""),
                date=str(row.get("date") or ""),
                source=str(row.get("source") or name),
                url=str(row.get("url") or ""),
                date_from="jsonl",
            )
        )
    if not docs:
        raise CorpusError(f"{name}: no article lines (each line needs a JSON object with 'text')")
    return docs, skipped
