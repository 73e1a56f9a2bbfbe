"""The frozen records that flow through the pipeline.

Every stage returns these and nothing else, whatever the input: a question that finds nothing still
returns an :class:`Answer` (with ``abstained=True``), never ``None`` or a string.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One article. ``text`` is the original text: every offset in rag points into it. ``date`` is
    its publication date in ISO form (``YYYY-MM-DD``, ``THH:MM`` added when known) or ``""``;
    ``date_source`` says where it came from ("front matter", "jsonl", "html", "dateline") or why
    there is none (:mod:`rag.corpus.dates`)."""

    id: str
    title: str
    text: str
    content_hash: str
    date: str = ""
    source: str = ""
    url: str = ""
    date_source: str = ""


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: ``document.text[start:end] == text`` always holds."""

    id: str
    doc_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Sentence:
    """A sentence of a document, the unit that is embedded and quoted: ``document.text[start:end]``."""

    id: str
    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with the scores behind its rank.

    ``score`` is the fused score that ordered the hits (higher is better); the dense and lexical
    ranks (1-based) and scores are kept so the fusion can be inspected. A retriever that did not
    return this chunk leaves its rank and score as ``None``.
    """

    chunk: Chunk
    title: str
    date: str
    source: str
    rank: int
    score: float
    dense_rank: int | None = None
    dense_score: float | None = None
    lexical_rank: int | None = None
    lexical_score: float | None = None


@dataclass(frozen=True)
class Citation:
    """A quoted span of a document backing one sentence of an answer.

    ``quote == document.text[start:end]`` always holds: the quote is verbatim.
    """

    number: int
    doc_id: str
    title: str
    date: str
    source: str
    quote: str
    start: int
    end: int
    score: float
    chunk_id: str


@dataclass(frozen=True)
class ShortAnswer:
    """The few words that answer a question asking for a name, a place, a date or a number,
    verbatim from a cited sentence: ``document.text[start:end] == text`` always holds."""

    text: str
    doc_id: str
    start: int
    end: int
    citation: int  # the number of the citation it is taken from
    kind: str  # what the question asked for: "name", "place", "date", "number", "count" or a measure


@dataclass(frozen=True)
class Copy:
    """Another article carrying a cited story (:mod:`rag.store.copies`): ``of`` is the cited
    document, ``relation`` is ``"copy"`` (the same dispatch elsewhere), ``"earlier version"`` (one
    the cited article replaces) or ``"newer version"`` (one that replaces it)."""

    of: str
    doc_id: str
    title: str
    date: str
    source: str
    url: str
    relation: str


REASONS = ("answered", "summary", "timeline", "not_found", "detail_missing")


@dataclass(frozen=True)
class Answer:
    """What ``ask`` returns, always with this shape.

    ``text`` is the answer shown to people, with ``[n]`` markers matching ``citations``: the short
    answer on a line of its own when there is one (``short_answer``), then the quoted sentences. When
    no sentence answers, ``abstained`` is true, ``citations`` is empty, ``related`` holds the closest
    passages and ``reason`` says why: ``"not_found"`` (nothing on the subject) or ``"detail_missing"``
    (the articles are on the subject but do not give what was asked). An answer has ``reason``
    ``"answered"``, ``"summary"`` for a question asking what an article is about, or ``"timeline"`` for
    "what happened with …" over articles of several dates (one dated line per date). ``confidence`` is
    the answerability score the abstention decision used. ``query`` is the search query actually used
    (it includes the previous turn for follow-ups). ``copies`` lists, for each cited article, the
    other articles carrying the same story (only one of them is cited; the text says how many).
    """

    question: str
    text: str
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    abstained: bool
    language: str
    confidence: float
    query: str
    related: tuple[Citation, ...] = field(default=())
    short_answer: ShortAnswer | None = None
    reason: str = "answered"
    since: str = ""  # the period searched (ISO dates, both included); "" for no bound, as when a date
    # the question named held no answer and every article was searched (the text then says so)
    until: str = ""
    copies: tuple[Copy, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the schema of ``rag ask --json``, documented in the README)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Answer:
        """The answer back from its :meth:`to_dict` (what the ``/ask`` API returns)."""
        hits = tuple(
            Hit(chunk=Chunk(**h["chunk"]), **{k: v for k, v in h.items() if k != "chunk"})
            for h in data["hits"]
        )
        short = data.get("short_answer")
        return cls(
            question=data["question"],
            text=data["text"],
            citations=tuple(Citation(**c) for c in data["citations"]),
            hits=hits,
            abstained=bool(data["abstained"]),
            language=data["language"],
            confidence=float(data["confidence"]),
            query=data["query"],
            related=tuple(Citation(**c) for c in data.get("related") or ()),
            short_answer=ShortAnswer(**short) if short else None,
            reason=data.get("reason", "answered"),
            since=data.get("since", ""),
            until=data.get("until", ""),
            copies=tuple(Copy(**c) for c in data.get("copies") or ()),
        )


@dataclass(frozen=True)
class Progress:
    """One step of a long task (an index update, an evaluation): ``done`` of ``total`` units of
    ``stage`` ("load", "embed", "save"; "ask" in ``rag eval``)."""

    stage: str
    done: int
    total: int
    message: str = ""


ProgressFn = Callable[[Progress], None]
