import pytest

from rag.composer.extractive import missing_entities
from rag.expected_type import asked_words, expected_type, offered
from rag.query import QuestionAnalyzer


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Combien de salariés compte la nouvelle usine ?", "count"),
        ("How many flights were cancelled because of Hurricane Sandy?", "count"),
        ("Quel est le nombre de morts ?", "count"),
        ("Combien de fois a-t-il gagné ?", "number"),  # "fois" is no thing counted
        ("Combien ont été tués ?", "number"),
        ("Combien d'euros vaut la réserve ?", "number"),  # a unit, not a thing counted
        ("Combien d'argent possédait sa soeur ?", "money"),
        ("How many years did the war last?", "duration"),
        ("Quel âge a le skipper ?", "age"),
        ("How old was the skipper?", "age"),
        ("Combien vaut le SMIC horaire ?", "money"),
        ("Quelle masse a la nouvelle particule ?", "mass"),
        ("How far is the exoplanet PH1 from our Sun?", "distance"),
        ("Quel est le taux de participation ?", "percent"),
        ("Quel a été le taux de participation ?", "percent"),  # any tense of the copula
        ("Quelle sera la durée du voyage ?", "number"),
        ("Quel était le nom du navire ?", "name"),
        ("Combien coûte le billet ? Quel est son prix ?", "money"),
        ("En quelle année la ville fut-elle fondée ?", "date"),
        ("Quelle est la date exacte de la réunion ?", "date"),  # the copula before the date noun too
        ("Quelle était l'époque de sa construction ?", "date"),
        ("Quelle est la capitale de l'Australie ?", "place"),
        ("What is the capital of Australia?", "place"),
        ("Quel est le revenu médian des ménages ?", "money"),
        ("When did the war end?", "date"),
        ("The summit takes place when?", "date"),
        ("What happens when the immune system is less active than normal?", None),  # a clause
        ("Dans quel pays a étudié Yoweri Museveni ?", "place"),
        ("Où est Dar es Salaam ?", "place"),
        ("Which airline operated the plane?", "name"),
        ("Qui représentera l'Union européenne ?", "name"),
        ("Qu'est-ce qui a frappé Lyon ?", None),
        ("Pourquoi Böhme enfle-t-il ?", None),
        ("Quel est l'enjeu pour Washington ?", None),
    ],
)
def test_expected_type(question: str, kind: str | None):
    assert expected_type(question) == kind


def test_a_sentence_offers_the_type_only_with_something_the_question_lacks():
    q = asked_words("Combien de salariés compte l'usine ouverte en 2012 ?")
    assert offered("L'usine emploie 800 personnes.", "number", q)
    assert offered("Elle emploie deux mille personnes.", "number", q)
    assert not offered("L'usine a ouvert en 2012.", "number", q)  # 2012 is in the question
    assert not offered("L'usine est la plus grande du groupe.", "number", q)
    who = asked_words("Qui dirige l'usine de Jababeka ?")
    assert offered("Selon le directeur David Quentin, tout va bien.", "name", who)
    assert not offered("Le directeur de Jababeka est satisfait.", "name", who)  # only the question's name


def test_a_measure_is_offered_only_as_a_number_with_its_unit():
    far = asked_words("How far is the exoplanet PH1 from our Sun?")
    assert offered("Elle se trouve à 5 000 années-lumière de la Terre.", "distance", far)
    assert not offered("Sa masse vaut 169 fois celle de la Terre.", "distance", far)  # a number, no distance
    assert offered("La participation a atteint 51 %.", "percent", frozenset())
    assert offered("La capsule emporte 521 kg de fret.", "mass", frozenset())
    assert not offered("La capsule emporte 5 millions de dollars de fret.", "mass", frozenset())
    assert offered("Le chantier a coûté 3,5 milliards d'euros.", "money", frozenset())


