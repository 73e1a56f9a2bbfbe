"""French text analysis shared by the stages: normalisation, sentences, lexical tokens, language.

Matching never changes the stored text: documents keep their original characters so that every
citation offset points into them; these functions only build the forms that are compared.

>>> normalize("l’enjeu")
"l'enjeu"
>>> LexicalAnalyzer().tokens("Quel est l’enjeu pour les États-Unis ?")
['enjeu', 'etat', 'unis']
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

# Apostrophes and look-alikes people and keyboards produce; all compare as "'".
_APOSTROPHES = "\u2019\u2018\u02bc\u02b9\u00b4\u0060\u2032\uff07"
_APOS_TABLE = str.maketrans({c: "'" for c in _APOSTROPHES} | {"\u00a0": " ", "\u202f": " "})

# French elided words: "l'enjeu" -> "enjeu". Longest first so "jusqu'" wins over "qu'".
_ELISION = re.compile(
    r"\b(?:jusqu|lorsqu|puisqu|quoiqu|presqu|quelqu|qu|l|d|j|m|n|s|t|c)'(?=\w)", re.IGNORECASE
)
_WORD = re.compile(r"\w+", re.UNICODE)

FRENCH_STOPWORDS = frozenset(
    """
    a à afin ai aie aient aies ait alors as au aucun aucune aupres auquel aura aurai auraient aurais
    aurait auras aurez auriez aurions aurons auront aussi autre autres aux auxquelles auxquels
    avaient avais avait avant avec avez aviez avions avoir avons ayant ayez ayons c ça car ce ceci
    cela celle celles celui cependant certain certaine certaines certains ces cet cette ceux chacun
    chacune chaque chez ci comme comment d dans de des desquelles desquels dont donc du duquel
    durant dès elle elles en encore entre es est et étaient étais était étant été êtes étiez étions
    être eu eue eues eûmes eurent eus eusse eussent eusses eussiez eussions eut eût eûtes eux fait
    faites fûmes furent fus fusse fussent fusses fussiez fussions fut fût fûtes ici il ils j je
    jusqu jusque l la laquelle le lequel les lesquelles lesquels leur leurs lors lorsqu lorsque lui
    m ma mais me même mêmes mes moi mon n ne ni nos notre nous on ont ou où par parce pas peu peut
    plus plupart pour pourquoi qu quand que quel quelle quelles quelles quels qui quoi s sa sans se
    sera serai seraient serais serait seras serez seriez serions serons seront ses si sien soi
    soient sois soit sommes son sont sous soyez soyons suis sur t ta tandis te tes toi ton tous tout
    toute toutes très tu un une unes uns vers via vos votre vous y
    """.split()
)

ENGLISH_STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me
    more most my myself no nor not of off on once only or other our ours ourselves out over own same
    she should so some such than that the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who whom why
    will with would you your yours yourself yourselves else also does did
    """.split()
)

_FRENCH_MARKERS = FRENCH_STOPWORDS - ENGLISH_STOPWORDS - {"a", "as", "on", "me", "ne", "est"}
_ENGLISH_MARKERS = ENGLISH_STOPWORDS - FRENCH_STOPWORDS - {"a", "on", "me", "as"}


def normalize(text: str) -> str:
    """NFC, every apostrophe look-alike as ``'``, non-breaking spaces as spaces."""
    return unicodedata.normalize("NFC", text).translate(_APOS_TABLE)


def fold(text: str) -> str:
    """Lower case without accents: the form lexical matching compares ("État" -> "etat")."""
    lowered = text.lower()
    if lowered.isascii():  # most words: nothing to strip
        return lowered
    return lowered.translate(_FOLDED)


class _FoldTable(dict):  # type: ignore[type-arg]
    """Code point -> its folded form, filled on first sight. Folding works character by character
    (NFD only decomposes, and every combining mark is dropped), so a table is exact, and
    ``str.translate`` with it is faster than decomposing whole passages."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFD", chr(code).lower())
        value = "".join(c for c in decomposed if not unicodedata.combining(c))
        self[code] = value
        return value


_FOLDED = _FoldTable()


def words(text: str) -> list[str]:
    """Lower-case words with French elisions split off ("l'enjeu" -> ["enjeu"])."""
    text = _ELISION.sub(" ", normalize(text))
    return [w.lower() for w in _WORD.findall(text) if w != "_"]


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit (not only punctuation or emoji)."""
    return any(c.isalnum() for c in text)


def detect_language(text: str) -> str:
    """``"fr"`` or ``"en"``, from function words and accents; French when unsure.

    >>> detect_language("What does the administration put forward?")
    'en'
    >>> detect_language("Quel est l'enjeu pour Washington ?")
    'fr'
    """
    tokens = words(text)
    fr = sum(t in _FRENCH_MARKERS for t in tokens)
    en = sum(t in _ENGLISH_MARKERS for t in tokens)
    if re.search(r"[àâçéèêëîïôùûüœ]", text.lower()) or re.search(r"\b\w'\w", normalize(text)):
        fr += 1
    return "en" if en > fr else "fr"


class LexicalAnalyzer:
    """Turns text into the terms BM25 indexes: words, stop words dropped, Snowball-stemmed, folded.

    French stemming is applied to every word; English stop words are dropped too so that an English
    question's function words do not match French text by accident. The stemmer is created on first
    use and owned by the instance (PyStemmer objects are not thread-safe, hence the lock).
    """

    def __init__(self, language: str = "french") -> None:
        self.language = language
        self._stemmer: Any = None
        self._lock = threading.Lock()
        self._stop = {fold(w) for w in FRENCH_STOPWORDS | ENGLISH_STOPWORDS}

    def _stem_words(self, items: list[str]) -> list[str]:
        with self._lock:
            if self._stemmer is None:
                import Stemmer

                self._stemmer = Stemmer.Stemmer(self.language)
            return list(self._stemmer.stemWords(items))

    def tokens(self, text: str) -> list[str]:
        kept = [w for w in words(text) if fold(w) not in self._stop]
        return [fold(s) for s in self._stem_words(kept)]

    def batch(self, texts: list[str]) -> list[list[str]]:
        return [self.tokens(t) for t in texts]


# A sentence ends at . ! ? … (and closing quotes/brackets) followed by space, or at a line break.
_SENTENCE_END = re.compile(r"[.!?…]+[»\"”’)\]]*(?=\s)|\n")
# Abbreviations and initials after which a period does not end a sentence.
_ABBREV = re.compile(
    r"(?:\b(?:M|MM|Mme|Mmes|Mlle|Dr|Pr|St|Ste|av|apr|J\.-C|etc|cf|p|pp|vol|n°|no|art|chap|fig|env|"
    r"Mr|Mrs|Ms|Jr|Sr|vs|approx|Inc|Ltd|Co|Corp|U\.S|St)|\b[A-Z])\.$"
)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Offsets ``(s, e)`` of the sentences of ``text[start:end]``, trimmed of surrounding spaces.

    >>> t = "M. Dupont arrive. Il parle !"
    >>> [t[s:e] for s, e in sentence_spans(t)]
    ['M. Dupont arrive.', 'Il parle !']
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.end() if match.group() != "\n" else match.start()
        if match.group() != "\n" and _ABBREV.search(text[max(cursor, stop - 12) : stop]):
            continue
        _append_trimmed(text, cursor, stop, spans)
        cursor = match.end()
    _append_trimmed(text, cursor, end, spans)
    return spans


def _append_trimmed(text: str, s: int, e: int, spans: list[tuple[int, int]]) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s and has_words(text[s:e]):
        spans.append((s, e))
