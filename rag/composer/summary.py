"""Summaries for questions that ask what an article is about ("Résume l'article sur …").

The article meant is the one the question names (the best hit), or the only one. It is told by its
lead sentence (news articles open with the gist) and its most central sentences: those whose
vectors are nearest to the article's mean sentence vector, in article order. A line of a quotation
or a dialogue, or a fragment, is taken only when nothing else is left: a short sentence's vector is
mostly its article's title, so it looks central without telling anything.

>>> import numpy as np
>>> central([np.array([1.0, 0.0]), np.array([0.8, 0.6]), np.array([0.0, 1.0]), np.array([0.9, 0.1])], 1)
[1]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..store import Store
from ..types import Sentence

# Fewer characters than this: a fragment ("Tout à fait !"), not a summary's sentence.
MIN_CHARS = 40
# An opening quotation mark or dialogue dash: someone's words, not the article's account.
_QUOTED = ("«", "“", '"', "—", "–", "-")


def central(vectors: Sequence[np.ndarray], count: int, eligible: Sequence[bool] | None = None) -> list[int]:
    """The indices of the ``count`` sentences after the first whose vectors are nearest to the
    mean of all, best first; the ``eligible`` ones before the others.

    >>> central([np.array([1.0, 0.0]), np.array([0.8, 0.6]), np.array([0.6, 0.8])], 1, [True, False, True])
    [2]
    """
    if len(vectors) <= 1 or count <= 0:
        return []
    matrix = np.stack(vectors).astype(np.float64)
    mean = matrix.mean(axis=0)
    scores = matrix[1:] @ mean
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    if eligible is not None:
        order.sort(key=lambda i: not eligible[i + 1])  # stable: by score within each
    return [i + 1 for i in order[:count]]


def standalone(text: str) -> bool:
    """Whether a sentence can stand in a summary: not a fragment, not opening a quotation or a
    dialogue line.

    >>> standalone("« Je crois qu'après avoir vu ça, on peut mourir tranquille !")
    False
    >>> standalone("Tout à fait !")
    False
    >>> standalone("Le journaliste Thierry Roland est mort samedi à 74 ans, victime d'un AVC.")
    True
    """
    text = text.strip()
    return len(text) >= MIN_CHARS and not text.startswith(_QUOTED)


def quoted(text: str, start: int) -> bool:
    """Whether ``start`` falls inside a «quotation» that opened before it in its paragraph (a
    witness's third sentence, "… morts », a-t-il précisé."; a paragraph ends an unclosed one).

    >>> text = "Il a parlé. « Nous sommes là. Nous restons. » Il est parti.\\n« Oui. Et après ?"
    >>> [quoted(text, text.index(s)) for s in ("Il a", "« Nous", "Nous restons", "Il est", "« Oui")]
    [False, False, True, False, False]
    """
    before = text[text.rfind("\n", 0, start) + 1 : start]
    return before.count("«") > before.count("»")


def summary_sentences(store: Store, doc_id: str, size: int) -> list[Sentence]:
    """The ``size`` sentences that summarise a document: its lead sentence and its most central
    ones, in article order (fewer for a short document)."""
    sentences = store.doc_sentences(doc_id)
    if not sentences:
        return []
    vectors = list(store.sentence_matrix([s.id for s in sentences]))
    text = store.documents[doc_id].text
    eligible = [standalone(text[s.start : s.end]) and not quoted(text, s.start) for s in sentences]
    picked = sorted({0, *central(vectors, size - 1, eligible)})
    return [sentences[i] for i in picked]
