"""The reader composer: short answers verbatim, one sentence for one fact, what is missing said,
summaries of an article, and clear answers to odd questions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rag import Answer, Engine, ModelError, Settings, SettingsError
from rag.composer import ReaderComposer, ReaderSettings
from rag.composer.short_answer import find
from rag.composer.span_model import Span
from rag.embedders import HashEmbedder
from rag.expected_type import asked_words

ARTICLES = {
    "usine.md": (
        "---\ntitle: L'Oréal ouvre sa plus grande usine en Indonésie\ndate: 2012-11-07\n---\n"
        "Le groupe L'Oréal a inauguré mercredi sa plus grande usine au monde, à Jababeka en Indonésie. "
        "L'usine emploie 800 personnes. Elle produira 200 millions de produits en 2013. "
        "Selon le directeur du site David Quentin, les machines tournent en trois équipes.\n"
    ),
    "sommet.md": (
        "---\ntitle: Sommet sur les terres rares à Washington\ndate: 2012-06-01\n---\n"
        "Une réunion internationale sur les terres rares se tient à Washington. "
        "Quinze pays et 40 entreprises y participent. "
        "Le sommet est placé sous l'égide du secrétaire d'État Marco Rubio. "
        "Il a rappelé le rôle de la Chine dans l'extraction des métaux.\n"
    ),
    "meteo.md": "---\ntitle: Météo à Lyon\ndate: 2012-11-20\n---\nIl pleuvra beaucoup à Lyon demain.\n",
}


def engine_over(root: Path, articles: dict[str, str]) -> Engine:
    """An engine over ``articles`` (file name: text) with the reader's rules and the hash embedder."""
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in articles.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=root / "index", span_reader=False)  # the rules
    return Engine.open(settings=settings, embedder=HashEmbedder(128), build=True)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return engine_over(tmp_path_factory.mktemp("reader"), ARTICLES)


def check_verbatim(engine: Engine, answer) -> None:
    for c in answer.citations + answer.related:
        assert engine.document(c.doc_id).text[c.start : c.end] == c.quote
    s = answer.short_answer
    if s is not None:
        assert engine.document(s.doc_id).text[s.start : s.end] == s.text
        assert answer.text.startswith(f"{s.text} [{s.citation}]\n")
        cited = answer.citations[s.citation - 1]
        assert cited.start <= s.start and s.end <= cited.end  # taken from the sentence it cites


def test_a_question_for_a_number_gets_the_short_answer_first_and_one_sentence(engine: Engine):
    answer = engine.ask("Combien de personnes emploie l'usine de L'Oréal en Indonésie ?")
    assert answer.reason == "answered" and not answer.abstained
    assert answer.short_answer is not None and answer.short_answer.text == "800 personnes"
    assert answer.short_answer.kind == "count" and len(answer.citations) == 1
    check_verbatim(engine, answer)


def ask_with(engine: Engine, question: str, **reader: object) -> Answer:
    """The answer of a reader with other settings, over the same index."""
    default = engine.composer
    assert isinstance(default, ReaderComposer)
    composer = ReaderComposer(
        default.calibrations, default.settings, default.lexical, ReaderSettings(**reader)
    )
    found = engine.retrieve(question)
    return composer.compose(found.query, found.hits, found.store, found.vector)


def test_a_name_is_taken_from_the_sentence_and_not_from_the_question(engine: Engine):
    question = "Sous l'égide de qui le sommet de Washington est-il placé ?"
    answer = ask_with(engine, question, short_kinds=frozenset({"name"}))
    assert answer.short_answer is not None and answer.short_answer.text == "Marco Rubio"
    check_verbatim(engine, answer)
    # By default names are not given as short answers (the rules are too often wrong on them), but
    # the sentence still answers.
    default = engine.ask(question)
    assert default.short_answer is None and not default.abstained
    assert "Marco Rubio" in default.citations[0].quote


def test_a_short_answer_is_shown_only_when_the_sentence_offers_one(engine: Engine):
    question = "Combien de pays participent à la réunion sur les terres rares ?"
    answer = engine.ask(question)  # "Quinze pays et 40 entreprises": which one is asked is not read
    assert answer.short_answer is None and answer.citations[0].quote.startswith("Quinze pays")
    loose = ask_with(engine, question, short_unique=False)
    assert loose.short_answer is not None and loose.short_answer.text == "Quinze pays"
    check_verbatim(engine, loose)


