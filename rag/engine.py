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
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from .chunking import Chunker
from .composer import COMPOSERS, Composer, calibrations_for, messages
from .composer.copies import with_copies
from .composer.span_model import SpanModel
from .config import MAX_K, Settings
from .corpus import suffixes
from .corpus.changes import MAX_UPLOAD_BYTES, CorpusFolder, FileResult, TrashEntry
from .corpus.folder import unindexed_changes
from .corpus.web import MAX_ITEMS, read_web
from .embedders.base import Embedder
from .embedders.registry import DEFAULT_MODEL, calibration_key, load_embedder
from .errors import CorpusError, IndexNotFoundError, QuestionError, RagError
from .indexing import CorpusChange, IndexReport, update_index
from .periods import names_a_date, question_period
from .query import MAX_HISTORY_ITEMS, Query, QuestionAnalyzer, check_history, check_period, check_question
from .retrieval import RetrievalSettings, Retriever
from .store import Store, current_generation
from .store.disk import indexed_model_id
from .text import LexicalAnalyzer
from .types import Answer, Document, Hit, Progress, ProgressFn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document, as listed by :meth:`Engine.documents`."""

    id: str
    title: str
    date: str
    source: str
    chunks: int
    characters: int
    removable: bool = False  # a file of its own in the corpus folder (not a line of a .jsonl)
    date_source: str = ""  # where ``date`` came from, or why there is none (rag.corpus.dates)


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
    MAX_HISTORY_ITEMS = MAX_HISTORY_ITEMS
    FOLLOW_S = 1.0  # a newer index on disk (another process's build) is picked up this soon

    def __init__(
        self, settings: Settings, embedder: Embedder, store: Store, composer: Composer | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.analyzer = LexicalAnalyzer()
        self.questions = QuestionAnalyzer(self.analyzer)
        self.retrieval_settings = RetrievalSettings()
        span = SpanModel(settings.cache_dir) if settings.span_reader else None
        self.composer: Composer = composer or COMPOSERS[settings.composer](
            calibrations_for(calibration_key(embedder.model_id)), lexical=self.analyzer, span=span
        )
        self._store = store
        self._write_lock = threading.RLock()  # one corpus change or index update at a time
        self._checked_at = time.monotonic()  # when the index on disk was last looked at
        self._pending: tuple[float, str, tuple[str, ...]] = (0.0, "", ())  # pending_changes' last scan

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
    def ask(
        self,
        question: str,
        k: int | None = None,
        history: Sequence[str] = (),
        since: str | date | None = None,
        until: str | date | None = None,
    ) -> Answer:
        """Answer a question with cited sentences, or abstain. ``history``: the previous questions
        (a list of at most :attr:`MAX_HISTORY_ITEMS` strings). ``since``/``until``: only articles
        published in that period (ISO dates, both included; undated articles are then left out),
        searched within before ranking; the answer records the period. A period the question's own
        words date ("en juillet 2012") that holds no answer is widened to every article: the text
        opens by saying so, and ``since``/``until`` are then empty. Every argument is checked:
        a bad one is a :class:`QuestionError` naming it, its value and what is allowed."""
        found = self.retrieve(question, k, history, since, until)
        answer = self.composer.compose(found.query, found.hits, found.store, found.vector)
        query, opening = found.query, ""
        if query.since or query.until:  # the answer says the period it searched
            opening = messages.period_sentence(answer.language, query.since, query.until)
            if answer.abstained and names_a_date(query.period_words) and query.question_terms:
                # The question's own words dated an event ("la revalorisation de juillet 2012"): the
                # article announcing it, or reporting it days later, may lie outside that period.
                # Nothing in it answers, so the whole index is searched and the answer says so.
                unbounded = replace(query, since="", until="")
                wanted = check_k(self.settings.k if k is None else k)
                wider = self._search(unbounded, found.vector, wanted, found.store)
                outside = self.composer.compose(wider.query, wider.hits, wider.store, wider.vector)
                if not outside.abstained:
                    opening = messages.outside_period(answer.language, query.since, query.until)
                    answer, query = outside, unbounded
        answer = with_copies(answer, found.store)
        if opening:
            answer = replace(answer, text=f"{opening}\n{answer.text}")
        return replace(answer, since=query.since, until=query.until)

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        history: Sequence[str] = (),
        since: str | date | None = None,
        until: str | date | None = None,
    ) -> Retrieval:
        """The first half of :meth:`ask`: the question analysed, embedded and searched (for tools that
        look at the evidence, such as the calibration fit)."""
        question = check_question(question)
        k = check_k(self.settings.k if k is None else k)
        history = check_history(history)
        period = check_period(since, until)
        if time.monotonic() - self._checked_at >= self.FOLLOW_S:
            self.refresh()
        store = self._store  # one snapshot for the whole question
        said, relative = "", False
        if not any(period):  # a period given as an argument wins over the question's words
            found = question_period(question, *self.reference_dates(store), store.date_span()[1])
            if found is not None:
                period, said, relative = (found.since, found.until), found.words, not found.absolute
        query = self.questions.analyse(question, history, *period, period_words=said, relative=relative)
        vector = self.embedder.embed_queries([query.text])[0]
        return self._search(query, vector, k, store)

    def _search(self, query: Query, vector: np.ndarray, k: int, store: Store) -> Retrieval:
        hits = Retriever(store, self.retrieval_settings).search(query, vector, k=k)
        return Retrieval(query, vector, tuple(hits), store)

    def reference_dates(self, store: Store | None = None) -> tuple[str, str]:
        """(reference, oldest): the date a question's "last week" is counted from (the newest
        article's, or today's with ``time_reference="today"``) and the oldest article's; ``""`` for
        a corpus without dates."""
        oldest, newest = (store or self._store).date_span()
        if not newest:
            return "", ""
        reference = date.today().isoformat() if self.settings.time_reference == "today" else newest
        return reference, oldest

    def warm_up(self) -> None:
        """Load the model and build the in-memory lexical indexes now rather than on the first
        question (the web app calls this in the background once it serves)."""
        store = self._store
        # A term the index knows, so that the lexical search really builds its indexes.
        term = next((terms[0] for terms in store.terms.values() if terms), "warm up")
        query = self.questions.analyse(term)
        vector = self.embedder.embed_queries(["warm up"])[0]
        Retriever(store, self.retrieval_settings).search(query, vector, k=1)
        self.composer.warm_up()

    def document(self, doc_id: str) -> Document:
        """The whole document (for showing a citation in context)."""
        try:
            return self._store.documents[doc_id]
        except KeyError:
            raise CorpusError(f"no document {doc_id!r} in the index") from None

    def documents(self) -> list[DocumentInfo]:
        store, corpus = self._store, Path(self.settings.corpus_dir)
        return [
            DocumentInfo(
                d.id,
                d.title,
                d.date,
                d.source,
                len(store.doc_chunks(d.id)),
                len(d.text),
                removable=(corpus / d.id).is_file(),
                date_source=d.date_source,
            )
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

    # ----- following the index and the corpus on disk ------------------------------------------
    def refresh(self) -> bool:
        """Pick up a newer index generation written by another process (``rag index``, ``rag add``);
        True when one was loaded. Questions call this at most every :attr:`FOLLOW_S` seconds."""
        self._checked_at = time.monotonic()
        try:
            live = current_generation(Path(self.settings.index_dir)).name
        except RagError:
            return False  # removed or being replaced: keep answering from the snapshot in memory
        if live == self._store.generation or not self._write_lock.acquire(blocking=False):
            return False  # (an update in this process swaps its own index in)
        try:
            store = Store.load(self.settings.index_dir, expected_model_id=self.embedder.model_id)
            if store.generation == self._store.generation:
                return False
            log.info("index %s: generation %s picked up", self.settings.index_dir, store.generation)
            self._store = store
            return True
        except RagError as exc:
            log.warning("a newer index on disk could not be loaded, keeping the current one: %s", exc)
            return False
        finally:
            self._write_lock.release()

    def pending_changes(self) -> tuple[str, ...]:
        """The corpus files the index does not reflect yet (new, changed or gone since it was
        built), for "N changes not indexed: update". Empty for an index that did not record them.
        The folder is scanned at most every :attr:`FOLLOW_S` seconds, however many pages ask."""
        store = self._store
        if not store.corpus_read_at:
            return ()
        at, generation, found = self._pending
        if generation == store.generation and time.monotonic() - at < self.FOLLOW_S:
            return found
        found = unindexed_changes(
            self.settings.corpus_dir, store.corpus_read_at, store.corpus_files, store.document_files.values()
        )
        self._pending = (time.monotonic(), store.generation, found)
        return found

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
                loaded_store=self._store,
            )
            self._store = Store.load(self.settings.index_dir, expected_model_id=self.embedder.model_id)
            return report

    def add_files(
        self,
        files: Sequence[str | Path],
        names: Sequence[str] | None = None,
        on_progress: ProgressFn | None = None,
        *,
        replace: bool = False,
    ) -> CorpusChange:
        """Copy files into the corpus folder under safe names and index them; nothing is overwritten.

        ``names`` are the client's file names (only a plain file name is allowed). Each file gets
        its own result (:class:`~rag.corpus.changes.FileResult`): a file that cannot be used is
        refused with the reason and the others go in; a name already taken is kept under a free
        one (``article-2.txt``), or with ``replace=True`` replaces the file, whose old version
        goes to the trash; a file identical to the one of its name is left unchanged.
        """
        with self._write_lock:
            # The index knows which file holds each document it has (an index saved before it
            # recorded that: the folder is read instead), so the corpus is not read twice.
            owners = self._store.document_files or None
            results = CorpusFolder(self.settings.corpus_dir).add(files, names, replace=replace, owners=owners)
            return self._changed(results, on_progress)

    def add_web(
        self, source: str, on_progress: ProgressFn | None = None, *, max_items: int = MAX_ITEMS
    ) -> CorpusChange:
        """Add the article at a URL, or every item of an RSS or Atom feed (a URL or a file), as
        Markdown files of the corpus folder (:mod:`rag.corpus.web`), and index them. Adding the
        same again changes nothing; an item that fails is a refused result with its reason and the
        others go in. The pages are fetched before the index is locked: questions go on meanwhile."""

        def fetched(done: int, total: int) -> None:
            if on_progress is not None:
                on_progress(Progress("fetch", done, total, source))

        read = read_web(source, max_items, fetched)
        results = [FileResult(item, "refused", message=reason) for item, reason in read.refused]
        with tempfile.TemporaryDirectory() as tmp:
            files = {}
            for article in read.articles:  # (an item listed twice is one file)
                path = Path(tmp) / article.file_name()
                path.write_text(article.markdown(), encoding="utf-8")
                files[path.name] = path
            with self._write_lock:
                owners = self._store.document_files or None
                folder = CorpusFolder(self.settings.corpus_dir)
                added = folder.add(list(files.values()), list(files), owners=owners) if files else []
                change = self._changed([*added, *results], on_progress)
        return replace(change, notes=(read.note,) if read.note else ())

    def remove_document(self, doc_id: str, on_progress: ProgressFn | None = None) -> CorpusChange:
        """Move a document's file to the corpus folder's trash and update the index
        (:meth:`restore` puts it back)."""
        with self._write_lock:
            if doc_id not in self._store.documents:
                raise CorpusError(f"no document {doc_id!r} in the index")
            if not (Path(self.settings.corpus_dir) / doc_id).is_file():
                raise CorpusError(
                    f"document {doc_id!r} is not a file of its own in {self.settings.corpus_dir} (it is "
                    "a line of a .jsonl file): edit that file, then run `rag index`"
                )
            result = CorpusFolder(self.settings.corpus_dir).remove(doc_id, documents=[doc_id])
            return self._changed([result], on_progress)

    def trashed(self) -> list[TrashEntry]:
        """The removed (or replaced) files that :meth:`restore` can put back, latest first."""
        return CorpusFolder(self.settings.corpus_dir).trashed()

    def restore(self, name: str, on_progress: ProgressFn | None = None) -> CorpusChange:
        """Put a file back from the trash (by its entry name, or its old path for the latest) and
        index it; a file that has taken its place meanwhile is kept, the restored one renamed."""
        with self._write_lock:
            result = CorpusFolder(self.settings.corpus_dir).restore(name)
            return self._changed([result], on_progress)

    def _changed(self, results: Sequence[FileResult], on_progress: ProgressFn | None) -> CorpusChange:
        changed = any(r.status not in ("refused", "unchanged") for r in results)
        index = self.update(on_progress=on_progress) if changed else None
        return CorpusChange(tuple(results), index)


def _chunker(settings: Settings) -> Chunker:
    return Chunker(settings.chunk_size, settings.chunk_overlap)
