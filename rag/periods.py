"""Time in questions: "hier", "la semaine dernière", "en juillet 2020", "last week" as a period.

A question's time expression becomes a :class:`Period` (ISO dates, both included) relative to a
reference date: the newest article of the corpus by default (an archive's "last week" is the week
before its newest article), or today (``RAG_TIME_REFERENCE=today``, ``rag ask --today``). The words
are found by the patterns below; the date they name is read by ``dateparser`` (French and English,
relative forms included), and the pattern's unit (day, week, month, year) makes it a range.

>>> from datetime import date
>>> ref = date(2024, 3, 6)  # a Wednesday
>>> find_period("Que s'est-il passé la semaine dernière à Lyon ?", ref)
Period(since='2024-02-26', until='2024-03-03', words='la semaine dernière', absolute=False)
>>> find_period("What happened in July 2020?", ref)
Period(since='2020-07-01', until='2020-07-31', words='in July 2020', absolute=True)
>>> find_period("Quoi de neuf depuis lundi ?", ref)
Period(since='2024-03-04', until='2024-03-06', words='depuis lundi', absolute=False)
>>> find_period("Qui a gagné le match ?", ref) is None
True

An absolute period (it names a year) that lies outside the corpus's dated span is about history,
not about when articles were published ("Qui a gagné la coupe du monde en 1998 ?"):
:func:`question_period` leaves it out, and leaves every period out for a corpus with no dates.
"""

from __future__ import annotations

import calendar
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .text import fold, normalize

_MONTHS = (
    "janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|"
    "january|february|march|april|may|june|july|august|september|october|november|december"
)
_DAYS = (
    "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|"
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
)
_YEAR = r"(?:19|20)\d\d"
_NUMBERS = {"deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "dix": 10,
            "quinze": 15, "trente": 30, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7, "ten": 10,
            "fifteen": 15, "thirty": 30}  # fmt: skip
_N = r"(?:\d{1,3}|" + "|".join(_NUMBERS) + ")"

# A month followed by a year of another era ("en septembre 1041") is history, not this year's month.
_NO_YEAR = r"(?! (?:de |of )?\d)"
# (pattern over folded text, unit). The first match in the question wins, longest patterns first.
_PATTERNS: list[tuple[str, str]] = [
    (rf"(?:ces|les|des) {_N} derniers jours|(?:in )?the (?:last|past) {_N} days", "days"),  # (the number: _N)
    (rf"(?:le |on )?(?:{_DAYS} )?\d{{1,2}}(?:er)? (?:{_MONTHS}) {_YEAR}", "day"),
    (rf"(?:on )?(?:{_MONTHS}) \d{{1,2}}(?:st|nd|rd|th)?,? {_YEAR}", "day"),
    (rf"(?:en |in )?(?:{_MONTHS}) (?:of )?{_YEAR}", "month"),
    (rf"(?:en |in |au cours de l'annee )(?:{_YEAR})\b", "year"),
    (
        rf"(?:le )?\d{{1,2}}(?:er)? (?:{_MONTHS})\b{_NO_YEAR}|"
        rf"on (?:{_MONTHS}) \d{{1,2}}(?:st|nd|rd|th)?(?!,? \d)",
        "day",
    ),
    (r"avant-hier|aujourd'hui|hier|the day before yesterday|yesterday|today", "day"),
    (rf"(?:{_DAYS}) (?:dernier|passe)|last (?:{_DAYS})", "day"),
    (r"(?:la )?semaine (?:derniere|passee)|(?:last|past) week", "week"),
    (r"cette semaine|this week", "week"),
    (r"(?:le )?mois (?:dernier|passe)|last month", "month"),
    (r"ce mois(?:-ci)?|this month", "month"),
    (r"l'an (?:dernier|passe)|l'annee (?:derniere|passee)|last year", "year"),
    (r"cette annee|this year", "year"),
    (rf"(?:en |in )(?:{_MONTHS})\b{_NO_YEAR}", "month"),
]
_COMPILED = [(re.compile(rf"\b(?:{p})(?!\w)"), unit) for p, unit in _PATTERNS]
_SINCE_ANCHOR = re.compile(
    rf"\b(?:depuis|since) (?:le |la |l')?(?P<anchor>{_DAYS}|"
    rf"\d{{1,2}}(?:er)? (?:{_MONTHS})(?: {_YEAR})?\b{_NO_YEAR}|(?:{_MONTHS})(?: {_YEAR})?\b{_NO_YEAR}|"
    rf"{_YEAR}|hier|yesterday)\b"
)


@dataclass(frozen=True)
class Period:
    """A question's period: ``since``/``until`` ISO dates (both included), the question's
    ``words`` that named it, and whether it is ``absolute`` (it names a year)."""

    since: str
    until: str
    words: str
    absolute: bool