def test_a_pronoun_brings_the_sentence_that_names_its_subject(engine: Engine):
    answer = engine.ask("Quel rôle de la Chine dans l'extraction des métaux a-t-il rappelé ?")
    quotes = [c.quote for c in answer.citations]
    assert quotes[0].startswith("Il a rappelé")  # the answer first
    assert any("Marco Rubio" in q for q in quotes[1:])  # then the sentence naming "il"
    check_verbatim(engine, answer)


def test_a_missing_detail_is_said_and_the_closest_passages_listed(engine: Engine):
    answer = engine.ask("En quelle année le sommet sur les terres rares de Washington a-t-il été créé ?")
    assert answer.abstained and answer.reason == "detail_missing" and answer.citations == ()
    assert answer.text.startswith("Les articles parlent de « Sommet sur les terres rares à Washington »")
    assert answer.text.endswith("mais n'en donnent pas la date.") and answer.related
    english = engine.ask("How much did the rare earths summit in Washington cost?")
    assert english.abstained and english.reason in ("detail_missing", "not_found")
    check_verbatim(engine, answer)


def test_a_count_is_not_answered_by_an_amount(tmp_path: Path):
    reserve = (
        "---\ntitle: Une réserve de terres rares\ndate: 2012-06-01\n---\n"
        "Les États-Unis créent une réserve de terres rares d'une valeur de 11 milliards d'euros. "
        "La réserve de terres rares a été annoncée à Washington.\n"
    )
    engine = engine_over(tmp_path, {"reserve.md": reserve})
    count = engine.ask("Combien d'accords ont été signés pour la réserve de terres rares ?")
    assert count.abstained and count.reason == "detail_missing"
    assert count.text.endswith("mais n'en donnent pas le nombre.")
    amount = engine.ask("Combien d'euros vaut la réserve de terres rares ?")
    assert not amount.abstained and amount.short_answer is not None
    assert amount.short_answer.text == "11 milliards d'euros"


def test_off_topic_is_not_found(engine: Engine):
    answer = engine.ask("Quelle est la recette de la tarte tatin aux pommes caramélisées ?")
    assert answer.abstained and answer.reason == "not_found"
    assert answer.text == "Je n'ai pas trouvé la réponse dans les articles."


def test_a_summary_cites_the_lead_and_central_sentences_in_article_order(engine: Engine):
    answer = engine.ask("Résume l'article sur l'usine de L'Oréal en Indonésie")
    assert answer.reason == "summary" and not answer.abstained
    doc = engine.document("usine.md")
    assert answer.citations[0].quote.startswith("Le groupe L'Oréal a inauguré")  # the lead sentence
    assert {c.doc_id for c in answer.citations} == {"usine.md"} and 2 <= len(answer.citations) <= 3
    assert [c.start for c in answer.citations] == sorted(c.start for c in answer.citations)
    assert all(doc.text[c.start : c.end] == c.quote for c in answer.citations)
    newest = engine.ask("De quoi parle l'article ?")  # no subject named: the newest article
    assert newest.reason == "summary" and newest.citations[0].doc_id == "meteo.md"


def test_a_summary_quotes_the_articles_account_not_a_quotations_line(tmp_path: Path):
    roland = (
        "---\ntitle: Disparition de Thierry Roland\ndate: 2012-06-16\n---\n"
        "Le commentateur sportif Thierry Roland est mort samedi à 74 ans. "
        "« Tout à fait Thierry ! », répondit son complice. "
        "Il avait commenté treize Coupes du monde de football pour la télévision française. "
        "« Je crois qu'après avoir vu ça, on peut mourir tranquille. Nous avons gagné la Coupe du "
        "monde de football », avait-il dit. "
        "Bravo ! "
        "Ses obsèques auront lieu mercredi à Paris en présence de nombreux journalistes.\n"
    )
    answer = engine_over(tmp_path, {"roland.md": roland}).ask("Résume l'article")
    assert [c.quote[:12] for c in answer.citations] == ["Le commentat", "Il avait com", "Ses obsèques"]


def test_a_summary_of_nothing_indexed_says_so(tmp_path: Path):
    empty = tmp_path / "corpus"
    empty.mkdir()
    engine = Engine.open(tmp_path / "index", corpus_dir=empty, embedder=HashEmbedder(64), build=True)
    answer = engine.ask("Résume l'article")
    assert answer.abstained and answer.reason == "not_found" and "Aucun article" in answer.text


