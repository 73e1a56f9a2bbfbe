"""Corpus folder -> :class:`~rag.types.Document` records.

Accepted files: ``.txt``; ``.md`` with optional front matter (``title``, ``date``, ``source``,
``url``); ``.html``/``.htm`` (main text extracted with trafilatura); ``.jsonl`` (one article per
line with ``id``, ``title``, ``date``, ``text``, ``source``). A file that is binary, not UTF-8,
empty or unreadable is skipped with a warning naming it; the others are still loaded.

A document id is stable: the file's path inside the corpus folder, or the jsonl ``id``.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a.txt").write_text("Titre\\nCorps.")
>>> [(doc.id, doc.title) for doc in load_corpus(d).documents]
[('a.txt', 'Titre')]
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError
from .types import Document

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl")
MAX_FILE_BYTES = 50 * 1024 * 1024
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class LoadResult:
    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...]


def content_hash(text: str, title: str = "", date: str = "", source: str = "", url: str = "") -> str:
    """Hash of everything indexed about a document: a change in any of it means re-indexing."""
    payload = json.dumps([title, date, source, url, text], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def make_document(
    id: str, text: str, title: str = "", date: str = "", source: str = "", url: str = ""
) -> Document:
    """A Document with its title falling back to the first line and its content hash filled in."""
    title = " ".join(title.split()) or _first_line(text)
    return Document(
        id=id,
        title=title,
        text=text,
        content_hash=content_hash(text, title, date, source, url),
        date=date,
        source=source,
        url=url,
    )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 120 else line[:117].rsplit(" ", 1)[0] + "…"
    return ""


def load_corpus(corpus_dir: str | Path) -> LoadResult:
    """Every readable document under ``corpus_dir`` (recursively), in a stable order.

    Raises :class:`CorpusError` when the folder does not exist; an empty folder gives no documents.
    """
    root = Path(corpus_dir)
    if not root.is_dir():
        raise CorpusError(
            f"corpus folder {str(root)!r} does not exist: create it and put articles in it "
            "(.txt, .md, .html, .jsonl), or pass --corpus"
        )
    documents: list[Document] = []
    skipped: list[Skipped] = []
    seen: dict[str, str] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.suffix.lower() not in SUFFIXES:
            skipped.append(Skipped(rel, f"unsupported file type {path.suffix or '(none)'}"))
            log.warning("skipping %s: unsupported file type (use %s)", rel, ", ".join(SUFFIXES))
            continue
        try:
            docs = load_file(path, rel)
        except CorpusError as exc:
            skipped.append(Skipped(rel, str(exc)))
            log.warning("skipping %s", exc)
            continue
        for doc in docs:
            if doc.id in seen:
                skipped.append(Skipped(rel, f"duplicate document id {doc.id!r} (first in {seen[doc.id]})"))
                log.warning("skipping %s: duplicate document id %r", rel, doc.id)
                continue
            seen[doc.id] = rel
            documents.append(doc)
    return LoadResult(tuple(documents), tuple(skipped))


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
    name = name or path.name
    suffix = Path(name).suffix.lower()  # the name decides: uploads arrive as temporary files
    text = read_text(path, name)
    if suffix == ".jsonl":
        return _load_jsonl(text, name)
    if suffix in (".md", ".markdown"):
        return [_load_markdown(text, name)]
    if suffix in (".html", ".htm"):
        return [_load_html(text, name)]
    if suffix == ".txt":
        return [make_document(name, text, source=name)]
    raise CorpusError(f"{name}: unsupported file type {suffix!r} (use {', '.join(SUFFIXES)})")


def _load_markdown(text: str, name: str) -> Document:
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
    return make_document(
        name,
        text,
        title=meta.get("title", ""),
        date=meta.get("date", ""),
        source=meta.get("source", "") or name,
        url=meta.get("url", ""),
    )


def _load_html(html: str, name: str) -> Document:
    import trafilatura

    text = trafilatura.extract(html, include_comments=False, include_tables=False, favor_recall=True)
    if not text or not text.strip():
        raise CorpusError(f"{name}: no article text found in the HTML")
    meta = trafilatura.extract_metadata(html)
    title = (meta.title if meta and meta.title else "") or ""
    date = (meta.date if meta and meta.date else "") or ""
    url = (meta.url if meta and meta.url else "") or ""
    return make_document(name, text, title=title, date=date, source=name, url=url)


def _load_jsonl(text: str, name: str) -> list[Document]:
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
