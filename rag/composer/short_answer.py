"""The short answer: the few words of a sentence that answer a question asking for a name, a place,
a date or a number, found with rules (no model).

Each kind has patterns over the sentence's text; the first match that is not made only of words the
question already holds is the answer ("Qui dirige l'usine de Jababeka ?" is not answered by
"Jababeka"). The span is returned as offsets into the sentence, so the answer is verbatim.

>>> s = "Selon le nouveau directeur du site de Jababeka David Quentin, l'usine emploie 800 personnes."
>>> asked = frozenset({"qui", "dirige", "l", "usine", "de", "jababeka"})
>>> start, end = find(s, "name", asked); s[start:end]
'David Quentin'
>>> start, end = find(s, "number", frozenset({"combien"})); s[start:end]
'800 personnes'
>>> find("Il pleut.", "date", frozenset()) is None
True
"""

from __future__ import annotations

import re

from ..expected_type import EARLY_YEAR, SPELLED_NUMBER, adds_word, foreign_unit, offered
from ..text import fold, normalize

_MONTHS = (
    "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|"
    "decembre|january|february|march|april|may|june|july|august|september|october|november|december"
)
_DAYS = (
    "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|friday|saturday|"
    "sunday"
)
_NUMBER_WORD = (
    r"\b(?:(?:une? |des |quelques |plusieurs )?(?:dizaine|douzaine|quinzaine|vingtaine|trentaine|quarantaine|"
    r"cinquantaine|soixantaine|centaine|millier)s?|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|"
    r"quinze|vingt|trente|quarante|cinquante|soixante|cent|mille|two|three|four|five|six|seven|eight|nine|ten|"
    r"twelve|twenty|thirty|forty|fifty|hundred|thousand|dozen)\b"
)
_QUANTIFIER = (
    r"(?:plus d['’]|plus de |près de |pres de |environ |quelque |au moins |moins de |about |over |nearly |"
    r"almost |more than |some )?"
)
_FIGURE = r"\d[\d\u00a0\u202f .,]*\d|\d"
_SCALE = r"(?:\s(?:milliards?|millions?|mille|billions?|millions|thousand))?"
_UNIT = (
    r"\s?(?:%|pour ?cent|percent|€|euros?|\$|dollars?|francs?|livres?|yens?|yuans?|km|kilomètres?|m\b|"
    r"mètres?|"
    r"miles?|années?-lumière|light-years?|kg|kilogrammes?|tonnes?|tons?|GeV|MeV|TeV|jours?|heures?|ans\b|"
    r"années?|mois|semaines?|minutes?|secondes?|siècles?|days?|hours?|years?|months?|weeks?)(?!\w)"
)
# The noun counted ("800 personnes"), not a function word ("28,1 % des"). Function words that follow a
# number in French and English:
_NOT_NOUN = (
    r"(?:de|des|du|la|le|les|et|ou|en|au|aux|à|sur|par|pour|dans|qui|que|ses|son|sa|leurs?|ces|nos|vos|"
    r"jusqu|avant|après|depuis|pendant|entre|avec|contre|sans|vers|chez|plus|"
    r"of|the|and|in|on|to|for|its|their|his|her|these|those|until|before|after|since|with|from|ago)\b"
)
_NOUN = rf"(?P<noun>\s(?:de |d['’])?(?!{_NOT_NOUN})[^\W\d_][\w\-’']*)?"
_CAPITAL = r"[A-ZÀ-ÖØ-Þ][\w\-’']*"
_NAME = _CAPITAL + r"(?:\s(?:(?:de|du|des|van|von|der|den|al|el|bin|ben|d['’]|la|le)\s?)?" + _CAPITAL + r")*"
# Capitalised words that open sentences or clauses without naming anything.
_COMMON = {
    "le", "la", "les", "l", "un", "une", "des", "il", "elle", "ils", "elles", "ce", "cette", "ces", "en",
    "dans", "pour", "selon", "a", "à", "au", "aux", "de", "du", "d", "on", "mais", "et", "or", "après",
    "avant", "depuis", "lors", "quand", "lorsque", "si", "alors", "ainsi", "puis", "enfin", "pourtant",
    "cependant", "néanmoins", "par", "sur", "sous", "vers", "chez", "parmi", "malgré", "tout", "tous",
    "the", "an", "in", "at", "it", "he", "she", "they", "this", "that", "when", "if", "but", "and",
}  # fmt: skip
_COMMON = {fold(word) for word in _COMMON}  # compared with folded words

