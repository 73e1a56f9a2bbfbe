"""What the composers say, in the language of the question.

>>> detail_missing("fr", "date", "Le sommet de Washington")
"Les articles parlent de « Le sommet de Washington », mais n'en donnent pas la date."
>>> detail_missing("fr", "age", "Vendée Globe : François Gabart en tête")
"Les articles parlent de « Vendée Globe : François Gabart en tête », mais n'en donnent pas l'âge."
>>> detail_missing("en", "number", "Le sommet de Washington", "fr")
'The articles discuss “Le sommet de Washington” (in French), but do not give the number.'
>>> also_in("fr", [1, 2], 3), also_in("en", [1], 1)
('[1][2] Aussi dans 3 autres articles.', '[1] Also in 1 other article.')
>>> period_sentence("fr", "2020-07-01", "2020-07-31"), period_sentence("en", "2020-06-29", "2020-07-05")
('Entre le 1er et le 31 juillet 2020 :', 'Between 29 June and 5 July 2020:')
>>> period_sentence("fr", "2024-03-05", "2024-03-05"), period_sentence("fr", "2023-12-30", "")
('Le 5 mars 2024 :', 'Depuis le 30 décembre 2023 :')
>>> outside_period("fr", "2012-07-01", "2012-07-31")
'Rien entre le 1er et le 31 juillet 2012 ; hors de cette période :'
>>> outside_period("en", "2012-02-29", "2012-02-29")
'Nothing on 29 February 2012; outside that period:'
>>> lead("en", "fr"), lead("en", "en"), lead("fr", "fr")
('From the articles (in French): ', '', '')
"""

from __future__ import annotations

NOT_FOUND = {
    "fr": "Je n'ai pas trouvé la réponse dans les articles.",
    "en": "I did not find the answer in the articles.",
}
EMPTY = {
    "fr": "Aucun article n'est indexé : ajoutez-en, puis posez votre question.",
    "en": "No article is indexed yet: add some, then ask again.",
}
# Said before the quotes when they are in another language than the question.
LEAD = {("en", "fr"): "From the articles (in French): "}
IN_LANGUAGE = {("en", "fr"): " (in French)"}
_DETAIL = {
    "fr": {"date": "la date", "number": "le nombre", "count": "le nombre", "name": "le nom",
           "place": "le lieu", "percent": "le pourcentage", "distance": "la distance", "mass": "la masse",
           "money": "le montant", "age": "l'âge", "duration": "la durée",
           None: "la réponse à cette question"},
    "en": {"date": "the date", "number": "the number", "count": "the number", "name": "the name",
           "place": "the place", "percent": "the percentage", "distance": "the distance", "mass": "the mass",
           "money": "the amount", "age": "the age", "duration": "the duration",
           None: "the answer to this question"},
}  # fmt: skip
SUBJECT_CHARS = 90  # a title quoted as the subject is cut at a word beyond this


def not_found(language: str) -> str:
    return NOT_FOUND.get(language, NOT_FOUND["fr"])


def empty(language: str) -> str:
    return EMPTY.get(language, EMPTY["fr"])


def lead(language: str, source: str) -> str:
    """What opens an answer in ``language`` quoting sentences in ``source``."""
    return LEAD.get((language, source), "")


def detail_missing(language: str, kind: str | None, subject: str, source: str = "fr") -> str:
    """The articles are on the subject (named by the closest article's title) but do not give what
    was asked."""
    subject = " ".join(subject.split())
    if len(subject) > SUBJECT_CHARS:
        subject = subject[: SUBJECT_CHARS - 1].rsplit(" ", 1)[0] + "…"
    if language == "en":
        detail = _DETAIL["en"].get(kind, _DETAIL["en"][None])
        where = IN_LANGUAGE.get((language, source), "")
        return f"The articles discuss “{subject}”{where}, but do not give {detail}."
    detail = _DETAIL["fr"].get(kind, _DETAIL["fr"][None])
    return f"Les articles parlent de « {subject} », mais n'en donnent pas {detail}."


def also_in(language: str, numbers: list[int], others: int) -> str:
    """The line saying that the story of the citations ``numbers`` is in ``others`` other articles."""
    markers = "".join(f"[{n}]" for n in numbers)
    if language == "en":
        return f"{markers} Also in {others} other article{'s' if others > 1 else ''}."
    return (
        f"{markers} Aussi dans {others} autre{'s' if others > 1 else ''} article{'s' if others > 1 else ''}."
    )


_MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
    "en": "January February March April May June July August September October November December".split(),
}


def day(language: str, iso: str, year: bool = True, month: bool = True) -> str:
    """An ISO date in words: "1er juillet 2020", "1 July 2020" (``year``/``month`` False: left out)."""
    lang = "en" if language == "en" else "fr"
    y, m, d = int(iso[:4]), int(iso[5:7]), int(iso[8:10])
    words = ["1er" if d == 1 and lang == "fr" else str(d)]
    if month:
        words.append(_MONTHS[lang][m - 1])
    if year:
        words.append(str(y))
    return " ".join(words)


def outside_period(language: str, since: str, until: str) -> str:
    """What opens an answer found outside the period the question named, nothing in it answering."""
    period = period_sentence(language, since, until).rstrip(" :")
    period = period[0].lower() + period[1:]
    if language == "en":
        return f"Nothing {period}; outside that period:"
    return f"Rien {period} ; hors de cette période :"


def period_sentence(language: str, since: str, until: str) -> str:
    """What opens an answer searched within a period (ISO dates, ``""`` for no bound)."""
    english = language == "en"
    if since and until and since == until:
        return f"On {day(language, since)}:" if english else f"Le {day(language, since)} :"
    if since and until:
        same_year, same_month = since[:4] == until[:4], since[:7] == until[:7]
        first = day(language, since, year=not same_year, month=not same_month)
        if english:
            return f"Between {first} and {day(language, until)}:"
        return f"Entre le {first} et le {day(language, until)} :"
    if since:
        return f"Since {day(language, since)}:" if english else f"Depuis le {day(language, since)} :"
    return f"Until {day(language, until)}:" if english else f"Jusqu'au {day(language, until)} :"
