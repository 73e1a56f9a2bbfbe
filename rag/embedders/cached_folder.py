"""Folders built once into the shared model cache, atomically (the e5 folder, the OpenVINO IRs).

A folder is built in a temporary folder beside its final place and renamed into place: a crash never
leaves half a folder, and when two processes race, the first rename wins and the other uses it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import ModelError

log = logging.getLogger(__name__)


def build_folder(
    final: Path,
    build: Callable[[Path], None],
    complete: Callable[[Path], bool],
    what: str,
    stale_after_s: float = 3600.0,
) -> Path:
    """Make ``final`` exist and be ``complete``, building it with ``build(tmp)`` if needed.

    A folder that exists but is not complete is moved aside and rebuilt. ``what`` names the folder
    in error messages; an OSError while writing becomes a :class:`ModelError`.
    """
    if complete(final):
        return final
    parent = final.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale_builds(parent, stale_after_s)
        if final.exists():
            if complete(final):  # another process has just finished it
                return final
            log.warning("%s %s is incomplete or damaged; rebuilding it", what, final)
            discard(final)
        tmp = Path(tempfile.mkdtemp(prefix=f".build-{final.name}-", dir=parent))
        try:
            build(tmp)
            _make_readable(tmp)
            os.rename(tmp, final)  # atomic; fails if another process renamed its build first
        except OSError:
            if not complete(final):  # not a lost race: a real failure
                raise
            log.info("another process built %s first; using it", final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        raise ModelError(f"cannot write the {what} {final}: {exc}") from exc
    return final


def discard(folder: Path) -> None:
    """Move a folder aside, then delete it (a reader never sees it half-deleted)."""
    trash = Path(tempfile.mkdtemp(prefix=".trash-", dir=folder.parent))
    with contextlib.suppress(OSError):  # another process moved or replaced it already
        os.rename(folder, trash / folder.name)
    shutil.rmtree(trash, ignore_errors=True)


def remove_stale_builds(parent: Path, max_age_s: float) -> None:
    """Build and trash folders left by a killed process (a live build is younger than ``max_age_s``)."""
    for path in [*parent.glob(".build-*"), *parent.glob(".trash-*")]:
        with contextlib.suppress(OSError):
            if time.time() - path.stat().st_mtime > max_age_s:
                shutil.rmtree(path, ignore_errors=True)


def _make_readable(folder: Path) -> None:
    """mkdtemp makes a private folder; the cache is shared like any other model download."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
