"""Changing a corpus folder without losing anything: uploads that never overwrite, removal into a
trash, restore from it.

- An upload whose name is taken is kept under a free name (``article-2.txt``), or is ``unchanged``
  when its bytes are the file's; ``replace=True`` replaces the file and keeps the old version in the
  trash. A file whose document id another file already uses is refused, as is a file that cannot be
  read; each file gets its own :class:`FileResult` and the good ones go in.
- A removed file goes to ``.trash/<time>-<tag>/<its path>`` inside the corpus folder (hidden, so it
  is never indexed); :meth:`CorpusFolder.restore` puts it back, under a free name if its place was
  taken meanwhile.

Every write is a copy to a hidden temporary name, then a rename.

>>> import tempfile, pathlib
>>> folder = CorpusFolder(pathlib.Path(tempfile.mkdtemp()))
>>> upload = folder.root.parent / "up.txt"; _ = upload.write_text("Titre\\nCorps.")
>>> [(r.status, r.path) for r in folder.add([upload, upload], ["a.txt", "a.txt"])]
[('added', 'a.txt'), ('unchanged', 'a.txt')]
>>> _ = upload.write_text("Titre\\nAutre corps.")
>>> [(r.status, r.path) for r in folder.add([upload], ["a.txt"])]
[('renamed', 'a-2.txt')]
>>> removed = folder.remove("a.txt"); (removed.status, removed.trash.endswith("/a.txt"))
('removed', True)
>>> folder.restore(removed.trash).path
'a.txt'
"""

from __future__ import annotations

import filecmp
import logging
import os
import secrets
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import CorpusError
from .folder import load_corpus, parse_file, safe_name

log = logging.getLogger(__name__)

TRASH = ".trash"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # per uploaded file
STATUSES = ("added", "renamed", "replaced", "unchanged", "refused", "removed", "restored")


@dataclass(frozen=True)
class FileResult:
    """What became of one file of a corpus change.

    ``name`` is the file as given (an upload's client name, a document id, a trash entry);
    ``status`` one of :data:`STATUSES`; ``path`` its place in the corpus folder (``""`` when
    refused); ``trash`` the trash entry holding the old version (removed or replaced), else ``""``;
    ``message`` why it was refused or renamed, and the lines skipped inside it; ``documents`` the
    ids of the documents it holds.
    """

    name: str
    status: str
    path: str = ""
    trash: str = ""
    message: str = ""
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrashEntry:
    """A file in the trash: ``name`` to restore it by, ``path`` where it was, ``removed_at`` (ISO)."""

    name: str
    path: str
    removed_at: str


