"""The metrics of ``rag eval``: answer matching, ranks, ROC AUC, abstention, and the summary of a run.

>>> contains_answer("Pour Washington, l’enjeu est STRATÉGIQUE.", ["l'enjeu est stratégique"])
True
>>> roc_auc([0.9, 0.8], [0.1, 0.85])
0.75
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..composer.calibration import threshold_for as _threshold_at
from ..text import normalize
from ..types import Answer

MAX_ANSWERABLE_ABSTENTION = 0.05  # the operating point: abstain on at most 5 % of answerable questions


def _match_form(text: str) -> str:
    return " ".join(normalize(text).casefold().split())


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """True when one of the answers appears in ``text`` (case, apostrophes and spacing ignored)."""
    haystack = _match_form(text)
    return any(_match_form(a) in haystack for a in answers if a.strip())


SHORT_KINDS = frozenset(
    {"name", "place", "date", "number", "count", "percent", "distance", "mass", "money", "age", "duration"}
)
SHORT_SLACK = 3  # a short answer may hold this many words beyond the gold answer


def short_answer_matches(short: str, answers: Iterable[str]) -> bool:
    """The short answer is a gold answer, or holds one with at most three more words.

    >>> short_answer_matches("en octobre 2012", ["octobre 2012"])
    True
    >>> short_answer_matches("Marco", ["Marco Rubio"])
    False
    """
    words = _match_form(short).replace("'", " ").split()
    for answer in answers:
        gold = _match_form(answer).replace("'", " ").split()
        n = len(gold)
        if (
            n
            and len(words) - n <= SHORT_SLACK
            and any(words[i : i + n] == gold for i in range(len(words) - n + 1))
        ):
            return True
    return False


def document_ranks(answer: Answer) -> list[str]:
    """The documents of the hits in rank order, each once."""
    seen: dict[str, None] = {}
    for hit in sorted(answer.hits, key=lambda h: h.rank):
        seen.setdefault(hit.chunk.doc_id, None)
    return list(seen)


def roc_auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """P(a positive scores above a negative), ties counting half (Mann-Whitney); None if a side is empty."""
    if not len(positives) or not len(negatives):
        return None
    pos = np.asarray(positives, dtype=np.float64)
    neg = np.sort(np.asarray(negatives, dtype=np.float64))
    below = np.searchsorted(neg, pos, side="left")
    equal = np.searchsorted(neg, pos, side="right") - below
    return float((below + 0.5 * equal).sum() / (len(pos) * len(neg)))


def _percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else None


def _share(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _quantiles(values: Sequence[float]) -> dict[str, float | None]:
    out: dict[str, float | None] = {f"p{q}": _percentile(values, q) for q in (5, 10, 25, 50, 75, 90, 95)}
    out["mean"] = float(np.mean(values)) if len(values) else None
    out["n"] = len(values)
    return out


def abstention_at(
    threshold: float, positives: Sequence[float], negatives: Sequence[float]
) -> dict[str, float | None]:
    """Abstention rates if the engine abstained below ``threshold``."""
    fp = sum(1 for c in positives if c < threshold)
    tp = sum(1 for c in negatives if c < threshold)
    return {
        "threshold": threshold,
        "answerable_abstention": _share(fp, len(positives)),
        "precision": _share(tp, tp + fp),
        "recall": _share(tp, len(negatives)),
    }


def threshold_for(positives: Sequence[float], max_rate: float = MAX_ANSWERABLE_ABSTENTION) -> float | None:
    """The highest threshold (a confidence seen on an answerable question) at which at most
    ``max_rate`` of the answerable questions score below it."""
    return _threshold_at(positives, max_rate)


def by_language(answerable: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Answer metrics per question language (as the engine detected it): the cross-lingual figure."""
    out: dict[str, dict[str, Any]] = {}
    for language in sorted({r.get("language", "?") for r in answerable}):
        group = [r for r in answerable if r.get("language", "?") == language]
        n = len(group)
        out[language] = {
            "answerable": n,
            "recall@1": _share(sum(r["gold_rank"] == 1 for r in group), n),
            "answer_in_text": _share(sum(bool(r["answer_in_text"]) for r in group), n),
            "answer_in_first_citation": _share(sum(bool(r["answer_in_first_citation"]) for r in group), n),
            "answerable_abstention": _share(sum(bool(r["abstained"]) for r in group), n),
        }
    return out


