"""bench/fit_calibration.py: the fit of the shipped abstention calibration is deterministic."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from helpers import ROOT, shared_file

from rag import Settings
from rag.composer.calibration import LEXICAL_FEATURES
from rag.embedders import HashEmbedder
from rag.evaluation import load_qa
from rag.evaluation.qa import title_half


def _script():
    spec = importlib.util.spec_from_file_location("fit_calibration", ROOT / "bench" / "fit_calibration.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_fit_on_a_small_sample_is_deterministic(tmp_path: Path):
    fit = _script()
    items = load_qa(shared_file("piaf_v1.0_fr.jsonl"), limit=240)
    settings = Settings(cache_dir=tmp_path)
    runs = [fit.collect(items, HashEmbedder(96), settings) for _ in range(2)]
    assert runs[0].rows == runs[1].rows and runs[0].labels == runs[1].labels
    train = sum(title_half(item.title) == "train" for item in items)  # only the training half is asked
    assert 0 < train < 240 and sum(runs[0].labels) == train and 0 < len(runs[0].labels) - train < train
    fitted = [fit.calibrate(run, gap=0.05, english=[0.2, 0.5, 0.6, 0.7, 0.9] * 4) for run in runs]
    assert fitted[0] == fitted[1]
    same, cross = fitted[0].same_language, fitted[0].cross_language
    assert all(getattr(cross, name) == 0.0 for name in LEXICAL_FEATURES) and same.coverage != 0.0
    assert 0.0 < same.threshold < 1.0 and cross.threshold == 0.2  # 5 % of 20 English: one may fall below
    below = sum(c < same.threshold for c in fit.confidences(same, runs[0], 1))
    assert below + runs[0].ruled_out <= 0.05 * train  # abstention on answerable questions: 5 % at most


def test_the_language_gap_reads_the_french_english_pairs_of_eval():
    fit = _script()
    gap, pairs = fit.language_gap(HashEmbedder(96))
    assert pairs == 24 and gap == pytest.approx(fit.language_gap(HashEmbedder(96))[0])
