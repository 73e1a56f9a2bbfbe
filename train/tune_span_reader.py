"""Choose the reader's span-model settings (``ReaderSettings.span_*``) on the tuning sets only.

The sets: PIAF's training half (its answerable questions and the removed-gold ones of the no-answer
simulation; with ``--fold``, its tuning fold only, read by a model trained without it:
``train/span_reader.py --hold-out-fold``), XQuAD's training half, and ``eval/dev_questions.jsonl``
over the Wikinews distractors.
Each question is retrieved once; every setting in the grid then composes from the same hits, and the
model's reads are cached by (question, sentence). The table printed is the one in
docs/tuning.md#the-span-reader.

    .venv/bin/python train/span_reader.py ../shared/data --hold-out-fold --out /tmp/fold.safetensors
    .venv/bin/python train/tune_span_reader.py ../shared/data --fold --weights /tmp/fold.safetensors
    .venv/bin/python train/tune_span_reader.py ../shared/data --cross   # span_qualify_cross, shipped model
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from rag import Engine, Settings, load_embedder  # noqa: E402
from rag.composer import ReaderComposer, ReaderSettings, calibrations_for  # noqa: E402
from rag.composer.extractive import sentence_text  # noqa: E402
from rag.composer.reader import combination_features  # noqa: E402
from rag.composer.span_model import Span, SpanModel  # noqa: E402
from rag.evaluation import CachingEmbedder, contains_answer, load_qa, no_answer_split  # noqa: E402
from rag.evaluation.harness import build_cut_index, build_indexes  # noqa: E402
from rag.evaluation.metrics import SHORT_KINDS, roc_auc, short_answer_matches  # noqa: E402
from rag.evaluation.qa import title_half, without_answer_sentences  # noqa: E402
from rag.text import detect_language  # noqa: E402
from train.span_reader import tuning_fold  # noqa: E402


class CachedReads(SpanModel):
    """The span model, each (question, sentence, sentence before) read once across the grid."""

    def __init__(self, inner: SpanModel) -> None:
        self.inner = inner
        self.memo: dict[tuple[str, str, str], Span] = {}
        self.sentences = 0  # asked to be read (cached or not), for the reads per question

    @property
    def context(self) -> bool:
        return self.inner.context

    def read(self, question: str, sentences: list[str], previous: list[str] | None = None) -> list[Span]:
        before = previous or [""] * len(sentences)
        self.sentences += len(sentences)
        keys = [(question, s, b) for s, b in zip(sentences, before, strict=True)]
        missing = [k for k in dict.fromkeys(keys) if k not in self.memo]
        found = self.inner.read(question, [k[1] for k in missing], [k[2] for k in missing])
        for k, span in zip(missing, found, strict=True):
            self.memo[k] = span
        return [self.memo[k] for k in keys]


def collect(
    emb: Any, path: Path, half: str | None, distractors: Path | None, fold: bool = False
) -> list[tuple[Any, str, Any]]:
    """Each asked question with its split and retrieval: "answerable" / "unanswerable" on the full
    index, "removed" (its paragraph left out: no_answer_split), and "sentence_gone" (one question a
    paragraph, its answer's sentence cut out of the paragraph: on the subject, the detail gone).
    The PIAF and XQuAD rows are of the whole half's (or fold's) paragraphs, not only the removed."""
    items = load_qa(path)
    asked = [i for i in items if half is None or title_half(i.title) == half]
    asked = [i for i in asked if not fold or tuning_fold(i.title)]
    removed = set(no_answer_split(asked))
    root = Path(tempfile.mkdtemp())
    built = build_indexes(root, items, removed, emb, Settings.resolve(), distractors)
    cached = CachingEmbedder(emb)
    full = Engine.open(built.full_dir, embedder=cached)
    reduced = Engine.open(built.reduced_dir, embedder=cached)
    rows = [
        (i, "answerable" if i.answerable else "unanswerable", full.retrieve(i.question, k=5)) for i in asked
    ]
    rows += [(i, "removed", reduced.retrieve(i.question, k=5)) for i in asked if i.doc_id in removed]
    cut = without_answer_sentences(asked)
    if cut:
        gone = Engine.open(
            build_cut_index(root, built.full_dir, cut, emb, Settings.resolve()), embedder=cached
        )
        rows += [(item, "sentence_gone", gone.retrieve(item.question, k=5)) for item, _ in cut.values()]
    return rows


def score(composer: ReaderComposer, rows: list[tuple[Any, str, Any]]) -> str:
    answerable = abstained = first = in_text = cites = answered = typed = short = shown = 0
    positive: list[float] = []
    negative: list[float] = []
    caught = removed = gone = cut = 0
    for item, split, found in rows:
        a = composer.compose(found.query, found.hits, found.store, found.vector)
        # on the subject, the answer's sentence gone: counted apart, not in the AUC (as in rag eval)
        if split == "sentence_gone":
            cut += 1
            gone += a.abstained
            continue
        if split == "answerable":
            answerable += 1
            abstained += a.abstained
            positive.append(-1.0 if a.abstained else a.confidence)
            first += bool(a.citations) and contains_answer(a.citations[0].quote, item.answers)
            in_text += contains_answer(a.text, item.answers)
            if not a.abstained:
                answered += 1
                cites += len(a.citations)
            if found.query.expected in SHORT_KINDS:
                typed += 1
                shown += a.short_answer is not None
                if a.short_answer is not None:
                    short += short_answer_matches(a.short_answer.text, item.answers)
        else:
            removed += 1
            caught += a.abstained
            negative.append(-1.0 if a.abstained else a.confidence)
    auc = roc_auc(positive, negative) if negative else float("nan")
    return (
        f"1st {100 * first / answerable:.1f} text {100 * in_text / answerable:.1f} "
        f"short {100 * short / max(typed, 1):.1f} of {100 * shown / max(typed, 1):.0f} "
        f"cit {cites / max(answered, 1):.2f} "
        f"abstain {100 * abstained / answerable:.1f} caught {caught}/{removed} auc {auc:.3f}"
        + (f" sentence-gone caught {gone}/{cut}" if cut else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--weights", type=Path, default=None, help="default: the shipped weights")
    parser.add_argument("--fold", action="store_true", help="only the training halves' tuning fold")
    parser.add_argument(
        "--qualify", action="store_true", help="only the sweep of span_qualify (the last rows), not the grid"
    )
    parser.add_argument(
        "--cross", action="store_true", help="only span_qualify_cross, from the English questions of eval/"
    )
    parser.add_argument("--rank", action="store_true", help="only the sweep of the candidates' order")
    parser.add_argument(
        "--off", action="store_true", help="only the sweep of span_qualify_off (questions off the subject)"
    )
    parser.add_argument(
        "--unsure", action="store_true", help="only span_unsure_rules (the rules' answer under span_shown)"
    )
    args = parser.parse_args()
    emb = load_embedder("multilingual-e5-small")
    if args.cross:
        cross_floor(emb, args.data / "wikinews_fr_2012.jsonl", args.weights)
        return
    sets = {
        "PIAF train": collect(emb, args.data / "piaf_v1.0_fr.jsonl", "train", None, args.fold),
        "XQuAD train": collect(emb, args.data / "xquad_en.jsonl", "train", None, args.fold),
        "dev": collect(emb, Path("eval/dev_questions.jsonl"), None, args.data / "wikinews_fr_2012.jsonl"),
    }
    cache = Settings.resolve().cache_dir
    span = CachedReads(SpanModel.load(cache, args.weights) if args.weights else SpanModel.load(cache))
    calibrations = calibrations_for("multilingual-e5-small")

    def reader(**changes: Any) -> ReaderComposer:
        # every candidate read at once, as the table's rows were run, unless a row says otherwise
        settings = dataclasses.replace(ReaderSettings(), **{"span_first": False, **changes})
        return ReaderComposer(calibrations, reader=settings, span=span)

    def run(name: str, composer: ReaderComposer) -> dict[str, str]:
        out = {}
        for label, rows in sets.items():
            span.sentences = 0
            out[label] = f"{score(composer, rows)} reads {span.sentences / len(rows):.2f}"
        for label, line in out.items():
            print(f"{name} | {label}: {line}", flush=True)
        return out

    run("rules only", ReaderComposer(calibrations))
    if args.qualify:
        qualify(run, reader, sets)
        return
    if args.rank:
        ranking(run, reader)
        return
    if args.off:
        off_subject(run, reader)
        return
    if args.unsure:
        for unsure in (False, True):
            name = f"kept settings, span_unsure_rules {unsure}"
            run(name, reader(span_first=True, span_unsure_rules=unsure))
        return
    # 1. the sentence order and the short answer, with the calibrated confidence alone
    firsts: dict[float, float] = {}
    for weight, shown in itertools.product((0.0, 0.1, 0.3, 1.0), (-4.0, -2.0, 0.0)):
        out = run(f"weight {weight} shown {shown}", reader(span_weight=weight, span_shown=shown))
        firsts[weight] = sum(float(line.split()[1]) for label, line in out.items() if "train" in label)
    weight = max(firsts, key=lambda w: firsts[w])
    # 2. the model's belief in the confidence: fitted on the training halves' answerable and
    # removed-gold questions, same language
    probe = reader(span_weight=weight)  # every candidate read: the best score among them
    combination = fit_confidence(probe, sets, ("removed", "unanswerable"))
    print(f"span_confidence = {tuple(round(x, 3) for x in combination)} (weight {weight})", flush=True)
    for threshold in (0.1, 0.15, 0.2, 0.3):
        run(
            f"weight {weight} confidence fitted, threshold {threshold}",
            reader(span_weight=weight, span_confidence=combination, span_threshold=threshold),
        )
    # 3. how sure the model must be for its span to be shown (precision against coverage)
    for shown in (0.0, 2.0, 4.0):
        kept = {"span_confidence": combination, "span_threshold": 0.15}
        for typed in (False, True):
            name = f"weight {weight} kept confidence, shown {shown}, typed {typed}"
            run(name, reader(span_weight=weight, span_shown=shown, span_typed=typed, **kept))
    # 4. how many candidates are read, and whether the best one alone first
    for first, candidates in ((False, 4), (True, 4), (True, 3), (True, 2), (True, 1)):
        name = f"kept settings, span_first {first}, span_candidates {candidates}"
        run(name, reader(span_first=first, span_candidates=candidates))
    qualify(run, reader, sets)


def fit_confidence(
    probe: ReaderComposer, sets: dict[str, Any], negatives: tuple[str, ...]
) -> tuple[float, ...]:
    """``span_confidence``: class-balanced logistic regression of the training halves' answerable
    questions against those of the ``negatives`` splits, on the logit of the calibrated confidence
    and the model's best score among the candidates (same language)."""
    features, labels = [], []
    for label, rows in sets.items():
        if "train" not in label:
            continue
        for _item, split, found in rows:
            if split != "answerable" and split not in negatives:
                continue
            candidates = probe._candidates(found.query, found.hits, found.store, found.vector)
            if not candidates:
                continue
            confidence = probe._confidence(found.query, candidates, found.hits, found.store, False)
            _, read = probe._read(candidates, found.query, found.store)
            features.append(list(combination_features(confidence, max(r.score for r in read.values()))))
            labels.append(split == "answerable")
    fit = LogisticRegression(class_weight="balanced").fit(np.array(features), np.array(labels))
    return (float(fit.coef_[0][0]), float(fit.coef_[0][1]), float(fit.intercept_[0]))


