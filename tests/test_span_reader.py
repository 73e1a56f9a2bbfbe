"""The reader's trained span model (rag/composer/span_model.py) with its shipped weights."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import SEEDS

from rag import Engine, ModelError, Settings
from rag.composer.span_model import WEIGHTS, SpanModel

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def span() -> SpanModel:
    return SpanModel.load(Settings.resolve().cache_dir)


def test_the_weights_ship_with_the_package_and_fit_in_50_mb():
    assert WEIGHTS.is_file() and WEIGHTS.stat().st_size < 50 * 1024 * 1024


def test_it_marks_the_words_that_answer_and_tells_an_answer_from_an_aside(span: SpanModel):
    about = "L'usine de Jababeka, inaugurée par le ministre, produit des shampooings pour l'Asie."
    answers = "Selon son directeur, l'usine emploie 800 personnes."
    read = span.read("Combien de personnes travaillent à l'usine de Jababeka ?", [about, answers])
    assert answers[read[1].start : read[1].end] in ("800", "800 personnes")
    assert read[1].score > 0 > read[0].score


def test_a_date_question_gets_the_date(span: SpanModel):
    sentence = "Le sommet de l'Union africaine s'est ouvert le 15 juillet 2012 à Addis-Abeba."
    (read,) = span.read("Quand s'est ouvert le sommet de l'Union africaine ?", [sentence])
    assert "15 juillet 2012" in sentence[read.start : read.end]
    assert len(sentence[read.start : read.end].split()) <= 4


def test_spans_read_after_the_sentence_before_are_offsets_into_the_sentence(
    span: SpanModel, monkeypatch: pytest.MonkeyPatch
):
    assert not span.context  # the shipped weights read the sentence alone
    monkeypatch.setattr(span, "_context", True)  # as weights trained with --context would
    before = "L'usine de Jababeka, inaugurée par le ministre, produit des shampooings pour l'Asie."
    sentence = "Selon son directeur, elle emploie 800 personnes."
    alone, after = span.read("Combien de personnes emploie l'usine ?", [sentence, sentence], ["", before])
    for read in (alone, after):
        assert sentence[read.start : read.end] in ("800", "800 personnes")
    assert after.score != alone.score  # the sentence before was read


def test_questions_asked_at_once_are_all_read(span: SpanModel):
    sentence = "Selon son directeur, l'usine emploie 800 personnes."

    def ask(n: int) -> list[str]:
        found = span.read(f"Combien de personnes emploie l'usine ? ({n})", [sentence, sentence])
        return [sentence[f.start : f.end] for f in found]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(ask, range(24)))
    assert all(r[0] in ("800", "800 personnes") for r in results)


def test_missing_or_foreign_weights_are_one_clear_error(tmp_path: Path):
    with pytest.raises(ModelError, match="missing; reinstall rag, or train them"):
        SpanModel(tmp_path, tmp_path / "none.safetensors").read("Qui ?", ["Marie."])
    import numpy as np
    from safetensors.numpy import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(2, dtype=np.float16)}, str(other))
    with pytest.raises(ModelError, match="another layout"):
        SpanModel(tmp_path, other).read("Qui ?", ["Marie."])


def test_the_weights_say_how_many_of_e5s_layers_they_keep_and_train(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import torch

    from rag.composer import span_model

    cache = Settings.resolve().cache_dir
    fresh = SpanModel.untrained(cache, layers=3, trained=1)
    torch.nn.init.normal_(fresh.model.head.weight)  # a head unlike a new one's
    span_model.save(fresh.model, tmp_path / "small.safetensors", {"test": True})
    monkeypatch.setattr("rag.embedders.openvino_ir.openvino_available", lambda: False)  # read by torch
    small = SpanModel(cache, tmp_path / "small.safetensors")
    assert len(small.model.bert.encoder.layer) == 3 and small.model.trained == 1
    assert torch.allclose(small.model.head.weight, fresh.model.head.weight, atol=1e-2)
    (read,) = small.read("Qui est venu ?", ["Marie est venue."])
    assert 0 <= read.start <= read.end <= len("Marie est venue.")
    with pytest.raises(ValueError, match="layers 4, trained 5"):
        SpanModel.untrained(cache, layers=4, trained=5)


def test_the_engine_shows_the_models_short_answer_verbatim(tmp_path: Path):
    shutil.copytree(SEEDS, tmp_path / "corpus")
    folders = {"index_dir": tmp_path / "index", "corpus_dir": tmp_path / "corpus"}
    settings = Settings.resolve(**folders, span_reader=True)
    engine = Engine.open(settings=settings, build=True)
    answer = engine.ask("Qui est le secrétaire d'État américain ?")
    assert not answer.abstained
    short = answer.short_answer
    assert short is not None and "Rubio" in short.text and short.text == short.text.strip(" ,.;:")
    cited = answer.citations[short.citation - 1]
    assert cited.doc_id == short.doc_id and cited.start <= short.start < short.end <= cited.end
    assert engine.document(short.doc_id).text[short.start : short.end] == short.text
    assert answer.text.startswith(f"{short.text} [{short.citation}]")
    for question in ("Qui ?", "Wie hoch ist der Eiffelturm?", "Quand " + "encore " * 270 + "?"):
        odd = engine.ask(question)
        assert odd.reason in ("answered", "not_found", "detail_missing")
        if odd.short_answer is not None:
            s = odd.short_answer
            assert engine.document(s.doc_id).text[s.start : s.end] == s.text
