"""Answerability: how a composer turns its evidence into ``Answer.confidence``, and the threshold
under which it abstains; one pair of calibrations per embedder, keyed by its registry entry.

A calibrated confidence is ``sigmoid(w · features + bias)``, fitted by class-balanced logistic
regression (:func:`fit_logistic`) on PIAF's no-answer simulation. Questions in another language
than the passages (English about French articles) share no terms with them, so their coverage
says nothing: they get a second calibration without the lexical features. ``bench/fit_calibration.py``
fits both and prints this table; how the thresholds were set, and what was measured, is in
``docs/tuning.md#abstention``.

>>> pair = calibrations_for("multilingual-e5-small")
>>> evidence = Features(dense=0.88, coverage=0.6, top_coverage=0.8, missing=0, gap=0.01)
>>> round(pair.same_language.confidence(evidence), 3)
0.876
>>> calibrations_for(None).same_language.logistic
False
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FEATURES = ("dense", "coverage", "top_coverage", "missing", "gap")
LEXICAL_FEATURES = ("coverage", "top_coverage")


@dataclass(frozen=True)
class Features:
    """The evidence for one question: the best sentence's dense similarity (``dense``) and share of
    the question's content terms (``coverage``); the share of those terms found anywhere in the top
    passage (``top_coverage``); the number of the question's names and numbers found in none of the
    candidate sentences (``missing``); the dense score gap between the first two hits (``gap``)."""

    dense: float
    coverage: float
    top_coverage: float
    missing: float
    gap: float

    def vector(self) -> list[float]:
        return [float(getattr(self, name)) for name in FEATURES]


@dataclass(frozen=True)
class Calibration:
    """Weights of the features, a bias and the abstention threshold. ``logistic=False`` is a plain
    linear score (for embedders nobody calibrated)."""

    dense: float
    coverage: float
    top_coverage: float
    missing: float
    gap: float
    bias: float
    threshold: float
    logistic: bool = True

    def confidence(self, f: Features) -> float:
        z = (
            self.dense * f.dense
            + self.coverage * f.coverage
            + self.top_coverage * f.top_coverage
            + self.missing * f.missing
            + self.gap * f.gap
            + self.bias
        )
        return float(1.0 / (1.0 + math.exp(-z))) if self.logistic else float(z)


@dataclass(frozen=True)
class Calibrations:
    """One calibration for questions in the passages' language, one for the others."""

    same_language: Calibration
    cross_language: Calibration

    def pick(self, cross_language: bool) -> Calibration:
        return self.cross_language if cross_language else self.same_language


# Keyed by the registry entry's `calibration` (rag.embedders.registry.MODELS); every backend whose
# vectors match torch's shares it. Printed by `python bench/fit_calibration.py`, which fits the
# weights and sets the thresholds as docs/tuning.md#abstention says.
CALIBRATIONS: dict[str, Calibrations] = {
    "multilingual-e5-small": Calibrations(
        same_language=Calibration(
            dense=31.119, coverage=0.721, top_coverage=2.763, missing=-0.925, gap=12.817, bias=-28.199,
            threshold=0.17,
        ),
        cross_language=Calibration(
            dense=36.612, coverage=0.0, top_coverage=0.0, missing=-1.451, gap=12.687, bias=-29.196,
            threshold=0.43,
        ),
    ),
}  # fmt: skip

# Embedders nobody calibrated (English MiniLM, the test-only hash embedder, local folders) use a
# plain score with a fixed threshold: it keeps the fake embedder's unit tests meaningful but is not
# a measured operating point.
_PLAIN = Calibration(dense=1.0, coverage=0.5, top_coverage=0.0, missing=-0.15, gap=0.0, bias=0.0,
                     threshold=0.45, logistic=False)  # fmt: skip
UNCALIBRATED = Calibrations(same_language=_PLAIN, cross_language=_PLAIN)


def calibrations_for(key: str | None) -> Calibrations:
    """The calibrations of a registry entry's key (:data:`UNCALIBRATED` for None or an unknown key)."""
    return CALIBRATIONS.get(key or "", UNCALIBRATED)


def fit_logistic(
    x: np.ndarray, y: np.ndarray, balanced: bool = True, l2: float = 1e-6, iterations: int = 100
) -> tuple[np.ndarray, float]:
    """Weights and bias of a logistic regression of ``y`` (0/1) on the rows of ``x``, by Newton's
    method (deterministic: the same data always gives the same numbers). ``balanced`` weighs each
    class by the inverse of its size, as the shipped calibrations were fitted; ``l2`` is a small
    ridge that keeps separable data finite.

    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> w, b = fit_logistic(x, y, l2=0.1)
    >>> (bool(w[0] > 0), round(float(-b / w[0]), 6))  # the boundary sits half-way between the classes
    (True, 1.5)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    weights = np.ones(n)
    if balanced:
        positives = max(float(y.sum()), 1.0)
        negatives = max(float(n - y.sum()), 1.0)
        weights = np.where(y > 0.5, n / (2 * positives), n / (2 * negatives))
    beta = np.zeros(d + 1)
    ridge = l2 * np.eye(d + 1)
    ridge[d, d] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (weights * (p - y)) + ridge @ beta
        hessian = (design.T * (weights * p * (1 - p))) @ design + ridge
        step = np.linalg.solve(hessian, gradient)
        beta = beta - step
        if float(np.abs(step).max()) < 1e-10:
            break
    return beta[:d], float(beta[d])


def threshold_for(positives: Sequence[float], max_rate: float) -> float | None:
    """The highest threshold (a confidence seen on an answerable question) at which at most
    ``max_rate`` of the answerable questions score below it.

    >>> threshold_for([0.1, 0.5, 0.6, 0.7, 0.9], 0.2)
    0.5
    """
    if not len(positives):
        return None
    ordered = sorted(positives)
    allowed = math.floor(max_rate * len(ordered))  # questions allowed below the threshold
    return float(ordered[min(allowed, len(ordered) - 1)])
