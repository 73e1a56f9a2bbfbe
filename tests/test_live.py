"""A running engine follows the index and the corpus folder on disk."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from rag import Engine
from rag.embedders import HashEmbedder
from rag.indexing import update_index

CANNES = "Le festival\nLe festival de Cannes a récompensé un film coréen par la Palme d'or."


@pytest.fixture
def engine(corpus: Path, index_dir: Path, embedder) -> Engine:
    return Engine.open(index_dir, corpus_dir=corpus, embedder=embedder, build=True)


def test_an_index_built_by_another_process_is_picked_up(
    engine: Engine, corpus: Path, index_dir: Path, monkeypatch
):
    monkeypatch.setattr(Engine, "FOLLOW_S", 0.0)
    (corpus / "cannes.txt").write_text(CANNES, encoding="utf-8")
    update_index(corpus, index_dir, HashEmbedder(128))  # as `rag index` would, beside the app
    answer = engine.ask("Quel film a reçu la Palme d'or à Cannes ?")
    assert answer.citations and answer.citations[0].doc_id == "cannes.txt"
    assert engine.refresh() is False  # nothing newer now


def test_questions_look_at_the_disk_at_most_every_follow_s(engine: Engine, corpus: Path, index_dir: Path):
    (corpus / "cannes.txt").write_text(CANNES, encoding="utf-8")
    update_index(corpus, index_dir, HashEmbedder(128))
    engine._checked_at = time.monotonic()  # just looked
    assert "cannes.txt" not in engine.store.documents
    engine.ask("Quel film a reçu la Palme d'or à Cannes ?")
    assert "cannes.txt" not in engine.store.documents  # within FOLLOW_S: the snapshot in memory
    engine._checked_at -= Engine.FOLLOW_S
    engine.ask("Quel film a reçu la Palme d'or à Cannes ?")
    assert "cannes.txt" in engine.store.documents


def test_an_index_of_another_model_is_not_swapped_in(engine: Engine, corpus: Path, index_dir: Path, caplog):
    update_index(corpus, index_dir, HashEmbedder(64), rebuild=True)
    assert engine.refresh() is False and engine.store.dim == 128
    assert "could not be loaded" in caplog.text


def test_corpus_files_not_indexed_yet_are_listed(engine: Engine, corpus: Path, monkeypatch):
    assert engine.pending_changes() == ()
    (corpus / "early.txt").write_text(CANNES, encoding="utf-8")
    assert engine.pending_changes() == ()  # the folder was scanned less than FOLLOW_S ago
    (corpus / "early.txt").unlink()
    monkeypatch.setattr(Engine, "FOLLOW_S", 0.0)
    (corpus / "cannes.txt").write_text(CANNES, encoding="utf-8")  # new
    meteo = corpus / "meteo.md"  # changed
    meteo.write_text(meteo.read_text(encoding="utf-8") + "\nDu vent aussi.", encoding="utf-8")
    changed_at = engine.store.corpus_read_at + 0.01  # (whatever the file system's clock resolution)
    os.utime(meteo, (changed_at, changed_at))
    (corpus / "sport.txt").unlink()  # gone
    (corpus / "notes.pdf").write_text("%PDF", encoding="utf-8")  # not an article: not listed
    assert engine.pending_changes() == ("cannes.txt", "meteo.md", "sport.txt")
    engine.update()
    assert engine.pending_changes() == ()
