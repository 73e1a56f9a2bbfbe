"""Fit the abstention calibration of ``rag/composer/calibration.py``, and check the composer's weights.

    python bench/fit_calibration.py               # fit on PIAF, print the table, compare with the shipped one
    python bench/fit_calibration.py --sweep        # also sweep the composer's weights around the shipped ones
    python bench/fit_calibration.py --limit 400    # a quick run on the first 400 questions

What it does (docs/tuning.md#abstention says why):

1. PIAF's no-answer simulation, as ``rag eval`` builds it (seed 13: 10 % of the contexts left out of a
   second index): the evidence of every answerable question on the full index (label 1) and of every
   removed-gold question on the other index (label 0), as the composer computes it
   (:class:`rag.composer.calibration.Features`).
2. Same-language calibration: class-balanced logistic regression on the five features. Threshold: the
   highest that keeps abstention on the answerable questions at or under 5 %, rounded down to 0.01.
3. Cross-language calibration (English questions about French articles share no terms with them):
   the same fit without the two lexical features, its bias raised by its dense weight times the
   median similarity gap between the French and the English wording of the same question to the
   sentence that answers it (the French/English pairs of ``eval/``). Threshold: the highest that keeps
   abstention at or under 5 % on the English answerable questions of ``eval/``, asked over the seed
   article and the 100 Wikinews articles, rounded down to 0.01.

The fit is deterministic (Newton's method, no random start): the same data gives the same numbers.
``--sweep`` moves one composer weight at a time from the shipped values and keeps a move only if it
raises "answer in text" on PIAF by at least half a point without lengthening the answers.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from rag import Engine, Settings, load_embedder, update_index  # noqa: E402
from rag.composer import ComposerSettings, ExtractiveComposer, ReaderComposer  # noqa: E402
from rag.composer.calibration import (  # noqa: E402
    CALIBRATIONS,
    FEATURES,
    LEXICAL_FEATURES,
    Calibration,
    Calibrations,
    Features,
    fit_logistic,
)
from rag.embedders import Embedder  # noqa: E402
from rag.evaluation import (  # noqa: E402
    DEFAULT_SEED,
    CachingEmbedder,
    QAItem,
    contains_answer,
    load_qa,
    no_answer_split,
    roc_auc,
)
from rag.evaluation.harness import K, build_indexes  # noqa: E402
from rag.evaluation.qa import title_half  # noqa: E402
from rag.text import detect_language  # noqa: E402

MAX_ABSTENTION = 0.05
EVAL = ROOT / "eval"
ENGLISH_SETS = ("seed_questions.jsonl", "wikinews_questions.jsonl", "wikinews_en_questions.jsonl")
PAIR_SETS = ("seed_questions.jsonl", "wikinews_questions.jsonl")
CROSS_FEATURES = tuple(f for f in FEATURES if f not in LEXICAL_FEATURES)


@dataclass
class Evidence:
    """Feature rows of answerable (label 1) and removed-gold (label 0) questions, with their context."""

    rows: list[list[float]]
    labels: list[int]
    groups: list[str]  # the question's context id, for cross-validation by context
    no_candidates: int  # answerable questions with no candidate sentence (confidence 0)
    retrieved: list[tuple[QAItem, object]]  # (item, rag.engine.Retrieval) of the answerable ones
    ruled_out: int = 0  # answerable questions the reader abstains on whatever the confidence


def collect(
    items: Sequence[QAItem],
    embedder: Embedder,
    settings: Settings,
    seed: int = DEFAULT_SEED,
    half: str | None = "train",
) -> Evidence:
    """The evidence of PIAF's no-answer simulation (see the module docstring, step 1): every context
    is indexed, the questions of the ``half`` (by title) are asked."""
    asked = [item for item in items if half is None or title_half(item.title) == half]
    removed = set(no_answer_split(asked, seed=seed))
    evidence = Evidence([], [], [], 0, [])
    never = Calibration(0, 0, 0, 0, 0, 0, threshold=-1.0)  # abstains only by the reader's own rules
    rules = ReaderComposer(Calibrations(never, never))
    with tempfile.TemporaryDirectory(prefix="rag-fit-") as tmp:
        built = build_indexes(Path(tmp), items, removed, embedder, settings)
        cached = CachingEmbedder(embedder)
        full = Engine.open(built.full_dir, embedder=cached)
        reduced = Engine.open(built.reduced_dir, embedder=cached)
        rules.lexical = full.analyzer
        plan = [(full, item, 1) for item in asked if item.answerable]
        plan += [(reduced, item, 0) for item in asked if item.doc_id in removed]
        for engine, item, label in plan:
            found = engine.retrieve(item.question, k=K)
            composer = engine.composer
            assert isinstance(composer, ExtractiveComposer)
            features = composer.features(found.query, found.hits, found.store, found.vector)
            if label:
                evidence.retrieved.append((item, found))
                evidence.ruled_out += rules.compose(
                    found.query, found.hits, found.store, found.vector
                ).abstained
            if features is None:
                evidence.no_candidates += label
                continue
            evidence.rows.append(features.vector())
            evidence.labels.append(label)
            evidence.groups.append(item.doc_id)
    return evidence


def _columns(names: Sequence[str]) -> list[int]:
    return [FEATURES.index(n) for n in names]


def fit(evidence: Evidence, names: Sequence[str]) -> tuple[dict[str, float], float]:
    """Weights (by feature name, 0 for those left out) and bias of the class-balanced fit."""
    x = np.asarray(evidence.rows, dtype=np.float64)[:, _columns(names)]
    w, b = fit_logistic(x, np.asarray(evidence.labels), balanced=True)
    weights = {n: 0.0 for n in FEATURES}
    weights.update({n: round(float(v), 3) for n, v in zip(names, w, strict=True)})
    return weights, round(b, 3)


def cross_validated_auc(evidence: Evidence, names: Sequence[str], folds: int = 5) -> float:
    """ROC AUC of the fit, each context's questions scored by a model fitted without that context."""
    x = np.asarray(evidence.rows, dtype=np.float64)[:, _columns(names)]
    y = np.asarray(evidence.labels)
    contexts = sorted(set(evidence.groups))
    fold_of = {c: i % folds for i, c in enumerate(contexts)}
    fold = np.array([fold_of[g] for g in evidence.groups])
    scores = np.zeros(len(y))
    for k in range(folds):
        w, b = fit_logistic(x[fold != k], y[fold != k], balanced=True)
        scores[fold == k] = x[fold == k] @ w + b
    return float(roc_auc(scores[y == 1].tolist(), scores[y == 0].tolist()) or 0.0)


