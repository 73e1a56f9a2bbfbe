"""Changing the corpus through the engine: nothing indexed is lost or silently replaced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import SEED_ID

from rag import CorpusError, Engine


@pytest.fixture
def engine(corpus: Path, index_dir: Path, embedder) -> Engine:
    return Engine.open(index_dir, corpus_dir=corpus, embedder=embedder, build=True)


def _file(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


FESTIVAL = "Le festival\nLe festival de Cannes a récompensé un film coréen par la Palme d'or."
FESTIVAL_2 = "Le festival\nLe festival de Venise a donné le Lion d'or à un film chilien."


def test_an_upload_never_overwrites_a_file_of_the_same_name(engine: Engine, tmp_path: Path):
    corpus = Path(engine.settings.corpus_dir)
    engine.add_files([_file(tmp_path, "a.txt", FESTIVAL)], names=["festival.txt"])
    change = engine.add_files([_file(tmp_path, "b.txt", FESTIVAL_2)], names=["festival.txt"])
    assert [(f.status, f.path) for f in change.files] == [("renamed", "festival-2.txt")]
    assert "festival.txt exists" in change.files[0].message
    assert (corpus / "festival.txt").read_text(encoding="utf-8") == FESTIVAL  # the first is intact
    assert engine.ask("Quel film a reçu la Palme d'or à Cannes ?").citations[0].doc_id == "festival.txt"
    assert engine.ask("Qui a gagné le Lion d'or à Venise ?").citations[0].doc_id == "festival-2.txt"
    # the same bytes again: nothing to do, the index is not even updated
    again = engine.add_files([_file(tmp_path, "c.txt", FESTIVAL)], names=["festival.txt"])
    assert [(f.status, f.path) for f in again.files] == [("unchanged", "festival.txt")]
    assert again.index is None


def test_replace_keeps_the_old_version_in_the_trash(engine: Engine, tmp_path: Path):
    corpus = Path(engine.settings.corpus_dir)
    engine.add_files([_file(tmp_path, "a.txt", FESTIVAL)], names=["festival.txt"])
    change = engine.add_files([_file(tmp_path, "b.txt", FESTIVAL_2)], names=["festival.txt"], replace=True)
    result = change.files[0]
    assert (result.status, result.path) == ("replaced", "festival.txt") and result.trash
    assert (corpus / "festival.txt").read_text(encoding="utf-8") == FESTIVAL_2
    assert (corpus / ".trash" / result.trash).read_text(encoding="utf-8") == FESTIVAL
    assert engine.ask("Qui a gagné le Lion d'or à Venise ?").citations[0].doc_id == "festival.txt"
    # restoring the old version does not overwrite the new one either
    restored = engine.restore(result.trash).files[0]
    assert (restored.status, restored.path) == ("restored", "festival-2.txt")
    assert "exists again" in restored.message
    assert (corpus / "festival.txt").read_text(encoding="utf-8") == FESTIVAL_2
    assert engine.ask("Quel film a reçu la Palme d'or à Cannes ?").citations[0].doc_id == "festival-2.txt"


def test_a_jsonl_whose_id_is_taken_is_refused_and_the_other_document_kept(engine: Engine, tmp_path: Path):
    before = engine.document(SEED_ID)
    line = json.dumps({"id": SEED_ID, "text": "Un autre texte sous le même identifiant."})
    change = engine.add_files([_file(tmp_path, "x.jsonl", line + "\n")], names=["lot.jsonl"])
    assert change.files[0].status == "refused" and change.index is None
    assert f"document id {SEED_ID!r} is already used by {SEED_ID}" in change.files[0].message
    assert engine.document(SEED_ID) == before
    assert not (Path(engine.settings.corpus_dir) / "lot.jsonl").exists()


def test_one_bad_file_does_not_stop_the_batch(engine: Engine, tmp_path: Path):
    empty = _file(tmp_path, "vide.txt", "  \n")
    pdf = _file(tmp_path, "rapport.pdf", "%PDF-1.4")
    good = _file(tmp_path, "bon.txt", FESTIVAL)
    lines = [json.dumps({"text": "Une dépêche de Brest."}), "{pas du json", json.dumps({"text": ""})]
    multi = _file(tmp_path, "lot.jsonl", "\n".join(lines) + "\n")
    change = engine.add_files([empty, pdf, good, multi])
    assert [f.status for f in change.files] == ["refused", "refused", "added", "added"]
    assert "empty" in change.files[0].message and "unsupported file type" in change.files[1].message
    assert change.files[3].documents == ("lot.jsonl#1",)
    assert (
        "line 2: not an article" in change.files[3].message
        and "line 3: empty text" in change.files[3].message
    )
    assert change.index is not None and change.index.added == 2
    assert {d.id for d in engine.documents()} >= {"bon.txt", "lot.jsonl#1"}


def test_a_document_of_a_jsonl_is_not_offered_for_removal(engine: Engine, tmp_path: Path):
    engine.add_files([_file(tmp_path, "lot.jsonl", json.dumps({"id": "d1", "text": "Un texte."}) + "\n")])
    removable = {d.id: d.removable for d in engine.documents()}
    assert removable["d1"] is False and removable[SEED_ID] is True
    with pytest.raises(CorpusError, match="line of a .jsonl file"):
        engine.remove_document("d1")
    with pytest.raises(CorpusError, match="no document 'nope'"):
        engine.remove_document("nope")


def test_restore_names_what_the_trash_holds(engine: Engine):
    with pytest.raises(CorpusError, match="the trash is empty"):
        engine.restore("nope.txt")
    engine.remove_document(SEED_ID)
    assert SEED_ID not in {d.id for d in engine.documents()}
    with pytest.raises(CorpusError, match=f"nothing named 'nope.txt' in the trash.*{SEED_ID}"):
        engine.restore("nope.txt")
    (entry,) = engine.trashed()
    assert entry.path == SEED_ID and entry.removed_at[:2] == "20"
    engine.restore(entry.name)
    assert SEED_ID in {d.id for d in engine.documents()} and engine.trashed() == []
