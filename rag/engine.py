"""The Engine: one loaded index and model answering many questions.

A question goes one way: checked and analysed once into a :class:`~rag.query.Query`, embedded,
retrieved (:class:`~rag.retrieval.Retriever`), composed (:mod:`rag.composer`) into an
:class:`~rag.types.Answer`.

>>> import tempfile, pathlib
>>> corpus = pathlib.Path(tempfile.mkdtemp())
>>> _ = (corpus / "a.txt").write_text("Le sommet\\nPour Washington, l’enjeu est avant tout stratégique.")
>>> engine = Engine.open(corpus / "index", corpus_dir=corpus, embedder=load_embedder("hash"), build=True)
>>> engine.ask("Quel est l'enjeu pour Washington ?").text
'Pour Washington, l’enjeu est avant tout stratégique. [1]'

An engine is safe for concurrent questions: a question works on the index snapshot it started with,
and an update builds a new snapshot on disk and swaps it in only when it is complete.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .chunking import Chunker
from .composer import COMPOSERS, Composer, calibrations_for
from .config import MAX_K, Settings
from .corpus import load_file, safe_name, suffixes
from .embedders.base import Embedder
from .embedders.registry import DEFAULT_MODEL, calibration_key, load_embedder
from .errors import CorpusError, IndexNotFoundError, QuestionError
from .indexing import IndexReport, update_index
from .query import Query, QuestionAnalyzer, check_question
from .retrieval import RetrievalSettings, Retriever
from .store import Store
from .store.disk import indexed_model_id
from .text import LexicalAnalyzer
from .types import Answer, Document, Hit, ProgressFn

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # per file given to add_files


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document, as listed by :meth:`Engine.documents`."""

    id: str
    title: str
    date: str
    source: str
    chunks: int
    characters: int


@dataclass(frozen=True)
class IndexInfo:
    """What :meth:`Engine.info` says of the index in use."""

    index_dir: str
    corpus_dir: str
    model_id: str
    dim: int
    documents: int
    chunks: int
    built_at: str
    chunker: dict[str, Any]
    vector_index: str = "flat"  # or "ivf": approximate search, for stores of RAG_IVF_MIN vectors on


@dataclass(frozen=True, eq=False)
class Retrieval:
    """A question as searched: its :class:`~rag.query.Query`, embedding, hits, and the store snapshot."""

    query: Query
    vector: np.ndarray
    hits: tuple[Hit, ...]
    store: Store


def embedder_name(settings: Settings, follow_index: bool = True) -> str:
    """The model to embed with: the one asked for (argument or ``RAG_MODEL``), else (with
    ``follow_index``) the one that built the index at ``settings.index_dir``, else the default."""
    if settings.model:
        return settings.model
    if follow_index:
        found = indexed_model_id(settings.index_dir)
        if found:
            return found
    return DEFAULT_MODEL


def embedder_for(settings: Settings, follow_index: bool = True) -> Embedder:
    """The embedder for :func:`embedder_name` (nothing loads until the first text is embedded)."""
    return load_embedder(embedder_name(settings, follow_index), settings.cache_dir, settings.backend)


