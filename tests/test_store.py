import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from rag.chunking import Chunker
from rag.corpus import make_document
from rag.embedders import HashEmbedder
from rag.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from rag.store import Store, current_generation
from rag.text import LexicalAnalyzer


def _store(embedder: HashEmbedder, texts: dict[str, str]) -> Store:
    store = Store(embedder.model_id, embedder.dim, Chunker(200, 40).settings())
    for doc_id, text in texts.items():
        store.add(*_document_parts(embedder, doc_id, text))
    return store


def _document_parts(embedder: HashEmbedder, doc_id: str, text: str) -> tuple:
    """What ``Store.add`` takes for one document: it, its chunks and sentences, vectors and terms."""
    chunker, analyzer = Chunker(200, 40), LexicalAnalyzer()
    doc = make_document(doc_id, text)
    chunks, sentences = chunker.split(doc), chunker.sentences(doc)
    vectors = embedder.embed_passages([doc.text[s.start : s.end] for s in sentences])
    return doc, chunks, sentences, vectors, analyzer.batch([c.text for c in chunks])


TEXTS = {
    "a": "Les terres rares sont stratégiques pour Washington.",
    "b": "Le club de Marseille a gagné son match de football.",
    "c": "Il pleuvra à Lyon demain, avec des orages en soirée.",
}


def test_add_search_remove(embedder):
    store = _store(embedder, TEXTS)
    q = embedder.embed_queries(["match de football à Marseille"])[0]
    assert store.chunks[store.search_dense(q, 1)[0][0]].doc_id == "b"
    lexical = store.search_lexical(LexicalAnalyzer().tokens("pluie orages Lyon"), 3)
    assert store.chunks[lexical[0][0]].doc_id == "c"
    assert store.remove("b") == 1
    assert all(store.chunks[c].doc_id != "b" for c, _ in store.search_dense(q, 5))
    assert all(store.chunks[c].doc_id != "b" for c, _ in store.search_lexical(["match"], 5))
    assert store.search_lexical(["inconnu"], 5) == []


def test_document_weight_lifts_chunks_of_documents_matching_the_other_terms(embedder):
    # Two chunks mention "volcan" alike; only the first's document also speaks of the island the
    # question names, in another chunk. The document's BM25 breaks the tie for it.
    filler = " ".join(["Le texte continue sans rapport."] * 8)
    store = _store(
        embedder,
        {
            "island": f"Le volcan gronde. {filler} L'île de la Réunion vit au rythme du Piton.",
            "other": f"Le volcan gronde. {filler} Le marché aux fleurs ouvre le dimanche matin.",
        },
    )
    terms = LexicalAnalyzer().tokens("volcan île Réunion")
    plain = store.search_lexical(["volcan"], 5)
    assert len({round(score, 6) for _, score in plain}) == 1  # a tie on the chunk alone
    boosted = store.search_lexical(terms, 5, document_weight=0.5)
    top_volcano = next(c for c, _ in boosted if "volcan" in store.chunks[c].text.lower())
    assert store.chunks[top_volcano].doc_id == "island"
    scores = dict(boosted)
    unboosted = dict(store.search_lexical(terms, 5))
    assert all(scores[c] > unboosted.get(c, 0.0) for c in scores if store.chunks[c].doc_id == "island")
    store.remove("island")  # the document index follows removals
    assert {store.chunks[c].doc_id for c, _ in store.search_lexical(terms, 5, 0.5)} == {"other"}


def test_save_load_round_trip_keeps_search_results(embedder, tmp_path: Path):
    store = _store(embedder, TEXTS)
    store.save(tmp_path / "idx")
    loaded = Store.load(tmp_path / "idx", expected_model_id=embedder.model_id)
    q = embedder.embed_queries(["terres rares"])[0]
    assert loaded.search_dense(q, 3) == store.search_dense(q, 3)
    assert loaded.search_lexical(["terr", "rar"], 3) == store.search_lexical(["terr", "rar"], 3)
    assert loaded.documents == store.documents and loaded.chunks == store.chunks
    assert loaded.sentences == store.sentences
    manifest = json.loads((current_generation(tmp_path / "idx") / "manifest.json").read_text())
    assert manifest["format_version"] == 2
    assert manifest["embedder"] == {"model_id": embedder.model_id, "dim": embedder.dim}
    assert manifest["chunker"]["size"] == 200 and manifest["chunker"]["overlap"] == 40
    assert set(manifest["documents"]) == set(TEXTS) and manifest["built_at"]


