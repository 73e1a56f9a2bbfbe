"""`rag eval`: metrics in range, verbatim citations, a deterministic no-answer split, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, SEED_ID, SEEDS, shared_file

from rag.embedders import HashEmbedder
from rag.errors import CorpusError, RagError
from rag.evaluation import (
    CachingEmbedder,
    QAItem,
    contains_answer,
    context_id,
    document_ranks,
    evaluate,
    load_qa,
    no_answer_split,
    roc_auc,
    threshold_for,
)
from rag.text import detect_language
from rag.types import Answer, Chunk, Hit
from ui.cli import main as cli_main

SEED_QA = ROOT / "eval" / "seed_questions.jsonl"


def _item(qid: str, context: str, answers: tuple[str, ...] = ()) -> QAItem:
    starts = tuple(context.index(a) for a in answers)
    return QAItem(qid, f"Question {qid} ?", answers, starts, context, "T", context_id(context))


def _check_run(summary: dict) -> None:
    r, a, c, ab = summary["retrieval"], summary["answers"], summary["citations"], summary["abstention"]
    assert 0 <= r["recall@1"] <= r["recall@5"] <= r["recall@10"] <= 1
    assert r["recall@1"] <= r["mrr@10"] <= r["recall@10"]
    for value in (*a.values(), ab["answerable_abstention"], ab["recall"]):
        assert value is None or 0 <= value <= 1
    assert a["answer_in_first_citation"] <= a["answer_in_text"]
    assert c["quotes"] > 0 and c["verbatim"] == 1.0
    assert ab["auc"] is None or 0 <= ab["auc"] <= 1
    assert summary["latency_ms"]["p50"] <= summary["latency_ms"]["p95"]


# ----- helpers ---------------------------------------------------------------------------------------
def test_answer_matching_ignores_case_apostrophes_and_spacing():
    assert contains_answer("Pour Washington, l’enjeu est avant tout STRATÉGIQUE. [1]", ["l'enjeu est"])
    assert contains_answer("les potentialités d'exploitation", ["Les potentialités d’exploitation"])
    assert contains_answer("11,04\u00a0milliards d’euros", ["11,04 milliards d'euros"])
    assert not contains_answer("Je n'ai pas trouvé la réponse dans les articles.", ["Séjourné"])
    assert not contains_answer("anything", [])


def test_roc_auc_and_threshold():
    assert roc_auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert roc_auc([0.1], [0.9]) == 0.0
    assert roc_auc([0.5, 0.5], [0.5]) == 0.5
    assert roc_auc([1.0], []) is None
    positives = [i / 100 for i in range(100)]
    t = threshold_for(positives, 0.05)
    assert t is not None and sum(p < t for p in positives) == 5


def test_document_ranks_dedupes_chunks_in_rank_order():
    def hit(doc: str, rank: int) -> Hit:
        return Hit(Chunk(f"{doc}{rank}", doc, 0, 1, "x"), "t", "", "", rank, 1.0 / rank)

    answer = Answer("q", "t", (), (hit("b", 2), hit("a", 1), hit("a", 3), hit("c", 4)), True, "fr", 0.0, "q")
    assert document_ranks(answer) == ["a", "b", "c"]


def test_caching_embedder_returns_the_same_vectors():
    inner = HashEmbedder(64)
    cached = CachingEmbedder(inner)
    texts = ["Le sommet de Washington", "Les terres rares", "Le sommet de Washington"]
    first = cached.embed_passages(texts)
    calls = inner.calls
    again = cached.embed_passages(texts[:2])
    assert inner.calls == calls  # served from the cache
    assert np.allclose(first, inner.embed_passages(texts)) and np.allclose(again, first[:2])
    assert cached.embed_queries([]).shape == (0, 64) and cached.model_id == inner.model_id


def test_no_answer_split_is_deterministic_and_covers_the_fraction():
    items = [_item(f"q{c}-{i}", f"Contexte numéro {c}.") for c in range(50) for i in range(1 + c % 4)]
    split = no_answer_split(items, 0.1, seed=13)
    assert split == no_answer_split(list(items), 0.1, seed=13)
    assert split != no_answer_split(items, 0.1, seed=14)
    covered = [i for i in items if i.doc_id in set(split)]
    target = round(0.1 * len(items))
    assert target <= len(covered) < target + 4  # stops once the target is reached
    assert no_answer_split(items, 0.0) == []


# ----- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content, message",
    [
        ("not json\n", "not valid JSON"),
        ('{"id": "a", "question": "Qui ?"}\n', "missing field"),
        (
            '{"id": "a", "question": "Qui ?", "answers": ["Paul"], "answer_starts": [3], '
            '"context": "Paul vient.", "title": "t"}\n',
            "not at offset 3",
        ),
        (
            '{"id": "a", "question": "?!", "answers": [], "answer_starts": [], '
            '"context": "Paul vient.", "title": "t"}\n',
            "no words",
        ),
        ("\n", "no questions"),
    ],
)
def test_bad_qa_file_is_a_rag_error(tmp_path: Path, content: str, message: str):
    path = tmp_path / "qa.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusError, match=message):
        load_qa(path)


def test_bad_qa_file_exits_2_from_the_cli(tmp_path: Path, capsys):
    code = cli_main(["eval", "--qa", str(tmp_path / "missing.jsonl"), "--model", "hash"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: QA file") and "does not exist" in err
    with pytest.raises(RagError):
        load_qa(tmp_path / "missing.jsonl")


# ----- the seed questions (no shared data needed) ----------------------------------------------------
def test_seed_questions_file_is_valid_and_bilingual():
    items = load_qa(SEED_QA)
    seed_text = (SEEDS / SEED_ID).read_text(encoding="utf-8")
    assert 12 <= len(items) <= 20
    assert all(item.context == seed_text for item in items)
    for item in items:
        for answer, start in zip(item.answers, item.answer_starts, strict=True):
            assert seed_text[start : start + len(answer)] == answer
    ids = {item.id for item in items}
    assert any(i.startswith("seed-en") for i in ids) and any(i.startswith("seed-fr") for i in ids)
    asked = {item.question: item.answers for item in items}
    question = "What does the administration put forward in diplomatic negotiations?"
    assert asked[question] == ("les potentialités d’exploitation de ces ressources",)


@pytest.mark.parametrize(
    "name",
    [
        "seed_questions",
        "wikinews_questions",
        "wikinews_en_questions",
        "offtopic_questions",
        "news_heldout_questions",
    ],
)
def test_every_question_file_loads_with_its_answers_at_their_offsets(name: str):
    items = load_qa(ROOT / "eval" / f"{name}.jsonl")
    for item in items:
        for answer, start in zip(item.answers, item.answer_starts, strict=True):
            assert item.context[start : start + len(answer)] == answer
    if name == "offtopic_questions":
        assert len(items) == 20 and all(not item.answers for item in items)
        assert {item.id[:6] for item in items} == {"off-en", "off-fr"}
    if name == "wikinews_en_questions":  # one English question for each of 30 other articles
        assert len(items) == 30 and len({item.context for item in items}) == 30
        assert all(item.answers and detect_language(item.question) == "en" for item in items)
    if name == "news_heldout_questions":  # 12 of each: French and English, answerable and not
        kinds = [(item.id[:5], bool(item.answers)) for item in items]
        assert sorted(set(kinds)) == [("nh-en", True), ("nh-fr", True), ("nu-en", False), ("nu-fr", False)]
        assert all(kinds.count(k) == 12 for k in set(kinds))


def test_eval_on_seed_questions(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.delenv("RAG_MODEL", raising=False)
    out_json = tmp_path / "seed.json"
    code = cli_main(["eval", "--qa", str(SEED_QA), "--model", "hash", "--json", str(out_json)])
    out = capsys.readouterr().out
    assert code == 0 and "| hybrid (minmax) |" in out and "seed 13" in out
    result = json.loads(out_json.read_text(encoding="utf-8"))
    summary = result["results"]["hybrid (minmax)"]
    _check_run(summary)
    assert summary["retrieval"]["recall@1"] == 1.0  # one context
    by_language = summary["by_language"]  # the cross-lingual figure
    assert set(by_language) == {"en", "fr"} and by_language["en"]["answerable"] >= 6
    assert "answerable questions by language: en (" in out
    n = len(load_qa(SEED_QA))
    # The only context is left out of the second index: every question is asked again, and abstains.
    assert result["config"]["no_answer"]["questions_removed"] == n
    removed = [r for r in result["records"] if r["split"] == "removed"]
    assert len(removed) == n and all(r["abstained"] for r in removed)
    assert summary["abstention"]["recall"] == 1.0


# ----- PIAF (shared data) ----------------------------------------------------------------------------
def test_eval_on_piaf_limit_40(tmp_path: Path, capsys):
    piaf = shared_file("piaf_v1.0_fr.jsonl")
    out_json = tmp_path / "piaf.json"
    args = ["eval", "--qa", str(piaf), "--limit", "40", "--model", "hash", "--retriever", "all"]
    code = cli_main([*args, "--json", str(out_json)])
    out = capsys.readouterr().out
    assert code == 0
    result = json.loads(out_json.read_text(encoding="utf-8"))
    runs = result["results"]
    assert list(runs) == ["bm25", "dense", "hybrid (minmax)", "hybrid (rrf)"]
    assert all(f"| {name} |" in out for name in runs)
    cfg = result["config"]
    assert cfg["questions"] == 40 and cfg["contexts"] == 761  # every context is indexed
    for summary in runs.values():
        _check_run(summary)
        assert summary["questions"]["answerable"] == 40
    assert runs["bm25"]["retrieval"]["recall@10"] >= 0.6  # PIAF questions share words with their context
    # The no-answer split depends only on the questions asked and the seed.
    expected = no_answer_split(load_qa(piaf)[:40], 0.1, 13)
    assert cfg["no_answer"]["removed_doc_ids"] == expected and cfg["no_answer"]["seed"] == 13
    assert cfg["no_answer"]["questions_removed"] >= 4
    gone = cfg["no_answer"]["questions_sentence_gone"]  # one a removed context, its answer's sentence cut
    assert 1 <= gone <= len(expected)
    records = result["records"]
    assert len(records) == 4 * (40 + cfg["no_answer"]["questions_removed"] + gone)
    for summary in runs.values():  # apart from the removed-gold ones, in no precision, recall or AUC
        assert summary["questions"]["sentence_gone"] == gone
        assert 0 <= summary["abstention"]["sentence_gone"]["abstained"] <= 1
    cut = [r for r in records if r["split"] == "sentence_gone"]
    assert {r["gold_doc"] for r in cut} <= set(expected) and all(r["gold_rank"] is None for r in cut)
    assert "sentence-gone questions" in out
    first = records[0]
    assert set(first) >= {"id", "question", "gold_rank", "answer", "abstained", "confidence", "latency_ms"}
    assert all(r["gold_rank"] is None or 1 <= r["gold_rank"] <= 10 for r in records)
    assert all(r["gold_rank"] is None for r in records if r["split"] == "removed")


def test_seed_questions_among_wikinews_distractors():
    wikinews = shared_file("wikinews_fr_2012.jsonl")
    result = evaluate(load_qa(SEED_QA), HashEmbedder(), retriever="bm25", distractors=wikinews)
    assert result["config"]["documents_full"] == 101
    assert result["config"]["documents_no_answer"] == 100  # the distractors stay
    summary = result["results"]["bm25"]
    _check_run(summary)
    assert summary["retrieval"]["recall@10"] >= 0.8
    with pytest.raises(CorpusError, match="distractor"):
        evaluate(load_qa(SEED_QA), HashEmbedder(), distractors=wikinews.parent / "nope.jsonl")


def test_a_distractor_identical_to_a_context_is_not_indexed_twice(tmp_path: Path):
    articles = [
        {"id": "wn-1", "title": "Orages", "text": "De violents orages ont frappé Lyon mardi soir."},
        {"id": "wn-2", "title": "Football", "text": "Marseille a battu Lyon deux buts à un samedi."},
    ]
    distractors = tmp_path / "distractors.jsonl"
    distractors.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles), "utf-8")
    text = articles[0]["text"]
    row = {
        "id": "q1",
        "question": "Qu'est-ce qui a frappé Lyon ?",
        "answers": ["De violents orages"],
        "answer_starts": [0],
        "context": text,
        "title": "Orages",
    }
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps(row, ensure_ascii=False) + "\n", "utf-8")
    result = evaluate(load_qa(qa), HashEmbedder(), retriever="bm25", distractors=distractors, fraction=1.0)
    assert result["config"]["documents_full"] == 2  # the context once, plus the other article
    assert result["config"]["documents_no_answer"] == 1  # the gold is really gone once removed
    removed = [r for r in result["records"] if r["split"] == "removed"]
    assert removed and not any(r["answer_in_text"] for r in removed)
