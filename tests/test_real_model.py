"""A focused set of tests with the real default embedding model on the seed article."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import SEED_ID, SEEDS

from rag import Engine, load_embedder
from rag.embedders import Embedder, HashEmbedder

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def real_embedder() -> Embedder:
    return load_embedder("multilingual-e5-small")


@pytest.fixture(scope="module")
def engine(real_embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root = tmp_path_factory.mktemp("real")
    shutil.copytree(SEEDS, root / "corpus")
    return Engine.open(root / "index", corpus_dir=root / "corpus", embedder=real_embedder, build=True)


def _check_verbatim(engine: Engine, answer) -> None:
    for c in answer.citations + answer.related:
        assert engine.document(c.doc_id).text[c.start : c.end] == c.quote


def test_washington_stake_is_strategic(engine: Engine):
    answer = engine.ask("Quel est l'enjeu pour Washington ?")
    assert not answer.abstained
    assert answer.citations[0].quote == "Pour Washington, l’enjeu est avant tout stratégique."
    assert answer.citations[0].doc_id == SEED_ID
    assert "stratégique" in answer.text.split("[1]")[0]
    _check_verbatim(engine, answer)


def test_english_question_cites_the_french_sentence(engine: Engine):
    answer = engine.ask("What does the administration put forward in diplomatic negotiations?")
    assert not answer.abstained and answer.language == "en"
    assert answer.text.startswith("From the articles (in French): ")
    assert "potentialités d’exploitation de ces ressources" in answer.citations[0].quote
    _check_verbatim(engine, answer)


def test_weather_in_lyon_abstains(engine: Engine):
    answer = engine.ask("Quel temps fera-t-il à Lyon demain ?")
    assert answer.abstained and not answer.citations
    assert answer.text == "Je n'ai pas trouvé la réponse dans les articles."
    assert answer.related
    _check_verbatim(engine, answer)


def test_straight_and_typographic_apostrophes_give_the_same_answer(engine: Engine):
    straight = engine.ask("Quel est l'enjeu pour Washington ?")
    curly = engine.ask("Quel est l’enjeu pour Washington ?")
    assert straight.citations == curly.citations


@pytest.mark.parametrize("make", ["hash", "real"])
def test_embedder_contract(make: str, real_embedder: Embedder):
    """One body for every Embedder: shapes, dtype, unit norm, determinism, query/passage split."""
    emb: Embedder = HashEmbedder(64) if make == "hash" else real_embedder
    texts = ["Pour Washington, l’enjeu est avant tout stratégique.", "Il pleut à Lyon.", "x"]
    p = emb.embed_passages(texts)
    q = emb.embed_queries(texts[:1])
    assert p.shape == (3, emb.dim) and q.shape == (1, emb.dim)
    assert p.dtype == np.float32 and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-4)
    assert np.allclose(emb.embed_passages(texts), p, atol=1e-5)
    assert emb.embed_passages([]).shape == (0, emb.dim)
    assert isinstance(emb.model_id, str) and emb.model_id
    assert float(p[0] @ q[0]) > float(p[1] @ q[0])


def test_cli_ask_with_the_real_model(engine: Engine, capsys):
    from ui.cli import main

    code = main(["ask", "Quel est l'enjeu pour Washington ?", "--index", str(engine.settings.index_dir)])
    out = capsys.readouterr().out
    assert code == 0 and "Pour Washington, l’enjeu est avant tout stratégique. [1]" in out
    assert Path(engine.settings.index_dir).exists()
