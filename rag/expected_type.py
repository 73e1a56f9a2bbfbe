"""The expected answer type: what kind of answer a question asks for, and whether a sentence offers
one, the classic signal of extractive QA, with rules instead of a model.

"Quand…" / "When…" wants a date, "Combien…" / "How many…" a number, "Qui…" / "Who…" a name,
"Où…" / "Where…" a place; "Combien d'accords…" / "How many employees…" a count (a number that is not an
amount, a measure or a duration); "How far…" / "Quelle masse…" a number with a unit of distance, mass,
percentage or money; "Résume l'article…" / "What is the article about?" a summary. A candidate
sentence holding such a token that the question does not already contain is more likely to hold the
answer.

>>> expected_type("De quoi parle l'article sur le code ColorADD ?")
'summary'

>>> expected_type("En quelle année la ville fut-elle fondée ?")
'date'
>>> expected_type("Quel a été le taux de participation au second tour ?")
'percent'
>>> expected_type("Combien d'accords ont été signés ?")
'count'
>>> asked = asked_words("En quelle année la ville fut-elle fondée ?")
>>> offered("La ville fut fondée en 1642 par Maisonneuve.", "date", asked)
True
>>> offered("La ville fut fondée par Maisonneuve.", "date", asked)
False
"""

from __future__ import annotations

import re

from .text import fold, normalize

# A question asking what an article (or the articles) say as a whole, rather than one fact.
_SUMMARY = re.compile(
    r"\bde quoi (parle|parlent|traite|traitent) (l'|les |cet |ce |la )?"
    r"(article|articles|texte|depeche|actualite)|"
    r"\bresum(e|ez|er)\b|\bresume-moi\b|"
    r"\b(principales?|grandes?) (informations?|points?|idees?|lignes?|faits?)\b|"
    r"\bque (dit|disent|raconte|racontent) (l'article|les articles|cet article)\b|\bsujet de l'article\b|"
    r"\bsummari[sz](e|ing)\b|\b(a|the) summary of\b|\bmain (points|facts|ideas)\b|\bgist\b|"
    r"\bwhat (is|are|was|were) (the|this|these) (article|articles|story|stories|news)\b.*\babout\b|"
    r"\bwhat do(es)? (the|this) (article|articles|story) say\b"
)

# "Quel est / a été / sera le taux…": the tense does not change what is asked.
_COPULA = (
    r"(est|sont|etait|etaient|a ete|ont ete|avait ete|avaient ete|fut|furent|sera|seront|serait|"
    r"seraient)"
)

# An English "when" inside a question opens a clause ("What happens when the immune system …?"):
# only one opening or closing the question asks for a date.
# Order matters: "depuis combien de temps" is a number before "depuis quand" is a date, and "quelle
# ville" is a place before "qui" is a name. Patterns run on the folded question (no accents, lower).
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (
            "number",
            r"\bcombien\b|\bquel(le)?s? " + _COPULA + r" (le|la|les) (nombre|montant|taux|prix|"
            r"population|superficie|taille|hauteur|longueur|duree|age|pourcentage|distance|altitude|"
            r"surface|part|proportion|cout|somme|masse|poids|charge|revenu|salaire)\b|"
            r"\bquel(le)? (nombre|montant|taux|prix|age|pourcentage|distance|superficie|population|masse|"
            r"poids|charge)\b|\bhow (many|much|"
            r"long|old|far|tall|big|large|high|heavy)\b|\bwhat (percentage|proportion|share|number|amount|"
            r"mass|weight|rate|price|size)\b|\bwhat (is|was) the (percentage|proportion|share|number|"
            r"amount|mass|weight|rate|price|size|turnout|cost)\b",
        ),
        (
            "date",
            r"\bquand\b|\b(en |a |dans |vers |depuis |de )?quel(le)?s? (" + _COPULA + r" (le |la |les |l'))?"
            r"(annee|annees|date|jour|mois|siecle|epoque|periode|decennie)\b|"
            r"^\W*((since|until|till|and|but) )?when\b|\bwhen\W*$|"
            r"\b(what|which|in what) (year|date|day|month|century|decade|period)\b",
        ),
        (
            "place",
            r"\bou\b(?! (bien|non)\b)|\bd'ou\b|\b(dans |a |de |en |sur )?quel(le)?s? ("
            + _COPULA
            + r" (le |la |les |l'))?(pays|ville|region|lieu|endroit|continent|departement|province|ile|"
            r"quartier|territoire|etat|port|capitale)\b|"
            r"\bwhere\b|\b(what|which|in which|in what) (country|city|town|region|place|continent|state|"
            r"island|port|capital)\b|\bwhat (is|was) the (capital|location)\b",
        ),
        (
            "name",
            r"\bqui\b|\bwho(m|se)?\b|\bquel(le)?s? " + _COPULA + r" (le|la|les) nom\b|"
            r"\bcomment (s'appel|se nomm|s'intitul)|\bwhat (is|was) the name\b|"
            r"\bquel(le)?s? (joueur|joueuse|president|ministre|entreprise|societe|compagnie|equipe|club|"
            r"parti|espece|groupe|acteur|actrice|auteur|artiste|marque)\b|\b(which|what) (player|"
            r"president|minister|company|airline|team|club|party|species|group|actor|actress|author|"
            r"artist|brand|head of state|leader)\b",
        ),
    )
)

