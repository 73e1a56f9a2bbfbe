"""The corpus formats: a file suffix -> the function reading such a file's text into documents.

A loader is ``load(text, name) -> list[Document]``: ``text`` is the file's UTF-8 text (already
checked: not binary, not empty), ``name`` its path inside the corpus folder, which is the document
id (or its prefix, for files holding several articles). Bad content is a
:class:`~rag.errors.CorpusError` naming the file. Adding a format is one module beside this one and
one line below (``CONTRIBUTING.md`` walks through one). A format holding several articles a file
may also register a parser in :data:`PARSERS` that says which parts it skipped and why (``jsonl``'s
bad lines), so that the reader of the folder and the upload form can report them.

>>> sorted(FORMATS)
['.htm', '.html', '.jsonl', '.markdown', '.md', '.txt']
"""

from __future__ import annotations

from collections.abc import Callable

from ..types import Document
from . import jsonl, markdown, txt, webpage

Loader = Callable[[str, str], list[Document]]
# (text, name) -> (documents, one "line <n>: <why>" message for each part of the file skipped)
Parser = Callable[[str, str], tuple[list[Document], list[str]]]

FORMATS: dict[str, Loader] = {
    ".txt": txt.load,
    ".md": markdown.load,
    ".markdown": markdown.load,
    ".html": webpage.load,
    ".htm": webpage.load,
    ".jsonl": jsonl.load,
}

PARSERS: dict[str, Parser] = {".jsonl": jsonl.parse}


def suffixes() -> tuple[str, ...]:
    """The file types a corpus may hold, as listed in messages and in the upload form."""
    return tuple(FORMATS)
