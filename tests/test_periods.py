"""Time in questions: periods from "hier", "la semaine dernière", "in July 2020"; latest; timelines."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from rag import Engine, Settings
from rag.periods import find_period, question_period

REF = date(2024, 3, 6)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "since", "until"),
    [
        ("Qu'a dit le maire hier ?", "2024-03-05", "2024-03-05"),
        ("Et avant-hier ?", "2024-03-04", "2024-03-04"),
        ("Quoi de neuf aujourd’hui ?", "2024-03-06", "2024-03-06"),
        ("Que s'est-il passé la semaine dernière à Lyon ?", "2024-02-26", "2024-03-03"),
        ("Quelles annonces cette semaine ?", "2024-03-04", "2024-03-06"),
        ("Que s'est-il passé le mois dernier ?", "2024-02-01", "2024-02-29"),
        ("Qui a gagné l'an dernier ?", "2023-01-01", "2023-12-31"),
        ("Qui a gagné l’année passée ?", "2023-01-01", "2023-12-31"),
        ("Que s'est-il passé en juillet 2020 ?", "2020-07-01", "2020-07-31"),
        ("Qui a gagné en 2019 ?", "2019-01-01", "2019-12-31"),
        ("Que s'est-il passé en mars ?", "2024-03-01", "2024-03-31"),
        ("Et en décembre ?", "2023-12-01", "2023-12-31"),  # the last December before the reference
        ("Quoi de neuf depuis lundi ?", "2024-03-04", "2024-03-06"),
        ("Qu'a-t-il dit depuis le 1er mars ?", "2024-03-01", "2024-03-06"),
        ("Que s'est-il passé le 3 mars 2019 ?", "2019-03-03", "2019-03-03"),
        ("Les annonces des 3 derniers jours ?", "2024-03-04", "2024-03-06"),
        ("What happened yesterday?", "2024-03-05", "2024-03-05"),
        ("What happened last week?", "2024-02-26", "2024-03-03"),
        ("Who won in March?", "2024-03-01", "2024-03-31"),
        ("What happened in July 2020?", "2020-07-01", "2020-07-31"),
        ("What was said on March 3, 2019?", "2019-03-03", "2019-03-03"),
        ("What happened since January?", "2024-01-01", "2024-03-06"),
        ("What happened last month?", "2024-02-01", "2024-02-29"),
        ("Who said it last Friday?", "2024-03-01", "2024-03-01"),
        ("What was decided in the past ten days?", "2024-02-26", "2024-03-06"),
        ("What storm hit Jacksonville in May of 2012?", "2012-05-01", "2012-05-31"),
    ],
)
def test_a_time_expression_is_a_period_from_the_reference(question: str, since: str, until: str) -> None:
    found = find_period(question, REF)
    assert found is not None and (found.since, found.until) == (since, until)
    assert found.words.lower() in question.lower().replace("’", "'")


@pytest.mark.parametrize(
    "question",
    [
        "Qui a gagné le match ?",
        "Où est le 3e arrondissement ?",
        "Que fait Mai Lan ?",
        "Who won?",
        "Qui capitule au nom de la France en septembre 1760 ?",  # history, not this September
        "Quelle est la taille de l'armée ottomane le 30 juin 1829 ?",
        "Que dit-il depuis mars 1041 ?",
    ],
)
def test_a_question_without_a_time_expression_has_no_period(question: str) -> None:
    assert find_period(question, REF) is None


def test_an_absolute_period_outside_the_corpus_is_history_and_an_undated_corpus_has_none() -> None:
    assert question_period("Qui a gagné la coupe du monde en 1998 ?", "2024-03-06", "2018-01-01") is None
    assert question_period("Qui a gagné en 2019 ?", "2024-03-06", "2018-01-01") is not None
    assert question_period("Qu'a dit le maire hier ?", "", "") is None  # (PIAF, an encyclopedia)
    assert question_period("Qu'a dit le maire hier ?", "2024-03-06", "2018-01-01") is not None


ARTICLES = [
    (
        "tram-1.md",
        "2024-02-20",
        "Lyon ouvre le chantier du tramway T10 vers Vénissieux, annonce la métropole.",
    ),
    (
        "tram-2.md",
        "2024-02-27",
        "Le tramway T10 de Lyon accuse un retard de six mois, reconnaît la métropole.",
    ),
    (
        "tram-3.md",
        "2024-03-05",
        "Le tramway T10 de Lyon coûtera finalement 40 millions de plus, dit la métropole.",
    ),
    ("meteo.md", "2024-03-04", "Il pleuvra beaucoup à Lyon demain, les températures baisseront nettement."),
]


@pytest.fixture
def dated(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, day, text in ARTICLES:
        (folder / name).write_text(f"---\ntitle: {name[:-3]}\ndate: {day}\n---\n{text}\n", encoding="utf-8")
    return folder


def engine_for(folder: Path, embedder, **settings: str) -> Engine:  # type: ignore[no-untyped-def]
    engine = Engine.open(folder / "index", corpus_dir=folder, embedder=embedder, build=True)
    if settings:
        engine.settings = Settings.resolve(index_dir=folder / "index", corpus_dir=folder, **settings)
    return engine


def test_a_question_s_period_is_searched_within_and_said_first(dated: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for(dated, embedder)
    assert engine.reference_dates() == ("2024-03-05", "2024-02-20")
    answer = engine.ask("Qu'a annoncé la métropole sur le tramway T10 la semaine dernière ?")
    assert (answer.since, answer.until) == ("2024-02-26", "2024-03-03")  # the week before the newest article
    assert answer.text.startswith("Entre le 26 février et le 3 mars 2024 :\n")
    assert {h.chunk.doc_id for h in answer.hits} <= {"tram-2.md", "meteo.md"}
    assert {c.doc_id for c in answer.citations} == {"tram-2.md"}
    # A period given as an argument wins over the question's words.
    given = engine.ask(
        "Qu'a annoncé la métropole sur le tramway T10 la semaine dernière ?", since="2024-03-05"
    )
    assert (given.since, given.until) == ("2024-03-05", "")
    assert given.text.startswith("Depuis le 5 mars 2024 :\n")


def test_today_as_the_reference_leaves_an_old_archive_s_last_week_empty(dated: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for(dated, embedder, time_reference="today")
    assert engine.reference_dates()[0] == date.today().isoformat()
    answer = engine.ask("Qu'a annoncé la métropole sur le tramway T10 hier ?")
    assert answer.abstained and answer.hits == ()
    assert answer.since == answer.until == (date.today() - timedelta(days=1)).isoformat()


def test_a_latest_question_reads_the_newest_article_on_the_subject(dated: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for(dated, embedder)
    answer = engine.ask("Quelles sont les dernières nouvelles sur le tramway T10 de Lyon ?")
    assert answer.hits[0].chunk.doc_id == "tram-3.md"
    assert answer.citations and answer.citations[0].doc_id == "tram-3.md"
    plain = engine.retrieve("Quelles sont les nouvelles sur le tramway T10 de Lyon ?")
    assert plain.hits[0].chunk.doc_id != "tram-3.md"  # without "dernières", the best match comes first


def test_what_happened_is_a_timeline_one_sentence_per_date_in_date_order(dated: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for(dated, embedder)
    answer = engine.ask("Que s'est-il passé avec le tramway T10 de Lyon ?")
    assert answer.reason == "timeline" and not answer.abstained
    assert [c.doc_id for c in answer.citations] == ["tram-1.md", "tram-2.md", "tram-3.md"]
    lines = answer.text.split("\n")
    assert lines[0].startswith("20 février 2024 : Lyon ouvre le chantier") and lines[0].endswith("[1]")
    assert lines[2].startswith("5 mars 2024 : ")
    english = engine.ask("What happened with the T10 tramway in Lyon?")
    assert english.reason == "timeline" and english.text.startswith("20 February 2024 : ")


def test_an_undated_article_is_kept_for_the_question_s_period_not_for_a_given_one(
    dated: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    (dated / "tram-0.txt").write_text(
        "Le tramway T10\nLe tramway T10 de Lyon reliera Vénissieux à Gerland, explique la métropole.\n",
        encoding="utf-8",
    )
    engine = engine_for(dated, embedder)
    asked = engine.retrieve("Que dit la métropole du tramway T10 la semaine dernière ?", k=10)
    assert {h.chunk.doc_id for h in asked.hits} >= {"tram-0.txt", "tram-2.md"}
    assert "tram-3.md" not in {h.chunk.doc_id for h in asked.hits}  # dated outside the period
    given = engine.retrieve(
        "Que dit la métropole du tramway T10 ?", k=10, since="2024-02-26", until="2024-03-03"
    )
    assert "tram-0.txt" not in {h.chunk.doc_id for h in given.hits}


def test_what_happened_in_a_period_without_a_subject_is_a_digest_of_its_articles(
    dated: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for(dated, embedder)
    answer = engine.ask("Que s'est-il passé depuis le 25 février ?")
    assert answer.reason == "timeline" and (answer.since, answer.until) == ("2024-02-25", "2024-03-05")
    assert [c.doc_id for c in answer.citations] == ["tram-2.md", "meteo.md", "tram-3.md"]
    assert all(c.start == 0 for c in answer.citations)  # each article's lead sentence
    assert answer.text.split("\n")[1].startswith("27 février 2024 : Le tramway T10 de Lyon accuse un retard")


def test_edge_periods_a_monday_an_empty_count_and_today_over_an_old_archive() -> None:
    monday = date(2024, 3, 4)
    found = find_period("Quoi de neuf depuis lundi ?", monday)
    assert found is not None and (found.since, found.until) == ("2024-03-04", "2024-03-04")
    assert find_period("Les annonces des 0 derniers jours ?", monday) is None
    # With today as the reference, a year after the archive's newest article is still history.
    assert question_period("Qui a gagné en 2025 ?", "2026-12-02", "2010-01-01", "2015-06-30") is None
    assert question_period("Qu'a dit le maire hier ?", "2026-12-02", "2010-01-01", "2015-06-30") is not None


def test_a_timeline_question_after_another_is_not_taken_for_a_follow_up() -> None:
    from rag.query import QuestionAnalyzer

    analysed = QuestionAnalyzer().analyse("Que s'est-il passé avec Macron ?", ["Quel est le prix du blé ?"])
    assert analysed.text == "avec Macron ?" and analysed.timeline
    assert (
        QuestionAnalyzer().analyse("Et l'Australie ?", ["Que veut l'UE ?"]).text
        == "Que veut l'UE ? Et l'Australie ?"
    )


def test_an_event_s_date_that_nothing_in_its_period_answers_widens_to_the_whole_index_said_so(
    dated: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    # The article announcing March's fare rise is dated February: within March, nothing answers.
    (dated / "tarifs.md").write_text(
        "---\ntitle: tarifs\ndate: 2024-02-21\n---\n"
        "Le ticket de tramway TCL coûtera 2,10 euros après la hausse des tarifs de mars 2024.\n",
        encoding="utf-8",
    )
    engine = engine_for(dated, embedder)
    question = "Combien coûtera le ticket de tramway TCL après la hausse des tarifs de mars 2024 ?"
    within = engine.retrieve(question)
    assert (within.query.since, within.query.until) == ("2024-03-01", "2024-03-31")
    assert "tarifs.md" not in {h.chunk.doc_id for h in within.hits}
    answer = engine.ask(question)
    assert not answer.abstained and answer.citations[0].doc_id == "tarifs.md"
    assert answer.text.startswith("Rien entre le 1er et le 31 mars 2024 ; hors de cette période :\n")
    assert (answer.since, answer.until) == ("", "")  # what was searched in the end: every article
    # A period given as an argument is not widened, nor one counted from the newest article.
    given = engine.ask(question, since="2024-03-01", until="2024-03-31")
    assert given.abstained and given.text.startswith("Entre le 1er et le 31 mars 2024 :\n")
    recent = engine.ask("Combien coûtera le ticket de tramway TCL après la hausse des tarifs cette semaine ?")
    assert recent.abstained and recent.since == "2024-03-04"
