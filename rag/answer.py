"""The extractive answer composer: the best sentences of the retrieved passages, quoted verbatim.

Each candidate sentence (the whole sentences overlapping the top passages) is scored by the dense
similarity of its stored vector to the question plus the share of the question's content terms it
contains; no model runs here, so composing costs a few dot products. The 1 to 3 best become the
answer, each followed by its citation marker. When the best evidence is too weak the composer
abstains and lists the closest passages as related.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .embedding import Embedder
from .store import Store
from .text import LexicalAnalyzer, fold, normalize
from .types import Answer, Citation, Hit, Sentence

NOT_FOUND = {
    "fr": "Je n'ai pas trouvé la réponse dans les articles.",
    "en": "I did not find the answer in the articles.",
}
LEAD = {"fr": "", "en": "From the articles (in French): "}

# Abstention thresholds on the answerability score (``Answer.confidence``), per embedder, because
# dense similarities live on different scales for different models. Measured with `rag eval` on
# PIAF (answerable questions against the same questions with their gold context left out); see
# README "Abstention". Unknown models use the default.
THRESHOLDS: dict[str, float] = {}
DEFAULT_THRESHOLD = 0.45


@dataclass(frozen=True)
class ComposerSettings:
    passages: int = 4  # how many top hits give candidate sentences
    max_sentences: int = 3
    margin: float = 0.06  # further sentences must score within this of the best one
    lexical_weight: float = 0.5
    rank_weight: float = 0.05
    threshold: float | None = None  # None: the measured value for the embedder


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    start: int
    end: int
    dense: float
    coverage: float
    score: float


class ExtractiveComposer:
    """Builds an :class:`Answer` from hits without any generative model."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        analyzer: LexicalAnalyzer | None = None,
        settings: ComposerSettings | None = None,
    ) -> None:
        self.embedder = embedder
        self.analyzer = analyzer or LexicalAnalyzer()
        self.settings = settings or ComposerSettings()

    @property
    def threshold(self) -> float:
        if self.settings.threshold is not None:
            return self.settings.threshold
        return THRESHOLDS.get(self.embedder.model_id, DEFAULT_THRESHOLD)

    def compose(
        self,
        question: str,
        hits: Sequence[Hit],
        store: Store,
        *,
        language: str = "fr",
        query: str | None = None,
        query_vector: np.ndarray | None = None,
    ) -> Answer:
        query = query or question
        if query_vector is None:
            query_vector = self.embedder.embed_queries([query])[0]
        candidates = self._candidates(query, hits, store, query_vector)
        confidence = self._confidence(question, candidates, hits, store)
        if not candidates or confidence < self.threshold:
            related = self._related(candidates, store)
            return Answer(
                question=question,
                text=NOT_FOUND.get(language, NOT_FOUND["fr"]),
                citations=(),
                hits=tuple(hits),
                abstained=True,
                language=language,
                confidence=confidence,
                query=query,
                related=tuple(related),
            )
        chosen = self._select(candidates)
        citations = tuple(self._cite(n, c, store) for n, c in enumerate(chosen, start=1))
        body = " ".join(f"{c.quote} [{c.number}]" for c in citations)
        return Answer(
            question=question,
            text=LEAD.get(language, "") + body,
            citations=citations,
            hits=tuple(hits),
            abstained=False,
            language=language,
            confidence=confidence,
            query=query,
        )

    # ----- scoring -------------------------------------------------------------------------------
    def _candidates(
        self, query: str, hits: Sequence[Hit], store: Store, query_vector: np.ndarray
    ) -> list[_Candidate]:
        picked: list[tuple[Hit, Sentence]] = []
        seen: set[str] = set()
        for hit in hits[: self.settings.passages]:
            for sentence in store.chunk_sentences(hit.chunk.id):
                if sentence.id not in seen:
                    seen.add(sentence.id)
                    picked.append((hit, sentence))
        if not picked:
            return []
        dense = store.sentence_matrix([s.id for _, s in picked]) @ query_vector
        q_terms = set(self.analyzer.tokens(query))
        out = []
        for (hit, sentence), d in zip(picked, dense.tolist(), strict=True):
            text = store.documents[sentence.doc_id].text[sentence.start : sentence.end]
            coverage = len(q_terms & set(self.analyzer.tokens(text))) / len(q_terms) if q_terms else 0.0
            prior = self.settings.rank_weight * (1.0 / hit.rank)
            score = d + self.settings.lexical_weight * coverage + prior
            out.append(_Candidate(hit, sentence.start, sentence.end, float(d), coverage, float(score)))
        out.sort(key=lambda c: -c.score)
        return out

    def _confidence(
        self,
        question: str,
        candidates: list[_Candidate],
        hits: Sequence[Hit],
        store: Store,
    ) -> float:
        """How answerable the question looks: the best sentence's dense similarity and term coverage,
        minus a penalty when a name or number of the question appears in none of the top passages."""
        if not candidates:
            return 0.0
        best = candidates[0]
        score = best.dense + self.settings.lexical_weight * best.coverage
        passages = [store.documents[h.chunk.doc_id].text for h in hits[: self.settings.passages]]
        missing = _missing_entities(question, passages)
        return float(score - 0.15 * missing)

    def _select(self, candidates: list[_Candidate]) -> list[_Candidate]:
        best = candidates[0]
        chosen = [best]
        for c in candidates[1:]:
            if len(chosen) >= self.settings.max_sentences or c.score < best.score - self.settings.margin:
                break
            if not any(_overlaps(c, o) for o in chosen):
                chosen.append(c)
        return chosen

    def _related(self, candidates: list[_Candidate], store: Store) -> list[Citation]:
        picked: list[_Candidate] = []
        for c in candidates:
            if all(
                c.hit.chunk.doc_id != o.hit.chunk.doc_id or c.hit.chunk.id != o.hit.chunk.id for o in picked
            ):
                picked.append(c)
            if len(picked) == 3:
                break
        return [self._cite(n, c, store) for n, c in enumerate(picked, start=1)]

    def _cite(self, number: int, c: _Candidate, store: Store) -> Citation:
        doc = store.documents[c.hit.chunk.doc_id]
        return Citation(
            number=number,
            doc_id=doc.id,
            title=doc.title,
            date=doc.date,
            source=doc.source,
            quote=doc.text[c.start : c.end],
            start=c.start,
            end=c.end,
            score=round(c.score, 4),
            chunk_id=c.hit.chunk.id,
        )


def _overlaps(a: _Candidate, b: _Candidate) -> bool:
    return a.hit.chunk.doc_id == b.hit.chunk.doc_id and a.start < b.end and b.start < a.end


_ENTITY = re.compile(r"(?<![\w'])(?:\d[\d.,]*|[A-ZÀ-ÖØ-Þ][\w\-]+)")


def _missing_entities(question: str, passages: list[str]) -> int:
    """Names (capitalised words not opening the question) and numbers absent from every passage."""
    text = normalize(question)
    found = [m for m in _ENTITY.finditer(text) if m.start() > 0 and text[: m.start()].strip()]
    haystack = fold(normalize(" ".join(passages)))
    return sum(1 for m in found if fold(m.group()) not in haystack)