_PATTERNS: dict[str, re.Pattern[str]] = {
    "date": re.compile(
        rf"(?:(?:le |du |au |on )?(?:(?:{_DAYS})\s)?(?:(?:1er|\d{{1,2}})(?:\s(?:au|et|à)\s|-))?"
        rf"(?:1er|\d{{1,2}})\s(?:{_MONTHS})(?:\s\d{{4}})?)|"  # "du 22 au 24 juin 2012" is one date
        rf"(?:(?:en |depuis |dès |des |vers |in |since )?(?:{_MONTHS})\s\d{{4}})|"
        rf"(?:(?:{_MONTHS})\s\d{{1,2}},?\s\d{{4}})|"
        r"(?:(?:en |depuis |dès |vers |in |since |au |du )?(?:[IVXLC]+e|\d{1,2}e|\d{1,2}(?:st|nd|rd|th))"
        r"\s(?:siècle|century))|"
        r"(?:(?:en |depuis |dès |vers |in |since |dans les années |in the )?(?:1\d{3}|20\d{2})s?)\b|"
        rf"(?:(?:\d{{1,4}}\s(?:à|a|to)\s)?{EARLY_YEAR})|"  # "vers 875", "221 à 206 av. J.-C."
        rf"(?:(?:il y a |voici )(?:environ |plus de |près de )?(?:{_FIGURE}){_SCALE}\s(?:d['’])?"
        r"(?:ans|années))|"
        rf"(?:(?:about |over |nearly |some )?(?:{_FIGURE}){_SCALE}\s(?:years|centuries)\sago)|"
        rf"(?:(?:en |in |début |fin |mi-|early |late |mid-)(?:{_MONTHS})\b)",
        re.IGNORECASE,
    ),
    # A figure glued to a word is no count: "le 36ème gouvernement", "l'A380", "le G20".
    "number": re.compile(
        rf"{_QUANTIFIER}(?:(?<!\w)(?:{_FIGURE}){_SCALE}(?:{_UNIT})?(?!\w)|(?:{_NUMBER_WORD})){_NOUN}",
        re.IGNORECASE,
    ),
    "measure": re.compile(
        rf"{_QUANTIFIER}(?:(?<!\w)(?:{_FIGURE})|{SPELLED_NUMBER}){_SCALE}(?:\s(?:de|d['’]))?{_UNIT}"
        rf"(?:\set\sdemie?\b)?{_NOUN}",  # "quatre ans", "une heure et demie"
        re.IGNORECASE,
    ),
    "name": re.compile(_NAME),
    "place": re.compile(r"(?:(?:à|au|aux|en|dans|vers|in|at)\s)?" + _NAME),
}
KINDS = {"date": "date", "number": "number", "count": "number", "name": "name", "place": "place",
         "percent": "measure", "distance": "measure", "mass": "measure", "money": "measure",
         "age": "measure", "duration": "measure"}  # fmt: skip


def find(sentence: str, kind: str, asked: frozenset[str]) -> tuple[int, int] | None:
    """Offsets in ``sentence`` of the short answer of ``kind`` (None when there is none). ``asked``
    holds the question's folded words (:func:`rag.expected_type.asked_words`)."""
    found = spans(sentence, kind, asked)
    return found[0] if found else None


def spans(sentence: str, kind: str, asked: frozenset[str]) -> list[tuple[int, int]]:
    """Every span of ``sentence`` that could answer a question asking for ``kind``, the likeliest
    first.

    >>> s = "Le 7 novembre, 800 personnes et 12 camions sont arrivés."
    >>> [s[a:b] for a, b in spans(s, "number", frozenset({"combien"}))]
    ['800 personnes', '12 camions']
    >>> s = "L'étude, sur 11 % de maïs, a coûté 3 millions d'euros."
    >>> [s[a:b] for a, b in spans(s, "money", frozenset({"combien"}))]
    ["3 millions d'euros"]
    >>> s = "La réserve de 11,04 milliards d'euros réunit 50 pays."
    >>> [s[a:b] for a, b in spans(s, "count", frozenset({"combien", "de", "pays"}))]
    ['50 pays']
    >>> s = "La dynastie y vécut sept siècles jusqu'à la Révolution."
    >>> [s[a:b] for a, b in spans(s, "duration", frozenset({"combien", "de", "temps"}))]
    ['sept siècles']
    >>> s = "Les billets de 5 euros seront imprimés pour 8 centimes pièce."
    >>> [s[a:b] for a, b in spans(s, "number", frozenset({"prix", "billet", "de", "5", "euros"}))]
    ['8 centimes']
    """
    family = KINDS.get(kind, "")
    pattern = _PATTERNS.get(family)
    if pattern is None:
        return []
    dates = (
        [m.span() for m in _PATTERNS["date"].finditer(sentence)] if family in ("number", "measure") else []
    )
    found: list[tuple[int, int]] = []
    for m in pattern.finditer(sentence):
        start, end = m.span()
        if family in (
            "name",
            "place",
        ):  # a run of capitalised words: drop the question's own words at its edges
            start, end = _trim(sentence, start, end, asked)
            start = _after_complement(sentence, start, end)
        while end > start and sentence[end - 1] in " ,.;:":
            end -= 1
        words = re.findall(r"\w+", fold(sentence[start:end]))
        if not words or all(w in asked for w in words):
            continue
        counted = m.groupdict().get("noun")  # "5 euros seront": the figure and unit are the question's
        if counted and not adds_word(fold(sentence[start : m.start("noun")]), asked):
            continue
        if family in ("name", "place") and all(w in _COMMON or w in asked for w in words):
            continue
        if any(a <= start < b for a, b in dates):  # "7 novembre" is a date, not a number
            continue
        found.append((start, end))
    if family == "name":  # a full name ("David Quentin") before a lone capitalised word ("État")
        found.sort(key=lambda span: len(sentence[span[0] : span[1]].split()) < 2)
    if family == "measure":  # with the unit asked: a price is not "11 % de maïs"
        found = [(a, b) for a, b in found if offered(sentence[a:b], kind, asked)]
    if kind == "count":  # "Combien d'accords…" is not answered by "11,04 milliards d'euros"
        found = [(a, b) for a, b in found if not foreign_unit(sentence[a:b], sentence[b:])]
    return found