def confidences(calibration: Calibration, evidence: Evidence, label: int) -> list[float]:
    """The confidences of the answerable (``label`` 1) or removed-gold questions under ``calibration``."""
    rows = [row for row, y in zip(evidence.rows, evidence.labels, strict=True) if y == label]
    return [calibration.confidence(Features(*row)) for row in rows] + [0.0] * (evidence.no_candidates * label)


def floor2(value: float) -> float:
    return math.floor(value * 100) / 100


def language_gap(embedder: Embedder) -> tuple[float, int]:
    """Median over the FR/EN question pairs of eval/ of cos(French, gold sentence) minus
    cos(English, gold sentence), and the number of pairs."""
    from rag.evaluation import context_id

    items = [item for name in PAIR_SETS for item in load_qa(EVAL / name) if item.answerable]
    pairs: dict[tuple[str, str, int], dict[str, QAItem]] = {}
    for item in items:
        key = (item.context, item.answers[0], item.answer_starts[0])
        pairs.setdefault(key, {})[detect_language(item.question)] = item
    matched = [(p["fr"], p["en"]) for p in pairs.values() if set(p) == {"fr", "en"}]
    with tempfile.TemporaryDirectory(prefix="rag-fit-pairs-") as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        rows = {item.doc_id: {"id": item.doc_id, "title": item.title, "text": item.context} for item in items}
        (corpus / "contexts.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows.values()), encoding="utf-8"
        )
        update_index(corpus, Path(tmp) / "index", embedder)
        store = Engine.open(Path(tmp) / "index", embedder=embedder).store
        gaps = []
        for fr, en in matched:
            start = fr.answer_starts[0]
            sentence = next(
                s for s in store.doc_sentences(context_id(fr.context)) if s.start <= start < s.end
            )
            gold = store.sentence_matrix([sentence.id])[0]
            vectors = embedder.embed_queries([fr.question, en.question])
            gaps.append(float(vectors[0] @ gold - vectors[1] @ gold))
    return statistics.median(gaps), len(gaps)


