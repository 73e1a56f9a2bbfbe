"""A document's publication date, normalised: ISO ``YYYY-MM-DD`` (``YYYY-MM-DDTHH:MM`` when the
time is known), and where it came from.

The date a file's metadata gives (front matter, the jsonl ``date``, the HTML metadata trafilatura
reads) wins; else a dateline opening the text ("PARIS, 12 juillet 2020 (AFP) -", "Le 3 mars 2019,",
"WASHINGTON, July 12, 2020 —"); else there is none, and ``date_source`` says so. Metadata dates in
ISO form or with a French or English month name are read here; other forms go to ``dateparser``
(loaded only then).

>>> publication_date("2012-05-22", "…", "jsonl")
('2012-05-22', 'jsonl')
>>> publication_date("", "PARIS, 12 juillet 2020 (AFP) - Le gouvernement a…")
('2020-07-12', 'dateline')
>>> publication_date("", "Un texte sans date.")
('', 'none: no date in the metadata, no dateline')
"""

from __future__ import annotations

import re
from datetime import date, datetime

from ..text import fold

MONTHS = {
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "janv": 1, "fevr": 2, "avr": 4, "juil": 7, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
}  # fmt: skip
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_ISO = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\s*$"
)
# "12 juillet 2020", "1er mars 2019", "July 12, 2020", with an optional weekday before
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:er)?\s+({_MONTH})\.?\s+(\d{{4}})\b")
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})\b")
_NUMERIC = re.compile(r"^\s*(\d{1,2})[/.](\d{1,2})[/.](\d{4})\s*$")  # day first, as in French
# A dateline: at the very start, an optional place in capitals and a comma, or "Le"/"On".
_DATELINE = re.compile(
    r"^\s*(?:[A-ZÀ-Þ](?:[^\W\d_]|[' .\-]){1,40}(?:\([^)]{1,20}\))?,\s*(?i:le\s+)?|(?i:le|on)\s+)?"
    r"(?i:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday),?\s+)?"
)
DATELINE_CHARS = 80  # a dateline's date ends this close to the start of the text


def publication_date(raw: str, text: str, origin: str = "metadata") -> tuple[str, str]:
    """``(date, date_source)``: ``raw`` (the metadata's date, named ``origin``) normalised, else
    the text's dateline, else ``("", "none: …")``. A metadata date that cannot be read is
    reported in ``date_source`` and the dateline is tried."""
    problem = ""
    if raw and raw.strip():
        found = normalise_date(raw)
        if found:
            return found, origin
        problem = f"; the {origin} date {raw.strip()[:40]!r} could not be read"
    found = dateline_date(text)
    if found:
        return found, "dateline" + problem
    return "", "none: no date in the metadata, no dateline" + problem


def normalise_date(raw: str) -> str:
    """An ISO date (with ``THH:MM`` when a time is given) for a date written in ISO, with a French
    or English month name, or as day/month/year; ``""`` when it is not a real date.

    >>> normalise_date("2020-07-12T09:30:00+02:00"), normalise_date("1er mars 2019")
    ('2020-07-12T09:30', '2019-03-01')
    >>> normalise_date("Sunday, July 12, 2020"), normalise_date("12/07/2020"), normalise_date("2020-02-31")
    ('2020-07-12', '2020-07-12', '')
    """
    text = raw.strip()
    m = _ISO.match(text)
    if m:
        year, month, day, hour, minute = m.groups()
        return _iso(int(year), int(month), int(day), hour, minute)
    m = _NUMERIC.match(text)
    if m:
        return _iso(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    folded = fold(text)
    m = _DAY_MONTH_YEAR.search(folded)
    if m:
        return _iso(int(m.group(3)), MONTHS[m.group(2)], int(m.group(1)))
    m = _MONTH_DAY_YEAR.search(folded)
    if m:
        return _iso(int(m.group(3)), MONTHS[m.group(1)], int(m.group(2)))
    return _dateparser(text)


def dateline_date(text: str) -> str:
    """The date of a dateline opening ``text``, or ``""``.

    >>> dateline_date("Le 3 mars 2019, les électeurs…"), dateline_date("WASHINGTON, July 12, 2020 — The")
    ('2019-03-03', '2020-07-12')
    >>> dateline_date("La réunion du 3 mars 2019 a eu lieu.")  # a date, but not a dateline
    ''
    """
    head = text[: DATELINE_CHARS + 40]
    start = _DATELINE.match(head)
    rest = fold(head[start.end() if start else 0 :])
    for pattern, order in ((_DAY_MONTH_YEAR, "dmy"), (_MONTH_DAY_YEAR, "mdy")):
        m = pattern.match(rest)
        if m and (start.end() if start else 0) + m.end() <= DATELINE_CHARS + 40:
            if order == "dmy":
                return _iso(int(m.group(3)), MONTHS[m.group(2)], int(m.group(1)))
            return _iso(int(m.group(3)), MONTHS[m.group(1)], int(m.group(2)))
    return ""


def _iso(year: int, month: int, day: int, hour: str | None = None, minute: str | None = None) -> str:
    try:
        day_ = date(year, month, day)
    except ValueError:
        return ""
    if hour is not None and minute is not None and int(hour) < 24 and int(minute) < 60:
        return f"{day_.isoformat()}T{int(hour):02d}:{int(minute):02d}"
    return day_.isoformat()


def _dateparser(text: str) -> str:
    """``dateparser`` for the other forms (it knows many languages and layouts), asked for a
    complete date only; ``""`` when it finds none or is not installed."""
    try:
        import dateparser
    except ImportError:
        return ""
    found = dateparser.parse(
        text,
        languages=["fr", "en"],
        settings={
            "REQUIRE_PARTS": ["day", "month", "year"],
            "STRICT_PARSING": True,
            "PARSERS": ["custom-formats", "absolute-time"],  # "3 days ago" is not a publication date
        },
    )
    if not isinstance(found, datetime):
        return ""
    return found.date().isoformat()
