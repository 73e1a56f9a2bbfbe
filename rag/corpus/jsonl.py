"""``.jsonl``: one article a line, a JSON object with ``text`` and optionally ``id``, ``title``,
``date``, ``source``, ``url``. A line without an article is skipped with a warning.

>>> [d.id for d in load('{"id": "x", "text": "Un."}\\n{"text": "Deux."}', "a.jsonl")]
['x', 'a.jsonl#2']
"""

from __future__ import annotations

import json
import logging

from ..errors import CorpusError
from ..types import Document
from .documents import make_document

log = logging.getLogger(__name__)


def load(text: str, name: str) -> list[Document]:
    docs: list[Document] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            body = row["text"]
            if not isinstance(row, dict) or not isinstance(body, str):
                raise TypeError("'text' must be a string")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning(
                "skipping %s line %d: not an article object with a 'text' field (%s)", name, lineno, exc
            )
            continue
        if not body.strip():
            log.warning("skipping %s line %d: empty text", name, lineno)
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
            )
        )
    if not docs:
        raise CorpusError(f"{name}: no article lines (each line needs a JSON object with 'text')")
    return docs
