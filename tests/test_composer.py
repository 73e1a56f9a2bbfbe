"""The extractive composer on a small store: verbatim quotes, sentence choice, abstention, calibration."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from helpers import make_store

from rag.composer import ComposerSettings, ExtractiveComposer
from rag.composer.calibration import (
    CALIBRATIONS,
    FEATURES,
    UNCALIBRATED,
    Calibration,
    Calibrations,
    Features,
    fit_logistic,
    threshold_for,
)
from rag.embedders import HashEmbedder
from rag.query import QuestionAnalyzer
from rag.retrieval import Retriever

TEXTS = {
    "usine": (
        "L'usine de Jababeka\n"
        "L'usine de Jababeka a ouvert ses portes en Indonésie. Elle emploie 800 personnes. "
        "Le groupe y fabrique des shampoings pour toute l'Asie du Sud-Est."
    ),
    "pluie": "Météo\nIl pleuvra à Lyon demain, avec des orages en soirée.",
}


@pytest.fixture(scope="module")
def setup():
    embedder = HashEmbedder(128)
    return embedder, make_store(embedder, TEXTS), QuestionAnalyzer()


def compose(setup, question: str, composer: ExtractiveComposer | None = None):
    embedder, store, analyzer = setup
    query = analyzer.analyse(question)
    vector = embedder.embed_queries([query.text])[0]
    hits = Retriever(store).search(query, vector, k=5)
    composer = composer or ExtractiveComposer()
    return composer, composer.compose(query, hits, store, vector), (query, hits, store, vector)


def test_quotes_are_verbatim_and_numbered(setup):
    _, answer, (_, _, store, _) = compose(setup, "Combien de personnes emploie l'usine de Jababeka ?")
    assert not answer.abstained and 1 <= len(answer.citations) <= 3
    for n, c in enumerate(answer.citations, start=1):
        assert store.documents[c.doc_id].text[c.start : c.end] == c.quote and c.number == n
        assert f"{c.quote} [{n}]" in answer.text


def test_the_answer_type_bonus_picks_the_sentence_with_a_number(setup):
    question = "Combien de personnes emploie l'usine de Jababeka ?"
    typed = ExtractiveComposer(settings=ComposerSettings(type_weight=0.5))
    _, answer, _ = compose(setup, question, typed)
    assert answer.citations[0].quote == "Elle emploie 800 personnes."
    _, other, _ = compose(setup, "Que fabrique le groupe dans l'usine de Jababeka ?", typed)
    assert other.citations[0].quote != "Elle emploie 800 personnes."  # no number asked: no bonus


def test_further_sentences_only_within_the_margin_and_the_maximum(setup):
    question = "Que fabrique l'usine de Jababeka en Indonésie ?"
    one = ComposerSettings(max_sentences=1)
    _, answer, _ = compose(setup, question, ExtractiveComposer(settings=one))
    assert len(answer.citations) == 1
    _, tight, _ = compose(setup, question, ExtractiveComposer(settings=ComposerSettings(margin=0.0)))
    scores = [c.score for c in tight.citations]
    assert len(tight.citations) == 1 or max(scores) - min(scores) <= 1e-4
    _, wide, _ = compose(setup, question, ExtractiveComposer(settings=ComposerSettings(margin=10.0)))
    assert len(wide.citations) == 3


def test_abstains_under_the_threshold_and_lists_related_passages(setup):
    high = ExtractiveComposer(settings=ComposerSettings(threshold=99.0, related=2))
    _, answer, _ = compose(setup, "Combien de personnes emploie l'usine ?", high)
    assert answer.abstained and answer.citations == () and 1 <= len(answer.related) <= 2
    assert answer.text == "Je n'ai pas trouvé la réponse dans les articles."
    _, english, _ = compose(setup, "How many people work at the factory?", high)
    assert english.abstained and english.text == "I did not find the answer in the articles."


def test_confidence_is_the_calibration_applied_to_the_features(setup):
    linear = Calibration(dense=2.0, coverage=1.0, top_coverage=0.5, missing=-1.0, gap=3.0, bias=0.1,
                         threshold=-100.0, logistic=False)  # fmt: skip
    composer = ExtractiveComposer(Calibrations(linear, replace(linear, threshold=100.0)))
    _, answer, parts = compose(setup, "Combien de personnes emploie l'usine de Jababeka ?", composer)
    features = composer.features(*parts)
    assert features is not None and features.missing == 0  # "Jababeka" is in the candidates
    f = features
    expected = 2.0 * f.dense + 1.0 * f.coverage + 0.5 * f.top_coverage - 1.0 * f.missing + 3.0 * f.gap + 0.1
    assert answer.confidence == pytest.approx(expected) and not answer.abstained
    assert composer.threshold(cross_language=True) == 100.0  # English about French uses the other one
    _, english, _ = compose(setup, "How many people does the Jababeka factory employ?", composer)
    assert english.abstained


def test_calibrations_and_their_shape():
    e5 = CALIBRATIONS["multilingual-e5-small"]
    assert e5.cross_language.coverage == e5.cross_language.top_coverage == 0.0  # no lexical features
    assert 0 < e5.same_language.threshold < e5.cross_language.threshold < 1
    f = Features(dense=0.9, coverage=0.5, top_coverage=0.5, missing=1, gap=0.02)
    cal = e5.same_language
    z = sum(getattr(cal, name) * getattr(f, name) for name in FEATURES) + cal.bias
    assert cal.confidence(f) == pytest.approx(1 / (1 + math.exp(-z)))
    assert UNCALIBRATED.same_language.confidence(f) == pytest.approx(0.9 + 0.25 - 0.15)


def test_the_fit_is_deterministic_and_finds_planted_weights():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    logits = 2.0 * x[:, 0] - 1.0 * x[:, 1] + 0.0 * x[:, 2] + 0.5
    y = (rng.random(4000) < 1 / (1 + np.exp(-logits))).astype(float)
    w1, b1 = fit_logistic(x, y, balanced=False)
    w2, b2 = fit_logistic(x.copy(), y.copy(), balanced=False)
    assert w1.tolist() == w2.tolist() and b1 == b2
    assert w1 == pytest.approx([2.0, -1.0, 0.0], abs=0.15) and b1 == pytest.approx(0.5, abs=0.15)
    # class balance: with 90 % negatives the unbalanced bias is pulled down, the balanced one is not
    y_rare = (x[:, 0] + 0.3 * rng.normal(size=4000) > 1.3).astype(float)
    _, plain = fit_logistic(x, y_rare, balanced=False)
    _, balanced = fit_logistic(x, y_rare, balanced=True)
    assert balanced > plain


def test_threshold_for_keeps_the_share_allowed_below():
    positives = [0.1 * i for i in range(1, 101)]
    t = threshold_for(positives, 0.05)
    assert sum(p < t for p in positives) == 5
    assert threshold_for([], 0.05) is None
