"""The fusion of dense and lexical candidates, and the retriever over a small store."""

from __future__ import annotations

import random

import pytest
from helpers import make_store

from rag import SettingsError
from rag.embedders import HashEmbedder
from rag.query import QuestionAnalyzer
from rag.retrieval import RetrievalSettings, Retriever, fuse

MINMAX = RetrievalSettings()


def test_minmax_normalises_each_side_then_weighs_them():
    dense = [("a", 0.9), ("b", 0.7), ("c", 0.5)]
    lexical = [("c", 10.0), ("d", 2.0)]
    fused = dict(fuse(dense, lexical, 10, MINMAX))
    # a: dense 1.0 x 0.5; b: 0.5 x 0.5; c: dense 0 + lexical 1.0 x 0.5; d: lexical 0
    assert fused == pytest.approx({"a": 0.5, "b": 0.25, "c": 0.5, "d": 0.0})
    assert [cid for cid, _ in fuse(dense, lexical, 10, MINMAX)][:2] == ["a", "c"]  # a tie: by id
    heavy = RetrievalSettings(dense_weight=0.8)
    assert dict(fuse(dense, lexical, 10, heavy))["c"] == pytest.approx(0.2)


def test_one_candidate_or_equal_scores_count_fully():
    assert fuse([("a", 0.3)], [], 5, MINMAX) == [("a", 0.5)]
    assert fuse([("a", 0.3), ("b", 0.3)], [], 5, MINMAX) == [("a", 0.5), ("b", 0.5)]
    assert fuse([], [], 5, MINMAX) == []


def test_rrf_adds_reciprocal_ranks_and_the_single_retriever_fusions_ignore_the_other():
    rrf = RetrievalSettings(fusion="rrf", rrf_k=10)
    fused = dict(fuse([("a", 0.9), ("b", 0.1)], [("b", 5.0)], 5, rrf))
    assert fused == pytest.approx({"a": 1 / 11, "b": 1 / 12 + 1 / 11})
    assert fuse([("a", 0.9)], [("b", 5.0)], 5, RetrievalSettings(fusion="dense")) == [("a", 1.0)]
    assert fuse([("a", 0.9)], [("b", 5.0)], 5, RetrievalSettings(fusion="bm25")) == [("b", 1.0)]
    with pytest.raises(SettingsError, match="unknown fusion 'sum'"):
        RetrievalSettings(fusion="sum")


def test_keeping_k_matches_a_full_sort_ties_included():
    rng = random.Random(3)
    for _ in range(200):
        n = rng.randint(0, 40)
        dense = sorted(
            ((f"c{i}", rng.choice([0.1, 0.5, 0.9, rng.random()])) for i in range(n)), key=lambda x: -x[1]
        )
        lexical = sorted(
            ((f"c{rng.randint(0, 60)}", rng.random() * 5) for _ in range(n)), key=lambda x: -x[1]
        )
        lexical = list(dict(lexical).items())
        k = rng.randint(1, 12)
        everything = fuse(dense, lexical, 10_000, MINMAX)
        assert fuse(dense, lexical, k, MINMAX) == everything[:k]


def test_hits_keep_both_retrievers_ranks_and_scores():
    embedder = HashEmbedder(64)
    store = make_store(
        embedder,
        {
            "rare": "Les terres rares sont stratégiques pour Washington.",
            "foot": "Le club de Marseille a gagné son match de football.",
            "pluie": "Il pleuvra à Lyon demain, avec des orages.",
        },
    )
    query = QuestionAnalyzer().analyse("Quel match a gagné le club de Marseille ?")
    vector = embedder.embed_queries([query.text])[0]
    hits = Retriever(store).search(query, vector, k=2)
    assert [h.rank for h in hits] == [1, 2] and hits[0].chunk.doc_id == "foot"
    top = hits[0]
    assert top.dense_rank == 1 and top.lexical_rank == 1 and top.dense_score and top.lexical_score
    assert all(h.title for h in hits) and hits[0].score >= hits[1].score
    bm25 = Retriever(store, RetrievalSettings(fusion="bm25")).search(query, vector, k=3)
    assert all(h.dense_rank is None for h in bm25)
