"""Work a build has finished, kept on disk as it goes, so that a build stopped half-way (a crash,
``kill -9``, Ctrl-C) resumes where it stopped instead of re-embedding everything.

Sentence vectors are saved a batch at a time under ``<index>/.partial/<embedder>/``, each batch one
``.npz`` file written to a temporary name and renamed (a kill leaves whole batches only). A sentence
id hashes the text that was embedded, so a saved vector is valid for any later build by the same
embedder. A completed build deletes the folder.

>>> import tempfile, pathlib, numpy as np
>>> cp = Checkpoint(pathlib.Path(tempfile.mkdtemp()), "hash-4")
>>> cp.save(["s1", "s2"], np.eye(2, 4, dtype=np.float32))
>>> sorted(cp.load())
['s1', 's2']
>>> cp.clear(); cp.load()
{}
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

PARTIAL = ".partial"


class Checkpoint:
    """The sentence vectors a build by ``model_id`` has embedded so far into ``index_dir``."""

    def __init__(self, index_dir: Path, model_id: str) -> None:
        key = hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:16]
        self.folder = Path(index_dir) / PARTIAL / key
        self._count = 0

    def load(self) -> dict[str, np.ndarray]:
        """Every vector saved by earlier, unfinished builds (unreadable batches are skipped)."""
        vectors: dict[str, np.ndarray] = {}
        if not self.folder.is_dir():
            return vectors
        for path in sorted(self.folder.glob("*.npz")):
            if path.name.startswith("."):
                continue  # a batch being written when the build was killed
            try:
                with np.load(path, allow_pickle=False) as batch:
                    ids, matrix = batch["ids"], batch["vectors"]
                    if len(ids) != len(matrix):
                        raise ValueError(f"{len(ids)} ids for {len(matrix)} vectors")
                    vectors.update(zip((str(i) for i in ids), matrix, strict=True))
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
                log.warning("ignoring the unreadable checkpoint %s (%s)", path, exc)
        return vectors

    def save(self, sentence_ids: Sequence[str], vectors: np.ndarray) -> None:
        """Keep one embedded batch; written whole or not at all."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._count += 1
        name = f"{os.getpid()}-{self._count:06d}-{secrets.token_hex(3)}"
        tmp = self.folder / f".{name}.tmp.npz"
        np.savez(tmp, ids=np.array(list(sentence_ids), dtype=str), vectors=np.asarray(vectors, np.float32))
        os.replace(tmp, self.folder / f"{name}.npz")

    def clear(self) -> None:
        """Forget the saved work (the build it belonged to is complete)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        try:
            self.folder.parent.rmdir()  # when no other embedder's work is left
        except OSError:
            pass