def english_confidences(embedder: Embedder, calibrations: Calibrations) -> tuple[list[float], int]:
    """The confidence of every English answerable question of eval/ over the seed + Wikinews corpus
    that the reader's rules do not abstain on, and how many they abstain on."""
    import shutil

    english = [
        item
        for name in ENGLISH_SETS
        for item in load_qa(EVAL / name)
        if item.answerable and detect_language(item.question) == "en"
    ]
    with tempfile.TemporaryDirectory(prefix="rag-fit-en-") as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "seeds", corpus)
        shutil.copy(DATA / "wikinews_fr_2012.jsonl", corpus / "wikinews.jsonl")
        engine = Engine.open(Path(tmp) / "index", corpus_dir=corpus, embedder=embedder, build=True)
        composer = ExtractiveComposer(calibrations, lexical=engine.analyzer)
        never = Calibration(0, 0, 0, 0, 0, 0, threshold=-1.0)
        rules = ReaderComposer(Calibrations(never, never), lexical=engine.analyzer)
        out, ruled_out = [], 0
        for item in english:
            found = engine.retrieve(item.question, k=K)
            if rules.compose(found.query, found.hits, found.store, found.vector).abstained:
                ruled_out += 1
                continue
            out.append(composer.compose(found.query, found.hits, found.store, found.vector).confidence)
    return out, ruled_out


def sweep(evidence: Evidence, start: ComposerSettings, calibrations: Calibrations) -> list[str]:
    """Coordinate search over the composer's weights from ``start`` (see the module docstring)."""
    grid = {
        "passages": [3, 4, 5],
        "margin": [0.06, 0.08, 0.1, 0.12, 0.15],
        "lexical_weight": [0.0, 0.05, 0.1, 0.2],
        "rank_weight": [0.0, 0.05, 0.1],
        "type_weight": [0.0, 0.02, 0.04, 0.08],
    }

    def measure(settings: ComposerSettings) -> tuple[float, float]:
        composer = ExtractiveComposer(calibrations, settings)
        hits, cited, answered = 0, 0, 0
        for item, found in evidence.retrieved:
            answer = composer.compose(found.query, found.hits, found.store, found.vector)  # type: ignore[attr-defined]
            hits += contains_answer(answer.text, item.answers)
            if not answer.abstained:
                answered += 1
                cited += len(answer.citations)
        return 100 * hits / len(evidence.retrieved), cited / max(answered, 1)

    lines = ["| setting | value | answer in text % | citations per answer |", "|---|---|---|---|"]
    current = start
    best = measure(current)
    lines.append(f"| (shipped) | | {best[0]:.2f} | {best[1]:.2f} |")
    for name, values in grid.items():
        for value in values:
            if value == getattr(current, name):
                continue
            trial = replace(current, **{name: value})
            score = measure(trial)
            lines.append(f"| {name} | {value} | {score[0]:.2f} | {score[1]:.2f} |")
            if score[0] >= best[0] + 0.5 and score[1] <= best[1]:
                current, best = trial, score
    kept = {f.name: getattr(current, f.name) for f in fields(ComposerSettings)}
    lines.append(f"\nkept: {kept} -> answer in text {best[0]:.2f} %, {best[1]:.2f} citations per answer")
    return lines


def threshold_within(confidences: Sequence[float], ruled_out: int, total: int) -> float:
    """The highest threshold (rounded down to 0.01) at which at most 5 % of the ``total`` answerable
    questions abstain, counting the ``ruled_out`` ones the reader abstains on whatever their confidence
    (``confidences`` may include them: a question both ruled out and under the threshold counts once
    against the allowance twice, which only errs on the side of answering)."""
    allowed = max(0, math.floor(MAX_ABSTENTION * total) - ruled_out)
    ordered = sorted(confidences)
    return floor2(ordered[min(allowed, len(ordered) - 1)]) if ordered else 0.0


