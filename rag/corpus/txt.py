"""``.txt``: plain text; the title is the first line."""

from __future__ import annotations

from ..types import Document
from .documents import make_document


def load(text: str, name: str) -> list[Document]:
    return [make_document(name, text, source=name)]