# A French question's preposition ("En quelle année", "Par qui", "Dans quelle ville"), or those "où"
# and "quand" ask for, is said with the answer when the sentence has it just before ("en 1589").
_ASKED_WITH = re.compile(
    r"\b(a|de|en|par|dans|depuis|avec|pour|sur|chez|vers) (?:l')?"
    r"(?:quel|quelle|quels|quelles|qui|quoi|quand|combien|ou|lequel|laquelle|lesquels|lesquelles)\b"
)
_FORMS = {"a": {"a", "au", "aux"}, "de": {"de", "du", "des", "d'"}}
_WHERE = frozenset({"a", "au", "aux", "en", "dans", "sur", "chez"})
_WHEN = frozenset({"en", "le", "depuis", "des", "vers", "au"})  # ("dès" folds to "des")
_ARTICLES = frozenset({"le", "la", "les", "l'", "un", "une"})  # between the preposition and the answer


def with_preposition(sentence: str, start: int, question: str) -> int:
    """Where the short answer starting at ``start`` starts once it takes the preposition before it,
    when the question asks with that preposition, or with "où" / "quand" and one of theirs.

    >>> s = "Le ministère des Affaires étrangères est créé en 1589 par Henri III."
    >>> s[with_preposition(s, s.index("1589"), "En quelle année le ministère est-il créé ?"):s.index(" par")]
    'en 1589'
    >>> s[with_preposition(s, s.index("Henri"), "Qui a créé le ministère ?"):]
    'Henri III.'
    >>> s = "Le club est fondé dans le Ristorante Orologio."
    >>> s[with_preposition(s, s.index("Ristorante"), "Où le club est-il fondé ?"):]
    'dans le Ristorante Orologio.'
    """
    asked = fold(normalize(question))
    wanted: set[str] = set()
    for m in _ASKED_WITH.finditer(asked):
        wanted |= _FORMS.get(m.group(1), {m.group(1)})
    if re.search(r"\bou\b", asked) and not re.search(r"\bou (?:bien|non)\b", asked):
        wanted |= _WHERE
    if re.search(r"\bquand\b", asked):
        wanted |= _WHEN
    found = start
    for _ in range(2):  # the preposition, or the preposition and an article: "dans le Ristorante"
        before = re.search(r"(\w+['’]?)\s*$", sentence[:found])
        if before is None:
            break
        word = fold(normalize(before.group(1)))
        if word in wanted:
            return before.start(1)
        if word not in _ARTICLES:
            break
        found = before.start(1)
    return start


def _after_complement(sentence: str, start: int, end: int) -> int:
    """Where a name run really starts: "secrétaire d'État Marco Rubio" names Marco Rubio, the first
    capitalised word completing the noun before it ("d'État", "de l'Intérieur")."""
    before = sentence[max(0, start - 4) : start].lower()
    words = sentence[start:end].split()
    if len(words) >= 3 and (before.endswith(("'", "’")) or before.endswith((" de ", " du "))):
        return start + len(words[0]) + 1
    return start


def _trim(sentence: str, start: int, end: int, asked: frozenset[str]) -> tuple[int, int]:
    """The span without its leading and trailing words that the question holds or that open clauses."""
    spans = [(start + m.start(), start + m.end()) for m in re.finditer(r"[\w\-’']+", sentence[start:end])]
    keep = [s for s in spans if fold(sentence[s[0] : s[1]]) not in asked | _COMMON]
    if not keep:
        return start, start
    first = spans.index(keep[0])
    last = spans.index(keep[-1])
    return spans[first][0], spans[last][1]
