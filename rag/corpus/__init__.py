"""The corpus: files in a folder -> :class:`~rag.types.Document` records.

- ``folder``: reading a folder or one file, checking it, safe file names for uploads;
- ``formats``: the registry of file types, one module each (``txt``, ``markdown``, ``webpage``,
  ``jsonl``);
- ``documents``: making a Document (title fallback, content hash).
"""

from .documents import content_hash, make_document
from .folder import LoadResult, Skipped, load_corpus, load_file, read_text, safe_name
from .formats import FORMATS, suffixes

__all__ = [
    "FORMATS",
    "LoadResult",
    "Skipped",
    "content_hash",
    "load_corpus",
    "load_file",
    "make_document",
    "read_text",
    "safe_name",
    "suffixes",
]
