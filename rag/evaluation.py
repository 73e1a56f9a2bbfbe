"""``rag eval``: retrieval, answer, citation and abstention metrics on an extractive QA file.

The QA file is JSONL, one question a line (the schema of ``shared/data/README.md``)::

    {"id", "question", "answers": [str], "answer_starts": [int], "context", "title"}

with ``answers[i] == context[answer_starts[i]:answer_starts[i] + len(answers[i])]``. A row with
``"answers": []`` is a question the context does not answer (the right behaviour is to abstain).

How it works, with the same public API a user calls:

1. The unique contexts become the documents of a temporary corpus (id ``ctx-`` + a hash of the
   context, title = the row's ``title``), optionally with distractor articles (``--distractors``,
   a corpus ``.jsonl``; an article whose text is one of the contexts is left out, so it is not
   indexed twice), indexed with :func:`rag.update_index` and opened with :meth:`Engine.open`.
2. Every question is asked with ``engine.ask(question, k=10)``; its gold document is its own context.
3. No-answer simulation: contexts are drawn in a random order fixed by the seed (13) until their
   questions make 10 % of the questions; a second index without those contexts is built once (by
   copying the first and syncing it, so nothing is re-embedded) and those questions are asked again
   there, where the right behaviour is to abstain.

Metrics per retriever (``bm25``, ``dense``, the engine's default ``hybrid`` fusion, and with ``all``
the other hybrid fusion too):

- retrieval: recall@1/5/10 and MRR@10 of the gold document, chunks deduplicated to documents in
  rank order;
- answers: share of answerable questions whose gold answer appears in ``answer.text``, and in the
  first citation's quote (case and apostrophe insensitive);
- citations: share of quotes (answers and related passages) equal to ``document.text[start:end]``;
- abstention: rate on answerable questions; precision and recall of abstaining over the pool
  "answerable questions (full index) + removed-gold and unanswerable questions"; ROC AUC of
  ``answer.confidence`` separating the two; and the threshold that keeps abstention on answerable
  questions at or under 5 %, with the precision and recall it would give;
- latency per question on the full index, p50 and p95, in milliseconds, over a sample of questions
  (200 a retriever, drawn with the seed) asked without the embedding cache the other questions use
  (:class:`CachingEmbedder`: the answers are the same, the evaluation many times faster).

``--json FILE`` writes the set-up, every metric (with the confidence quantiles of both groups) and
one record per question asked.

>>> contains_answer("Pour Washington, l’enjeu est STRATÉGIQUE.", ["l'enjeu est stratégique"])
True
>>> roc_auc([0.9, 0.8], [0.1, 0.85])
0.75
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .chunking import Chunker
from .config import Settings
from .embedding import Embedder
from .engine import Engine, check_question
from .errors import CorpusError, QuestionError
from .indexing import update_index
from .retrieval import FUSIONS
from .text import normalize
from .types import Answer

log = logging.getLogger(__name__)

DEFAULT_SEED = 13
DEFAULT_FRACTION = 0.10
K = 10
MAX_ANSWERABLE_ABSTENTION = 0.05
RETRIEVER_CHOICES = ("bm25", "dense", "hybrid", "all")
QA_FIELDS = ("id", "question", "answers", "answer_starts", "context", "title")


# ----- the QA file ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class QAItem:
    id: str
    question: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]
    context: str
    title: str
    doc_id: str

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def context_id(context: str) -> str:
    """The stable document id of a context: the same text always gets the same id."""
    return "ctx-" + hashlib.sha256(context.encode("utf-8")).hexdigest()[:16]


def load_qa(path: str | Path, limit: int | None = None) -> list[QAItem]:
    """The questions of a QA jsonl file (the first ``limit``), checked; bad input is a CorpusError."""
    path = Path(path)
    if limit is not None and limit < 1:
        raise CorpusError(f"--limit {limit}: use a positive number of questions")
    if not path.is_file():
        raise CorpusError(f"QA file {str(path)!r} does not exist: pass a .jsonl file with --qa")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"QA file {path}: cannot read it as UTF-8 text ({exc})") from exc
    items: list[QAItem] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item = _parse_row(line, f"{path}:{lineno}")
        if item.id in seen:
            raise CorpusError(f"{path}:{lineno}: duplicate question id {item.id!r}")
        seen.add(item.id)
        items.append(item)
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise CorpusError(f"QA file {path} has no questions (one JSON object a line: {', '.join(QA_FIELDS)})")
    return items


def _parse_row(line: str, where: str) -> QAItem:
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise CorpusError(f"{where}: not valid JSON ({exc})") from exc
    if not isinstance(row, dict):
        raise CorpusError(f"{where}: expected a JSON object with fields {', '.join(QA_FIELDS)}")
    missing = [f for f in QA_FIELDS if f not in row]
    if missing:
        raise CorpusError(f"{where}: missing field(s) {', '.join(missing)} (schema: {', '.join(QA_FIELDS)})")
    qid, question, answers, starts, context, title = (row[f] for f in QA_FIELDS)
    if not isinstance(qid, (str, int)) or isinstance(qid, bool) or not str(qid).strip():
        raise CorpusError(f"{where}: 'id' must be a non-empty string")
    for name, value in (("question", question), ("context", context), ("title", title)):
        if not isinstance(value, str):
            raise CorpusError(f"{where}: {name!r} must be a string, not {type(value).__name__}")
    if not context.strip():
        raise CorpusError(f"{where}: 'context' is empty")
    if not isinstance(answers, list) or not all(isinstance(a, str) and a for a in answers):
        raise CorpusError(f"{where}: 'answers' must be a list of non-empty strings")
    if (
        not isinstance(starts, list)
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in starts)
        or len(starts) != len(answers)
    ):
        raise CorpusError(f"{where}: 'answer_starts' must be a list of integers, one per answer")
    for answer, start in zip(answers, starts, strict=True):
        if context[start : start + len(answer)] != answer or start < 0:
            raise CorpusError(
                f"{where}: answer {answer!r} is not at offset {start} of the context "
                f"(found {context[max(start, 0) : max(start, 0) + len(answer)]!r})"
            )
    try:
        question = check_question(question)
    except QuestionError as exc:
        raise CorpusError(f"{where}: {exc}") from exc
    return QAItem(
        id=str(qid),
        question=question,
        answers=tuple(answers),
        answer_starts=tuple(starts),
        context=context,
        title=title,
        doc_id=context_id(context),
    )


# ----- the no-answer split -------------------------------------------------------------------------
def no_answer_split(
    items: Sequence[QAItem], fraction: float = DEFAULT_FRACTION, seed: int = DEFAULT_SEED
) -> list[str]:
    """Ids of the contexts to leave out of the second index, sorted.

    Contexts are shuffled with ``random.Random(seed)`` (in order of first appearance, so the result
    depends only on the file, the limit and the seed) and taken until their questions reach
    ``fraction`` of all questions (at least one context when there are questions).
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction {fraction} must be between 0 and 1")
    counts: dict[str, int] = {}
    for item in items:
        counts[item.doc_id] = counts.get(item.doc_id, 0) + 1
    order = list(counts)
    random.Random(seed).shuffle(order)
    target = max(1, round(fraction * len(items))) if items and fraction > 0 else 0
    removed: list[str] = []
    covered = 0
    for doc_id in order:
        if covered >= target:
            break
        removed.append(doc_id)
        covered += counts[doc_id]
    return sorted(removed)


