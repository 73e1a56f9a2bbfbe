"""rag: cited question answering over a corpus of French news articles.

>>> import tempfile, pathlib
>>> corpus = pathlib.Path(tempfile.mkdtemp())
>>> _ = (corpus / "sommet.txt").write_text("Le sommet\\nPour Washington, l’enjeu est avant tout stratégique.")
>>> report = update_index(corpus, corpus / "index", load_embedder("hash"))
>>> answer = ask("Quel est l'enjeu pour Washington ?", corpus / "index")
>>> answer.text
'Pour Washington, l’enjeu est avant tout stratégique. [1]'
>>> engine = Engine.open(corpus / "index")            # the model that built the index is used
>>> c = answer.citations[0]
>>> engine.document(c.doc_id).text[c.start : c.end] == c.quote
True

For many questions, open the index once: ``engine = Engine.open("index")``, then ``engine.ask(…)``.

The public names are those of ``__all__`` below. The documented extension points are
:mod:`rag.embedders` (the :class:`Embedder` interface and the model and backend registry),
:mod:`rag.corpus.formats` (the corpus file types) and :mod:`rag.composer` (the ``Composer``
interface); :mod:`rag.evaluation` is the library behind ``rag eval``. Every other module is internal:
its names may change without notice.
"""

from pathlib import Path as _Path
from typing import Any as _Any

from .config import Settings
from .corpus import Skipped
from .corpus.changes import FileResult, TrashEntry
from .embedders.base import Embedder
from .engine import DocumentInfo, Engine, IndexInfo
from .engine import embedder_for as _embedder_for
from .errors import (
    CorpusError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    ModelError,
    QuestionError,
    RagError,
    SettingsError,
)
from .indexing import CorpusChange, IndexReport, update_index
from .types import Answer, Chunk, Citation, Document, Hit, Progress, Sentence

__version__ = "0.1.0"
__all__ = [
    "Answer",
    "Chunk",
    "Citation",
    "CorpusChange",
    "CorpusError",
    "Document",
    "DocumentInfo",
    "Embedder",
    "Engine",
    "FileResult",
    "Hit",
    "IndexCorruptError",
    "IndexInfo",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexReport",
    "ModelError",
    "Progress",
    "QuestionError",
    "RagError",
    "Sentence",
    "Settings",
    "SettingsError",
    "Skipped",
    "TrashEntry",
    "ask",
    "load_embedder",
    "update_index",
]


def ask(
    question: str, index_dir: str | _Path | None = None, k: int | None = None, model: str | None = None
) -> Answer:
    """Answer one question from the index at ``index_dir`` (default ``RAG_INDEX`` or ``index/``).

    Each call opens the index and loads the model; to ask many questions keep an :class:`Engine`.
    """
    return Engine.open(index_dir, model=model).ask(question, k=k)


def load_embedder(model: str | None = None, **settings: _Any) -> Embedder:
    """The embedder for ``model`` (a registry name such as ``multilingual-e5-small``, ``hash``, or a
    sentence-transformers folder; default: ``RAG_MODEL``, else the model of the index at
    ``index_dir``, else multilingual-e5-small), with the other :class:`Settings` (``backend``,
    ``cache_dir``, ``index_dir``) from keywords, the environment or the defaults. Give it to
    :func:`update_index`; nothing loads until the first text is embedded."""
    return _embedder_for(Settings.resolve(model=model, **settings))