def test_odd_questions_get_a_clear_answer(engine: Engine):
    for question in ("Qui ?", "Wie hoch ist der Eiffelturm?", "?? Quand ??"):
        answer = engine.ask(question)
        assert answer.reason in ("answered", "not_found", "detail_missing", "summary")
        check_verbatim(engine, answer)


def test_the_earlier_composer_stays_selectable(tmp_path: Path, engine: Engine):
    settings = Settings(
        corpus_dir=engine.settings.corpus_dir, index_dir=engine.settings.index_dir, composer="extractive"
    )
    extractive = Engine.open(settings=settings, embedder=HashEmbedder(128))
    answer = extractive.ask("Combien de personnes emploie l'usine de L'Oréal en Indonésie ?")
    assert answer.short_answer is None and answer.reason in ("answered", "not_found")


@pytest.mark.parametrize(
    ("sentence", "kind", "question", "expected"),
    [
        (
            "Il est arrivé cet après-midi à Cascais (Portugal).",
            "place",
            "Dans quel port est-il arrivé ?",
            "Cascais",
        ),
        (
            "Le scrutin a eu lieu le 17 juin 2012 en Grèce.",
            "date",
            "Quand a eu lieu le scrutin ?",
            "le 17 juin 2012",
        ),
        ("Le secrétaire d'État Marco Rubio préside.", "name", "Qui préside ?", "Marco Rubio"),
        (
            "Elle transporte 521 kg de matériel pour l'ISS.",
            "mass",
            "Quelle charge transporte-t-elle ?",
            "521 kg de matériel",
        ),
        ("Ils ont été retenus durant 444 jours.", "duration", "How many days were they held?", "444 jours"),
        ("Le premier mâle meurt un an avant le premier témoin.", "date", "Quand meurt-il ?", None),
        ("It was created in the 1950s.", "date", "When was it created?", "in the 1950s"),
        ("It ended about 66 million years ago.", "date", "When did it end?", "about 66 million years ago"),
        ("Elle sera lancée en mars sur la TNT.", "date", "Quand sera-t-elle lancée ?", "en mars"),
        (
            "La 3e édition, qui se déroule du 22 au 24 juin 2012, a 40 invités.",
            "date",
            "Quand se déroule la 3e édition ?",
            "du 22 au 24 juin 2012",
        ),
        (  # a date's first day is no count
            "La 3e édition, qui se déroule du 22 au 24 juin 2012, a commencé.",
            "number",
            "Combien d'événements sont prévus ?",
            None,
        ),
        (
            "L'étude, sur 11 % du maïs, a coûté 3 milliards de dollars.",
            "money",
            "Combien a coûté l'étude ?",
            "3 milliards de dollars",  # the unit asked, not the first measure
        ),
        ("Le taux atteint 28,1 % des votants.", "percent", "Quel est le taux ?", "28,1 %"),
        (
            "Le 36ème gouvernement a obtenu 302 voix pour et 225 contre.",
            "number",
            "Combien de députés ont voté pour le gouvernement ?",
            "302 voix",  # an ordinal is no count
        ),
        (  # a possessive is no counted noun
            "Chaque franchise peut faire appel à deux de ses joueurs.",
            "count",
            "A combien de joueurs peuvent faire appel les franchises ?",
            "deux",
        ),
        (
            "Le réseau de 300 kilomètres a coûté 2 milliards d'euros et emploie 40 personnes.",
            "count",
            "Combien de personnes emploie le réseau ?",
            "40 personnes",  # not the distance or the amount
        ),
        (
            "La croissance sera de 0,3 % en 2012, et 45 % des Français ont voté.",
            "count",
            "Combien de Français ont voté ?",
            "45 %",  # a share of those counted, not a bare percentage
        ),
        (
            "Le suc contient une trentaine d'alcaloïdes (jusqu'à 2 % dans les racines).",
            "count",
            "Combien d'éléments toxiques peut contenir le suc ?",
            "une trentaine d'alcaloïdes",  # a count in words, whatever figure follows it
        ),
        ("Le skipper, âgé de 29 ans, est en tête.", "age", "Quel âge a le skipper ?", "29 ans"),
        (  # the question's own figure and unit, however a word after them reads, are not its answer
            "Les billets de 5 euros seront imprimés pour 8 centimes chacun.",
            "money",
            "Quel est le prix d'un billet de 5 euros ?",
            None,
        ),
        (
            "Les billets de 5 euros seront imprimés pour 8 euros les mille.",
            "money",
            "Quel est le prix d'un billet de 5 euros ?",
            "8 euros",
        ),
    ],
)
def test_short_answer_rules(sentence: str, kind: str, question: str, expected: str | None):
    span = find(sentence, kind, asked_words(question))
    assert (sentence[span[0] : span[1]] if span else None) == expected