# ----- metrics -------------------------------------------------------------------------------------
def _match_form(text: str) -> str:
    return " ".join(normalize(text).casefold().split())


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """True when one of the answers appears in ``text`` (case, apostrophes and spacing ignored)."""
    haystack = _match_form(text)
    return any(_match_form(a) in haystack for a in answers if a.strip())


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
    if not len(positives):
        return None
    ordered = sorted(positives)
    allowed = math.floor(max_rate * len(ordered))  # questions allowed below the threshold
    return float(ordered[min(allowed, len(ordered) - 1)])


# ----- running -------------------------------------------------------------------------------------
class CachingEmbedder:
    """An embedder remembering the vectors of the texts it has embedded (evaluation only).

    Every question is asked once per retriever (and again on the no-answer index), so without it an
    evaluation with a real model embeds each question up to five times. Answers are the same (up to
    float rounding); latencies are only measured with the cache turned off.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.enabled = True
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed("q", texts, self.inner.embed_queries)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed("p", texts, self.inner.embed_passages)

    def _embed(
        self, kind: str, texts: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray]
    ) -> np.ndarray:
        if not self.enabled:
            return embed(texts)
        missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self._cache))
        if missing:
            for text, vector in zip(missing, embed(missing), strict=True):
                self._cache[(kind, text)] = vector
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[(kind, t)] for t in texts])


@dataclass(frozen=True)
class RetrieverRun:
    name: str  # the row label
    fusion: str


def retriever_runs(choice: str, default_fusion: str) -> list[RetrieverRun]:
    """The runs behind ``--retriever``: ``hybrid`` is the engine default; ``all`` adds every fusion."""
    if choice not in RETRIEVER_CHOICES:
        raise CorpusError(f"unknown retriever {choice!r}: use one of {', '.join(RETRIEVER_CHOICES)}")
    hybrid = RetrieverRun(f"hybrid ({default_fusion})", default_fusion)
    if choice == "bm25":
        return [RetrieverRun("bm25", "bm25")]
    if choice == "dense":
        return [RetrieverRun("dense", "dense")]
    if choice == "hybrid":
        return [hybrid]
    runs = [RetrieverRun("bm25", "bm25"), RetrieverRun("dense", "dense"), hybrid]
    runs += [RetrieverRun(f"hybrid ({f})", f) for f in FUSIONS if f not in ("bm25", "dense", default_fusion)]
    return runs


def _write_corpus(
    folder: Path, items: Sequence[QAItem], exclude: set[str], distractors: Path | None, source: str
) -> int:
    folder.mkdir(parents=True)
    written: set[str] = set()
    with open(folder / "qa_contexts.jsonl", "w", encoding="utf-8") as fh:
        for item in items:
            if item.doc_id in written or item.doc_id in exclude:
                continue
            written.add(item.doc_id)
            row = {"id": item.doc_id, "title": item.title, "text": item.context, "source": source}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    if not written:
        (folder / "qa_contexts.jsonl").unlink()
    if distractors is not None:
        _write_distractors(distractors, folder / "distractors.jsonl", {item.context for item in items})
    return len(written)


def _write_distractors(source: Path, target: Path, contexts: set[str]) -> None:
    """Copy the distractor corpus without the articles that are one of the QA contexts (else the
    gold would be indexed twice, and would survive its removal in the no-answer index)."""
    try:
        lines = source.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"distractor file {source}: cannot read it as UTF-8 text ({exc})") from exc
    kept = []
    for line in lines:
        try:
            text = json.loads(line).get("text")
        except (ValueError, AttributeError):
            text = None  # not an article: the corpus loader reports it
        if not (isinstance(text, str) and text in contexts):
            kept.append(line)
    target.write_text("\n".join(kept) + "\n", encoding="utf-8")


def engine_thresholds(engine: Engine) -> dict[str, float]:
    """The confidence under which the engine abstains, for same- and cross-language questions."""
    threshold: Any = engine.composer.threshold
    if not callable(threshold):
        return {"same_language": float(threshold)}
    try:
        return {"same_language": float(threshold(False)), "cross_language": float(threshold(True))}
    except TypeError:
        return {"same_language": float(threshold())}


def _ask(
    engine: Engine, item: QAItem, split: str, run: RetrieverRun, k: int
) -> tuple[dict[str, Any], Answer]:
    started = time.perf_counter()
    answer = engine.ask(item.question, k=k)
    latency = (time.perf_counter() - started) * 1000.0
    docs = document_ranks(answer)
    gold_rank = docs.index(item.doc_id) + 1 if item.doc_id in docs else None
    quotes = answer.citations + answer.related
    verbatim = sum(1 for c in quotes if engine.document(c.doc_id).text[c.start : c.end] == c.quote)
    cited = [c.doc_id for c in answer.citations]
    record = {
        "retriever": run.name,
        "split": split,
        "language": answer.language,
        "id": item.id,
        "question": item.question,
        "gold_doc": item.doc_id,
        "gold_rank": gold_rank if split == "answerable" else None,
        "answer": answer.text,
        "abstained": answer.abstained,
        "confidence": round(float(answer.confidence), 6),
        "latency_ms": round(latency, 2),
        "answer_in_text": contains_answer(answer.text, item.answers) if item.answerable else None,
        "answer_in_first_citation": (
            bool(answer.citations) and contains_answer(answer.citations[0].quote, item.answers)
            if item.answerable
            else None
        ),
        "gold_cited": item.doc_id in cited if split == "answerable" else None,
        "citations": len(answer.citations),
        "quotes": len(quotes),
        "verbatim_quotes": verbatim,
    }
    return record, answer


def _by_language(answerable: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
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


def _summarise(records: Sequence[dict[str, Any]], threshold: dict[str, float]) -> dict[str, Any]:
    answerable = [r for r in records if r["split"] == "answerable"]
    negatives = [r for r in records if r["split"] != "answerable"]
    ranks = [r["gold_rank"] for r in answerable]
    n = len(answerable)
    pos_conf = [r["confidence"] for r in answerable]
    neg_conf = [r["confidence"] for r in negatives]
    tp = sum(r["abstained"] for r in negatives)
    fp = sum(r["abstained"] for r in answerable)
    quotes = sum(r["quotes"] for r in records)
    # Latency on the full index (the user's case), where the question was timed without the cache.
    latencies = [r["latency_ms"] for r in records if r.get("timed", True) and r["split"] != "removed"]
    suggested = threshold_for(pos_conf)
    return {
        "by_language": _by_language(answerable),
        "questions": {
            "answerable": n,
            "removed_gold": sum(r["split"] == "removed" for r in records),
            "unanswerable": sum(r["split"] == "unanswerable" for r in records),
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
            # Removed-gold questions answered with the gold string anyway (from another document):
            # an upper bound on the label noise of the simulation.
            "removed_answer_found": _share(
                sum(bool(r["answer_in_text"]) for r in negatives if r["split"] == "removed"),
                sum(r["split"] == "removed" for r in records),
            ),
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


def evaluate(
    items: Sequence[QAItem],
    embedder: Embedder,
    *,
    retriever: str = "hybrid",
    limit: int | None = None,
    distractors: str | Path | None = None,
    seed: int = DEFAULT_SEED,
    fraction: float = DEFAULT_FRACTION,
    k: int = K,
    settings: Settings | None = None,
    progress: bool = False,
    source: str = "qa",
    latency_sample: int | None = 200,
) -> dict[str, Any]:
    """Build the two indexes, ask the questions with each retriever, return metrics and records.

    Every context of ``items`` is indexed (open-domain retrieval); only the first ``limit`` questions
    are asked, and the no-answer split is drawn among their contexts. Embeddings are cached across
    questions (:class:`CachingEmbedder`) except for ``latency_sample`` questions per retriever, drawn
    with the seed, whose latency is the one reported (``None``: no cache, every question timed).
    """
    settings = settings or Settings.resolve()
    version = _code_version()  # the code that runs is the code imported now, not at the end
    if limit is not None and limit < 1:
        raise CorpusError(f"--limit {limit}: use a positive number of questions")
    asked = list(items[:limit]) if limit is not None else list(items)
    distractor_path = Path(distractors) if distractors else None
    if distractor_path is not None and not distractor_path.is_file():
        raise CorpusError(f"distractor file {str(distractor_path)!r} does not exist (a corpus .jsonl)")
    removed = set(no_answer_split(asked, fraction, seed))
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        root = Path(tmp)
        contexts = _write_corpus(root / "corpus-full", items, set(), distractor_path, source)
        kept = _write_corpus(root / "corpus-no-answer", items, removed, distractor_path, source)
        from .cli import progress_bar  # bars are drawn by the command line only

        on_progress, close = progress_bar(progress, "indexing contexts")
        try:
            full_report = update_index(
                root / "corpus-full", root / "index-full", embedder, chunker, on_progress=on_progress
            )
        finally:
            close()
        # The second index starts as a copy of the first, so syncing it only drops documents.
        shutil.copytree(root / "index-full", root / "index-no-answer")
        reduced_report = update_index(root / "corpus-no-answer", root / "index-no-answer", embedder, chunker)
        index_seconds = time.perf_counter() - started
        cached = CachingEmbedder(embedder)
        full = Engine.open(root / "index-full", embedder=cached)
        reduced = Engine.open(root / "index-no-answer", embedder=cached)
        default_fusion = full.retrieval_settings.fusion
        runs = retriever_runs(retriever, default_fusion)
        plan: list[tuple[Engine, QAItem, str]] = [
            (full, item, "answerable" if item.answerable else "unanswerable") for item in asked
        ]
        plan += [(reduced, item, "removed") for item in asked if item.doc_id in removed]
        if latency_sample is None or latency_sample >= len(plan):
            timed = set(range(len(plan)))
        else:
            timed = set(random.Random(seed).sample(range(len(plan)), max(latency_sample, 0)))
        cached.enabled = latency_sample is not None
        threshold = engine_thresholds(full)
        for engine in (full, reduced):  # first-question costs (lazy loads) are not a question's latency
            engine.ask(plan[0][1].question, k=k)
        results: dict[str, Any] = {}
        records: list[dict[str, Any]] = []
        for run in runs:
            for engine in (full, reduced):
                engine.retrieval_settings = dataclasses.replace(engine.retrieval_settings, fusion=run.fusion)
            run_records = []
            run_started = time.perf_counter()
            for i, (engine, item, split) in enumerate(_iterate(plan, progress, run.name)):
                cached.enabled = latency_sample is not None and i not in timed
                record, _ = _ask(engine, item, split, run, k)
                record["timed"] = i in timed
                run_records.append(record)
            cached.enabled = latency_sample is not None
            summary = _summarise(run_records, threshold)
            summary["fusion"] = run.fusion
            summary["seconds"] = round(time.perf_counter() - run_started, 1)
            results[run.name] = summary
            records += run_records
    return {
        "config": {
            "rag_version": version,
            "model_id": embedder.model_id,
            "k": k,
            "retriever": retriever,
            "default_fusion": default_fusion,
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "questions": len(asked),
            "answerable": sum(item.answerable for item in asked),
            "contexts": contexts,
            "distractors": str(distractor_path) if distractor_path else None,
            "documents_full": full_report.documents_total,
            "chunks_full": full_report.chunks_total,
            "documents_no_answer": reduced_report.documents_total,
            "no_answer": {
                "seed": seed,
                "fraction": fraction,
                "contexts_removed": len(removed),
                "contexts_kept": kept,
                "questions_removed": sum(item.doc_id in removed for item in asked),
                "removed_doc_ids": sorted(removed),
            },
            "threshold": threshold,
            "latency_sample": len(timed),
            "load_average": _load_average(),
            "index_seconds": round(index_seconds, 1),
        },
        "results": results,
        "records": records,
    }


def _code_version() -> str:
    """The git commit of the rag package (with ``+dirty`` when rag/ has local changes), if known."""
    import subprocess

    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _load_average() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _iterate(
    plan: Sequence[tuple[Engine, QAItem, str]], progress: bool, label: str
) -> Iterable[tuple[Engine, QAItem, str]]:
    if not progress:
        return plan
    from tqdm import tqdm

    return tqdm(plan, desc=label, unit="q", file=sys.stderr)


# ----- output --------------------------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def format_table(result: dict[str, Any]) -> str:
    """The markdown report: one table of metrics (shares in %) and the set-up below it."""
    cfg = result["config"]
    header = (
        "| retriever | R@1 | R@5 | R@10 | MRR@10 | answer in text | answer in 1st cit. | cit. verbatim "
        "| abstain (answerable) | abstain P | abstain R | AUC | p50 ms | p95 ms |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for name, s in result["results"].items():
        r, a, c, ab, lat = s["retrieval"], s["answers"], s["citations"], s["abstention"], s["latency_ms"]
        lines.append(
            f"| {name} | {_pct(r['recall@1'])} | {_pct(r['recall@5'])} | {_pct(r['recall@10'])} "
            f"| {_num(r['mrr@10'])} | {_pct(a['answer_in_text'])} | {_pct(a['answer_in_first_citation'])} "
            f"| {_pct(c['verbatim'])} | {_pct(ab['answerable_abstention'])} | {_pct(ab['precision'])} "
            f"| {_pct(ab['recall'])} | {_num(ab['auc'])} | {_num(lat['p50'], 0)} | {_num(lat['p95'], 0)} |"
        )
    na = cfg["no_answer"]
    timed = max((s["latency_ms"]["n"] for s in result["results"].values()), default=0)
    negatives = "removed-gold" + (" + unanswerable" if _has_unanswerable(result) else "")
    notes = [
        "",
        f"- model {cfg['model_id']}, k={cfg['k']}; {cfg['questions']} questions "
        f"({cfg['answerable']} answerable) over {cfg['contexts']} contexts"
        + (f" + distractors from {cfg['distractors']}" if cfg["distractors"] else "")
        + f" = {cfg['documents_full']} documents, {cfg['chunks_full']} chunks; shares in %.",
        f"- no-answer simulation: seed {na['seed']}, {na['contexts_removed']} contexts left out, "
        f"{na['questions_removed']} questions asked again without them; abstain P/R/AUC: answerable vs "
        f"{negatives} questions; engine threshold {_thresholds_text(cfg['threshold'])}.",
        f"- latency: {timed} full-index questions per retriever, timed without the embedding cache "
        f"(load average 1/5/15 min at the end: {cfg.get('load_average', '?')}).",
    ]
    for name, s in result["results"].items():
        languages = s.get("by_language", {})
        if len(languages) > 1:
            notes.append(
                f"- {name}, answerable questions by language: "
                + "; ".join(
                    f"{lang} ({g['answerable']}): R@1 {_pct(g['recall@1'])}, answer in text "
                    f"{_pct(g['answer_in_text'])}, in 1st cit. {_pct(g['answer_in_first_citation'])}, "
                    f"abstain {_pct(g['answerable_abstention'])}"
                    for lang, g in languages.items()
                )
                + "."
            )
    for name, s in result["results"].items():
        at = s["abstention"]["at_max_5pct"]
        if at is not None:
            notes.append(
                f"- {name}: threshold {at['threshold']:.3f} keeps abstention on answerable at "
                f"{_pct(at['answerable_abstention'])} % -> on no-answer questions "
                f"P {_pct(at['precision'])} %, R {_pct(at['recall'])} %."
            )
    return "\n".join(lines + notes)


def _thresholds_text(thresholds: dict[str, float]) -> str:
    text = f"{thresholds['same_language']:.3f}"
    cross = thresholds.get("cross_language")
    if cross is not None and cross != thresholds["same_language"]:
        text += f" ({cross:.3f} for cross-language questions)"
    return text


def _has_unanswerable(result: dict[str, Any]) -> bool:
    return any(s["questions"]["unanswerable"] for s in result["results"].values())


def main(args: Any) -> int:
    """``rag eval``: args ``qa``, ``limit``, ``retriever``, ``model``, ``json_out`` (and optionally
    ``distractors``, ``seed``)."""
    from .models import load_embedder

    items = load_qa(args.qa)
    retriever = getattr(args, "retriever", None) or "hybrid"
    if retriever not in RETRIEVER_CHOICES:
        raise CorpusError(f"unknown retriever {retriever!r}: use one of {', '.join(RETRIEVER_CHOICES)}")
    json_out = getattr(args, "json_out", None)
    if json_out and not Path(json_out).resolve().parent.is_dir():
        raise CorpusError(f"cannot write {json_out}: its folder does not exist")
    settings = Settings.resolve(model=getattr(args, "model", None))
    embedder = load_embedder(settings.model, settings.cache_dir)
    seed = getattr(args, "seed", None)
    result = evaluate(
        items,
        embedder,
        retriever=retriever,
        limit=getattr(args, "limit", None),
        distractors=getattr(args, "distractors", None),
        seed=DEFAULT_SEED if seed is None else int(seed),
        settings=settings,
        progress=sys.stderr.isatty(),
        source=f"qa:{Path(args.qa).name}",
    )
    result["config"]["qa"] = str(args.qa)
    result["config"]["limit"] = getattr(args, "limit", None)
    print(f"## rag eval: {Path(args.qa).name}\n")
    print(format_table(result))
    if json_out:
        try:
            Path(json_out).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        except OSError as exc:
            raise CorpusError(f"cannot write {json_out}: {exc}") from exc
        print(f"\nfull results: {json_out}")
    return 0


__all__ = [
    "QAItem",
    "abstention_at",
    "contains_answer",
    "context_id",
    "evaluate",
    "format_table",
    "load_qa",
    "main",
    "no_answer_split",
    "roc_auc",
    "threshold_for",
]
