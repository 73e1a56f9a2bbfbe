"""The question, analysed once at the engine's entry: a frozen :class:`Query` that retrieval and the
composer read, so that no later stage goes back to the raw text.

>>> q = QuestionAnalyzer().analyse("Combien de pays participent à la réunion ?")
>>> (q.language, q.expected, q.terms)
('fr', 'count', ('combien', 'pay', 'participent', 'reunion'))
>>> QuestionAnalyzer().analyse("Et l'Australie ?", history=["Que veut l'UE ?"]).text
"Que veut l'UE ? Et l'Australie ?"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .errors import QuestionError
from .expected_type import asked_words, expected_type
from .text import LexicalAnalyzer, detect_language, fold, has_words, normalize, words

MAX_QUESTION_CHARS = 2000
# Only the last question is searched with a follow-up; a longer history is refused, not read.
MAX_HISTORY_ITEMS = 20
# A follow-up that is short or opens like one is searched together with the previous question.
FOLLOW_UP_MAX_WORDS = 3
_FOLLOW_UP_START = re.compile(
    r"^\s*(et|mais|aussi|puis|and|what about|how about|who else|also|but)\b", re.IGNORECASE
)
# "What's the latest on …": of the articles on the subject, the most recent are read first.
_LATEST = re.compile(
    r"\b(?:dernieres? (?:nouvelles|informations|infos|actualites|developpements|evolutions)|derniers "
    r"(?:developpements|rebondissements)|ou en (?:est|sont)|quoi de neuf|latest|most recent|what'?s new)\b"
)
# "Que s'est-il passé avec …": a timeline, one sentence per date.
_TIMELINE = re.compile(
    r"^(?:que s'est[- ]il passe|qu'est[- ]ce qui s'est passe|what happened|what has happened|"
    r"chronologie|timeline)\b"
)
# Names (capitalised words, "l'Australie" too) and numbers; those opening the question are left out.
_ENTITY = re.compile(r"(?<!\w)(?:\d[\d.,]*|[A-ZÀ-ÖØ-Þ][\w\-]+)")


@dataclass(frozen=True)
class Query:
    """A question as the pipeline sees it.

    ``text`` is what is searched: the question itself, or for a follow-up the previous question and
    this one. ``terms`` are the lexical terms of ``text`` (BM25, sentence coverage) and
    ``question_terms`` those of the question alone (answerability); ``expected`` is the answer type
    ``text`` asks for (:func:`rag.expected_type.expected_type`) and ``asked`` its folded words;
    ``names`` and ``numbers`` are the question's, folded, in order (repeats kept).
    """

    question: str
    text: str
    language: str
    terms: tuple[str, ...]
    question_terms: tuple[str, ...]
    expected: str | None
    asked: frozenset[str]
    names: tuple[str, ...]
    numbers: tuple[str, ...]
    since: str = ""  # the period searched, ISO dates (both included); "" for no bound
    until: str = ""
    latest: bool = False  # the question asks for the latest news: recent articles first
    timeline: bool = False  # "what happened with …": answered as one sentence per date
    period_words: str = ""  # the question's words that set the period ("la semaine dernière")


class QuestionAnalyzer:
    """Builds :class:`Query` records with one lexical analyzer (the one the index was built with)."""

    def __init__(self, lexical: LexicalAnalyzer | None = None) -> None:
        self.lexical = lexical or LexicalAnalyzer()

    def analyse(
        self,
        question: str,
        history: Sequence[str] = (),
        since: str = "",
        until: str = "",
        period_words: str = "",
        relative: bool = False,
    ) -> Query:
        """The :class:`Query` for a checked question (see :func:`check_question`), the previous
        questions of the conversation, and the period to search (checked by :func:`check_period`;
        ``period_words``: the question's words it comes from, if it does, ``relative`` when they
        name no year: "la semaine dernière")."""
        folded = fold(normalize(question))
        # Words asking for the latest, or for a period relative to today, are not the subject: not
        # searched. A date ("en juillet 2012") may be written in the article: it stays.
        noise = [_LATEST, _TIMELINE]
        if period_words and relative:
            noise.append(re.compile(re.escape(fold(period_words))))
        subject = _without(question, folded, noise)  # "" for "Que s'est-il passé hier ?"
        searched = subject or question
        # (whether it is a follow-up is judged on the question as asked: "Quoi de neuf ?" is not)
        joined = follow_up_query(question, history)
        text = (joined[: len(joined) - len(question)] if joined != question else "") + searched
        names, numbers = _entities(question)
        terms = tuple(self.lexical.tokens(text))
        own = tuple(self.lexical.tokens(subject))  # the question's own terms, without the history
        return Query(
            question=question,
            text=text,
            language=detect_language(question),
            terms=terms,
            question_terms=own,
            expected=expected_type(text),
            asked=asked_words(text),
            names=names,
            numbers=numbers,
            since=since,
            until=until,
            latest=bool(_LATEST.search(folded)),
            timeline=bool(_TIMELINE.match(folded)),
            period_words=period_words,
        )


def check_question(question: object) -> str:
    """The question stripped, or a :class:`QuestionError` saying what is wrong with it.

    >>> check_question("  Qui ?  ")
    'Qui ?'
    """
    if question is not None and not isinstance(question, str):
        raise QuestionError(
            f"the question must be text, not {type(question).__name__} {str(question)[:40]!r}: "
            'pass a string, e.g. "Quel est l\'enjeu pour Washington ?"'
        )
    if not isinstance(question, str) or not question.strip():
        raise QuestionError(
            'the question is empty: type a question, e.g. "Quel est l\'enjeu pour Washington ?"'
        )
    question = question.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question has {len(question)} characters, over the limit of {MAX_QUESTION_CHARS}: shorten it"
        )
    if not has_words(question):
        raise QuestionError(
            f"the question {question[:40]!r} has no words (only punctuation or symbols): ask in words"
        )
    return question


def check_history(history: object) -> tuple[str, ...]:
    """The previous questions of a conversation as a tuple, or a :class:`QuestionError` naming what
    is wrong: not a list of strings, over :data:`MAX_HISTORY_ITEMS` items, an item over
    :data:`MAX_QUESTION_CHARS` characters.

    >>> check_history(["Que veut l'UE ?"])
    ("Que veut l'UE ?",)
    >>> check_history("Que veut l'UE ?")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rag.errors.QuestionError: history must be a list of the previous questions, not a string: ...
    """
    if history is None:
        return ()
    if isinstance(history, str):
        shown = history if len(history) <= 60 else history[:57] + "..."
        raise QuestionError(
            f'history must be a list of the previous questions, not a string: pass ["{shown}"]'
        )
    if not isinstance(history, (list, tuple)):
        raise QuestionError(
            f"history must be a list of the previous questions (strings), not {type(history).__name__} "
            f"{str(history)[:40]!r}"
        )
    if len(history) > MAX_HISTORY_ITEMS:
        raise QuestionError(
            f"history has {len(history)} questions, over the limit of {MAX_HISTORY_ITEMS}: "
            f"send the last {MAX_HISTORY_ITEMS} at most (only the last one is used)"
        )
    for i, item in enumerate(history):
        if not isinstance(item, str):
            raise QuestionError(
                f"history[{i}] is {type(item).__name__} {str(item)[:40]!r}, not a question: "
                "history must be a list of strings"
            )
        if len(item) > MAX_QUESTION_CHARS:
            raise QuestionError(
                f"history[{i}] has {len(item)} characters, over the limit of {MAX_QUESTION_CHARS}: shorten it"
            )
    return tuple(history)


def check_period(since: object = None, until: object = None) -> tuple[str, str]:
    """The period to search as ISO dates (``""`` for no bound), or a :class:`QuestionError` naming
    the bad bound: a date is ``YYYY-MM-DD`` (a ``datetime.date`` is accepted too), ``since`` not
    after ``until``.

    >>> check_period("2020-07-01", "2020-07-31")
    ('2020-07-01', '2020-07-31')
    >>> check_period("juillet", None)
    Traceback (most recent call last):
    ...
    rag.errors.QuestionError: since='juillet' is not a date: write it YYYY-MM-DD, e.g. 2020-07-01
    """
    bounds = []
    for name, value in (("since", since), ("until", until)):
        if value is None or value == "":
            bounds.append("")
            continue
        if isinstance(value, date):
            bounds.append(value.isoformat()[:10])
            continue
        text = str(value).strip()
        try:
            bounds.append(date.fromisoformat(text[:10]).isoformat() if len(text) in (10,) else "")
        except ValueError:
            bounds.append("")
        if not bounds[-1]:
            raise QuestionError(f"{name}={value!r} is not a date: write it YYYY-MM-DD, e.g. 2020-07-01")
    if bounds[0] and bounds[1] and bounds[0] > bounds[1]:
        raise QuestionError(f"since={bounds[0]} is after until={bounds[1]}: swap them")
    return bounds[0], bounds[1]


def follow_up_query(question: str, history: Sequence[str]) -> str:
    """The search query for a question in a conversation: a short or elliptic follow-up
    ("Et l'Australie ?", "Who else?") is searched together with the previous question.

    >>> follow_up_query("Et l'Australie ?", ["Que veut l'UE ?"])
    "Que veut l'UE ? Et l'Australie ?"
    >>> follow_up_query("Quel est l'enjeu pour Washington ?", ["Que veut l'UE ?"])
    "Quel est l'enjeu pour Washington ?"
    """
    previous = [h for h in history if h and h.strip()]
    if not previous:
        return question
    if len(words(question)) <= FOLLOW_UP_MAX_WORDS or _FOLLOW_UP_START.match(normalize(question)):
        return f"{previous[-1].strip()} {question}"
    return question


def _without(question: str, folded: str, patterns: Sequence[re.Pattern[str]]) -> str:
    """``question`` less the spans of ``folded`` (its folded form) that ``patterns`` match (``""``
    when no word is left)."""
    text = normalize(question)
    if len(text) != len(folded):  # (folding changed the length: offsets would not line up)
        return question
    found = [m for pattern in patterns for m in pattern.finditer(folded)]
    if not found:
        return question  # (as typed: the embedder sees the question itself)
    dropped = set().union(*(range(m.start(), m.end()) for m in found))  # (matches may overlap)
    stripped = " ".join("".join(c for i, c in enumerate(text) if i not in dropped).split())
    return stripped if has_words(stripped) else ""


def _entities(question: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The question's names and numbers (folded), leaving out the word that opens it."""
    text = normalize(question)
    names: list[str] = []
    numbers: list[str] = []
    for m in _ENTITY.finditer(text):
        if m.start() > 0 and text[: m.start()].strip():
            (numbers if m.group()[0].isdigit() else names).append(fold(m.group()))
    return tuple(names), tuple(numbers)