class BelievesIn:
    """A stand-in span model: a sentence holding ``words`` answers with ``score``; the others not."""

    context = False  # reads the sentence alone

    def __init__(self, words: str, score: float = 6.0) -> None:
        self.words, self.score = words, score
        self.read_sentences: list[str] = []

    def read(self, question: str, sentences: list[str], previous: list[str] | None = None) -> list[Span]:
        self.read_sentences += sentences
        out = []
        for s in sentences:
            at = s.find(self.words)
            out.append(Span(at, at + len(self.words), self.score) if at >= 0 else Span(0, 0, -8.0))
        return out


def with_model(engine: Engine, question: str, model: BelievesIn, **reader: object) -> Answer:
    default = engine.composer
    assert isinstance(default, ReaderComposer)
    composer = ReaderComposer(
        default.calibrations,
        default.settings,
        default.lexical,
        ReaderSettings(**reader),
        span=model,  # type: ignore[arg-type]
    )
    found = engine.retrieve(question)
    return composer.compose(found.query, found.hits, found.store, found.vector)


def test_the_models_span_is_the_short_answer_of_any_kind(engine: Engine):
    question = "Sous l'égide de qui le sommet de Washington est-il placé ?"
    model = BelievesIn("Marco Rubio")
    answer = with_model(engine, question, model, span_confidence=None)
    assert model.read_sentences, "the reader reads its candidates with the model"
    assert answer.short_answer is not None and answer.short_answer.text == "Marco Rubio"
    assert answer.citations[0].quote.startswith("Le sommet est placé")
    check_verbatim(engine, answer)
    doubtful = with_model(engine, question, BelievesIn("Marco Rubio", score=-1.0), span_confidence=None)
    assert doubtful.short_answer is None and not doubtful.abstained  # under span_shown: the sentence alone


def test_where_the_model_is_unsure_the_rules_short_answer_stands(engine: Engine):
    question = "Combien de personnes l'usine de L'Oréal emploie-t-elle ?"
    unsure = BelievesIn("800 personnes", score=-1.0)  # under span_shown
    answer = with_model(engine, question, unsure, span_confidence=None)
    assert answer.short_answer is not None and answer.short_answer.text == "800 personnes"
    check_verbatim(engine, answer)
    alone = with_model(engine, question, unsure, span_confidence=None, span_unsure_rules=False)
    assert alone.short_answer is None and alone.citations[0].quote == answer.citations[0].quote


WIDE: dict[str, object] = {"span_weight": 10.0, "span_margin": 10.0, "span_candidates": 50}


def test_the_model_moves_the_sentence_it_believes_first(engine: Engine):
    question = "Que dit-on du sommet de Washington ?"
    believed = with_model(engine, question, BelievesIn("Quinze pays"), **WIDE)
    doubted = with_model(engine, question, BelievesIn("Marco Rubio"), **WIDE)
    assert believed.citations[0].quote.startswith("Quinze pays")
    assert doubted.citations[0].quote.startswith("Le sommet est placé")


def test_with_the_models_doubt_the_reader_abstains(engine: Engine):
    question = "Combien de personnes emploie l'usine de L'Oréal en Indonésie ?"
    sure = with_model(engine, question, BelievesIn("800 personnes"), span_confidence=(1.0, 1.0, 0.0))
    doubt = with_model(engine, question, BelievesIn("nothing here"), span_confidence=(1.0, 1.0, 0.0))
    assert not sure.abstained and sure.short_answer is not None and sure.short_answer.text == "800 personnes"
    assert doubt.abstained and doubt.reason == "detail_missing" and doubt.confidence < sure.confidence


class Broken:
    """A span model whose weights cannot be loaded."""

    calls = 0
    context = False

    def read(self, question: str, sentences: list[str], previous: list[str] | None = None) -> list[Span]:
        self.calls += 1
        raise ModelError("the span reader's weights x are missing; reinstall rag")