def summarise(records: Sequence[dict[str, Any]], threshold: dict[str, float]) -> dict[str, Any]:
    answerable = [r for r in records if r["split"] == "answerable"]
    negatives = [r for r in records if r["split"] in ("removed", "unanswerable")]
    gone = [r for r in records if r["split"] == "sentence_gone"]  # on the subject, the detail cut out
    typed = [r for r in answerable if r.get("kind") in SHORT_KINDS]
    ranks = [r["gold_rank"] for r in answerable]
    n = len(answerable)
    pos_conf = [r["confidence"] for r in answerable]
    neg_conf = [r["confidence"] for r in negatives]
    tp = sum(r["abstained"] for r in negatives)
    fp = sum(r["abstained"] for r in answerable)
    quotes = sum(r["quotes"] for r in records)
    # Latency on the full index (the user's case), where the question was timed without the cache.
    latencies = [
        r["latency_ms"]
        for r in records
        if r.get("timed", True) and r["split"] in ("answerable", "unanswerable")
    ]
    suggested = threshold_for(pos_conf)
    return {
        "by_language": by_language(answerable),
        "questions": {
            "answerable": n,
            "removed_gold": sum(r["split"] == "removed" for r in records),
            "unanswerable": sum(r["split"] == "unanswerable" for r in records),
            "sentence_gone": len(gone),
            "typed": len(typed),  # answerable questions asking for a name, place, date or number
        },
        "retrieval": {
            "recall@1": _share(sum(1 for x in ranks if x is not None and x <= 1), n),
            "recall@5": _share(sum(1 for x in ranks if x is not None and x <= 5), n),
            "recall@10": _share(sum(1 for x in ranks if x is not None and x <= 10), n),
            "mrr@10": _share(sum(1.0 / x for x in ranks if x is not None and x <= 10), n),  # type: ignore[misc]
        },
        "answers": {
            "answer_in_text": _share(sum(bool(r["answer_in_text"]) for r in answerable), n),
            "answer_in_first_citation": _share(
                sum(bool(r["answer_in_first_citation"]) for r in answerable), n
            ),
            "gold_cited": _share(sum(bool(r["gold_cited"]) for r in answerable), n),
            "answer_in_text_when_answered": _share(
                sum(bool(r["answer_in_text"]) for r in answerable), n - fp
            ),
            "short_answer": _share(sum(bool(r.get("short_ok")) for r in typed), len(typed)),
            "short_answer_shown": _share(sum(r.get("short_answer") is not None for r in typed), len(typed)),
            "short_answer_precision": _share(
                sum(bool(r.get("short_ok")) for r in typed),
                sum(r.get("short_answer") is not None for r in typed),
            ),
        },
        "citations": {
            "quotes": quotes,
            "verbatim": _share(sum(r["verbatim_quotes"] for r in records), quotes),
            "per_answer": _share(sum(r["citations"] for r in answerable), n - fp),
        },
        "abstention": {
            "threshold": threshold,
            "answerable_abstention": _share(fp, n),
            "precision": _share(tp, tp + fp),
            "recall": _share(tp, len(negatives)),
            "auc": roc_auc(pos_conf, neg_conf),
            "by_reason": {
                reason: sum(1 for r in negatives if r["abstained"] and r.get("reason") == reason)
                for reason in ("not_found", "detail_missing")
            },
            # Removed-gold questions answered with the gold string anyway (from another document):
            # an upper bound on the label noise of the simulation.
            "removed_answer_found": _share(
                sum(bool(r["answer_in_text"]) for r in negatives if r["split"] == "removed"),
                sum(r["split"] == "removed" for r in records),
            ),
            "sentence_gone": {
                "abstained": _share(sum(bool(r["abstained"]) for r in gone), len(gone)),
                "detail_missing": _share(
                    sum(bool(r["abstained"]) and r.get("reason") == "detail_missing" for r in gone), len(gone)
                ),
                # answered with the gold string anyway (from another document): the simulation's noise
                "answer_found": _share(sum(bool(r["answer_in_text"]) for r in gone), len(gone)),
            },
            "confidence_answerable": _quantiles(pos_conf),
            "confidence_no_answer": _quantiles(neg_conf),
            "at_max_5pct": abstention_at(suggested, pos_conf, neg_conf) if suggested is not None else None,
        },
        "latency_ms": {
            "p50": _percentile(latencies, 50),
            "p95": _percentile(latencies, 95),
            "mean": float(np.mean(latencies)) if latencies else None,
            "n": len(latencies),
        },
    }
