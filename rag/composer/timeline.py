"""A timeline: "Que s'est-il passé avec … ?" over articles of several dates, one cited sentence per
date, in date order.

The articles on the subject are those of the hits scoring within :data:`ON_SUBJECT` of the best;
for each publication date the best-ranked of them gives the sentence nearest the question. With
fewer than two dates there is no timeline and the question is answered as any other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..query import Query
from ..store import Store
from ..types import Answer, Citation, Hit
from . import messages

ON_SUBJECT = 0.75  # not tuned: a hit scoring at least this share of the best is on the subject
MAX_DATES = 5  # the latest dates are kept beyond this


def timeline(
    query: Query, hits: Sequence[Hit], store: Store, vector: np.ndarray, confidence: float
) -> Answer | None:
    """The timeline answer to ``query``, or None when its articles on the subject share one date."""
    if not hits:
        return None
    best = hits[0].score
    by_date: dict[str, str] = {}  # date -> the best-ranked article on the subject of that date
    for hit in hits:
        if hit.score >= ON_SUBJECT * best and hit.date:
            by_date.setdefault(hit.date[:10], hit.chunk.doc_id)
    if len(by_date) < 2:
        return None
    citations = []
    lines = []
    for number, day in enumerate(sorted(by_date)[-MAX_DATES:], start=1):
        doc = store.documents[by_date[day]]
        sentences = store.doc_sentences(doc.id)
        scores = store.sentence_matrix([s.id for s in sentences]) @ vector
        pick = sentences[int(np.argmax(scores))]
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
                round(float(np.max(scores)), 4),
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