def test_a_span_model_that_cannot_load_leaves_the_rules_answering(engine: Engine):
    default = engine.composer
    assert isinstance(default, ReaderComposer)
    broken = Broken()
    composer = ReaderComposer(default.calibrations, default.settings, default.lexical, span=broken)  # type: ignore[arg-type]
    question = "Combien de personnes emploie l'usine de L'Oréal en Indonésie ?"
    for _ in range(2):
        found = engine.retrieve(question)
        answer = composer.compose(found.query, found.hits, found.store, found.vector)
        assert not answer.abstained and answer.short_answer is not None
        assert answer.short_answer.text == "800 personnes"  # the rules' span
    assert broken.calls == 1 and composer.span is None


def test_span_typed_keeps_a_number_questions_short_answer_to_a_number(engine: Engine):
    question = "Combien de pays participent à la réunion sur les terres rares ?"
    odd = BelievesIn("entreprises")  # in "Quinze pays et 40 entreprises…", words holding no number
    answer = with_model(engine, question, odd, span_confidence=None, span_typed=True, **WIDE)
    assert answer.citations and answer.short_answer is None
    loose = with_model(engine, question, odd, span_confidence=None, **WIDE)  # the default: off
    assert loose.short_answer is not None and loose.short_answer.text == "entreprises"
    right = with_model(
        engine, question, BelievesIn("Quinze pays"), span_confidence=None, span_typed=True, **WIDE
    )
    assert right.short_answer is not None and right.short_answer.text == "Quinze pays"


def test_span_typed_keeps_a_counts_short_answer_to_a_count(tmp_path: Path):
    reserve = "---\ntitle: La réserve\n---\nLa réserve de 11 milliards d'euros réunit 50 pays.\n"
    engine = engine_over(tmp_path, {"reserve.md": reserve})
    question = "Combien de pays réunit la réserve ?"
    amount = BelievesIn("11 milliards")  # a number, but of euros
    typed = with_model(engine, question, amount, span_confidence=None, span_typed=True)
    assert typed.short_answer is not None and typed.short_answer.text == "50 pays"  # the rules'
    loose = with_model(engine, question, amount, span_confidence=None)
    assert loose.short_answer is not None and loose.short_answer.text == "11 milliards"


def test_the_best_sentence_is_read_alone_unless_another_may_still_answer_first(engine: Engine):
    question = "Combien de personnes emploie l'usine de L'Oréal en Indonésie ?"
    pool: dict[str, object] = {"span_margin": 10.0, "span_candidates": 50}
    sure, everything = BelievesIn("800 personnes"), BelievesIn("800 personnes")
    alone = with_model(engine, question, sure, **pool)
    read_all = with_model(engine, question, everything, span_first=False, **pool)
    assert sure.read_sentences == [alone.citations[0].quote] and len(everything.read_sentences) > 1
    assert alone.text == read_all.text and alone.short_answer == read_all.short_answer
    # the best read as not answering: the others are read when one may overtake it (its doubt times
    # span_weight) or when the answer would abstain on its read
    for model_settings, reads_all in (
        ({"span_confidence": None, "span_weight": 0.0}, False),
        ({"span_confidence": None, "span_weight": 10.0}, True),
        ({"span_confidence": (1.0, 1.0, 0.0), "span_weight": 0.0}, True),
    ):
        doubting = BelievesIn("nothing here")
        with_model(engine, question, doubting, **pool, **model_settings)
        assert len(doubting.read_sentences) == (len(everything.read_sentences) if reads_all else 1)


class BelievesTheSecond(BelievesIn):
    """Reads the first sentence it is given as not answering, the second as surely answering."""

    def read(self, question: str, sentences: list[str], previous: list[str] | None = None) -> list[Span]:
        out = []
        for s in sentences:
            self.read_sentences.append(s)
            sure = len(self.read_sentences) == 2
            out.append(Span(0, len(s), 20.0) if sure else Span(0, 0, -8.0))
        return out


def test_candidates_are_read_one_at_a_time_until_none_unread_may_come_first(engine: Engine):
    question = "Que dit-on du sommet de Washington ?"
    wide: dict[str, object] = {"span_margin": 10.0, "span_candidates": 50, "span_confidence": None}
    everything = BelievesIn("nothing here")
    with_model(engine, question, everything, span_first=False, **wide)
    assert len(everything.read_sentences) > 2
    model = BelievesTheSecond("")
    answer = with_model(engine, question, model, span_weight=10.0, **wide)
    assert len(model.read_sentences) == 2  # the second, sure, leads by more than any other may gain
    assert answer.citations[0].quote == model.read_sentences[1]


