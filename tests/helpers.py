"""Helpers shared by the tests (fixtures live in conftest.py): paths, corpora, a served app."""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED_DATA = ROOT.parent / "shared" / "data"
SEED_ID = "000_0f0c2d2dd870c47b.txt"


def shared_file(name: str) -> Path:
    """A file of ../shared/data, or the test is skipped when it is not there."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def write_corpus(folder: Path) -> Path:
    """A copy of the seed corpus plus a short weather article with front matter."""
    shutil.copytree(SEEDS, folder)
    (folder / "meteo.md").write_text(
        "---\ntitle: Météo à Lyon\ndate: 2026-11-20\n---\n"
        "Il pleuvra beaucoup à Lyon demain. Les températures baisseront nettement en soirée.\n",
        encoding="utf-8",
    )
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(app: Any, **options: Any) -> Iterator[str]:
    """Launch a Gradio app of ui.app on a free local port; yields its URL, closes it after.
    ``options`` go to ``launch_app`` (e.g. ``auth``)."""
    from ui.serving import launch_app

    port = free_port()
    launch_app(app, port=port, prevent_thread_lock=True, quiet=True, **options)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


def make_store(
    embedder: Any, texts: dict[str, str], chunk_size: int = 200, sentence_terms: bool = True
) -> Any:
    """A store of the given documents (id -> text), built as the indexer builds one."""
    from rag.chunking import Chunker
    from rag.corpus import make_document
    from rag.indexing import with_title
    from rag.store import Store
    from rag.text import LexicalAnalyzer

    chunker, lexical = Chunker(chunk_size, chunk_size // 5), LexicalAnalyzer()
    store = Store(embedder.model_id, embedder.dim, chunker.settings())
    for doc_id, text in texts.items():
        doc = make_document(doc_id, text)
        chunks, sentences = chunker.split(doc), chunker.sentences(doc)
        vectors = embedder.embed_passages([with_title(doc, doc.text[s.start : s.end]) for s in sentences])
        terms = [lexical.tokens(doc.text[s.start : s.end]) for s in sentences] if sentence_terms else None
        chunk_terms = [lexical.tokens(with_title(doc, c.text)) for c in chunks]
        store.add(doc, chunks, sentences, vectors, chunk_terms, terms)
    return store
