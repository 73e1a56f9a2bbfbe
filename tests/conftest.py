"""Fixtures: small corpora in temporary folders and a deterministic fake embedder (helpers.py
holds the functions tests import)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import write_corpus

from rag.embedders import HashEmbedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the tests never reach a model hub
# The reader's span model is tested where asked for (test_span_reader.py, the real-model tests); the
# other tests compose with the reader's rules, without loading torch in every engine.
os.environ.setdefault("RAG_SPAN_READER", "0")


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder(dim=128)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A copy of the seed corpus plus two small articles."""
    folder = write_corpus(tmp_path / "corpus")
    (folder / "sport.txt").write_text(
        "Le club de football de Marseille a gagné son match.\nLe score final était de trois buts à un.\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"