# The English questions about French articles that set the cross-language settings (not held out).
CROSS_TUNING = ("seed_questions", "wikinews_questions", "wikinews_en_questions", "dev_questions")


def cross_floor(emb: Any, distractors: Path, weights: Path | None) -> None:
    """``span_qualify_cross``: the model's best read over the candidates of each English answerable
    question of :data:`CROSS_TUNING` (over the Wikinews articles), every candidate of the pool read;
    the value is the whole number under the lowest, so that none of them abstains for it."""
    cache = Settings.resolve().cache_dir
    span = SpanModel.load(cache, weights) if weights else SpanModel.load(cache)
    probe = ReaderComposer(calibrations_for("multilingual-e5-small"),
                           reader=ReaderSettings(span_first=False), span=span)  # fmt: skip
    best: list[float] = []
    for name in CROSS_TUNING:
        for _item, split, found in collect(emb, Path("eval") / f"{name}.jsonl", None, distractors):
            candidates = probe._candidates(found.query, found.hits, found.store, found.vector)
            if split != "answerable" or not candidates:
                continue
            if found.query.language == detect_language(sentence_text(found.store, candidates[0])):
                continue  # same language
            _, read = probe._read(candidates, found.query, found.store)
            best.append(max(r.score for r in read.values()))
    best.sort()
    print(f"{len(best)} English answerable questions; lowest best reads {[round(b, 1) for b in best[:5]]}")
    print(f"span_qualify_cross = {math.floor(best[0])}")


