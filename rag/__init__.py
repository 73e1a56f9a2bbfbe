"""rag: cited question answering over a small corpus of French news articles.

>>> # from rag import ask
>>> # ask("Quel est l'enjeu pour Washington ?").text
>>> # 'Pour Washington, l’enjeu est avant tout stratégique. [1]'

For many questions, open the index once: ``engine = Engine.open("index")`` then ``engine.ask(…)``.
"""

from __future__ import annotations

from pathlib import Path

from .config import Settings
from .engine import DocumentInfo, Engine, IndexInfo
from .errors import RagError
from .indexing import IndexReport, Progress, update_index
from .types import Answer, Citation, Document, Hit

__version__ = "0.1.0"
__all__ = [
    "Answer",
    "Citation",
    "Document",
    "DocumentInfo",
    "Engine",
    "Hit",
    "IndexInfo",
    "IndexReport",
    "Progress",
    "RagError",
    "Settings",
    "ask",
    "update_index",
]


def ask(
    question: str, index_dir: str | Path | None = None, k: int | None = None, model: str | None = None
) -> Answer:
    """Answer one question from the index at ``index_dir`` (default ``RAG_INDEX`` or ``index/``).

    Each call opens the index and loads the model; to ask many questions keep an :class:`Engine`.
    """
    return Engine.open(index_dir, model=model).ask(question, k=k)