def test_a_sentence_answers_only_when_the_model_reads_an_answer_in_it(engine: Engine):
    # With span_qualify, a sentence the model reads no answer in cannot answer, however on-topic.
    question = "Combien de pays participent à la réunion sur les terres rares ?"
    pool: dict[str, object] = {"span_margin": 10.0, "span_candidates": 50, "span_confidence": None}
    doubting = BelievesIn("nothing here")
    loose = with_model(engine, question, doubting, **pool)  # the default: no such check
    assert not loose.abstained and loose.citations[0].quote.startswith("Quinze pays")
    checked = BelievesIn("nothing here")
    gated = with_model(engine, question, checked, span_qualify=-2.0, **pool)
    assert gated.abstained and gated.reason == "detail_missing" and gated.related
    assert len(checked.read_sentences) > 1  # every candidate read before saying so
    sure = with_model(engine, question, BelievesIn("Quinze pays", score=-1.0), span_qualify=-2.0, **pool)
    assert not sure.abstained and sure.short_answer is None  # answers, under span_shown: no short answer
    assert sure.citations[0].quote.startswith("Quinze pays")
    # the one sentence it reads an answer in offers no number: no sentence both answers and gives one
    other = with_model(engine, question, BelievesIn("Marco Rubio", score=3.0), span_qualify=-2.0, **pool)
    assert other.abstained and other.reason == "detail_missing"


def test_across_languages_a_floor_of_its_own(engine: Engine):
    # An English question over French articles: the model reads lower scores across languages, so
    # the check there has its own, lower, value (span_qualify_cross); the same-language one is unused.
    default = engine.composer
    assert isinstance(default, ReaderComposer)
    found = engine.retrieve("How many people does the L'Oréal plant in Indonesia employ?")
    lenient = dataclasses.replace(default.settings, threshold=0.0)  # (the hash embedder is no translator)

    def ask(score: float, **checks: float | None) -> Answer:
        # (off the subject to the hash embedder: that check, span_qualify_off, is tested apart)
        wide = {"span_margin": 10.0, "span_candidates": 50, "span_qualify_off": None}
        settings = ReaderSettings(**wide, span_qualify=5.0, **checks)  # type: ignore[arg-type]
        model = BelievesIn("800 personnes", score=score)
        composer = ReaderComposer(default.calibrations, lenient, default.lexical, settings, span=model)  # type: ignore[arg-type]
        return composer.compose(found.query, found.hits, found.store, found.vector)

    far = ask(-12.0, span_qualify_cross=-10.0)
    assert far.abstained and far.reason in ("detail_missing", "not_found")
    near = ask(-9.0, span_qualify_cross=-10.0)
    assert not near.abstained and near.citations[0].quote == "L'usine emploie 800 personnes."
    assert not ask(-12.0, span_qualify_cross=None).abstained  # no floor: the calibrated confidence alone
    floor = ReaderSettings().span_qualify_cross  # the default floor (docs/tuning.md#the-span-reader)
    assert floor is not None and ask(floor - 1.0).abstained and not ask(floor + 1.0).abstained


class Graded(BelievesIn):
    """Reads each sentence holding one of ``scores``' words as answering (the whole sentence) with
    that word's score, the others as not answering."""

    def __init__(self, scores: dict[str, float]) -> None:
        super().__init__("")
        self.scores = scores

    def read(self, question: str, sentences: list[str], previous: list[str] | None = None) -> list[Span]:
        self.read_sentences += sentences
        graded = [next((v for w, v in self.scores.items() if w in s), None) for s in sentences]
        return [Span(0, 0, -8.0) if v is None else Span(0, len(s), v) for s, v in zip(sentences, graded)]


