"""What kind of answer a question asks for, and whether a sentence offers one: the classic
"answer type" signal of extractive QA, with rules instead of a model.

"Quand…" / "When…" wants a date, "Combien…" / "How many…" a number, "Qui…" / "Who…" a name,
"Où…" / "Where…" a place. A candidate sentence holding such a token that the question does not
already contain is more likely to hold the answer.

>>> expected_type("En quelle année la ville fut-elle fondée ?")
'date'
>>> asked = asked_words("En quelle année la ville fut-elle fondée ?")
>>> offered("La ville fut fondée en 1642 par Maisonneuve.", "date", asked)
True
>>> offered("La ville fut fondée par Maisonneuve.", "date", asked)
False
"""

from __future__ import annotations

import re

from .text import fold, normalize

# Order matters: "depuis combien de temps" is a number before "depuis quand" is a date, and "quelle
# ville" is a place before "qui" is a name. Patterns run on the folded question (no accents, lower).
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (
            "number",
            r"\bcombien\b|\bquel(le)?s? (est|sont|etait|etaient) (le|la|les) (nombre|montant|taux|prix|"
            r"population|superficie|taille|hauteur|longueur|duree|age|pourcentage|distance|altitude|"
            r"surface|part|proportion|cout|somme|masse|poids|charge)\b|\bquel(le)? (nombre|montant|taux|"
            r"prix|age|pourcentage|distance|superficie|population|masse|poids|charge)\b|\bhow (many|much|"
            r"long|old|far|tall|big|large|high|heavy)\b|\bwhat (percentage|proportion|share|number|amount|"
            r"mass|weight|rate|price|size)\b|\bwhat (is|was) the (percentage|proportion|share|number|"
            r"amount|mass|weight|rate|price|size|turnout|cost)\b",
        ),
        (
            "date",
            r"\bquand\b|\b(en |a |dans |vers |depuis |de )?quel(le)?s? (annee|annees|date|jour|mois|"
            r"siecle|epoque|periode|decennie)\b|\bwhen\b|\b(what|which|in what) (year|date|day|"
            r"month|century|decade|period)\b",
        ),
        (
            "place",
            r"\bou\b(?! (bien|non)\b)|\bd'ou\b|\b(dans |a |de |en |sur )?quel(le)?s? (pays|ville|"
            r"region|lieu|endroit|continent|departement|province|ile|quartier|territoire|etat|port)\b|"
            r"\bwhere\b|\b(what|which|in which|in what) (country|city|town|region|place|continent|state|"
            r"island|port)\b",
        ),
        (
            "name",
            r"\bqui\b|\bwho(m|se)?\b|\bquel(le)?s? (est|etait|sont|etaient) (le|la|les) nom\b|"
            r"\bcomment (s'appel|se nomm|s'intitul)|\bwhat (is|was) the name\b|"
            r"\bquel(le)?s? (joueur|joueuse|president|ministre|entreprise|societe|compagnie|equipe|club|"
            r"parti|espece|groupe|acteur|actrice|auteur|artiste|marque)\b|\b(which|what) (player|"
            r"president|minister|company|airline|team|club|party|species|group|actor|actress|author|"
            r"artist|brand|head of state|leader)\b",
        ),
    )
)
# "Qu'est-ce qui" and "ce qui" are not about a person.
_NOT_NAME = re.compile(r"\b(qu'est-ce|ce) qui\b")

_MONTHS = (
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre "
    "january february march april may june july august september october november december"
).split()
_DATE = re.compile(r"\b(1\d{3}|20\d{2}|\d{1,2}e|[ivxlc]+e)\b|\b(" + "|".join(_MONTHS) + r")\b")
_NUMBER_WORDS = (
    "deux trois quatre cinq six sept huit neuf dix onze douze quinze vingt trente quarante cinquante "
    "soixante cent cents mille million millions milliard milliards moitie tiers quart "
    "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty "
    "hundred thousand million millions billion billions half third quarter dozen"
).split()
_NUMBER = re.compile(r"\d+|\b(" + "|".join(_NUMBER_WORDS) + r")\b")
# A capitalised word that is not the first word of its sentence (names, places, organisations).
_CAPITALISED = re.compile(r"(?<=[\w,;:)»\"'] )[A-ZÀ-ÖØ-Þ][\w\-]+")


def expected_type(question: str) -> str | None:
    """``"date"``, ``"number"``, ``"place"``, ``"name"`` or None (the question does not say)."""
    q = fold(normalize(question))
    for kind, pattern in _RULES:
        if pattern.search(q):
            if kind == "name" and _NOT_NAME.search(q) and not re.search(r"\bwho", q):
                continue
            return kind
    return None


def asked_words(question: str) -> frozenset[str]:
    """The question's folded words, computed once for all the sentences checked against it."""
    return frozenset(re.findall(r"\w+", fold(normalize(question))))


def offered(sentence: str, kind: str, asked: frozenset[str]) -> bool:
    """Whether ``sentence`` holds a token of the ``kind`` asked for that is not one of the question's
    ``asked`` words (see :func:`asked_words`)."""
    text = normalize(sentence)
    if kind in ("name", "place"):
        return any(fold(m.group()) not in asked for m in _CAPITALISED.finditer(text))
    pattern = _DATE if kind == "date" else _NUMBER
    return any(m.group() not in asked for m in pattern.finditer(fold(text)))
