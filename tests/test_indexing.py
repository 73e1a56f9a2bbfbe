import json
import shutil
from pathlib import Path

import pytest
from helpers import SEED_ID, shared_file

from rag.embedders import HashEmbedder
from rag.errors import IndexMismatchError
from rag.indexing import update_index
from rag.store import Store


def test_first_build_then_nothing_to_do(corpus: Path, index_dir: Path, embedder: HashEmbedder):
    first = update_index(corpus, index_dir, embedder)
    assert (first.added, first.updated, first.removed, first.unchanged) == (3, 0, 0, 0)
    assert first.chunks_indexed == first.chunks_total > 3
    assert first.sentences_embedded == first.sentences_total >= first.chunks_total
    calls = embedder.calls
    second = update_index(corpus, index_dir, embedder)
    assert (second.added, second.unchanged, second.chunks_indexed, second.sentences_embedded) == (0, 3, 0, 0)
    assert embedder.calls == calls


def test_adding_one_article_to_wikinews_embeds_only_its_chunks(tmp_path: Path, embedder: HashEmbedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(shared_file("wikinews_fr_2012.jsonl"), corpus / "wikinews.jsonl")
    first = update_index(corpus, tmp_path / "index", embedder)
    assert first.documents_total == 100
    shutil.copy(Path(__file__).parent.parent / "seeds" / SEED_ID, corpus / "new.txt")
    calls = embedder.calls
    second = update_index(corpus, tmp_path / "index", embedder)
    store = Store.load(tmp_path / "index")
    new_sentences = len(store.doc_sentences("new.txt"))
    assert (second.added, second.unchanged) == (1, 100)
    assert second.chunks_indexed == len(store.doc_chunks("new.txt"))
    assert second.sentences_embedded == new_sentences == 18
    assert embedder.calls - calls == new_sentences


def test_changed_and_removed_documents(corpus: Path, index_dir: Path, embedder: HashEmbedder):
    update_index(corpus, index_dir, embedder)
    seed = corpus / SEED_ID
    seed.write_text(seed.read_text(encoding="utf-8") + "\nUne phrase ajoutée à la fin.\n", encoding="utf-8")
    (corpus / "sport.txt").unlink()
    report = update_index(corpus, index_dir, embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 1, 1)
    # only the new sentence is embedded again
    assert report.sentences_embedded == 1
    store = Store.load(index_dir)
    assert "sport.txt" not in store.documents
    assert store.search_lexical(["marseil"], 5) == []
    assert all(c.doc_id != "sport.txt" for c in store.chunks.values())


def test_rebuild_starts_over(corpus: Path, index_dir: Path, embedder: HashEmbedder):
    first = update_index(corpus, index_dir, embedder)
    again = update_index(corpus, index_dir, embedder, rebuild=True)
    assert again.added == 3 and again.sentences_embedded == first.sentences_total


def test_failure_mid_build_leaves_the_previous_index_intact(corpus: Path, index_dir: Path):
    embedder = HashEmbedder(64)
    update_index(corpus, index_dir, embedder)
    before = Store.load(index_dir)
    long_text = " ".join(f"Phrase {i} du nouvel article sur la politique." for i in range(800))
    (corpus / "new.txt").write_text(long_text, encoding="utf-8")  # over one embedding batch

    class Boom(RuntimeError):
        pass

    calls = {"n": 0}
    real = embedder.embed_passages

    def failing(texts):
        calls["n"] += 1
        if calls["n"] == 2:  # the second batch of the new article
            raise Boom("killed mid-build")
        return real(texts)

    embedder.embed_passages = failing  # type: ignore[method-assign]
    with pytest.raises(Boom):
        update_index(corpus, index_dir, embedder)
    after = Store.load(index_dir)
    assert after.documents == before.documents and after.chunks == before.chunks
    assert not [p for p in index_dir.iterdir() if p.name.startswith(".tmp")]


def test_failure_while_saving_leaves_the_previous_index_intact(corpus: Path, index_dir: Path, monkeypatch):
    embedder = HashEmbedder(64)
    update_index(corpus, index_dir, embedder)
    before = Store.load(index_dir)
    (corpus / "new.txt").write_text("Un nouvel article.", encoding="utf-8")
    import rag.store

    def broken_write_json(path, obj):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rag.store, "write_json", broken_write_json)  # the manifest, written last
    with pytest.raises(OSError):
        update_index(corpus, index_dir, embedder)
    monkeypatch.undo()
    after = Store.load(index_dir)
    assert set(after.documents) == set(before.documents)
    assert [p.name for p in index_dir.iterdir() if p.name.startswith((".tmp", "gen-"))] == [
        rag.store.current_generation(index_dir).name
    ]


def test_other_embedder_needs_a_rebuild(corpus: Path, index_dir: Path):
    update_index(corpus, index_dir, HashEmbedder(64))
    with pytest.raises(IndexMismatchError, match="hash-64.*hash-32|--rebuild"):
        update_index(corpus, index_dir, HashEmbedder(32))
    report = update_index(corpus, index_dir, HashEmbedder(32), rebuild=True)
    assert report.added == 3
    assert json.loads((index_dir / "CURRENT").read_text())["generation"].startswith("gen-")


