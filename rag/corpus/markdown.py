"""``.md`` / ``.markdown``: Markdown with optional front matter (``title``, ``date``, ``source``, ``url``).

>>> [(d.title, d.date) for d in load("---\\ntitle: Météo\\ndate: 2026-11-20\\n---\\nIl pleut.", "m.md")]
[('Météo', '2026-11-20')]
"""

from __future__ import annotations

import re

from ..errors import CorpusError
from ..types import Document
from .documents import make_document

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def load(text: str, name: str) -> list[Document]:
    meta: dict[str, str] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        for line in match.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep:
                meta[key.strip().lower()] = value.strip().strip("\"'")
        text = text[match.end() :]
    if not text.strip():
        raise CorpusError(f"{name}: no text after the front matter")
    document = make_document(
        name,
        text,
        title=meta.get("title", ""),
        date=meta.get("date", ""),
        source=meta.get("source", "") or name,
        url=meta.get("url", ""),
        date_from="front matter",
    )
    return [document]
