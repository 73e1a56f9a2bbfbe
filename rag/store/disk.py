"""The index on disk: generations, the ``CURRENT`` pointer, the manifest, and JSON files written safely.

An index is a folder::

    index/
      CURRENT             name of the live generation, replaced atomically
      gen-…/              one complete, immutable build
        manifest.json     format version, embedder id and dim, chunker settings, vector index kind,
                          counts, document hashes, each file's size and SHA-256 (checked on
                          load: a table cut short or edited is refused), time
        vectors.faiss     sentence vectors (rag.store.dense)
        documents.jsonl   the documents (original text: citation offsets point into it)
        chunks.jsonl      chunk id, document, offsets, lexical terms (rag.store.tables)
        sentences.jsonl   sentence id, document, offsets, lexical terms
        lexical/          the bm25s index (numpy arrays + json, no pickle; rag.store.lexical)
        copies.npz        MinHash signatures and the groups of near-duplicate documents (rag.store.copies)

A save writes a new generation beside the old one and then swaps ``CURRENT``; a build that fails or
is killed leaves the previous generation live and intact. Nothing here uses pickle.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import IndexCorruptError, IndexNotFoundError

FORMAT_VERSION = 2
REBUILD_HINT = "rebuild it with `rag index --rebuild`"
_STALE_BUILD_S = 60  # a temporary generation older than this belongs to a killed build


def current_generation(index_dir: Path) -> Path:
    """The folder of the live generation, or :class:`IndexNotFoundError`."""
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        raise IndexNotFoundError(
            f"no index at {index_dir}: build it with `rag index --corpus seeds/ --index {index_dir}`"
        )
    try:
        name = json.loads(pointer.read_text(encoding="utf-8"))["generation"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"{pointer} is unreadable ({exc}): {REBUILD_HINT}") from exc
    gen = index_dir / str(name)
    if not gen.is_dir() or "/" in str(name):
        raise IndexCorruptError(f"{pointer} names a missing generation {name!r}: {REBUILD_HINT}")
    return gen


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The live generation's manifest, or an error naming the file."""
    path = current_generation(index_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path} is unreadable ({exc}): {REBUILD_HINT}") from exc
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"{path} is not a JSON object: {REBUILD_HINT}")
    return manifest


def indexed_model_id(index_dir: Path) -> str | None:
    """The id of the embedder that built the index at ``index_dir``, or None when there is no
    readable index there (opening it will then report the real problem)."""
    try:
        return str(read_manifest(Path(index_dir))["embedder"]["model_id"])
    except Exception:
        return None


def write_generation(root: Path, write: Callable[[Path], None]) -> Path:
    """Create a new generation under ``root`` with ``write(folder)``, make it live atomically, prune
    the older ones; returns its folder. If ``write`` fails, nothing changes."""
    root.mkdir(parents=True, exist_ok=True)
    name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
    tmp = root / f".tmp-{name}"
    try:
        tmp.mkdir()
        write(tmp)
        fsync_dir(tmp)
        os.rename(tmp, root / name)
        write_json(root / "CURRENT.tmp", {"generation": name})
        os.replace(root / "CURRENT.tmp", root / "CURRENT")
        fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(root, keep={name})
    return root / name


def relink_generation(root: Path, manifest: dict[str, Any]) -> Path:
    """A new live generation holding the live one's files (hard links: no copy, generations are
    never changed in place) under another ``manifest``; for an update that changed nothing but
    what the manifest says of the corpus. Returns its folder."""
    current = current_generation(root)

    def write(folder: Path) -> None:
        for path in current.rglob("*"):
            if path.is_file() and path.name != "manifest.json":
                target = folder / path.relative_to(current)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(path, target)
                except OSError:  # a file system without hard links
                    shutil.copy2(path, target)
        write_json(folder / "manifest.json", manifest)

    return write_generation(root, write)


def write_json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path} is unreadable ({exc}): {REBUILD_HINT}") from exc


def file_digests(folder: Path) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of every file under ``folder`` (but the manifest), by relative path: the
    manifest records them so that a truncated or edited table is caught when the index is loaded."""
    return {
        path.relative_to(folder).as_posix(): {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "manifest.json"
    }


def check_digests(folder: Path, expected: Any) -> None:
    """Raise :class:`IndexCorruptError` naming the first file of ``folder`` whose size or checksum
    differs from the manifest's record (``expected``, as made by :func:`file_digests`). An index
    saved before the manifest kept them has none to check."""
    if not expected:
        return
    if not isinstance(expected, dict):
        raise IndexCorruptError(f"{folder / 'manifest.json'} has an unreadable 'files' entry: {REBUILD_HINT}")
    for name, want in sorted(expected.items()):
        path = folder / name
        try:
            size = path.stat().st_size
        except OSError:
            raise IndexCorruptError(f"{path} is missing: {REBUILD_HINT}") from None
        if size != want.get("bytes") or _sha256(path) != want.get("sha256"):
            raise IndexCorruptError(
                f"{path} does not match the index manifest ({size} bytes, {want.get('bytes')} recorded; "
                f"the file was changed or cut short since it was written): {REBUILD_HINT}"
            )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _prune(root: Path, keep: set[str]) -> None:
    """Delete older generations and leftovers of killed builds."""
    now = time.time()
    for child in root.iterdir():
        if child.name in keep or not child.is_dir():
            continue
        stale = child.name.startswith(".tmp-") and now - child.stat().st_mtime > _STALE_BUILD_S
        if child.name.startswith("gen-") or stale:
            shutil.rmtree(child, ignore_errors=True)
