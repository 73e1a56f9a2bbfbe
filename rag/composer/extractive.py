"""The extractive composer: the best sentences of the retrieved passages, quoted verbatim.

Each candidate sentence (the whole sentences overlapping the top passages) is scored by the dense
similarity of its stored vector to the question, plus the share of the question's content terms
it contains, a small prior for its passage's rank and a bonus when it offers the kind of answer
asked (:mod:`rag.expected_type`); no model runs here, so composing costs a few dot products. The
1 to 3 best become the answer, each followed by its citation marker. When the evidence is too weak
(:mod:`rag.composer.calibration`) the composer abstains and lists the closest passages as related.
The weights and how they were chosen: ``docs/tuning.md#composer``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..expected_type import offered
from ..query import Query
from ..store import Store
from ..text import LexicalAnalyzer, detect_language, fold, normalize
from ..types import Answer, Citation, Hit, Sentence
from . import messages
from .calibration import UNCALIBRATED, Calibration, Calibrations, Features
from .span_model import SpanModel


@dataclass(frozen=True)
class ComposerSettings:
    """How sentences are scored and chosen (fitted on PIAF: docs/tuning.md#composer)."""

    passages: int = 4  # how many top hits give candidate sentences
    max_sentences: int = 3
    margin: float = 0.1  # further sentences must score within this of the best one
    lexical_weight: float = 0.1  # times the share of the question's terms in the sentence
    rank_weight: float = 0.05  # times 1 / the rank of the sentence's passage
    type_weight: float = 0.04  # bonus of a sentence offering the answer type asked (a date for "quand")
    related: int = 3  # passages listed when abstaining
    threshold: float | None = None  # None: the calibrated value for the embedder


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage with its scores and lexical terms."""

    hit: Hit
    start: int
    end: int
    dense: float
    coverage: float
    score: float
    terms: frozenset[str]  # the sentence's lexical terms, computed once


class ExtractiveComposer:
    """Builds an :class:`Answer` from hits without any generative model."""

    name = "extractive"

    def __init__(
        self,
        calibrations: Calibrations = UNCALIBRATED,
        settings: ComposerSettings | None = None,
        lexical: LexicalAnalyzer | None = None,
        span: SpanModel | None = None,  # the reader's model; this composer reads none
    ) -> None:
        self.calibrations = calibrations
        self.settings = settings or ComposerSettings()
        self.lexical = lexical or LexicalAnalyzer()  # for indexes written before sentence terms were

    def warm_up(self) -> None:
        """Nothing to load: this composer runs no model."""

    def calibration(self, cross_language: bool) -> Calibration:
        return self.calibrations.pick(cross_language)

    def threshold(self, cross_language: bool = False) -> float:
        if self.settings.threshold is not None:
            return self.settings.threshold
        return self.calibration(cross_language).threshold

    def compose(self, query: Query, hits: Sequence[Hit], store: Store, vector: np.ndarray) -> Answer:
        """The answer to ``query`` from ``hits`` (of ``store``); ``vector`` is the query's embedding."""
        candidates = self._candidates(query, hits, store, vector)
        source = detect_language(sentence_text(store, candidates[0])) if candidates else query.language
        cross = query.language != source
        confidence = self._confidence(query, candidates, hits, store, cross)
        language = query.language
        if not candidates or confidence < self.threshold(cross):
            related = self._related(candidates, store)
            return Answer(
                question=query.question,
                text=messages.not_found(language),
                citations=(),
                hits=tuple(hits),
                abstained=True,
                language=language,
                confidence=confidence,
                query=query.text,
                related=tuple(related),
            )
        chosen = self._select(candidates)
        citations = tuple(self._cite(n, c, store) for n, c in enumerate(chosen, start=1))
        body = " ".join(f"{c.quote} [{c.number}]" for c in citations)
        return Answer(
            question=query.question,
            text=messages.lead(language, source) + body,
            citations=citations,
            hits=tuple(hits),
            abstained=False,
            language=language,
            confidence=confidence,
            query=query.text,
        )

    # ----- scoring -------------------------------------------------------------------------------
    def _candidates(
        self, query: Query, hits: Sequence[Hit], store: Store, vector: np.ndarray
    ) -> list[Candidate]:
        s = self.settings
        picked: list[tuple[Hit, Sentence]] = []
        seen: set[str] = set()
        for hit in hits[: s.passages]:
            for sentence in store.chunk_sentences(hit.chunk.id):
                if sentence.id not in seen:
                    seen.add(sentence.id)
                    picked.append((hit, sentence))
        if not picked:
            return []
        dense = store.sentence_matrix([s.id for _, s in picked]) @ vector
        q_terms = set(query.terms)
        kind = query.expected if s.type_weight else None
        out = []
        for (hit, sentence), d in zip(picked, dense.tolist(), strict=True):
            text = store.documents[sentence.doc_id].text[sentence.start : sentence.end]
            indexed = store.sentence_terms(sentence.id)  # stored at indexing time, saving the work here
            terms = frozenset(self.lexical.tokens(text) if indexed is None else indexed)
            coverage = len(q_terms & terms) / len(q_terms) if q_terms else 0.0
            prior = s.rank_weight * (1.0 / hit.rank)
            typed = s.type_weight * offered(text, kind, query.asked) if kind else 0.0
            score = d + s.lexical_weight * coverage + prior + typed
            out.append(Candidate(hit, sentence.start, sentence.end, float(d), coverage, float(score), terms))
        out.sort(key=lambda c: -c.score)
        return out

    def features(
        self, query: Query, hits: Sequence[Hit], store: Store, vector: np.ndarray
    ) -> Features | None:
        """The answerability evidence for a question (None when no sentence is a candidate), as the
        calibration fit (``bench/fit_calibration.py``) reads it."""
        candidates = self._candidates(query, hits, store, vector)
        if not candidates:
            return None
        cross = query.language != detect_language(sentence_text(store, candidates[0]))
        return self._features(query, candidates, hits, store, cross)

    def _features(
        self, query: Query, candidates: list[Candidate], hits: Sequence[Hit], store: Store, cross: bool
    ) -> Features:
        best = candidates[0]
        texts = [sentence_text(store, c) for c in candidates]
        # Across languages names are often translated (Greece / Grèce): only numbers are compared.
        missing = missing_entities(query, texts, names=not cross)
        q_terms = set(query.question_terms)
        top_terms: set[str] = set()
        for c in candidates:
            if c.hit.rank == 1:
                top_terms |= c.terms
        top_coverage = len(q_terms & top_terms) / len(q_terms) if q_terms else 0.0
        dense = [h.dense_score for h in hits if h.dense_score is not None]
        gap = dense[0] - dense[1] if len(dense) > 1 else 0.0
        return Features(best.dense, best.coverage, top_coverage, missing, gap)

    def _confidence(
        self, query: Query, candidates: list[Candidate], hits: Sequence[Hit], store: Store, cross: bool
    ) -> float:
        """How answerable the question looks (see :mod:`rag.composer.calibration`); higher is more."""
        if not candidates:
            return 0.0
        return self.calibration(cross).confidence(self._features(query, candidates, hits, store, cross))

    def _select(self, candidates: list[Candidate]) -> list[Candidate]:
        best = candidates[0]
        chosen = [best]
        for c in candidates[1:]:
            if len(chosen) >= self.settings.max_sentences or c.score < best.score - self.settings.margin:
                break
            if not any(overlaps(c, o) for o in chosen):
                chosen.append(c)
        return chosen

    def _related(self, candidates: list[Candidate], store: Store) -> list[Citation]:
        picked: list[Candidate] = []
        for c in candidates:
            if all(
                c.hit.chunk.doc_id != o.hit.chunk.doc_id or c.hit.chunk.id != o.hit.chunk.id for o in picked
            ):
                picked.append(c)
            if len(picked) == self.settings.related:
                break
        return [self._cite(n, c, store) for n, c in enumerate(picked, start=1)]

    def _cite(self, number: int, c: Candidate, store: Store) -> Citation:
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


def sentence_text(store: Store, c: Candidate) -> str:
    return store.documents[c.hit.chunk.doc_id].text[c.start : c.end]


def overlaps(a: Candidate, b: Candidate) -> bool:
    return a.hit.chunk.doc_id == b.hit.chunk.doc_id and a.start < b.end and b.start < a.end


def missing_entities(query: Query, passages: list[str], names: bool = True) -> int:
    """How many of the question's names and numbers (numbers only, with ``names=False``) appear in
    none of the passages."""
    wanted = (*query.names, *query.numbers) if names else query.numbers
    if not wanted:
        return 0
    haystack = fold(normalize(" ".join(passages)))
    return sum(1 for w in wanted if w not in haystack)