def test_saves_are_generations_and_old_ones_are_pruned(embedder, tmp_path: Path):
    store = _store(embedder, TEXTS)
    first = store.save(tmp_path / "idx")
    second = store.save(tmp_path / "idx")
    assert first != second and not first.exists() and second.exists()
    assert current_generation(tmp_path / "idx") == second


def test_missing_index_says_how_to_build_it(tmp_path: Path):
    with pytest.raises(IndexNotFoundError, match="rag index"):
        Store.load(tmp_path / "none")


def test_other_embedder_is_refused_naming_both(embedder, tmp_path: Path):
    _store(embedder, TEXTS).save(tmp_path / "idx")
    with pytest.raises(IndexMismatchError) as err:
        Store.load(tmp_path / "idx", expected_model_id="other-model")
    assert embedder.model_id in str(err.value) and "other-model" in str(err.value)


def test_other_format_version_is_refused(embedder, tmp_path: Path):
    gen = _store(embedder, TEXTS).save(tmp_path / "idx")
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["format_version"] = 99
    (gen / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format version 99.*--rebuild"):
        Store.load(tmp_path / "idx")


@pytest.mark.parametrize(
    "name", ["manifest.json", "vectors.faiss", "chunks.jsonl", "documents.jsonl", "sentences.jsonl"]
)
def test_corrupt_files_are_named_with_the_fix(embedder, tmp_path: Path, name: str):
    gen = _store(embedder, TEXTS).save(tmp_path / "idx")
    (gen / name).write_bytes(b"\x00garbage{")
    with pytest.raises(IndexCorruptError) as err:
        Store.load(tmp_path / "idx")
    assert name in str(err.value) and "rag index --rebuild" in str(err.value)


def test_vector_count_mismatch_is_corruption(embedder, tmp_path: Path):
    gen = _store(embedder, TEXTS).save(tmp_path / "idx")
    manifest = json.loads((gen / "manifest.json").read_text())
    del manifest["files"]  # as written before checksums: the tables are still checked on load
    (gen / "manifest.json").write_text(json.dumps(manifest))
    lines = (gen / "sentences.jsonl").read_text().splitlines()
    (gen / "sentences.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(IndexCorruptError, match="vectors"):
        Store.load(tmp_path / "idx")


def test_copy_is_independent(embedder):
    store = _store(embedder, TEXTS)
    other = store.copy()
    other.remove("a")
    assert "a" in store.documents and "a" not in other.documents
    q = embedder.embed_queries(["terres rares"])[0]
    assert store.chunks[store.search_dense(q, 1)[0][0]].doc_id == "a"
    first = next(iter(store.sentences))
    assert store.vectors_of([first])[first].shape == (embedder.dim,)


def _many(embedder: HashEmbedder, n_docs: int) -> Store:
    words = "port ville fleuve montagne marché usine école musée forêt pont gare tour".split()
    texts = {
        f"d{i}": " ".join(
            f"{words[(i + j) % len(words)].capitalize()} numéro {i} et {words[(i * 7 + j) % len(words)]} {j}."
            for j in range(4)
        )
        for i in range(n_docs)
    }
    return _store(embedder, texts)


def _self_hits(store: Store) -> bool:
    """Every sentence, asked as its own vector, is found in its document's chunk first."""
    for sid, sentence in store.sentences.items():
        top = store.search_dense(store.vectors_of([sid])[sid], 1)[0][0]
        if store.chunks[top].doc_id != sentence.doc_id:
            return False
    return True


def test_a_large_store_switches_to_an_inverted_file_and_back(embedder, tmp_path: Path):
    store = _many(embedder, 60)
    n = len(store.sentences)
    assert n >= 200 and store.vector_index == "flat"
    assert store.tune(ivf_min=n + 1) == "flat"
    assert store.tune(ivf_min=200) == "ivf"
    assert store.manifest()["vectors"] == {"index": "ivf", "lists": n // 39, "trained_on": n}
    assert _self_hits(store)
    store.remove("d3")
    found = store.search_dense(embedder.embed_queries(["numéro 3"])[0], 20)
    assert "d3" not in {store.chunks[c].doc_id for c, _ in found}
    loaded = Store.load(store.save(tmp_path / "idx").parent)
    assert loaded.vector_index == "ivf" and len(loaded.sentences) == n - 4 and _self_hits(loaded)
    copied = loaded.copy()
    assert copied.vector_index == "ivf" and _self_hits(copied)
    assert loaded.tune(ivf_min=10**6) == "flat" and _self_hits(loaded)
    assert loaded.manifest()["vectors"]["index"] == "flat"


def test_the_inverted_file_keeps_its_lists_until_the_store_doubles(embedder):
    old = _many(embedder, 60)
    old.tune(ivf_min=200)
    grown = _many(embedder, 70)  # as update_index does: a new store, then tune like the old one
    assert grown.tune(ivf_min=200, like=old) == "ivf"

    def centroids(store: Store) -> np.ndarray:
        quantizer = faiss.downcast_index(store.dense.index.quantizer)
        return quantizer.reconstruct_n(0, quantizer.ntotal)

    assert np.array_equal(centroids(grown), centroids(old))
    assert grown.manifest()["vectors"]["trained_on"] == len(old.sentences) and _self_hits(grown)
    doubled = _many(embedder, 130)
    doubled.tune(ivf_min=200, like=old)
    assert doubled.manifest()["vectors"]["trained_on"] == len(doubled.sentences)  # retrained


def test_ivf_min_zero_keeps_search_exact(embedder):
    store = _many(embedder, 60)
    assert store.tune(ivf_min=0) == "flat"


def _best_sentence_ranking(store: Store, q: np.ndarray) -> list[tuple[str, float]]:
    """Reference for search_dense: every chunk scored by its best sentence, brute force."""
    best: dict[str, float] = {}
    for cid in store.chunks:
        sids = [s.id for s in store.chunk_sentences(cid)]
        if sids:
            best[cid] = float((store.sentence_matrix(sids) @ q).max())
    return sorted(best.items(), key=lambda item: -item[1])


def test_dense_search_ranks_chunks_by_their_best_sentence(embedder):
    # short sentences, then one without a full stop that spans three 200-character chunks
    short = " ".join(f"Gare {i} au port." for i in range(30))
    spanning = " ".join(f"le marché numéro {i} et la gare" for i in range(16)) + "."
    store = _store(embedder, {"long": f"{short} {spanning.capitalize()}", **TEXTS})
    assert max(len(chunks) for chunks in store.tables.sentence_chunk_ids.values()) >= 3
    q = embedder.embed_queries(["le marché numéro 7 près de la gare"])[0]
    for n in (1, 5, len(store.sentences)):  # the last searches every sentence: all chunks, exactly
        found = store.search_dense(q, n)
        expected = _best_sentence_ranking(store, q)[:n]
        assert [c for c, _ in found] == [c for c, _ in expected]
        assert np.allclose([s for _, s in found], [s for _, s in expected], atol=1e-5)
    # the chunk map follows additions and removals
    store.add(*_document_parts(embedder, "new", "Le marché numéro 7 ouvre près de la gare neuve."))
    assert store.chunks[store.search_dense(q, 1)[0][0]].doc_id == "new"
    store.remove("new")
    assert [c for c, _ in store.search_dense(q, 3)] == [c for c, _ in _best_sentence_ranking(store, q)[:3]]


@pytest.mark.parametrize("name", ["chunks.jsonl", "documents.jsonl", "sentences.jsonl", "vectors.faiss"])
def test_a_table_cut_short_is_caught_on_load(embedder, tmp_path: Path, name: str):
    # A table that still parses but has lost its last rows (a copy cut short, a hand edit).
    gen = _store(embedder, TEXTS).save(tmp_path / "idx")
    data = (gen / name).read_bytes()
    (gen / name).write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 1] if name.endswith("l") else data[:-8])
    with pytest.raises(IndexCorruptError, match=f"{name} does not match the index manifest.*--rebuild"):
        Store.load(tmp_path / "idx")


def test_counts_are_checked_for_an_index_without_checksums(embedder, tmp_path: Path):
    gen = _store(embedder, TEXTS).save(tmp_path / "idx")
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["files"] = {}
    manifest["counts"]["chunks"] += 1
    (gen / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="chunks.jsonl holds 3 chunks, the manifest says 4"):
        Store.load(tmp_path / "idx")