# "3 milliards de dollars": a scale between the number and its unit.
_SCALE_WORDS = r"millions?|milliards?|billions?|mille|thousand"
_SCALE = r"((" + _SCALE_WORDS + r")\s(de |d')?)?"
# A number question that names what it measures wants a number with that unit: "How far is PH1 from
# the Sun?" is answered by "5 000 années-lumière", not by "169 fois celle de la Terre". Each measure:
# the folded question's pattern, then the unit that must follow a number in the sentence.
_TIME_UNITS = (
    r"jours?|heures?|h|ans?|annees?|mois|semaines?|minutes?|min|secondes?|siecles?|days?|hours?|years?|"
    r"months?|weeks?|seconds?|centur(y|ies)"
)
# A measure written out in words ("quatre ans", "une heure", "dix-sept mois"): French prose spells
# small numbers. Before a unit only, so "un" stays an article elsewhere.
_SPELLED = (
    r"(?:un|une|one|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|"
    r"vingt|trente|quarante|cinquante|soixante|cent|cents|mille|two|three|four|five|seven|eight|nine|ten|"
    r"eleven|twelve|thirteen|fourteen|fifteen|sixteen|twenty|thirty|forty|fifty|sixty|hundred)"
)
SPELLED_NUMBER = rf"\b{_SPELLED}(?:(?:-et-|-|\set\s|\s){_SPELLED})*"
_MEASURE_WORDS: tuple[tuple[str, str, str], ...] = (
    (
        "percent",
        r"\b(pourcentage|taux|participation|percentage|turnout)\b",
        r"%|pour ?cent|percent",
    ),
    (
        "distance",
        r"\b(distance|how far|a quelle distance)\b",
        r"km|kilometres?|m|metres?|miles?|annees?-lumiere|light-years?|ua|unites? astronomiques?",
    ),
    (
        "mass",
        r"\b(masse|poids|charge|cargo|weigh|weight|mass|how heavy)\b",
        r"kg|kilogrammes?|g|grammes?|t|tonnes?|tons?|pounds?|lbs?|gev|mev|tev",
    ),
    (
        "money",
        r"\b(combien d'argent|combien (vaut|valent|valait|valaient|vaudra|vaudront|vaudrait)|prix|cout|coute|"
        r"coutent|coutera|couteront|coutait|coutaient|couterait|montant|"
        r"budget|revenu|salaire|price|cost|costs|income|salary|how much money)\b",
        r"€|euros?|\$|dollars?|francs?|livres?|pounds?|yens?|yuans?|millions? d'euros|milliards? d'euros",
    ),
    ("age", r"\b(quel age|how old)\b", _TIME_UNITS),  # a baby's age may be "3 mois"
    (
        "duration",
        r"\b(combien (de |d')(temps|jours|heures|ans|annees|mois|semaines|minutes|secondes|siecles)|"
        r"how long|how many (days|hours|years|months|weeks|minutes|seconds|centuries))\b",
        _TIME_UNITS,
    ),
)
_MEASURES: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (
        kind,
        re.compile(question),
        re.compile(r"(?:\d[\d  .,]*\s?|" + SPELLED_NUMBER + r"\s)" + _SCALE + r"(" + unit + r")(?!\w)"),
    )
    for kind, question, unit in _MEASURE_WORDS
)
_UNITS = {kind: unit for kind, _, unit in _MEASURES}
_NOT_COUNT_UNITS = "|".join(dict.fromkeys(unit for kind, _, unit in _MEASURE_WORDS if kind != "percent"))

# "Combien d'accords…" counts accords: "11,04 milliards d'euros" is an amount, "50 ans" a duration, not
# a count. A share of what is counted may be ("45 % des Français"), a bare percentage is not ("0,3 %").
_COUNT = re.compile(r"\bcombien (de |d')(?P<noun>\w+)|\bhow many (?P<en>\w+)|\bnombre (de |d')(?P<of>\w+)")
_NOT_COUNTED = re.compile(r"(" + _NOT_COUNT_UNITS + r"|temps|fois|times|argent)$")
_FOREIGN_UNIT = re.compile(
    r"\s?(de |d')?(" + _NOT_COUNT_UNITS + r")(?!\w)|\s?(%|pour ?cent|percent)(?!\s(de|des|du|d'|of)\b)"
)

# "Qu'est-ce qui" and "ce qui" are not about a person.
_NOT_NAME = re.compile(r"\b(qu'est-ce|ce) qui\b")

