"""Publication dates: normalised on loading, from the metadata or a dateline; questions can be
limited to a period, searched within before ranking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import Engine, QuestionError
from rag.corpus import load_corpus


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "front.md").write_text(
        "---\ntitle: Le port\ndate: 12 juillet 2020\n---\nLe port de Brest accueille un voilier géant.",
        encoding="utf-8",
    )
    (folder / "afp.txt").write_text(
        "PARIS, 3 mars 2019 (AFP) - Le port de Marseille accueille un paquebot géant.", encoding="utf-8"
    )
    (folder / "sans.txt").write_text("Le port du Havre accueille un cargo géant.", encoding="utf-8")
    rows = [
        {"id": "w1", "date": "2021-05-04T08:30:00Z", "text": "Le port de Nantes accueille un navire géant."},
        {"id": "w2", "date": "bientôt", "text": "Le port de Sète accueille une barge géante."},
    ]
    (folder / "lot.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return folder


def test_dates_are_normalised_and_their_origin_recorded(tmp_path: Path):
    docs = {d.id: d for d in load_corpus(_corpus(tmp_path / "c")).documents}
    assert (docs["front.md"].date, docs["front.md"].date_source) == ("2020-07-12", "front matter")
    assert (docs["afp.txt"].date, docs["afp.txt"].date_source) == ("2019-03-03", "dateline")
    assert (docs["w1"].date, docs["w1"].date_source) == ("2021-05-04T08:30", "jsonl")
    assert docs["sans.txt"].date == "" and docs["sans.txt"].date_source.startswith("none: no date")
    assert docs["w2"].date == "" and "the jsonl date 'bientôt' could not be read" in docs["w2"].date_source


@pytest.fixture
def engine(tmp_path: Path, embedder) -> Engine:
    corpus = _corpus(tmp_path / "corpus")
    return Engine.open(tmp_path / "index", corpus_dir=corpus, embedder=embedder, build=True)


def test_a_period_is_searched_within_before_ranking(engine: Engine):
    question = "Quel port accueille un bateau géant ?"
    everything = engine.ask(question, k=5)
    assert {h.chunk.doc_id for h in everything.hits} == {"front.md", "afp.txt", "sans.txt", "w1", "w2"}
    within = engine.ask(question, k=5, since="2020-01-01", until="2020-12-31")
    assert {h.chunk.doc_id for h in within.hits} == {"front.md"}  # undated articles are left out too
    assert (within.since, within.until) == ("2020-01-01", "2020-12-31")
    assert all(c.doc_id == "front.md" for c in within.citations)
    since = engine.ask(question, k=1, since="2019-06-01")  # k hits of the period, not k filtered
    assert [h.chunk.doc_id for h in since.hits] in (["front.md"], ["w1"]) and since.until == ""
    nothing = engine.ask(question, since="1990-01-01", until="1990-12-31")
    assert nothing.abstained and nothing.hits == () and nothing.citations == ()


@pytest.mark.parametrize(
    "since,until,says",
    [
        ("juillet", None, "since='juillet' is not a date: write it YYYY-MM-DD"),
        ("2020-07-01", "2020-13-01", "until='2020-13-01' is not a date"),
        ("2020-08-01", "2020-07-01", "since=2020-08-01 is after until=2020-07-01: swap them"),
    ],
)
def test_a_bad_period_is_named(engine: Engine, since, until, says: str):
    with pytest.raises(QuestionError, match=says):
        engine.ask("Quel port ?", since=since, until=until)


def test_other_date_forms_go_to_dateparser_but_not_relative_ones():
    from rag.corpus.dates import normalise_date

    assert normalise_date("May 22nd, 2012") == "2012-05-22"  # not one of rag's own patterns
    assert normalise_date("3 days ago") == normalise_date("le 22 mai dernier") == ""  # no fixed date