def ranking(run: Any, reader: Any) -> None:
    """6. how the model's belief orders the candidates: its weight, the temperature of its sigmoid
    (over 1, a surer read still counts where both are sure), and how many candidates, how far below
    the best, it reads; with the kept settings otherwise, reading one at a time."""
    for margin, candidates in ((0.1, 4), (0.2, 6)):
        for weight, temperature in itertools.product((0.05, 0.1, 0.2, 0.3), (1.0, 4.0, 8.0)):
            if weight > margin:
                continue
            name = f"margin {margin} candidates {candidates} weight {weight} temperature {temperature}"
            run(name, reader(span_first=True, span_margin=margin, span_candidates=candidates,
                             span_weight=weight, span_temperature=temperature))  # fmt: skip


def off_subject(run: Any, reader: Any) -> None:
    """7. how high the model must score a sentence for it to answer when the closest article is not
    on the subject (``span_qualify_off``), with the kept settings, reading one at a time."""
    for score in (None, -6.0, -4.0, -2.0, 0.0, 2.0):
        run(f"kept settings, span_qualify_off {score}", reader(span_first=True, span_qualify_off=score))


def qualify(run: Any, reader: Any, sets: dict[str, Any]) -> None:
    """5. how high the model must score a sentence for it to answer (``span_qualify``), with the
    kept settings, reading one at a time; and the confidence threshold that then keeps answerable
    abstention where it was."""
    for score, threshold in itertools.product((None, -8.0, -6.0, -4.0, -2.0), (0.15, 0.1)):
        name = f"kept settings, span_qualify {score}, threshold {threshold}"
        run(name, reader(span_first=True, span_qualify=score, span_threshold=threshold))
    # the same combination fitted with the sentence-gone questions as negatives too
    probe = reader(span_first=False)
    combination = fit_confidence(probe, sets, ("removed", "unanswerable", "sentence_gone"))
    print(f"span_confidence with sentence-gone = {tuple(round(x, 3) for x in combination)}", flush=True)
    for threshold in (0.1, 0.15, 0.2, 0.3, 0.4):
        name = f"kept settings, confidence fitted with sentence-gone, threshold {threshold}"
        run(name, reader(span_first=True, span_confidence=combination, span_threshold=threshold))


if __name__ == "__main__":
    main()
