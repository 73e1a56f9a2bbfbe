from pathlib import Path

import pytest
from helpers import SEED_ID

import rag
from rag import Engine
from rag.errors import IndexNotFoundError, QuestionError
from rag.types import Answer


@pytest.fixture
def engine(corpus: Path, index_dir: Path, embedder) -> Engine:
    return Engine.open(index_dir, corpus_dir=corpus, embedder=embedder, build=True)


def assert_verbatim(engine: Engine, answer: Answer) -> None:
    for c in answer.citations + answer.related:
        assert engine.document(c.doc_id).text[c.start : c.end] == c.quote
    for n, c in enumerate(answer.citations, start=1):
        assert c.number == n and f"[{n}]" in answer.text


def test_answer_quotes_the_right_sentence_with_exact_offsets(engine: Engine):
    answer = engine.ask("Quel est l'enjeu pour Washington ?")
    assert not answer.abstained
    assert answer.citations[0].quote == "Pour Washington, l’enjeu est avant tout stratégique."
    assert answer.citations[0].doc_id == SEED_ID
    assert answer.text.startswith("Pour Washington, l’enjeu est avant tout stratégique. [1]")
    assert_verbatim(engine, answer)
    assert 1 <= len(answer.citations) <= 3
    hit = answer.hits[0]
    assert hit.rank == 1 and (hit.dense_rank is not None or hit.lexical_rank is not None)


def test_every_answer_has_one_shape_and_verbatim_citations(engine: Engine):
    questions = [
        "Qui représentera l'Union européenne ?",
        "Quelle est la valeur de la réserve de terres rares ?",
        "Quel est le score du match de Marseille ?",
        "Quel temps fera-t-il à Lyon demain ?",
        "Combien de pays participent à la réunion ?",
        "zzzz qqqq",
    ]
    for q in questions:
        answer = engine.ask(q)
        assert isinstance(answer, Answer) and answer.question == q
        assert answer.abstained == (not answer.citations)
        assert_verbatim(engine, answer)


def test_abstains_when_nothing_matches(engine: Engine):
    answer = engine.ask("Quelle est la recette de la tarte tatin aux pommes caramélisées ?")
    assert answer.abstained and answer.citations == ()
    assert answer.text == "Je n'ai pas trouvé la réponse dans les articles."
    assert answer.related and all(r.quote for r in answer.related)
    english = engine.ask("What is the recipe for apple tarte tatin with caramel?")
    assert english.abstained and english.text == "I did not find the answer in the articles."


def test_english_questions_are_told_the_quotes_are_french(engine: Engine):
    answer = engine.ask("What did Washington say about the strategic stake, Washington?", k=3)
    if not answer.abstained:
        assert answer.text.startswith("From the articles (in French): ")
    assert answer.language == "en"


@pytest.mark.parametrize(
    "question,match",
    [("", "empty"), ("   \n", "empty"), ("?!… 🙂🙂", "no words"), ("a" * 2001, "2001 characters")],
)
def test_bad_questions_are_clear_errors(engine: Engine, question: str, match: str):
    with pytest.raises(QuestionError, match=match):
        engine.ask(question)


@pytest.mark.parametrize(
    "arguments,match",
    [
        (
            {"history": "Que souhaite l'UE ?"},
            "history must be a list of the previous questions, not a string",
        ),
        ({"history": {"q": 1}}, "history must be a list .* not dict"),
        ({"history": 42}, "not int '42'"),
        ({"history": ["ok", 3]}, r"history\[1\] is int '3', not a question"),
        ({"history": ["Q ?"] * 21}, "history has 21 questions, over the limit of 20"),
        ({"history": ["a" * 2001]}, r"history\[0\] has 2001 characters"),
        ({"k": "abc"}, "k='abc' is not a whole number: use 1 to 50"),
        ({"k": 0}, "k=0 is out of range: use 1 to 50"),
        ({"k": 2.5}, "k=2.5 is not a whole number"),
    ],
)
def test_bad_arguments_are_named_with_their_value_and_range(engine: Engine, arguments: dict, match: str):
    with pytest.raises(QuestionError, match=match):
        engine.ask("Et l'Australie ?", **arguments)


def test_a_question_of_digits_is_a_question(engine: Engine):
    assert engine.ask("12345").question == "12345"
    with pytest.raises(QuestionError, match="the question must be text, not int '12345'"):
        engine.ask(12345)  # type: ignore[arg-type]


def test_follow_up_is_searched_with_the_previous_question(engine: Engine):
    answer = engine.ask("Et l'Australie ?", history=["Que souhaite l'UE ?"])
    assert answer.query == "Que souhaite l'UE ? Et l'Australie ?"
    alone = engine.ask("Quel est l'enjeu pour Washington ?", history=["Que souhaite l'UE ?"])
    assert alone.query == "Quel est l'enjeu pour Washington ?"