def test_a_surer_read_still_counts_where_both_are_sure(engine: Engine):
    # The rules put "Le sommet est placé …" first (0.50) and "Selon le directeur …" second (0.33);
    # read at +5 and +9, both are sure answers to a sigmoid (0.993, 0.9999): the rules' order stands.
    # Softened by span_temperature, the surer read counts: sigmoid(5 / 4) 0.78 against sigmoid(9 / 4) 0.90.
    question = "Que dit-on du sommet de Washington ?"
    scores = {"Le sommet est placé": 5.0, "Selon le directeur": 9.0}
    wide: dict[str, object] = {"span_margin": 10.0, "span_candidates": 50, "span_weight": 2.0}
    sharp = with_model(engine, question, Graded(scores), span_temperature=1.0, **wide)
    soft = with_model(engine, question, Graded(scores), span_temperature=4.0, **wide)
    assert sharp.citations[0].quote.startswith("Le sommet est placé")
    assert soft.citations[0].quote.startswith("Selon le directeur")


def test_off_the_subject_a_sentence_must_be_read_as_answering(engine: Engine):
    # No article speaks of rugby: the closest sentence answers only if the model reads an answer in
    # it over span_qualify_off; on the subject, the same doubt does not stop an answer.
    default = engine.composer
    assert isinstance(default, ReaderComposer)
    lenient = dataclasses.replace(default.settings, threshold=0.0)  # the check, not the confidence

    def ask(question: str, model: BelievesIn, off: float | None) -> Answer:
        settings = ReaderSettings(span_confidence=None, span_qualify_off=off)
        composer = ReaderComposer(default.calibrations, lenient, default.lexical, settings, span=model)  # type: ignore[arg-type]
        found = engine.retrieve(question)
        return composer.compose(found.query, found.hits, found.store, found.vector)

    rugby = "Qui a gagné la coupe du monde de rugby ?"
    doubted = ask(rugby, BelievesIn("nothing here"), -6.0)
    assert doubted.abstained and doubted.reason == "not_found" and doubted.related
    assert not ask(rugby, BelievesIn("nothing here"), None).abstained  # no such check
    assert not ask(rugby, BelievesIn("Le groupe L'Oréal", score=-5.0), -6.0).abstained  # read over it
    assert not ask("Quel temps fera-t-il à Lyon demain ?", BelievesIn("nothing here"), -6.0).abstained


def test_a_temperature_that_cannot_divide_is_refused():
    with pytest.raises(SettingsError, match="span_temperature is 0"):
        ReaderSettings(span_temperature=0)


def test_no_number_offered_off_the_subject_is_not_found_not_detail_missing(engine: Engine):
    # A number is asked and no sentence offers one: "they do not give it" only when the closest
    # article is on the subject; a question about instruments is not one about Lyon's weather.
    default = engine.composer
    assert isinstance(default, ReaderComposer)
    lenient = dataclasses.replace(default.settings, threshold=0.0)  # the typed rule, not the confidence
    composer = ReaderComposer(default.calibrations, lenient, default.lexical, default.reader)

    def ask(question: str) -> Answer:
        found = engine.retrieve(question)
        return composer.compose(found.query, found.hits, found.store, found.vector)

    off = ask("Combien de guitares, de violons et de tambours à Lyon demain ?")
    assert off.abstained and off.reason == "not_found" and "Météo à Lyon" not in off.text
    on = ask("En quelle année pleuvra-t-il des grenouilles à Lyon ?")
    assert on.abstained and on.reason == "detail_missing" and "Météo à Lyon" in on.text


def test_a_french_short_answer_takes_the_preposition_the_question_asks_with(tmp_path: Path):
    text = "---\ntitle: Le ministère\n---\nLe ministère des Affaires étrangères est créé en 1589 à Blois.\n"
    engine = engine_over(tmp_path, {"ministere.md": text})
    when = with_model(
        engine, "En quelle année le ministère des Affaires étrangères est-il créé ?", BelievesIn("1589")
    )
    assert when.short_answer is not None and when.short_answer.text == "en 1589"
    check_verbatim(engine, when)
    where = with_model(engine, "Où le ministère des Affaires étrangères est-il créé ?", BelievesIn("Blois"))
    assert where.short_answer is not None and where.short_answer.text == "à Blois"
    plain = with_model(
        engine, "Quelle année a vu naître le ministère des Affaires étrangères ?", BelievesIn("1589")
    )
    assert plain.short_answer is not None and plain.short_answer.text == "1589"  # asked with none
    off = with_model(
        engine,
        "En quelle année le ministère des Affaires étrangères est-il créé ?",
        BelievesIn("1589"),
        preposition=False,
    )
    assert off.short_answer is not None and off.short_answer.text == "1589"
