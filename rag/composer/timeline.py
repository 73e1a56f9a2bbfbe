"""A timeline: "Que s'est-il passé avec … ?" over articles of several dates, one cited sentence per
date, in date order (the latest :data:`MAX_DATES` dates). With fewer than two dates there is no
timeline and the question is answered as any other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..query import Query
from ..store import Store
from ..types import Answer, Citation, Hit, Sentence
from . import messages

ON_SUBJECT = 0.75  # not tuned: a hit scoring at least this share of the best is on the subject
MAX_DATES = 5  # the latest dates are kept beyond this


def timeline(
    query: Query, hits: Sequence[Hit], store: Store, vector: np.ndarray, confidence: float
) -> Answer | None:
    """The timeline answer to ``query``, or None when its articles share one date.

    With a subject ("… avec la Syrie"), the articles on it are those of the hits scoring within
    :data:`ON_SUBJECT` of the best, and each gives its sentence nearest the question among those
    naming the subject. Without one ("Que s'est-il passé la semaine dernière ?") it is a digest of
    the period's articles (or the newest), each by its lead sentence."""
    subject = set(query.question_terms)
    by_date: dict[str, str] = {}  # date -> the article that speaks for it
    if subject:
        best = hits[0].score if hits else 0.0
        for hit in hits:
            if hit.score >= ON_SUBJECT * best and hit.date:
                by_date.setdefault(hit.date[:10], hit.chunk.doc_id)
    else:
        docs = store.documents_between(query.since, query.until) if query.since or query.until else None
        dated = [d for d in store.documents.values() if d.date and (docs is None or d.id in docs)]
        for doc in sorted(dated, key=lambda d: (d.date[:10], -len(d.text), d.id)):
            by_date.setdefault(doc.date[:10], doc.id)
    if len(by_date) < 2:
        return None
    citations = []
    lines = []
    for number, day in enumerate(sorted(by_date)[-MAX_DATES:], start=1):
        doc = store.documents[by_date[day]]
        pick, score = _sentence(store, doc.id, vector, subject)
        chunk_ids = store.tables.sentence_chunk_ids.get(pick.id) or [""]
        quote = doc.text[pick.start : pick.end]
        citations.append(
            Citation(
                number,
                doc.id,
                doc.title,
                doc.date,
                doc.source,
                quote,
                pick.start,
                pick.end,
                round(score, 4),
                chunk_ids[0],
            )  # fmt: skip
        )
        lines.append(f"{messages.day(query.language, day)} : {quote} [{number}]")
    return Answer(
        question=query.question,
        text="\n".join(lines),
        citations=tuple(citations),
        hits=tuple(hits),
        abstained=False,
        language=query.language,
        confidence=confidence,
        query=query.text,
        reason="timeline",
    )


def _sentence(store: Store, doc_id: str, vector: np.ndarray, subject: set[str]) -> tuple[Sentence, float]:
    """A document's sentence for its line: the one nearest the question among those naming the
    subject (all of them when none does), or without a subject the lead (the title line skipped)."""
    doc = store.documents[doc_id]
    sentences = store.doc_sentences(doc_id)
    if not subject:
        lead = sentences[0]
        if len(sentences) > 1 and doc.text[lead.start : lead.end].strip() == doc.title.strip():
            lead = sentences[1]
        return lead, 1.0
    naming = [s for s in sentences if subject & set(store.sentence_terms(s.id) or ())]
    pool = naming or sentences
    scores = store.sentence_matrix([s.id for s in pool]) @ vector
    best = int(np.argmax(scores))
    return pool[best], float(scores[best])
