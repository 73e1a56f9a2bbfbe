"""The other articles carrying a cited story (wire copies, versions), added to an answer.

Retrieval cites one article per group of copies (:func:`rag.retrieval.one_per_story`); this lists
the others in :attr:`rag.types.Answer.copies` and says how many there are in the answer's text, one
line per cited article that has copies ("[1] Aussi dans 2 autres articles.").
"""

from __future__ import annotations

from dataclasses import replace

from ..store import Store
from ..types import Answer, Copy
from .messages import also_in


def with_copies(answer: Answer, store: Store) -> Answer:
    """``answer`` with the copies of each article it cites (an abstention has none)."""
    if answer.abstained or not store.copies.group:
        return answer
    numbers: dict[str, list[int]] = {}
    for c in answer.citations:
        numbers.setdefault(c.doc_id, []).append(c.number)
    found: list[Copy] = []
    lines: list[str] = []
    for cited, cited_numbers in numbers.items():
        others = [store.documents[d] for d in store.copies.copies_of(cited) if d in store.documents]
        if not others:
            continue
        for doc in sorted(others, key=lambda d: (d.date, d.id)):
            relation = _relation(store, cited, doc.id)
            found.append(Copy(cited, doc.id, doc.title, doc.date, doc.source, doc.url, relation))
        lines.append(also_in(answer.language, cited_numbers, len(others)))
    if not found:
        return answer
    return replace(answer, text=answer.text + "\n" + "\n".join(lines), copies=tuple(found))


def _relation(store: Store, cited: str, other: str) -> str:
    """How ``other`` stands to the cited article: versions share their newest member."""
    newer = store.copies.newer
    if other not in newer and cited not in newer:
        return "copy"
    if newer.get(other, other) != newer.get(cited, cited):
        return "copy"  # (each is a version in a lineage of its own)
    dates = store.documents[other].date, store.documents[cited].date
    return "earlier version" if dates[0] < dates[1] else "newer version"
