"""What the composers say, in the language of the question.

>>> detail_missing("fr", "date", "Le sommet de Washington")
"Les articles parlent de « Le sommet de Washington », mais n'en donnent pas la date."
>>> detail_missing("en", "number", "Le sommet de Washington", "fr")
'The articles discuss “Le sommet de Washington” (in French), but do not give the number.'
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
    "fr": {"date": "la date", "number": "le nombre", "name": "le nom", "place": "le lieu",
           "percent": "le pourcentage", "distance": "la distance", "mass": "la masse", "money": "le montant",
           "duration": "la durée", None: "la réponse à cette question"},
    "en": {"date": "the date", "number": "the number", "name": "the name", "place": "the place",
           "percent": "the percentage", "distance": "the distance", "mass": "the mass", "money": "the amount",
           "duration": "the duration", None: "the answer to this question"},
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
