"""train/mine_negatives.py: the sentences a trained reader wrongly reads an answer in, kept as "no
answer" rows for a second training pass (train/span_reader.py --hard)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rag.composer.span_model import Span
from rag.evaluation.qa import QAItem, title_half
from train.mine_negatives import KEPT, _hard
from train.span_reader import load_rows


class Reader:
    """Reads an answer, scored by the number in the sentence, in every sentence that holds one."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def read(self, question: str, sentences: list[str], previous: list[str] | None = None) -> list[Span]:
        self.asked += sentences
        out = []
        for s in sentences:
            digits = [w for w in s.split() if w.isdigit()]
            out.append(Span(0, len(digits[0]), float(digits[0]) - 50) if digits else Span(0, 0, -9.0))
        return out


def item(question: str, answer: str, context: str, title: str) -> QAItem:
    return QAItem("q1", question, (answer,), (context.index(answer),), context, title, "d1")


POOL = [
    ("Le pont mesure 120 mètres.", "", "Pont"),  # the gold sentence
    ("Il a coûté 90 millions.", "Le pont mesure 120 mètres.", "Pont"),
    ("Il ouvre en 2012.", "Il a coûté 90 millions.", "Pont"),
    ("La tour mesure 300 mètres.", "", "Tour"),
    ("Elle est grise.", "La tour mesure 300 mètres.", "Tour"),
]


def test_it_keeps_the_best_read_sentences_that_do_not_hold_the_gold_answer():
    reader = Reader()
    question = item("Combien mesure le pont ?", "120 mètres", "Le pont mesure 120 mètres.", "Pont")
    closeness = np.array([0.9, 0.5, 0.4, 0.8, 0.3])
    rows = _hard(question, POOL, closeness, reader)  # type: ignore[arg-type]
    assert "Le pont mesure 120 mètres." not in reader.asked  # the answer's sentence is never a negative
    assert KEPT == 2
    assert [r["sentence"] for r in rows] == ["La tour mesure 300 mètres.", "Il a coûté 90 millions."]
    assert [r["before"] for r in rows] == ["", "Le pont mesure 120 mètres."]
    assert [r["score"] for r in rows] == ["250.00", "40.00"]
    assert all(r["question"] == "Combien mesure le pont ?" for r in rows)


def test_a_sentence_read_as_no_answer_is_no_hard_negative():
    reader = Reader()
    question = item("Combien mesure le pont ?", "120 mètres", "Le pont mesure 120 mètres.", "Pont")
    pool = [p for p in POOL if not any(c.isdigit() for c in p[0]) or p[0].startswith("Le pont")]
    assert _hard(question, pool, np.zeros(len(pool)), reader) == []  # type: ignore[arg-type]
    assert reader.asked == ["Elle est grise."]


def test_hard_negatives_join_the_training_rows_as_no_answer(tmp_path: Path):
    title = next(t for t in (f"Article {n}" for n in range(50)) if title_half(t) == "train")
    context = "Le pont mesure 120 mètres. Il ouvre en 2012."
    qa = {"id": "p1", "question": "Combien mesure le pont ?", "answers": ["120 mètres"],
          "answer_starts": [15], "context": context, "title": title}  # fmt: skip
    for name in ("piaf_v1.0_fr.jsonl", "xquad_en.jsonl"):
        (tmp_path / name).write_text(json.dumps(qa, ensure_ascii=False) + "\n", encoding="utf-8")
    hard = tmp_path / "hard.jsonl"
    mined = {"question": "Combien mesure la tour ?", "sentence": "Le pont mesure 120 mètres.", "before": "",
             "score": "3.00"}  # fmt: skip
    hard.write_text(json.dumps(mined, ensure_ascii=False) + "\n", encoding="utf-8")
    plain = load_rows(tmp_path, "train")
    rows = load_rows(tmp_path, "train", hard=hard)
    assert rows[: len(rows) - len(plain)] == [
        ("Combien mesure la tour ?", "Le pont mesure 120 mètres.", 0, 0, "")
    ]
    assert rows[len(rows) - len(plain) :] == plain
    assert ("Combien mesure le pont ?", "Le pont mesure 120 mètres.", 15, 25, "") in plain