class CorpusFolder:
    """The writes to one corpus folder (:meth:`add`, :meth:`remove`, :meth:`restore`)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # ----- uploads -------------------------------------------------------------------------------
    def add(
        self,
        files: Sequence[str | Path],
        names: Sequence[str] | None = None,
        replace: bool = False,
        owners: Mapping[str, str] | None = None,
    ) -> list[FileResult]:
        """Copy ``files`` in under their safe ``names`` (default: their own), one result each.
        ``owners``: the file holding each document id (an index records it); without it the folder
        is read to find out."""
        if names is not None and len(names) != len(files):
            raise CorpusError(f"{len(files)} files but {len(names)} names: give one name per file")
        self.root.mkdir(parents=True, exist_ok=True)
        owners = dict(load_corpus(self.root).files if owners is None else owners)
        taken: set[str] = set()  # names given to earlier files of this batch
        results = []
        for i, file in enumerate(files):
            name = str(names[i]) if names is not None else Path(file).name
            try:
                result = self._add_one(Path(file), name, owners, taken, replace)
            except CorpusError as exc:
                result = FileResult(name, "refused", message=str(exc))
            if result.status != "refused":
                taken.add(result.path)
                owners.update((doc_id, result.path) for doc_id in result.documents)
            log.info("upload %s: %s %s %s", name, result.status, result.path, result.message)
            results.append(result)
        return results

    def _add_one(
        self, src: Path, name: str, owners: Mapping[str, str], taken: set[str], replace: bool
    ) -> FileResult:
        target = safe_name(name)
        size = src.stat().st_size if src.is_file() else 0
        if size > MAX_UPLOAD_BYTES:
            raise CorpusError(
                f"{target}: {size / 2**20:.1f} MB, over the {MAX_UPLOAD_BYTES // 2**20} MB upload limit: "
                "split it, or put it in the corpus folder and run `rag index`"
            )
        existing = self.root / target
        if existing.is_file() and filecmp.cmp(src, existing, shallow=False):
            return FileResult(name, "unchanged", target, message="already in the corpus, identical")
        status, message = "added", ""
        if existing.exists() or target in taken:
            if replace and target not in taken:
                status, message = "replaced", f"replaces {target} (the old version is in the trash)"
            else:
                free = self._free_name(target, taken)
                status, message = "renamed", f"a file named {target} exists: kept as {free}"
                target = free
        documents, skipped = parse_file(src, target)  # raises CorpusError naming the problem
        for doc in documents:
            owner = owners.get(doc.id)
            if owner is not None and not (status == "replaced" and owner == target):
                raise CorpusError(
                    f"{target}: document id {doc.id!r} is already used by {owner}: give the article "
                    f"another id, or replace {owner}"
                )
        trash = self._to_trash(target).name if status == "replaced" else ""
        self._copy_in(src, target)
        notes = "; ".join([message, *skipped] if message else skipped)
        return FileResult(name, status, target, trash, notes, tuple(d.id for d in documents))

    def _free_name(self, name: str, taken: set[str]) -> str:
        stem, dot, suffix = name.rpartition(".")
        for n in range(2, 10_000):
            candidate = f"{stem}-{n}{dot}{suffix}"
            if candidate not in taken and not (self.root / candidate).exists():
                return candidate
        raise CorpusError(f"no free name left for {name}: rename the file")

    def _copy_in(self, src: Path, rel: str) -> None:
        dest = self.root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(3)}.part")
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    # ----- removal and the trash -----------------------------------------------------------------
    def remove(self, rel: str, documents: Sequence[str] = ()) -> FileResult:
        """Move the file at ``rel`` (a path inside the folder) to the trash."""
        entry = self._to_trash(rel)
        return FileResult(rel, "removed", "", entry.name, documents=tuple(documents))

    def trashed(self) -> list[TrashEntry]:
        """The files in the trash, the most recently removed first."""
        trash = self.root / TRASH
        if not trash.is_dir():
            return []
        entries = []
        for folder in sorted((d for d in trash.iterdir() if d.is_dir()), reverse=True):
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                rel = path.relative_to(folder).as_posix()
                entries.append(TrashEntry(f"{folder.name}/{rel}", rel, _stamp_time(folder.name)))
        return entries

    def restore(self, name: str) -> FileResult:
        """Put the trash entry ``name`` (or the latest entry for a path) back, never over a file."""
        entry = next((e for e in self.trashed() if name in (e.name, e.path)), None)
        if entry is None:
            listed = ", ".join(e.name for e in self.trashed()[:5]) or "the trash is empty"
            raise CorpusError(f"nothing named {name!r} in the trash ({listed}): see `rag restore`")
        src = self.root / TRASH / entry.name
        target, message = entry.path, ""
        if (self.root / target).exists():
            free = self._free_name(target, set())
            target, message = free, f"{entry.path} exists again: restored as {free}"
        documents, _ = parse_file(src, target)
        self._copy_in(src, target)
        src.unlink()
        _prune_empty(src.parent, self.root / TRASH)
        return FileResult(entry.name, "restored", target, "", message, tuple(d.id for d in documents))

    def _to_trash(self, rel: str) -> TrashEntry:
        path = (self.root / rel).resolve()
        root = self.root.resolve()
        if root not in path.parents or not path.is_file() or TRASH in path.relative_to(root).parts:
            raise CorpusError(f"{rel!r} is not a file of the corpus folder {self.root}")
        stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(2)}"
        dest = self.root / TRASH / stamp / path.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest)  # the same file system: a rename, nothing copied or lost
        rel = path.relative_to(root).as_posix()
        return TrashEntry(f"{stamp}/{rel}", rel, _stamp_time(stamp))


def _stamp_time(stamp: str) -> str:
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.strptime(stamp.split("-")[0], "%Y%m%dT%H%M%S"))
    except ValueError:
        return ""


def _prune_empty(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