def find_period(question: str, reference: date) -> Period | None:
    """The period a question's time expression names, relative to ``reference``, or None."""
    text = normalize(question)
    folded = fold(text)  # (folding keeps the length: offsets point into ``text``)
    if len(folded) != len(text):
        folded, text = fold(text), fold(text)
    since = _SINCE_ANCHOR.search(folded)
    if since:
        anchor = since.group("anchor")
        day = re.fullmatch(_DAYS, anchor)
        if day:  # "depuis lundi": the last Monday, the reference day itself when it is one
            start: date | None = reference - timedelta(days=(reference.weekday() - _weekday(anchor)) % 7)
        else:
            start = _parse(anchor, reference)
        if start is not None and start <= reference:
            unit = (
                "year" if re.fullmatch(_YEAR, anchor) else "month" if re.fullmatch(_MONTHS, anchor) else "day"
            )
            first = _range(start, unit, reference)[0]
            return Period(
                first.isoformat(),
                reference.isoformat(),
                text[since.start() : since.end()],
                bool(re.search(_YEAR, anchor)),
            )
    for pattern, unit in _COMPILED:
        found = pattern.search(folded)
        if found is None:
            continue
        words = text[found.start() : found.end()]
        if unit == "days":
            n = re.search(_N, found.group(0).removeprefix("in ").removeprefix("the "))
            assert n is not None
            days = int(n.group(0)) if n.group(0).isdigit() else _NUMBERS[n.group(0)]
            if days < 1:
                return None
            return Period(
                (reference - timedelta(days=days - 1)).isoformat(), reference.isoformat(), words, False
            )
        anchor = _parse(found.group(0), reference)
        if anchor is None:
            continue
        first, last = _range(anchor, unit, reference)
        if found.group(0).startswith(("cette", "this", "ce mois")):
            last = min(last, reference)  # "this week": up to the reference day
        absolute = bool(re.search(_YEAR, found.group(0)))
        if first > last:
            return None
        return Period(first.isoformat(), last.isoformat(), words, absolute)
    return None


def question_period(question: str, reference: str, oldest: str, newest: str = "") -> Period | None:
    """The period of a question counted from ``reference`` over a corpus whose dated articles run
    from ``oldest`` to ``newest`` (ISO; ``newest`` defaults to ``reference``; ``""`` when no article
    is dated): None when the question names none, the corpus has no dates, or an absolute period
    lies wholly outside the corpus's span."""
    if not reference or not oldest:
        return None
    newest = newest or reference
    period = find_period(question, date.fromisoformat(reference[:10]))
    if period is None:
        return None
    if period.absolute and (period.until < oldest[:10] or period.since > newest[:10]):
        return None
    return period


def names_a_date(words: str) -> bool:
    """Whether a period's words name a day, month or year of the calendar rather than one counted
    from the reference ("hier", "la semaine dernière"): an event's date, which the articles
    announcing or reporting it may lie outside of.

    >>> names_a_date("de juillet 2012"), names_a_date("le 29 février"), names_a_date("la semaine dernière")
    (True, True, False)
    """
    return re.search(rf"\b(?:{_MONTHS}|{_YEAR})\b", fold(normalize(words))) is not None


def _weekday(name: str) -> int:
    """Monday 0 to Sunday 6, for a French or English day name."""
    names = _DAYS.split("|")
    return names.index(name) % 7


def _for_parser(words: str) -> str:
    """The matched words in a form ``dateparser`` reads ("l'an passe" -> "l'annee derniere")."""
    words = re.sub(r"^(?:en|in|on|au cours de l'annee) |^le (?=\d)", "", words)
    words = re.sub(r" of (?=\d)", " ", words)
    words = re.sub(r"\b(\d{1,2})(?:er|st|nd|rd|th)\b", r"\1", words)
    words = re.sub(r"^l'an (?:dernier|passe)$|^l'annee passee$", "l'annee derniere", words)
    words = re.sub(r"semaine passee$", "semaine derniere", words)
    words = re.sub(r"mois passe$", "mois dernier", words)
    words = re.sub(r"^past week$", "last week", words)
    words = re.sub(r"^the day before yesterday$", "avant-hier", words)
    words = re.sub(rf"^(?:last )?({_DAYS})(?: dernier| passe)?$", r"\1", words)
    return words


_PARSER_LOCK = threading.Lock()  # dateparser's caches have not always been safe across threads


def _parse(words: str, reference: date) -> date | None:
    import dateparser  # (loaded on the first question with a time expression: about 1 s)

    settings = {
        "RELATIVE_BASE": datetime(reference.year, reference.month, reference.day),
        "PREFER_DATES_FROM": "past",
        "PREFER_DAY_OF_MONTH": "first",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    with _PARSER_LOCK:
        parsed = dateparser.parse(_for_parser(words), languages=["fr", "en"], settings=settings)  # type: ignore[arg-type]
    return parsed.date() if parsed is not None else None


def _range(anchor: date, unit: str, reference: date) -> tuple[date, date]:
    if unit == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        return monday, monday + timedelta(days=6)
    if unit == "month":
        return anchor.replace(day=1), anchor.replace(day=calendar.monthrange(anchor.year, anchor.month)[1])
    if unit == "year":
        return date(anchor.year, 1, 1), date(anchor.year, 12, 31)
    return anchor, anchor
