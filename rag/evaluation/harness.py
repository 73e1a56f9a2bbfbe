"""The ``rag eval`` harness: index a QA file's contexts, ask every question, measure.

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
4. Sentence-gone simulation: in a third index (a copy of the first, only the changed contexts
   embedded) each removed context is replaced by its text without the sentence holding the answer
   of its first question (:func:`~rag.evaluation.qa.without_answer_sentences`), and that question
   is asked there: the article is on the subject, the detail is gone, and the reader should say so.

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
  questions at or under 5 %, with the precision and recall it would give; apart (not in these), the
  sentence-gone questions abstained on, and as "detail missing";
- latency per question on the full index, p50 and p95, in milliseconds, over a sample of questions
  (200 a retriever, drawn with the seed) asked without the embedding cache the other questions use
  (:class:`CachingEmbedder`: the answers are the same, the evaluation many times faster).

``--json FILE`` writes the set-up, every metric (with the confidence quantiles of both groups) and
one record per question asked.

Progress is reported as :class:`~rag.types.Progress` events (the embedding of the contexts, then
``"ask"`` per question); the command line draws them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..chunking import Chunker
from ..config import Settings
from ..embedders.base import Embedder
from ..engine import Engine
from ..errors import CorpusError, SettingsError
from ..indexing import IndexReport, update_index
from ..retrieval import FUSIONS
from ..types import Answer, Progress, ProgressFn
from .metrics import contains_answer, document_ranks, short_answer_matches, summarise
from .qa import (
    DEFAULT_FRACTION,
    DEFAULT_SEED,
    QAItem,
    context_id,
    no_answer_split,
    title_half,
    without_answer_sentences,
)

log = logging.getLogger(__name__)

K = 10  # passages retrieved per question
RETRIEVER_CHOICES = ("bm25", "dense", "hybrid", "all")


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
        raise SettingsError(f"unknown retriever {choice!r}: use one of {', '.join(RETRIEVER_CHOICES)}")
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


@dataclass(frozen=True)
class BuiltIndexes:
    """The two indexes of an evaluation: every context (``full_dir``), and all but the removed ones."""

    full_dir: Path
    reduced_dir: Path
    full: IndexReport
    reduced: IndexReport
    contexts: int  # contexts indexed in the full index
    kept: int  # contexts indexed in the reduced one


def build_indexes(
    root: Path,
    items: Sequence[QAItem],
    removed: set[str],
    embedder: Embedder,
    settings: Settings,
    distractors: Path | None = None,
    source: str = "qa",
    on_progress: ProgressFn | None = None,
) -> BuiltIndexes:
    """Index every context of ``items`` (and the distractors) under ``root``, then a copy without
    the ``removed`` contexts (syncing the copy only drops documents: nothing is embedded twice)."""
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    contexts = _write_corpus(root / "corpus-full", items, set(), distractors, source)
    kept = _write_corpus(root / "corpus-no-answer", items, removed, distractors, source)
    full = update_index(root / "corpus-full", root / "index-full", embedder, chunker, on_progress=on_progress)
    shutil.copytree(root / "index-full", root / "index-no-answer")
    reduced = update_index(root / "corpus-no-answer", root / "index-no-answer", embedder, chunker)
    return BuiltIndexes(root / "index-full", root / "index-no-answer", full, reduced, contexts, kept)


def build_cut_index(
    root: Path, full_dir: Path, cut: dict[str, tuple[QAItem, str]], embedder: Embedder, settings: Settings
) -> Path:
    """A copy of the full index (built under ``root`` by :func:`build_indexes`) where each context of
    ``cut`` is replaced by its text without the answer's sentence
    (:func:`~rag.evaluation.qa.without_answer_sentences`): only those are embedded."""
    corpus, index = root / "corpus-sentence-gone", root / "index-sentence-gone"
    shutil.copytree(root / "corpus-full", corpus)
    shutil.copytree(full_dir, index)
    contexts = corpus / "qa_contexts.jsonl"
    if contexts.is_file() and cut:
        rows = [json.loads(line) for line in contexts.read_text(encoding="utf-8").splitlines()]
        for row in rows:
            if row["id"] in cut:
                row["id"], row["text"] = context_id(cut[row["id"]][1]), cut[row["id"]][1]
        contexts.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        update_index(corpus, index, embedder, Chunker(settings.chunk_size, settings.chunk_overlap))
    return index


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
    """Copy the distractor corpus without the articles that are one of the QA contexts or a copy of
    one (:mod:`rag.store.copies`: a context cut from a distractor article), else the gold would be
    indexed twice, and would survive its removal in the no-answer index."""
    from ..corpus import make_document
    from ..store.copies import CopyIndex

    try:
        lines = source.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"distractor file {source}: cannot read it as UTF-8 text ({exc})") from exc
    texts: dict[int, str] = {}
    for n, line in enumerate(lines):
        try:
            text = json.loads(line).get("text")
        except (ValueError, AttributeError):
            text = None  # not an article: the corpus loader reports it
        if isinstance(text, str):
            texts[n] = text
    docs = [make_document(f"context-{i}", text) for i, text in enumerate(sorted(contexts))]
    docs += [make_document(f"line-{n}", text) for n, text in texts.items()]
    copies = CopyIndex()
    copies.regroup({d.id: d for d in docs})

    def copies_a_context(n: int) -> bool:
        return any(other.startswith("context-") for other in copies.copies_of(f"line-{n}"))

    kept = [
        line
        for n, line in enumerate(lines)
        if not (n in texts and (texts[n] in contexts or copies_a_context(n)))
    ]
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
    quoted = len(quotes)
    short = answer.short_answer
    if short is not None:  # the short answer is quoted too, and must be verbatim like the others
        quoted += 1
        verbatim += engine.document(short.doc_id).text[short.start : short.end] == short.text
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
        "reason": answer.reason,
        "kind": engine.questions.analyse(item.question).expected,
        "short_answer": short.text if short is not None else None,
        "short_ok": short is not None and item.answerable and short_answer_matches(short.text, item.answers),
        "quotes": quoted,
        "verbatim_quotes": verbatim,
    }
    return record, answer


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
    on_progress: ProgressFn | None = None,
    source: str = "qa",
    latency_sample: int | None = 200,
    half: str | None = None,
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
        raise SettingsError(f"--limit {limit}: use a positive number of questions")
    asked = list(items[:limit]) if limit is not None else list(items)
    if half is not None:  # every context is indexed; only the half's questions are asked
        if half not in ("train", "test"):
            raise SettingsError(f"--half {half!r}: use train or test")
        asked = [item for item in asked if title_half(item.title) == half]
        if not asked:
            raise SettingsError(f"--half {half}: no question of the file is in that half")
    distractor_path = Path(distractors) if distractors else None
    if distractor_path is not None and not distractor_path.is_file():
        raise CorpusError(f"distractor file {str(distractor_path)!r} does not exist (a corpus .jsonl)")
    removed = set(no_answer_split(asked, fraction, seed))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        cached = CachingEmbedder(embedder)
        built = build_indexes(
            Path(tmp), items, removed, embedder, settings, distractor_path, source, on_progress
        )
        full_report, reduced_report, contexts, kept = built.full, built.reduced, built.contexts, built.kept
        cut = without_answer_sentences(asked, removed)
        cut_dir = build_cut_index(Path(tmp), built.full_dir, cut, embedder, settings)
        index_seconds = time.perf_counter() - started
        full = Engine.open(embedder=cached, settings=dataclasses.replace(settings, index_dir=built.full_dir))
        reduced = Engine.open(
            embedder=cached, settings=dataclasses.replace(settings, index_dir=built.reduced_dir)
        )
        gone = Engine.open(embedder=cached, settings=dataclasses.replace(settings, index_dir=cut_dir))
        default_fusion = full.retrieval_settings.fusion
        runs = retriever_runs(retriever, default_fusion)
        plan: list[tuple[Engine, QAItem, str]] = [
            (full, item, "answerable" if item.answerable else "unanswerable") for item in asked
        ]
        plan += [(reduced, item, "removed") for item in asked if item.doc_id in removed]
        plan += [(gone, item, "sentence_gone") for item, _ in cut.values()]
        if latency_sample is None or latency_sample >= len(plan):
            timed = set(range(len(plan)))
        else:
            timed = set(random.Random(seed).sample(range(len(plan)), max(latency_sample, 0)))
        cached.enabled = latency_sample is not None
        threshold = engine_thresholds(full)
        engines = (full, reduced, gone)
        for engine in engines:  # first-question costs (lazy loads) are not a question's latency
            engine.ask(plan[0][1].question, k=k)
        results: dict[str, Any] = {}
        records: list[dict[str, Any]] = []
        for run in runs:
            for engine in engines:
                engine.retrieval_settings = dataclasses.replace(engine.retrieval_settings, fusion=run.fusion)
            run_records = []
            run_started = time.perf_counter()
            for i, (engine, item, split) in enumerate(plan):
                if on_progress is not None:
                    on_progress(Progress("ask", i, len(plan), run.name))
                cached.enabled = latency_sample is not None and i not in timed
                record, _ = _ask(engine, item, split, run, k)
                record["timed"] = i in timed
                run_records.append(record)
            if on_progress is not None:
                on_progress(Progress("ask", len(plan), len(plan), run.name))
            cached.enabled = latency_sample is not None
            summary = summarise(run_records, threshold)
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
            "composer": settings.composer,
            "half": half,
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
                "questions_sentence_gone": len(cut),
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