def check_k(k: object) -> int:
    """``k`` as a number of passages, or a :class:`QuestionError` naming the allowed range."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise QuestionError(f"k={k!r} is not a whole number: use 1 to {MAX_K} passages")
    if not 1 <= k <= MAX_K:
        raise QuestionError(f"k={k} is out of range: use 1 to {MAX_K} passages")
    return k


class Engine:
    """Answers questions over one index. Create it with :meth:`open`."""

    MAX_UPLOAD_BYTES = MAX_UPLOAD_BYTES

    def __init__(
        self, settings: Settings, embedder: Embedder, store: Store, composer: Composer | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.analyzer = LexicalAnalyzer()
        self.questions = QuestionAnalyzer(self.analyzer)
        self.retrieval_settings = RetrievalSettings()
        self.composer: Composer = composer or COMPOSERS[settings.composer](
            calibrations_for(calibration_key(embedder.model_id)), lexical=self.analyzer
        )
        self._store = store
        self._write_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        index_dir: str | Path | None = None,
        *,
        corpus_dir: str | Path | None = None,
        model: str | None = None,
        embedder: Embedder | None = None,
        build: bool = False,
        settings: Settings | None = None,
        on_progress: ProgressFn | None = None,
    ) -> Engine:
        """Open the index at ``index_dir`` (default: ``RAG_INDEX`` or ``index/``).

        With ``build=True`` a missing index is built from ``corpus_dir`` first. The embedder is the one
        given, or the model named in the index manifest (the model loads on the first question).
        """
        settings = settings or Settings.resolve(index_dir=index_dir, corpus_dir=corpus_dir, model=model)
        if embedder is None:
            embedder = embedder_for(settings)
        try:
            store = Store.load(settings.index_dir, expected_model_id=embedder.model_id)
        except IndexNotFoundError:
            if not build:
                raise
            log.info("no index at %s: building it from %s", settings.index_dir, settings.corpus_dir)
            update_index(
                settings.corpus_dir,
                settings.index_dir,
                embedder,
                _chunker(settings),
                on_progress=on_progress,
                ivf_min=settings.ivf_min,
            )
            store = Store.load(settings.index_dir, expected_model_id=embedder.model_id)
        return cls(settings, embedder, store)

    @property
    def store(self) -> Store:
        """The index snapshot questions are answered from now (an update swaps in a new one)."""
        return self._store

    @property
    def upload_suffixes(self) -> tuple[str, ...]:
        """The file types :meth:`add_files` accepts."""
        return suffixes()

    # ----- questions -----------------------------------------------------------------------------
    def ask(self, question: str, k: int | None = None, history: Sequence[str] = ()) -> Answer:
        """Answer a question with cited sentences, or abstain. ``history``: previous questions."""
        found = self.retrieve(question, k, history)
        return self.composer.compose(found.query, found.hits, found.store, found.vector)

    def retrieve(self, question: str, k: int | None = None, history: Sequence[str] = ()) -> Retrieval:
        """The first half of :meth:`ask`: the question analysed, embedded and searched (for tools that
        look at the evidence, such as the calibration fit)."""
        question = check_question(question)
        k = check_k(self.settings.k if k is None else k)
        store = self._store  # one snapshot for the whole question
        query = self.questions.analyse(question, history)
        vector = self.embedder.embed_queries([query.text])[0]
        hits = Retriever(store, self.retrieval_settings).search(query, vector, k=k)
        return Retrieval(query, vector, tuple(hits), store)

    def warm_up(self) -> None:
        """Load the model and build the in-memory lexical indexes now rather than on the first
        question (the web app calls this in the background once it serves)."""
        store = self._store
        # A term the index knows, so that the lexical search really builds its indexes.
        term = next((terms[0] for terms in store.terms.values() if terms), "warm up")
        query = self.questions.analyse(term)
        vector = self.embedder.embed_queries(["warm up"])[0]
        Retriever(store, self.retrieval_settings).search(query, vector, k=1)

    def document(self, doc_id: str) -> Document:
        """The whole document (for showing a citation in context)."""
        try:
            return self._store.documents[doc_id]
        except KeyError:
            raise CorpusError(f"no document {doc_id!r} in the index") from None

    def documents(self) -> list[DocumentInfo]:
        store = self._store
        return [
            DocumentInfo(d.id, d.title, d.date, d.source, len(store.doc_chunks(d.id)), len(d.text))
            for d in store.documents.values()
        ]

    def info(self) -> IndexInfo:
        store = self._store
        return IndexInfo(
            index_dir=str(self.settings.index_dir),
            corpus_dir=str(self.settings.corpus_dir),
            model_id=store.model_id,
            dim=store.dim,
            documents=len(store.documents),
            chunks=len(store.chunks),
            built_at=store.built_at,
            chunker=dict(store.chunker),
            vector_index=store.vector_index,
        )

    # ----- corpus changes ------------------------------------------------------------------------
    def update(self, rebuild: bool = False, on_progress: ProgressFn | None = None) -> IndexReport:
        """Sync the index with the corpus folder and swap the new index in."""
        with self._write_lock:
            report = update_index(
                self.settings.corpus_dir,
                self.settings.index_dir,
                self.embedder,
                _chunker(self.settings),
                rebuild=rebuild,
                on_progress=on_progress,
                analyzer=self.analyzer,
                ivf_min=self.settings.ivf_min,
            )
            self._store = Store.load(self.settings.index_dir, expected_model_id=self.embedder.model_id)
            return report

    def add_files(
        self,
        files: Sequence[str | Path],
        names: Sequence[str] | None = None,
        on_progress: ProgressFn | None = None,
    ) -> IndexReport:
        """Copy files into the corpus folder under safe names and index them.

        ``names`` are the client's file names (only their last part is used, and it must be a plain
        file name). Each file is checked (type, size, encoding, content) before anything is copied.
        """
        corpus = Path(self.settings.corpus_dir)
        corpus.mkdir(parents=True, exist_ok=True)
        staged: list[tuple[Path, Path]] = []
        for i, file in enumerate(files):
            src = Path(file)
            name = safe_name(names[i] if names else src.name)
            size = src.stat().st_size if src.exists() else 0
            if size > MAX_UPLOAD_BYTES:
                raise CorpusError(f"{name}: {size} bytes is over the {MAX_UPLOAD_BYTES} byte upload limit")
            load_file(src, name)  # raises CorpusError naming the problem
            staged.append((src, corpus / name))
        for src, dest in staged:
            tmp = dest.with_name(f".{dest.name}.part")
            shutil.copyfile(src, tmp)
            tmp.replace(dest)
        return self.update(on_progress=on_progress)

    def remove_document(self, doc_id: str, on_progress: ProgressFn | None = None) -> IndexReport:
        """Delete a document's file from the corpus folder and update the index."""
        store = self._store
        if doc_id not in store.documents:
            raise CorpusError(f"no document {doc_id!r} in the index")
        corpus = Path(self.settings.corpus_dir).resolve()
        path = (corpus / doc_id).resolve()
        if path.parent != corpus and corpus not in path.parents or not path.is_file():
            raise CorpusError(
                f"document {doc_id!r} is not a file of its own in {corpus} (it may be a line of a .jsonl "
                "file): edit that file, then run `rag index`"
            )
        path.unlink()
        return self.update(on_progress=on_progress)


def _chunker(settings: Settings) -> Chunker:
    return Chunker(settings.chunk_size, settings.chunk_overlap)
