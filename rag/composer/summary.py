"""Summaries for questions that ask what an article is about ("Résume l'article sur …").

The article meant is the one the question names (the best hit), or the only one. It is told by its
lead sentence (news articles open with the gist) and its most central sentences: those whose
vectors are nearest to the article's mean sentence vector, in article order.

>>> import numpy as np
>>> central([np.array([1.0, 0.0]), np.array([0.8, 0.6]), np.array([0.0, 1.0]), np.array([0.9, 0.1])], 1)
[1]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..store import Store
from ..types import Sentence


def central(vectors: Sequence[np.ndarray], count: int) -> list[int]:
    """The indices of the ``count`` sentences after the first whose vectors are nearest to the
    mean of all, best first."""
    if len(vectors) <= 1 or count <= 0:
        return []
    matrix = np.stack(vectors).astype(np.float64)
    mean = matrix.mean(axis=0)
    scores = matrix[1:] @ mean
    order = np.argsort(-scores, kind="stable")[:count]
    return [int(i) + 1 for i in order]


def summary_sentences(store: Store, doc_id: str, size: int) -> list[Sentence]:
    """The ``size`` sentences that summarise a document: its lead sentence and its most central
    ones, in article order (fewer for a short document)."""
    sentences = store.doc_sentences(doc_id)
    if not sentences:
        return []
    vectors = list(store.sentence_matrix([s.id for s in sentences]))
    picked = sorted({0, *central(vectors, size - 1)})
    return [sentences[i] for i in picked]