def test_a_measure_may_be_spelled_out_before_its_unit():
    from rag.composer.short_answer import spans

    long = asked_words("Combien de temps a duré la guerre ?")
    for sentence, words in (
        ("La guerre a duré quatre ans.", "quatre ans"),
        ("Le camp a fonctionné pendant onze mois et demi.", "onze mois et demi"),
        ("Le siège a duré vingt-cinq jours.", "vingt-cinq jours"),
        ("The war lasted twelve years.", "twelve years"),
    ):
        assert offered(sentence, "duration", long)
        assert [sentence[a:b] for a, b in spans(sentence, "duration", long)] == [words]
    assert not offered("Une guerre longue et un camp fermé.", "duration", long)  # "un", "une": articles
    assert not offered("Quatre soldats sont morts.", "duration", long)  # a number without a unit
    assert offered("Il avait onze ans.", "age", asked_words("Quel âge avait-il ?"))


def test_an_early_year_is_a_date_after_a_preposition_and_before_no_noun():
    from rag.composer.short_answer import spans

    when = asked_words("Quand Athènes devient-elle un foyer culturel ?")
    for sentence, words in (
        ("Athènes devient un foyer culturel vers 875, avec une nouvelle céramique.", "vers 875"),
        ("Ibn Rustom fonde en 761 un royaume ibadite.", "en 761"),
        ("La céramique est adoptée vers -500, à l'époque des Micmacs.", "vers -500"),
        ("La dynastie Qin dure de 221 à 206 av. J.-C. et unifie la Chine.", "221 à 206 av. J.-C"),
    ):
        assert offered(sentence, "date", when)
        assert [sentence[a:b] for a, b in spans(sentence, "date", when)] == [words]
    for sentence in ("Il a couru en 300 mètres.", "Le village existe depuis 200 ans.", "Vers 500 personnes."):
        assert not offered(sentence, "date", when)  # a measure or a count, not a year
    no_roman = "Le maire dit que ce foyer change la vie."  # "le", "ce", "vie": no Roman century
    assert not offered(no_roman, "date", when)
    assert offered("Le foyer naît au VIIIe siècle.", "date", when)
    counted = "Vers 500 personnes sont venues."
    many = asked_words("Combien de personnes sont venues ?")
    assert [counted[a:b] for a, b in spans(counted, "number", many)] == ["500 personnes"]


def test_a_count_is_offered_only_as_a_number_without_an_amount_measure_or_duration():
    asked = asked_words("Combien d'accords ont été signés ?")
    assert offered("Deux accords ont été signés.", "count", asked)
    assert offered("Ils représentent 45 % des échanges.", "count", asked)  # a share of what is counted
    assert not offered("La croissance sera de 0,3 % seulement.", "count", asked)  # a bare percentage
    assert not offered("La réserve vaut 11,04 milliards d'euros.", "count", asked)
    assert not offered("Elle pèse 18 millions de tonnes.", "count", asked)
    assert offered("La réserve vaut 11,04 milliards d'euros.", "number", asked)  # any number


def test_translated_names_are_not_missing_across_languages():
    analyse = QuestionAnalyzer().analyse
    query = analyse("Who became Greece's finance minister in June 2012?")
    assert (query.names, query.numbers) == (("greece", "june"), ("2012",))
    passages = ["Vassilis Rapanos devient ministre des Finances de la Grèce en juin 2012."]
    assert missing_entities(query, passages) == 2  # "Greece" and "June" are not in the French text
    assert missing_entities(query, passages, names=False) == 0  # numbers only: 2012 is there
    assert missing_entities(analyse("How much in 2013?"), passages, names=False) == 1


def test_a_name_after_an_elided_article_is_a_name():
    analyse = QuestionAnalyzer().analyse
    assert analyse("Quelle est la capitale de l'Australie ?").names == ("australie",)
    assert analyse("Qui est la cousine du maréchal d’Albret ?").names == ("albret",)
    assert analyse("L'Australie a-t-elle voté ?").names == ("australie",)  # the opening word is "L'"
    assert analyse("Aujourd'hui, qui parle ?").names == ()
    passages = ["Manille est la capitale des Philippines."]
    assert missing_entities(analyse("Quelle est la capitale de l'Australie ?"), passages) == 1