def test_empty_corpus_gives_an_empty_but_valid_index(tmp_path: Path, embedder: HashEmbedder):
    (tmp_path / "empty").mkdir()
    report = update_index(tmp_path / "empty", tmp_path / "index", embedder)
    assert report.documents_total == 0
    assert Store.load(tmp_path / "index").search_dense(embedder.embed_queries(["x"])[0], 3) == []


def test_sentence_terms_are_indexed_and_an_index_without_them_answers_the_same(
    corpus: Path, index_dir: Path, embedder: HashEmbedder
):
    from rag import Engine
    from rag.store import current_generation
    from rag.text import LexicalAnalyzer

    update_index(corpus, index_dir, embedder)
    store = Store.load(index_dir)
    analyzer = LexicalAnalyzer()
    for sentence in store.sentences.values():
        text = store.documents[sentence.doc_id].text[sentence.start : sentence.end]
        assert store.sentence_terms(sentence.id) == analyzer.tokens(text)
    question = "Quel est l'enjeu pour Washington ?"
    with_terms = Engine.open(index_dir, embedder=embedder).ask(question)
    # An index written before sentence terms were stored: the composer computes them itself.
    rows = current_generation(index_dir) / "sentences.jsonl"
    lines = [json.loads(line) for line in rows.read_text(encoding="utf-8").splitlines()]
    rows.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "terms"}) + "\n" for r in lines))
    manifest = rows.parent / "manifest.json"  # (nor file checksums, which came later)
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "files": {}}))
    old = Engine.open(index_dir, embedder=embedder)
    assert old._store.sentence_terms(next(iter(old._store.sentences))) is None
    assert old.ask(question) == with_terms
    # The next update fills them in again without re-embedding anything.
    calls = embedder.calls
    update_index(corpus, index_dir, embedder)
    assert embedder.calls == calls and all(
        Store.load(index_dir).sentence_terms(s) is not None for s in store.sentences
    )


def test_a_corpus_over_ivf_min_is_searched_by_inverted_file_and_updates_keep_its_lists(
    tmp_path: Path, embedder: HashEmbedder
):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(shared_file("wikinews_fr_2012.jsonl"), corpus / "wikinews.jsonl")
    update_index(corpus, tmp_path / "index", embedder, ivf_min=500)
    first = Store.load(tmp_path / "index")
    vectors = first.manifest()["vectors"]
    assert vectors["index"] == "ivf" and vectors["trained_on"] == len(first.sentences) >= 500
    shutil.copy(Path(__file__).parent.parent / "seeds" / SEED_ID, corpus / "new.txt")
    update_index(corpus, tmp_path / "index", embedder, ivf_min=500)
    second = Store.load(tmp_path / "index")
    assert second.manifest()["vectors"] == vectors  # the same lists: adding an article trains nothing
    for sentence in second.doc_sentences("new.txt"):  # the added vectors are searchable
        top = second.search_dense(second.vectors_of([sentence.id])[sentence.id], 1)[0][0]
        assert second.chunks[top].doc_id == "new.txt"


def test_a_text_is_embedded_once_however_many_articles_hold_it(tmp_path: Path, embedder: HashEmbedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    dispatch = "Dépêche\nLe port de Brest accueille un voilier géant. Les quais sont pleins."
    (corpus / "a.txt").write_text(dispatch, encoding="utf-8")
    (corpus / "b.txt").write_text(dispatch, encoding="utf-8")  # the same dispatch, another file
    first = update_index(corpus, tmp_path / "index", embedder)
    assert first.sentences_total == 6 and first.sentences_embedded == embedder.calls == 3
    (corpus / "c.txt").write_text(dispatch + " Une phrase de plus.", encoding="utf-8")  # a third copy
    calls = embedder.calls
    second = update_index(corpus, tmp_path / "index", embedder)
    assert second.sentences_embedded == embedder.calls - calls == 1  # only the new sentence
    store = Store.load(tmp_path / "index")
    a, c = store.doc_sentences("a.txt"), store.doc_sentences("c.txt")
    assert (store.sentence_matrix([s.id for s in a]) == store.sentence_matrix([s.id for s in c[:3]])).all()


def test_an_update_that_changes_nothing_relinks_the_index_and_renews_its_corpus_record(
    corpus: Path, index_dir: Path, embedder: HashEmbedder
):
    import os

    from rag import Engine
    from rag.store import current_generation, read_manifest

    update_index(corpus, index_dir, embedder)
    engine = Engine.open(index_dir, corpus_dir=corpus, embedder=embedder)
    before, first = current_generation(index_dir), read_manifest(index_dir)
    inode = (before / "vectors.faiss").stat().st_ino
    touched = corpus / "sport.txt"  # saved again with the same text: pending until the next update
    os.utime(touched, (first["corpus"]["read_at"] + 0.001, first["corpus"]["read_at"] + 0.001))
    assert engine.pending_changes() == ("sport.txt",)
    calls = embedder.calls
    report = update_index(corpus, index_dir, embedder)
    after, second = current_generation(index_dir), read_manifest(index_dir)
    assert (report.unchanged, report.sentences_embedded, embedder.calls) == (3, 0, calls)
    assert report.chunks_total == first["counts"]["chunks"] and after != before
    assert (after / "vectors.faiss").stat().st_ino == inode  # the same file, linked: nothing rewritten
    assert second["corpus"]["read_at"] > first["corpus"]["read_at"] and second["files"] == first["files"]
    engine.refresh()
    assert engine.pending_changes() == () and len(engine.store.documents) == 3
