"""The worked examples of CONTRIBUTING.md, run as written there: a new embedder backend and a new
corpus format are each one file plus one registry line."""

from __future__ import annotations

import re
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, SEED_ID, SEEDS

import rag
from rag import Engine, IndexMismatchError, Settings, update_index
from rag.corpus import FORMATS, load_corpus, safe_name
from rag.embedders import BACKENDS, Backend, HashEmbedder
from rag.store import read_manifest

BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8"), re.DOTALL)


def _block(marker: str) -> str:
    found = [b for b in BLOCKS if marker in b]
    assert len(found) == 1, f"CONTRIBUTING.md has {len(found)} python blocks with {marker!r}"
    return found[0]


def _module(monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> types.ModuleType:
    """The example file, as if it were saved as ``name`` inside the package."""
    module = types.ModuleType(name)
    module.__package__ = name.rpartition(".")[0]
    monkeypatch.setitem(sys.modules, name, module)
    exec(compile(source, f"CONTRIBUTING.md ({name})", "exec"), module.__dict__)
    return module


@pytest.fixture
def csv_format(monkeypatch: pytest.MonkeyPatch) -> None:
    module = _module(monkeypatch, "rag.corpus.csv_table", _block('"""``.csv``'))
    line = _block('".csv":').strip()
    entry = eval("{" + line + "}", {"csv_table": module})  # the registry line, as written
    for suffix, loader in entry.items():
        monkeypatch.setitem(FORMATS, suffix, loader)


CSV = (
    "id,title,date,text\n"
    'port,Le port de Brest,2026-11-20,"La licorne de Brest a traversé la rade à la nage lundi matin."\n'
    "vide,Rien,2026-11-21,\n"
    ',Sans id,2026-11-22,"Les pêcheurs ont applaudi, dit-on à Brest."\n'
)


def test_without_the_registry_line_a_csv_is_skipped(tmp_path: Path):
    (tmp_path / "a.csv").write_text(CSV, encoding="utf-8")
    loaded = load_corpus(tmp_path)
    assert loaded.documents == () and "unsupported file type .csv" in loaded.skipped[0].reason


def test_a_new_corpus_format_is_one_file_and_one_registry_line(csv_format, tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "brest.csv").write_text(CSV, encoding="utf-8")
    docs = load_corpus(corpus).documents
    assert [(d.id, d.title, d.date) for d in docs] == [
        ("port", "Le port de Brest", "2026-11-20"),
        ("brest.csv#4", "Sans id", "2026-11-22"),
    ]
    engine = Engine.open(tmp_path / "index", corpus_dir=corpus, embedder=HashEmbedder(64), build=True)
    answer = engine.ask("Qui a traversé la rade de Brest à la nage ?")
    assert answer.citations[0].doc_id == "port" and "licorne" in answer.citations[0].quote
    # the rest follows the registry: upload names, the upload form's types, the messages
    assert safe_name("Tableau 2026.csv") == "Tableau_2026.csv" and ".csv" in engine.upload_suffixes
    upload = tmp_path / "upload.csv"
    upload.write_text("text\nUne dépêche de Quimper sur le dragon violet.\n", encoding="utf-8")
    change = engine.add_files([upload], names=["nouvelles.csv"])
    assert (
        change.index
        and change.index.added == 1
        and engine.document("nouvelles.csv#2").title.startswith("Une dépêche")
    )


@pytest.mark.model
def test_a_new_embedder_backend_is_one_file_and_one_registry_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    module = _module(monkeypatch, "rag.embedders.static", _block("class StaticEmbedder"))
    line = _block('Backend("static"').strip().rstrip(",")
    backend = eval(line, {"Backend": Backend, "StaticEmbedder": module.StaticEmbedder})  # as written
    monkeypatch.setitem(BACKENDS, backend.name, backend)

    settings = Settings.resolve(backend="static", index_dir=tmp_path / "index")  # the new name is valid
    embedder = rag.load_embedder(
        "multilingual-e5-small", backend=settings.backend, index_dir=settings.index_dir
    )
    assert embedder.model_id.endswith("+static") and embedder.dim == 384
    vectors = embedder.embed_passages(["Pour Washington, l’enjeu est avant tout stratégique.", "x"])
    assert vectors.shape == (2, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    update_index(corpus, settings.index_dir, embedder)
    assert read_manifest(settings.index_dir)["embedder"]["model_id"] == embedder.model_id
    engine = Engine.open(settings.index_dir, embedder=embedder)
    answer = engine.ask("Quel est l'enjeu pour Washington ?")
    assert answer.hits[0].chunk.doc_id == SEED_ID
    for c in (*answer.citations, *answer.related):
        assert engine.document(c.doc_id).text[c.start : c.end] == c.quote
    with pytest.raises(IndexMismatchError, match=r"\+static"):  # not read with another backend
        Engine.open(settings.index_dir, embedder=rag.load_embedder("multilingual-e5-small"))
