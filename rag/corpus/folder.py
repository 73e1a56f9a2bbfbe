"""A corpus folder -> :class:`~rag.types.Document` records, one reader per file type
(:mod:`rag.corpus.formats`).

A file that is binary, not UTF-8, empty or unreadable is skipped with a warning naming it; the
others are still loaded. A document id is stable: the file's path inside the corpus folder, or the
id a multi-article file gives it.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a.txt").write_text("Titre\\nCorps.")
>>> [(doc.id, doc.title) for doc in load_corpus(d).documents]
[('a.txt', 'Titre')]
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CorpusError
from ..types import Document
from .formats import FORMATS, PARSERS, suffixes

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_NAME_CHARS = 80  # of a file name's stem, once made safe


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class LoadResult:
    """The documents read, the files (or lines) skipped, and the file each document came from."""

    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...]
    files: Mapping[str, str] = field(default_factory=dict)  # document id -> path in the folder


def load_corpus(corpus_dir: str | Path) -> LoadResult:
    """Every readable document under ``corpus_dir`` (recursively), in a stable order.

    Raises :class:`CorpusError` when the folder does not exist; an empty folder gives no documents.
    """
    root = Path(corpus_dir)
    if not root.is_dir():
        raise CorpusError(
            f"corpus folder {str(root)!r} does not exist: create it and put articles in it "
            f"({', '.join(suffixes())}), or pass --corpus"
        )
    documents: list[Document] = []
    skipped: list[Skipped] = []
    seen: dict[str, str] = {}
    for path, rel in _files(root):
        if path.suffix.lower() not in FORMATS:
            skipped.append(Skipped(rel, f"unsupported file type {path.suffix or '(none)'}"))
            log.warning("skipping %s: unsupported file type (use %s)", rel, ", ".join(suffixes()))
            continue
        try:
            docs, notes = parse_file(path, rel)
        except CorpusError as exc:
            skipped.append(Skipped(rel, str(exc)))
            log.warning("skipping %s", exc)
            continue
        skipped.extend(Skipped(rel, note) for note in notes)
        for doc in docs:
            if doc.id in seen:
                skipped.append(Skipped(rel, f"duplicate document id {doc.id!r} (first in {seen[doc.id]})"))
                log.warning("skipping %s: duplicate document id %r", rel, doc.id)
                continue
            seen[doc.id] = rel
            documents.append(doc)
    return LoadResult(tuple(documents), tuple(skipped), seen)


def _files(root: Path) -> list[tuple[Path, str]]:
    """The folder's files and their paths inside it, sorted; hidden ones (and the trash of
    :mod:`rag.corpus.changes`) left out."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        parts = path.relative_to(root).parts
        if not any(part.startswith(".") for part in parts):
            found.append((path, "/".join(parts)))
    return found


def unindexed_changes(
    corpus_dir: str | Path, read_at: float, seen: Collection[str], indexed: Collection[str]
) -> tuple[str, ...]:
    """The corpus files an index does not reflect yet: those changed since its build read the
    corpus (``read_at``), new ones (not among the files it ``seen``), and its documents' files that
    are gone (``indexed``). Sorted paths inside the folder; other file types are left out."""
    root = Path(corpus_dir)
    if not root.is_dir():
        return tuple(sorted(indexed))
    present: dict[str, float] = {}
    for path, rel in _files(root):
        if path.suffix.lower() in FORMATS:
            try:
                present[rel] = path.stat().st_mtime
            except OSError:
                continue
    seen = set(seen)
    changed = {rel for rel, mtime in present.items() if rel not in seen or mtime > read_at}
    return tuple(sorted(changed | (set(indexed) - set(present))))


def read_text(path: Path, name: str) -> str:
    """The file's text, or a :class:`CorpusError` saying why it cannot be used."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CorpusError(f"{name}: file is {size} bytes, over the {MAX_FILE_BYTES} byte limit")
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{name}: looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{name}: not UTF-8 (bad byte at offset {exc.start}); convert it, e.g. `iconv -f latin1 -t utf-8`"
        ) from exc
    if not text.strip():
        raise CorpusError(f"{name}: the file is empty")
    return text


def load_file(path: Path, name: str | None = None) -> list[Document]:
    """The documents of one file (several for ``.jsonl``). ``name`` is its id inside the corpus."""
    return parse_file(path, name)[0]


def parse_file(path: Path, name: str | None = None) -> tuple[list[Document], list[str]]:
    """The documents of one file and what was skipped inside it (``"line 3: empty text"``), or a
    :class:`CorpusError` when none of it can be used."""
    name = name or path.name
    suffix = Path(name).suffix.lower()  # the name decides: uploads arrive as temporary files
    loader = FORMATS.get(suffix)
    if loader is None:
        raise CorpusError(f"{name}: unsupported file type {suffix!r} (use {', '.join(suffixes())})")
    text = read_text(path, name)
    parser = PARSERS.get(suffix)
    if parser is not None:
        return parser(text, name)
    return loader(text, name), []


def safe_name(name: str) -> str:
    """A plain file name for the corpus folder; paths, hidden names and other types are refused.

    >>> safe_name("Mon article (2).txt")
    'Mon_article_2.txt'
    """
    raw = str(name)
    if "/" in raw or "\\" in raw or raw.startswith(".") or ".." in raw:
        raise CorpusError(f"file name {raw!r} is not allowed: use a plain name without folders")
    stem, dot, suffix = raw.rpartition(".")
    if not dot or f".{suffix.lower()}" not in FORMATS:
        raise CorpusError(f"{raw!r}: unsupported file type (use {', '.join(suffixes())})")
    clean = re.sub(r"[^\w\-]+", "_", stem, flags=re.UNICODE).strip("_")[:MAX_NAME_CHARS] or "article"
    return f"{clean}.{suffix.lower()}"