def calibrate(
    evidence: Evidence, gap: float, english: Sequence[float] | None = None, english_ruled_out: int = 0
) -> Calibrations:
    """Both calibrations from the evidence, the language gap and (for the cross-language threshold)
    the English questions' confidences (those the reader's rules do not abstain on)."""
    same_w, same_b = fit(evidence, FEATURES)
    same = Calibration(**same_w, bias=same_b, threshold=0.0)
    answerable = confidences(same, evidence, 1)
    same = replace(same, threshold=threshold_within(answerable, evidence.ruled_out, len(answerable)))
    cross_w, cross_b = fit(evidence, CROSS_FEATURES)
    cross = Calibration(**cross_w, bias=round(cross_b + cross_w["dense"] * gap, 3), threshold=0.0)
    if english:
        total = len(english) + english_ruled_out
        cross = replace(cross, threshold=threshold_within(english, english_ruled_out, total))
    return Calibrations(same, cross)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--qa", type=Path, default=DATA / "piaf_v1.0_fr.jsonl")
    parser.add_argument("--limit", type=int, default=None, help="first N questions only")
    parser.add_argument("--model", default="multilingual-e5-small")
    parser.add_argument("--sweep", action="store_true", help="also sweep the composer's weights")
    args = parser.parse_args(argv)
    settings = Settings.resolve()
    embedder = load_embedder(args.model)
    items = load_qa(args.qa, limit=args.limit)
    evidence = collect(items, embedder, settings)
    positives, negatives = sum(evidence.labels), len(evidence.labels) - sum(evidence.labels)
    print(f"evidence (PIAF's train half): {positives} answerable, {negatives} removed-gold questions "
          f"({evidence.no_candidates} answerable without any candidate, {evidence.ruled_out} the reader's "
          "rules abstain on)")  # fmt: skip
    gap, pairs = language_gap(embedder)
    print(f"language gap: median {gap:.4f} over {pairs} FR/EN pairs")
    provisional = calibrate(evidence, gap)
    english, english_ruled_out = english_confidences(embedder, provisional)
    fitted = calibrate(evidence, gap, english, english_ruled_out)
    runs = (
        ("same-language", fitted.same_language, FEATURES),
        ("cross-language", fitted.cross_language, CROSS_FEATURES),
    )
    for label, cal, names in runs:
        pos, neg = confidences(cal, evidence, 1), confidences(cal, evidence, 0)
        auc, cv = roc_auc(pos, neg) or 0.0, cross_validated_auc(evidence, names)
        below = 100 * sum(c < cal.threshold for c in pos) / len(pos)
        removed = 100 * sum(c < cal.threshold for c in neg) / max(len(neg), 1)
        print(
            f"{label}: AUC {auc:.3f} (5-fold by context {cv:.3f}); threshold {cal.threshold:.2f} abstains on "
            f"{below:.1f} % of answerable PIAF questions, {removed:.1f} % of removed-gold ones"
        )
    low = ", ".join(f"{c:.3f}" for c in sorted(english)[:4])
    under = sum(c < fitted.cross_language.threshold for c in english)
    print(
        f"English answerable questions of eval/: {len(english)}, lowest confidences {low}; {under} under "
        f"{fitted.cross_language.threshold:.2f}"
    )
    print("\nCALIBRATIONS entry:")
    print(f"    same_language={fitted.same_language},\n    cross_language={fitted.cross_language},")
    shipped = CALIBRATIONS.get("multilingual-e5-small")
    same = shipped == fitted
    print("\nmatches the shipped calibration" if same else f"\ndiffers from the shipped one: {shipped}")
    if args.sweep:
        print("\ncomposer weights, one at a time from the shipped ones (answerable PIAF questions):")
        print("\n".join(sweep(evidence, ComposerSettings(), fitted)))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