def test_no_index_says_how_to_build_it(tmp_path: Path, embedder):
    with pytest.raises(IndexNotFoundError, match="rag index"):
        Engine.open(tmp_path / "nothing", embedder=embedder)


def test_add_and_remove_files_without_restart(engine: Engine, tmp_path: Path):
    upload = tmp_path / "upload.bin"
    upload.write_text(
        "Le festival de Cannes a récompensé un film coréen par la Palme d'or.", encoding="utf-8"
    )
    change = engine.add_files([upload], names=["festival cannes.txt"])
    assert [(f.status, f.path) for f in change.files] == [("added", "festival_cannes.txt")]
    assert change.index and change.index.added == 1 and change.index.sentences_embedded == 1
    answer = engine.ask("Quel film a reçu la Palme d'or à Cannes ?")
    assert answer.citations and answer.citations[0].doc_id == "festival_cannes.txt"
    assert (Path(engine.settings.corpus_dir) / "festival_cannes.txt").exists()
    change = engine.remove_document("festival_cannes.txt")
    assert change.index and change.index.removed == 1
    assert "festival_cannes.txt" not in {d.id for d in engine.documents()}
    # the file went to the trash, and comes back from it
    assert (
        [e.path for e in engine.trashed()]
        == ["festival_cannes.txt"]
        == [change.files[0].trash.split("/", 1)[1]]
    )
    change = engine.restore("festival_cannes.txt")
    assert change.files[0].status == "restored" and engine.trashed() == []
    assert (
        engine.ask("Quel film a reçu la Palme d'or à Cannes ?").citations[0].doc_id == "festival_cannes.txt"
    )


def test_an_update_in_a_running_engine_does_not_read_its_index_again(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from rag.store import Store

    loads: list[str] = []
    real = Store.load.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        Store, "load", classmethod(lambda cls, *a, **kw: loads.append("load") or real(cls, *a, **kw))
    )
    upload = tmp_path / "new.txt"
    upload.write_text("Le festival de Cannes a récompensé un film coréen.", encoding="utf-8")
    before = set(engine.store.documents)
    engine.add_files([upload])
    assert loads == ["load"]  # the new generation only: the old one is the engine's, in memory
    assert set(engine.store.documents) == before | {"new.txt"}


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd.txt", ".hidden.txt", "a/b.txt", "x.exe"])
def test_unsafe_upload_names_are_refused(engine: Engine, tmp_path: Path, name: str):
    src = tmp_path / "f.txt"
    src.write_text("Texte.", encoding="utf-8")
    before = engine.info()
    change = engine.add_files([src], names=[name])
    assert [f.status for f in change.files] == ["refused"] and change.index is None
    assert name in change.files[0].message or "unsupported" in change.files[0].message
    assert engine.info() == before


def test_bad_upload_is_refused_and_nothing_indexed_is_lost(engine: Engine, tmp_path: Path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes("Élection".encode("latin-1"))
    before = engine.documents()
    change = engine.add_files([bad])
    assert change.refused and "not UTF-8" in change.files[0].message
    assert engine.documents() == before
    assert not (Path(engine.settings.corpus_dir) / "bad.txt").exists()


def test_warm_up_does_the_first_question_s_loading_work(corpus: Path, index_dir: Path, embedder):
    Engine.open(index_dir, corpus_dir=corpus, embedder=embedder, build=True)
    engine = Engine.open(index_dir, embedder=embedder)  # a fresh load: nothing built in memory yet
    store = engine.store
    assert store.lexical.built == (True, False)  # the chunk BM25 is read from disk, not the documents'
    before = embedder.calls
    engine.warm_up()
    assert embedder.calls == before + 1  # the query encoder ran once
    assert store.lexical.built == (True, True)  # both lexical indexes are built
    assert engine.ask("Quel est l'enjeu pour Washington ?").citations  # and questions still work


def test_info_and_documents(engine: Engine):
    info = engine.info()
    assert info.documents == 3 and info.chunks > 3 and info.model_id == "hash-128"
    docs = {d.id: d for d in engine.documents()}
    assert docs["meteo.md"].title == "Météo à Lyon" and docs["meteo.md"].date == "2026-11-20"


def test_public_surface_is_what_all_says():
    import inspect

    bound = {
        name for name, value in vars(rag).items() if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert set(rag.__all__) == bound  # nothing public is left out of __all__, nothing in it is missing
    assert len(rag.__all__) == len(set(rag.__all__))
    errors = {
        n for n in rag.__all__ if isinstance(getattr(rag, n), type) and issubclass(getattr(rag, n), Exception)
    }
    assert errors == {c.__name__ for c in [rag.RagError, *rag.RagError.__subclasses__()]}  # every error class
    assert {"Chunk", "Skipped", "load_embedder", "Embedder"} <= set(rag.__all__)


def test_importing_rag_loads_no_heavy_module():
    import subprocess
    import sys

    heavy = "('torch', 'sentence_transformers', 'faiss', 'bm25s')"
    code = f"import sys, rag; print(any(m in sys.modules for m in {heavy}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
