"""Builds that survive being stopped: finished embedding work is kept, a rerun resumes it."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag import Progress
from rag.embedders import HashEmbedder
from rag.indexing import BATCH, update_index
from rag.store import Store
from rag.store.checkpoint import PARTIAL

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = 310  # ten articles of a title and 30 sentences: five embedder calls


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for d in range(10):
        body = " ".join(f"Phrase {i} de l'article {d} sur le port numéro {d * 100 + i}." for i in range(30))
        (folder / f"a{d}.txt").write_text(f"Article {d}\n{body}", encoding="utf-8")
    return folder


class Stopped(Exception):
    pass


class StopsAt(HashEmbedder):
    """Stops the build (as Ctrl-C or a crash would) at its ``at``-th call of embed_passages."""

    def __init__(self, at: int) -> None:
        super().__init__(dim=64)
        self.at, self.batches = at, 0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.batches += 1
        if self.batches == self.at:
            raise Stopped
        return super().embed_passages(texts)


def test_a_batch_cut_short_is_ignored(tmp_path: Path):
    from rag.store.checkpoint import Checkpoint

    checkpoint = Checkpoint(tmp_path, "hash-64")
    checkpoint.save(["s1"], np.ones((1, 4), dtype=np.float32))
    (checkpoint.folder / ".1-000002-abc.tmp.npz").write_bytes(b"PK\x03\x04 cut")  # killed mid-write
    (checkpoint.folder / "1-000003-abc.npz").write_bytes(b"not a zip")  # damaged on disk
    assert list(checkpoint.load()) == ["s1"]


@pytest.mark.parametrize("stop_at", [1, 2, 4, 5])
def test_a_stopped_build_resumes_where_it_stopped(tmp_path: Path, stop_at: int):
    corpus, index = _corpus(tmp_path / "corpus"), tmp_path / "index"
    total = update_index(corpus, tmp_path / "reference", HashEmbedder(64)).sentences_total
    assert total == SENTENCES and (total + BATCH - 1) // BATCH == 5
    with pytest.raises(Stopped):
        update_index(corpus, index, StopsAt(stop_at))
    assert not (index / "CURRENT").exists()  # nothing half-built is live
    rerun = HashEmbedder(64)
    report = update_index(corpus, index, rerun)
    done = BATCH * (stop_at - 1)
    assert rerun.calls == report.sentences_embedded == total - done  # only what was not done
    assert report.sentences_resumed == done
    assert not (index / PARTIAL).exists()  # a complete build leaves no partial work behind
    built, reference = Store.load(index), Store.load(tmp_path / "reference")
    ids = sorted(reference.sentences)
    assert sorted(built.sentences) == ids
    assert np.array_equal(built.sentence_matrix(ids), reference.sentence_matrix(ids))


SLOW_BUILD = """
import sys, time
from rag.embedders import HashEmbedder
from rag.indexing import update_index

class Slow(HashEmbedder):
    def embed_passages(self, texts):
        time.sleep(0.3)
        return super().embed_passages(texts)

update_index(sys.argv[1], sys.argv[2], Slow(64))
"""


def test_a_build_killed_with_sigkill_resumes(tmp_path: Path):
    corpus, index = _corpus(tmp_path / "corpus"), tmp_path / "index"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_BUILD, str(corpus), str(index)], env=env)
    try:
        deadline = time.monotonic() + 60
        while len(list((index / PARTIAL).rglob("*.npz"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        saved = len(list((index / PARTIAL).rglob("*.npz")))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL and 2 <= saved < 5
    rerun = HashEmbedder(64)
    report = update_index(corpus, index, rerun)
    assert report.sentences_resumed >= 2 * BATCH and rerun.calls == SENTENCES - report.sentences_resumed
    assert report.sentences_total == SENTENCES


class Slow(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(dim=64)
        self.started = threading.Event()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.started.set()
        time.sleep(0.2)
        return super().embed_passages(texts)


def test_a_second_build_says_it_waits_and_shows_the_other_s_progress(tmp_path: Path, caplog):
    corpus, index = _corpus(tmp_path / "corpus"), tmp_path / "index"
    slow = Slow()
    first = threading.Thread(target=update_index, args=(corpus, index, slow))
    first.start()
    assert slow.started.wait(30)
    events: list[Progress] = []
    with caplog.at_level(logging.WARNING, logger="rag.indexing"):
        report = update_index(corpus, index, HashEmbedder(64), on_progress=events.append)
    first.join(30)
    assert any(
        "another build of the index" in r.getMessage() and "waiting" in r.getMessage() for r in caplog.records
    )
    waits = [e for e in events if e.stage == "wait"]
    assert waits and waits[-1].total == SENTENCES and waits[0].done < SENTENCES
    assert report.unchanged == 10 and report.sentences_embedded == 0  # it found the other's work done
