"""The reader: answers only from a sentence that offers what was asked, says what is missing when no
sentence does, gives the short answer itself, and does not pad.

It scores candidate sentences as the extractive composer does, then:

- a question asking for a name, a place, a date or a number is answered by the best sentence that
  offers one (within ``type_margin`` of the best score); its answer span (:mod:`.short_answer`) comes
  first when it can be trusted (a date, a number or a measure, the sentence's only one); when no
  candidate offers the date or number asked, the answer says the articles do not give it (a name or
  a place may be a common noun: the best sentence then answers alone);
- one sentence answers, plus the one before it when it opens with a pronoun (it names the subject),
  plus a second only for open questions (why, how) whose runner-up scores within ``second_margin``;
- with the span model (:mod:`.span_model`), a sentence answers only when the model reads an answer
  in it over ``span_qualify`` (``span_qualify_cross`` for an English question over French text,
  ``span_qualify_off`` when the closest article is not on the subject); when none of the candidates
  it read does, the answer is "detail missing" (or "not found");
- a question asking what an article is about gets its lead and most central sentences
  (:mod:`.summary`);
- when the evidence is too weak (:mod:`.calibration`), ``Answer.reason`` says whether the articles are
  on the subject at all (``"detail_missing"``) or not (``"not_found"``).

The values of :class:`ReaderSettings` and how they were chosen: ``docs/tuning.md#reader``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ModelError, SettingsError
from ..expected_type import foreign_unit, offered
from ..query import Query
from ..store import Store
from ..text import LexicalAnalyzer, detect_language, fold, normalize
from ..types import Answer, Citation, Hit, ShortAnswer
from . import messages, short_answer
from .calibration import UNCALIBRATED, Calibrations
from .extractive import Candidate, ComposerSettings, ExtractiveComposer, overlaps, sentence_text
from .span_model import Span, SpanModel
from .summary import summary_sentences
from .timeline import timeline

log = logging.getLogger(__name__)

# A sentence opening with one of these speaks of someone or something the previous sentence names.
_PRONOUN = re.compile(
    r"^(il|elle|ils|elles|celui-ci|celle-ci|ceux-ci|celles-ci|ce dernier|cette dernière|ces derniers|"
    r"he|she|they|it)\b",
    re.IGNORECASE,
)
# Asked kinds whose answer need not be a capitalised name ("Qui a traversé la rade ?" - "La licorne"):
# without one, the best sentence still answers, with no short answer.
_NAMED = frozenset({"name", "place"})
# The words of a summary question that do not name its subject ("Résume l'article sur …").
_GIST_TERMS = frozenset({"resum", "articl", "parl", "princip", "inform", "point", "sujet", "summar",
                         "summaris", "summariz", "main", "gist", "say", "about", "dit", "racont", "trait",
                         "grand", "lign"})  # fmt: skip


@dataclass(frozen=True)
class ReaderSettings:
    """How the reader chooses and checks its sentences (provenance: docs/tuning.md#reader)."""

    type_margin: float = 0.1  # a typed question's sentence may score this far below the best
    second_margin: float = 0.06  # an open question's second sentence must score this close to the best
    on_subject: float = 0.5  # share of the question's terms in the closest article: "on the subject"
    on_subject_dense: float = 0.82  # across languages: the closest passage's similarity instead
    summary_sentences: int = 3  # a summary: the lead sentence and the two most central ones
    short_kinds: frozenset[str] = frozenset({"date", "number", "measure"})  # short answers shown for these
    short_unique: bool = True  # and only when the sentence offers one span of the kind
    names_rule: bool = False  # a sentence must hold the question's names (with the one before and its title)
    typed_abstain: bool = True  # no date or number where one is asked: "detail missing"
    preposition: bool = True  # a French short answer takes the preposition the question asks with
    antecedent: bool = True  # add the sentence naming the subject of an opening pronoun
    # The span reader (:mod:`.span_model`), when the composer has one (docs/tuning.md#the-span-reader):
    span_candidates: int = 4  # the best candidates it reads
    span_margin: float = 0.1  # of which those scoring this close to the best
    span_first: bool = True  # one at a time, best first, while the next may still change the answer
    span_weight: float = 0.1  # its belief that a sentence answers (0 to 1), times this, added to its score
    span_temperature: float = 1.0  # the belief is sigmoid(score / this): over 1, +9 still beats +5
    span_shown: float = 0.0  # its short answer is shown when its score is over this
    span_typed: bool = False  # and, for a date, a number or a measure, only when it holds one
    span_unsure_rules: bool = True  # under span_shown, the rules' short answer where they show one
    # Same-language confidence with the model: sigmoid(a * logit(confidence) + b * its best score + c),
    # the answer abstaining under span_threshold (None: the calibrated confidence and threshold alone).
    span_confidence: tuple[float, float, float] | None = (0.875, 0.07, 0.034)
    span_threshold: float = 0.15
    # A sentence answers only when the model reads an answer in it scoring over this against "no
    # answer" (same language; across languages, ``span_qualify_cross``); when none of those it read
    # does, the answer is "detail missing" however close the passages are (None: no such check).
    span_qualify: float | None = None  # off: it costs more right answers than wrong ones on PIAF
    # Under every English answerable tuning question's best read; each new model's reads differ, so
    # train/tune_span_reader.py --cross recomputes it with the weights (docs/tuning.md#the-span-reader).
    span_qualify_cross: float | None = -18.0
    # When the closest article is not on the subject (``on_subject``), a sentence answers only when
    # the model reads an answer in it over this, whatever the language (None: no such check). Off:
    # at -6, the best of the folds' sweep, the full sets lost as many answers as it caught.
    span_qualify_off: float | None = None

    def __post_init__(self) -> None:
        if not self.span_temperature > 0:
            raise SettingsError(
                f"ReaderSettings.span_temperature is {self.span_temperature}; it divides the model's "
                "scores: give a number over 0 (1 is the default)"
            )


class ReaderComposer(ExtractiveComposer):
    """Answers that answer: see the module docstring."""

    name = "reader"

    def __init__(
        self,
        calibrations: Calibrations = UNCALIBRATED,
        settings: ComposerSettings | None = None,
        lexical: LexicalAnalyzer | None = None,
        reader: ReaderSettings | None = None,
        span: SpanModel | None = None,
    ) -> None:
        super().__init__(calibrations, settings, lexical, span)
        self.reader = reader or ReaderSettings()
        self.span = span

    def warm_up(self) -> None:
        if self.span is not None:
            self.span.read("warm up", ["warm up"])

    def compose(self, query: Query, hits: Sequence[Hit], store: Store, vector: np.ndarray) -> Answer:
        if not store.documents:
            return self._abstain(query, hits, [], store, 0.0, "not_found", messages.empty(query.language))
        if query.expected == "summary":
            return self._summary(query, hits, store)
        if query.timeline and not query.question_terms:  # "what happened (last week)?": a digest
            digest = timeline(query, hits, store, vector, 1.0)
            if digest is not None:
                return digest
        candidates = self._candidates(query, hits, store, vector)
        if not candidates:
            return self._abstain(query, hits, [], store, 0.0, "not_found")
        source = detect_language(sentence_text(store, candidates[0]))
        cross = query.language != source
        confidence = self._confidence(query, candidates, hits, store, cross)
        kind = query.expected
        read: dict[tuple[str, int], Span] = {}
        threshold = self.threshold(cross)
        # Same language, the model's belief joins the confidence: it may rescue a question the
        # calibration alone would abstain on (across languages there was nothing to fit it on).
        combination = None if cross else self.reader.span_confidence
        qualify = self.reader.span_qualify_cross if cross else self.reader.span_qualify
        off = self.reader.span_qualify_off
        if self.span is not None and off is not None and not self._on_subject(query, hits, store, cross):
            qualify = off if qualify is None else max(qualify, off)
        if self.span is not None and (confidence >= threshold or combination is not None):
            joined = None if combination is None else confidence
            candidates, read = self._read(candidates, query, store, joined, qualify)
            if read and combination is not None:
                # the evidence that some sentence answers, as the combination was fitted
                confidence = _combined(combination, confidence, max(r.score for r in read.values()))
                threshold = self.reader.span_threshold
        if confidence < threshold:
            reason = self._missing(query, hits, store, cross)
            return self._abstain(query, hits, candidates, store, confidence, reason, kind=kind)
        if query.timeline:
            dated = timeline(query, hits, store, vector, confidence)
            if dated is not None:
                return dated
        nearby = candidates  # an open question's second sentence need only score close to the answer
        if read and qualify is not None:  # a sentence answers only if the model reads an answer in it
            answering = [c for c in candidates if _answers(read, c, qualify)]
            if not answering:
                reason = self._missing(query, hits, store, cross)
                return self._abstain(query, hits, candidates, store, confidence, reason, kind=kind)
            candidates = answering
        if not cross and self.reader.names_rule:  # names are often translated across languages
            nearby = [c for c in nearby if self._names_held(c, query, store)]  # (candidates are among them)
            candidates = [c for c in candidates if c in nearby]
            if not candidates:
                reason = self._missing(query, hits, store, cross)
                return self._abstain(query, hits, [], store, confidence, reason, kind=kind)
        best = candidates[0]
        spans: list[tuple[int, int]] = []
        if kind is not None:
            typed = self._typed(candidates, kind, query, store)
            if typed is not None:
                best, spans = typed
            elif kind not in _NAMED and self.reader.typed_abstain:  # no date or number where one is asked
                reason = self._missing(query, hits, store, cross)  # off the subject: not "they do not say"
                return self._abstain(query, hits, candidates, store, confidence, reason, kind=kind)
        chosen = self._padding(best, [c for c in nearby if c is not best], kind, store)
        citations = tuple(self._cite(n, c, store) for n, c in enumerate(chosen, start=1))
        body = messages.lead(query.language, source) + " ".join(f"{c.quote} [{c.number}]" for c in citations)
        short = None
        model_span = read.get((best.hit.chunk.doc_id, best.start))
        sure = False
        if kind is not None and model_span is not None:  # the model's span, trusted over the rules
            sure = model_span.score > self.reader.span_shown and model_span.end > model_span.start
            if sure and self.reader.span_typed and short_answer.KINDS.get(kind) not in _NAMED:
                text = sentence_text(store, best)
                words = text[model_span.start : model_span.end]
                sure = offered(words, kind, query.asked)  # a height is not "massif du Mont-Blanc"
                if sure and kind == "count":  # "11,04 milliards" (d'euros) is no count of accords
                    sure = not foreign_unit(words, text[model_span.end :])
            if sure:
                spans = [(model_span.start, model_span.end)]
            elif not self.reader.span_unsure_rules:
                spans = []
        if spans and kind is not None and (sure or self._shown(kind, spans)):
            span = spans[0]
            if self.reader.preposition and query.language == "fr":  # "En quelle année…?" "en 1589"
                text = sentence_text(store, best)
                span = (short_answer.with_preposition(text, span[0], query.question), span[1])
            number = chosen.index(best) + 1
            start, end = best.start + span[0], best.start + span[1]
            doc = store.documents[best.hit.chunk.doc_id]
            short = ShortAnswer(doc.text[start:end], doc.id, start, end, number, kind)
            body = f"{short.text} [{number}]\n{body}"
        return Answer(
            question=query.question,
            text=body,
            citations=citations,
            hits=tuple(hits),
            abstained=False,
            language=query.language,
            confidence=confidence,
            query=query.text,
            short_answer=short,
        )

    # ----- choosing ------------------------------------------------------------------------------
    def _read(
        self,
        candidates: list[Candidate],
        query: Query,
        store: Store,
        confidence: float | None = None,
        qualify: float | None = None,
    ) -> tuple[list[Candidate], dict[tuple[str, int], Span]]:
        """The candidates reordered by the span reader's belief that they answer (its best first), and
        the spans it read, by (document, sentence start).

        With ``span_first``, they are read one at a time, best first, while the next one may still
        come first (its score plus ``span_weight`` is over the leader's, belief included), the answer
        would abstain on what was read (``confidence``: the calibrated confidence the best read joins,
        as ``span_confidence``; None where it joins none), or none read scores over ``qualify`` (the
        score a sentence must reach to answer; None: any). The first is then the one reading them all
        would put first; the unread keep their order, after the read."""
        top = candidates[0].score
        pool = [
            c for c in candidates[: self.reader.span_candidates] if c.score >= top - self.reader.span_margin
        ]
        if self.span is None or not pool:
            return candidates, {}
        weight, combination = self.reader.span_weight, self.reader.span_confidence
        temperature = self.reader.span_temperature
        threshold = self.reader.span_threshold

        def rank(c: Candidate, f: Span) -> float:  # the order; the stopping rule bounds it (belief <= 1)
            return c.score + weight * _sigmoid(f.score / temperature)

        found: list[Span] = []
        batch = pool[:1] if self.reader.span_first else pool
        while batch:
            got = self._spans(batch, query, store)
            if got is None:
                return candidates, {}
            found += got
            if len(found) == len(pool):
                break
            lead = max(rank(c, f) for c, f in zip(pool, found, strict=False))
            nxt = pool[len(found)]  # the pool is in score order: if the next may not lead, none may
            surest = max(f.score for f in found)
            abstains = (
                confidence is not None
                and combination is not None
                and _combined(combination, confidence, surest) < threshold
            )
            unanswered = qualify is not None and surest < qualify
            batch = [nxt] if nxt.score + weight > lead or abstains or unanswered else []
        read = pool[: len(found)]
        order = sorted(range(len(read)), key=lambda i: -rank(read[i], found[i]))
        spans = {(c.hit.chunk.doc_id, c.start): f for c, f in zip(read, found, strict=True)}
        return [read[i] for i in order] + candidates[len(read) :], spans

    def _spans(self, pool: list[Candidate], query: Query, store: Store) -> list[Span] | None:
        """The span model's read of each candidate; None once it has failed (said once: the reader's
        rules answer from then on)."""
        span = self.span
        if span is None:
            return None
        try:
            sentences = [sentence_text(store, c) for c in pool]
            before = None
            if span.context:  # weights trained to read the sentence before (train/span_reader.py --context)
                previous = [self._previous(c, store) for c in pool]
                before = ["" if b is None else sentence_text(store, b) for b in previous]
            return span.read(query.text, sentences, before)
        except ModelError as exc:
            log.error("the span reader is off: %s", exc)
            self.span = None
            return None

    def _names_held(self, c: Candidate, query: Query, store: Store) -> bool:
        """Whether the sentence (with the one before it and its article's title) holds every name of
        the question: "la capitale de l'Australie" is not answered by a sentence on Manille."""
        if not query.names:
            return True
        doc = store.documents[c.hit.chunk.doc_id]
        previous = self._previous(c, store)
        text = " ".join(
            [
                doc.title,
                sentence_text(store, c),
                "" if previous is None else doc.text[previous.start : previous.end],
            ]
        )
        held = fold(normalize(text))
        return all(name in held for name in query.names)

    def _shown(self, kind: str, spans: list[tuple[int, int]]) -> bool:
        """Whether the short answer is shown: only for the kinds whose rules are right more often than
        not, when the sentence offers only one span of the kind (docs/tuning.md#reader)."""
        if short_answer.KINDS.get(kind) not in self.reader.short_kinds:
            return False
        return not self.reader.short_unique or len(spans) == 1

    def _typed(
        self, candidates: list[Candidate], kind: str, query: Query, store: Store
    ) -> tuple[Candidate, list[tuple[int, int]]] | None:
        """The best candidate offering the asked kind, within the margin, with its answer spans (the
        likeliest first)."""
        best = candidates[0]
        for c in candidates:
            if c.score < best.score - self.reader.type_margin:
                break
            text = sentence_text(store, c)
            found = short_answer.spans(text, kind, query.asked)
            if found:
                return c, found
        return None

    def _padding(
        self, best: Candidate, candidates: list[Candidate], kind: str | None, store: Store
    ) -> list[Candidate]:
        """The sentences that answer: the best, the one naming its pronoun's subject, and for an open
        question a close runner-up among the other ``candidates``; the best first."""
        chosen = [best]
        if self.reader.antecedent and _PRONOUN.match(sentence_text(store, best)):
            previous = self._previous(best, store)
            if previous is not None:
                chosen.insert(0, previous)
        if kind is None:
            for c in candidates:
                if c.score < best.score - self.reader.second_margin:
                    break
                if not any(overlaps(c, o) for o in chosen):
                    chosen.append(c)
                    break
        others = sorted((c for c in chosen if c is not best), key=lambda c: (c.hit.chunk.doc_id, c.start))
        return [best, *others]  # the answer first

    def _previous(self, c: Candidate, store: Store) -> Candidate | None:
        sentences = store.doc_sentences(c.hit.chunk.doc_id)
        at = next((i for i, s in enumerate(sentences) if s.start == c.start), 0)
        if at == 0:
            return None
        s = sentences[at - 1]
        return Candidate(c.hit, s.start, s.end, c.dense, 0.0, c.score, frozenset())

    def _missing(self, query: Query, hits: Sequence[Hit], store: Store, cross: bool) -> str:
        """Why nothing answers: ``"detail_missing"`` when the closest article is on the subject,
        ``"not_found"`` when it is not."""
        return "detail_missing" if self._on_subject(query, hits, store, cross) else "not_found"

    def _on_subject(self, query: Query, hits: Sequence[Hit], store: Store, cross: bool) -> bool:
        """Whether the closest article is about what the question asks of (it holds most of the
        question's terms; across languages, its passage is close to the question)."""
        if not hits:
            return False
        if cross:
            return (hits[0].dense_score or 0.0) >= self.reader.on_subject_dense
        terms = set(query.question_terms)
        if not terms:
            return False
        doc_id = hits[0].chunk.doc_id
        held = set(store.tables.doc_terms(doc_id))
        return len(terms & held) / len(terms) >= self.reader.on_subject

    # ----- summaries -----------------------------------------------------------------------------
    def _summary(self, query: Query, hits: Sequence[Hit], store: Store) -> Answer:
        subject = set(query.question_terms) - _GIST_TERMS
        named = subject or set(query.terms) - _GIST_TERMS  # a follow-up names it in the previous turn
        if len(store.documents) == 1:
            doc_id = next(iter(store.documents))
        elif named and hits:
            doc_id = hits[0].chunk.doc_id
        else:  # "Résume l'article": the newest one
            doc_id = max(store.documents.values(), key=lambda d: d.date).id
        confidence = 1.0
        source = _document_language(store, doc_id)
        if subject and len(store.documents) > 1:
            cross = query.language != source
            if cross:
                confidence = hits[0].dense_score or 0.0
                ok = confidence >= self.reader.on_subject_dense
            else:
                confidence = len(subject & set(store.tables.doc_terms(doc_id))) / len(subject)
                ok = confidence >= self.reader.on_subject
            if not ok:
                return self._abstain(query, hits, [], store, confidence, "not_found")
        doc = store.documents[doc_id]
        citations = []
        for n, s in enumerate(summary_sentences(store, doc_id, self.reader.summary_sentences), start=1):
            chunk_ids = store.tables.sentence_chunk_ids.get(s.id) or [""]
            citations.append(
                Citation(
                    n,
                    doc.id,
                    doc.title,
                    doc.date,
                    doc.source,
                    doc.text[s.start : s.end],
                    s.start,
                    s.end,
                    1.0,
                    chunk_ids[0],
                )  # fmt: skip
            )
        body = messages.lead(query.language, source) + " ".join(f"{c.quote} [{c.number}]" for c in citations)
        return Answer(
            question=query.question,
            text=body,
            citations=tuple(citations),
            hits=tuple(hits),
            abstained=False,
            language=query.language,
            confidence=float(confidence),
            query=query.text,
            reason="summary",
        )

    # ----- abstaining ----------------------------------------------------------------------------
    def _abstain(
        self,
        query: Query,
        hits: Sequence[Hit],
        candidates: list[Candidate],
        store: Store,
        confidence: float,
        reason: str,
        text: str | None = None,
        kind: str | None = None,
    ) -> Answer:
        if text is None:
            if reason == "detail_missing" and hits:
                doc_id = hits[0].chunk.doc_id
                title, source = store.documents[doc_id].title, _document_language(store, doc_id)
                text = messages.detail_missing(query.language, kind, title, source)
            else:
                text = messages.not_found(query.language)
        return Answer(
            question=query.question,
            text=text,
            citations=(),
            hits=tuple(hits),
            abstained=True,
            language=query.language,
            confidence=float(confidence),
            query=query.text,
            related=tuple(self._related(candidates, store)),
            reason=reason,
        )


def _answers(read: dict[tuple[str, int], Span], c: Candidate, qualify: float) -> bool:
    """Whether the model read ``c`` and found an answer in it scoring at least ``qualify``."""
    span = read.get((c.hit.chunk.doc_id, c.start))
    return span is not None and span.end > span.start and span.score >= qualify


def _sigmoid(z: float) -> float:
    """1 / (1 + e^-z), for any score the model gives (clamped: -inf and huge values included)."""
    return 1.0 / (1.0 + math.exp(-max(min(z, 20.0), -20.0)))


def _combined(combination: tuple[float, float, float], confidence: float, score: float) -> float:
    """The calibrated confidence and the model's best score together: sigmoid(a * logit(confidence)
    + b * score + c), ``ReaderSettings.span_confidence`` = (a, b, c).

    >>> round(_combined((1.0, 0.0, 0.0), 0.7, 5.0), 6), _combined((1.0, 1.0, 0.0), 0.5, 3.0) > 0.9
    (0.7, True)
    """
    a, b, c = combination
    logit, best = combination_features(confidence, score)
    return _sigmoid(a * logit + b * best + c)


def combination_features(confidence: float, score: float) -> tuple[float, float]:
    """What ``span_confidence`` weighs, as train/tune_span_reader.py fits it and :func:`_combined`
    applies it: the logit of the calibrated confidence and the model's best score, both clamped.

    >>> combination_features(0.5, 35.0)
    (0.0, 20.0)
    """
    p = min(max(confidence, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p)), max(min(score, 20.0), -20.0)


def _document_language(store: Store, doc_id: str) -> str:
    """The language an article is written in, from its opening."""
    return detect_language(store.documents[doc_id].text[:500])