_MONTHS = (
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre "
    "january february march april may june july august september october november december"
).split()
# An early year: three figures after a preposition and before no noun ("vers 875,", "fonde en 761 un
# royaume", "vers -500", not "en 300 mètres" or "depuis 200 ans"), or any year before or after Christ.
EARLY_YEAR = (
    r"(?i:(?:\b(?:en|vers|dès|des|depuis|in|around|circa|an)\s-?\d{3}(?![\d,.]?\d)"
    r"(?=\s*(?:[,.;:)]|$)|\s(?:un|une|le|la|les|et|ou|de|du|des|à|a|au|aux|sur|par|pour|dans|qui|que|"
    r"avant|après|apres|av|jusqu|the|and|in|of|to|when|by)\b))|"
    r"\b\d{1,4}\s(?:av|avant|apr|après|apres)\.?\s?j\.?-c\b|\b\d{1,4}\s(?:bc|bce)\b)"
)
# A century in Roman figures only before its noun: "le", "ce" and "vie" are spelled the same.
_DATE = re.compile(
    r"\b(1\d{3}|20\d{2}|\d{1,2}e)\b|\b[ivxlc]+e\s(siecle|millenaire)|\b("
    + "|".join(_MONTHS)
    + r")\b|"
    + EARLY_YEAR
)
_NUMBER_WORDS = (
    "deux trois quatre cinq six sept huit neuf dix onze douze quinze vingt trente quarante cinquante "
    "soixante cent cents mille million millions milliard milliards moitie tiers quart "
    "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty "
    "hundred thousand million millions billion billions half third quarter dozen"
).split()
_NUMBER = re.compile(r"\d+|\b(" + "|".join(_NUMBER_WORDS) + r")\b")
# A figure or number word with its scale: "11,04 milliards", "deux mille".
_FIGURES = re.compile(
    r"(\d(?:[\d  .,]*\d)?|\b(" + "|".join(_NUMBER_WORDS) + r")\b)(\s(" + _SCALE_WORDS + r")\b)?"
).finditer
# A capitalised word that is not the first word of its sentence (names, places, organisations).
_CAPITALISED = re.compile(r"(?<=[\w,;:)»\"'] )[A-ZÀ-ÖØ-Þ][\w\-]+")


def expected_type(question: str) -> str | None:
    """``"date"``, ``"number"``, ``"count"`` (a number of things named: no amount, measure or
    duration), ``"place"``, ``"name"``, a measure (``"percent"``, ``"distance"``, ``"mass"``,
    ``"money"``, ``"age"``, ``"duration"``: a number with its unit), ``"summary"`` (what an article is
    about) or None (the question does not say)."""
    q = fold(normalize(question))
    if _SUMMARY.search(q):
        return "summary"
    for kind, pattern in _RULES:
        if pattern.search(q):
            if kind == "name" and _NOT_NAME.search(q) and not re.search(r"\bwho", q):
                continue
            if kind == "number":
                measure = next((m for m, asks, _ in _MEASURES if asks.search(q)), None)
                if measure is not None:
                    return measure
                counted = _COUNT.search(q)
                if counted and not _NOT_COUNTED.match(
                    next(w for w in counted.group("noun", "en", "of") if w)
                ):
                    return "count"
            return kind
    return None


def asked_words(question: str) -> frozenset[str]:
    """The question's folded words, computed once for all the sentences checked against it."""
    return frozenset(re.findall(r"\w+", fold(normalize(question))))


def offered(sentence: str, kind: str, asked: frozenset[str]) -> bool:
    """Whether ``sentence`` holds a token of the ``kind`` asked for that is not one of the question's
    ``asked`` words (see :func:`asked_words`)."""
    text = normalize(sentence)
    unit = _UNITS.get(kind)
    if unit is not None:
        return any(adds_word(m.group(), asked) for m in unit.finditer(fold(text)))
    if kind in ("name", "place"):
        return any(adds_word(fold(m.group()), asked) for m in _CAPITALISED.finditer(text))
    folded = fold(text)
    if kind == "count":
        return any(
            adds_word(m.group(), asked) and not _FOREIGN_UNIT.match(folded, m.end()) for m in _FIGURES(folded)
        )
    pattern = _DATE if kind == "date" else _NUMBER
    return any(adds_word(m.group(), asked) for m in pattern.finditer(folded))


def foreign_unit(span: str, after: str = "") -> bool:
    """Whether the first number of ``span`` carries a unit that no count has: an amount, a measure, a
    duration or a bare percentage, its unit read on into ``after`` (the text that follows the span).

    >>> foreign_unit("11,04 milliards d'euros"), foreign_unit("800 personnes"), foreign_unit("45 %", " des")
    (True, False, False)
    >>> foreign_unit("0,3 %", " pour 2012"), foreign_unit("une trentaine", " de plantes (2 %)")
    (True, False)
    """
    length = len(fold(normalize(span)))
    folded = fold(normalize(span + after))
    first = next(_FIGURES(folded), None)
    if first is None or first.start() >= length:
        return False
    return _FOREIGN_UNIT.match(folded, first.end()) is not None


def adds_word(found: str, asked: frozenset[str]) -> bool:
    """Whether ``found`` (folded) holds a word the question does not: "Quel est le prix d'un billet
    de 5 euros ?" is not answered by "5 euros".

    >>> asked = asked_words("Quel est le prix d'un billet de 5 euros ?")
    >>> adds_word("5 euros", asked), adds_word("2 euros", asked)
    (False, True)
    """
    return not set(re.findall(r"\w+", found)) <= asked
