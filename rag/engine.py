"""The Engine: one loaded index and model answering many questions.

>>> # engine = Engine.open("index")            # loads the index; the model loads on first question
>>> # answer = engine.ask("Quel est l'enjeu pour Washington ?")
>>> # print(answer.text)                        # "Pour Washington, l’enjeu est avant tout stratégique. [1]"

An engine is safe for concurrent questions: a question works on the index snapshot it started with,
and an update builds a new snapshot on disk and swaps it in only when it is complete.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .answer import ComposerSettings, ExtractiveComposer
from .chunking import Chunker
from .config import MAX_QUESTION_CHARS, Settings
from .embedding import Embedder
from .errors import CorpusError, IndexNotFoundError, QuestionError
from .indexing import IndexReport, ProgressFn, update_index
from .loading import SUFFIXES, load_file
from .models import load_embedder
from .retrieval import RetrievalSettings, Retriever
from .store import Store
from .text import LexicalAnalyzer, detect_language, has_words, normalize, words
from .types import Answer, Document

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_FOLLOW_UP_START = re.compile(
    r"^\s*(et|mais|aussi|puis|and|what about|how about|who else|also|but)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class DocumentInfo:
    id: str
    title: str
    date: str
    source: str
    chunks: int
    characters: int


@dataclass(frozen=True)
class IndexInfo:
    index_dir: str
    corpus_dir: str
    model_id: str
    dim: int
    documents: int
    chunks: int
    built_at: str
    chunker: dict
    vector_index: str = "flat"  # or "ivf": approximate search, for stores of RAG_IVF_MIN vectors on


def check_question(question: object) -> str:
    """The question stripped, or a :class:`QuestionError` saying what is wrong with it."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError(
            'the question is empty: type a question, e.g. "Quel est l\'enjeu pour Washington ?"'
        )
    question = question.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question has {len(question)} characters, over the limit of {MAX_QUESTION_CHARS}: shorten it"
        )
    if not has_words(question):
        raise QuestionError(
            f"the question {question[:40]!r} has no words (only punctuation or symbols): ask in words"
        )
    return question


def follow_up_query(question: str, history: Sequence[str]) -> str:
    """The search query for a question in a conversation: a short or elliptic follow-up
    ("Et l'Australie ?", "Who else?") is searched together with the previous question.

    >>> follow_up_query("Et l'Australie ?", ["Que veut l'UE ?"])
    "Que veut l'UE ? Et l'Australie ?"
    >>> follow_up_query("Quel est l'enjeu pour Washington ?", ["Que veut l'UE ?"])
    "Quel est l'enjeu pour Washington ?"
    """
    previous = [h for h in history if h and h.strip()]
    if not previous:
        return question
    if len(words(question)) <= 3 or _FOLLOW_UP_START.match(normalize(question)):
        return f"{previous[-1].strip()} {question}"
    return question


class Engine:
    """Answers questions over one index. Create it with :meth:`open`."""

    MAX_UPLOAD_BYTES = MAX_UPLOAD_BYTES  # per file given to add_files
    UPLOAD_SUFFIXES = SUFFIXES  # the file types add_files accepts

    def __init__(self, settings: Settings, embedder: Embedder, store: Store) -> None:
        self.settings = settings
        self.embedder = embedder
        self.analyzer = LexicalAnalyzer()
        self.retrieval_settings = RetrievalSettings()
        self.composer = ExtractiveComposer(embedder, self.analyzer, ComposerSettings())
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
            embedder = load_embedder(_model_for(settings, model), settings.cache_dir)
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

    # ----- questions -----------------------------------------------------------------------------
    def ask(self, question: str, k: int | None = None, history: Sequence[str] = ()) -> Answer:
        """Answer a question with cited sentences, or abstain. ``history``: previous questions."""
        question = check_question(question)
        k = int(k or self.settings.k)
        if not 1 <= k <= 50:
            raise QuestionError(f"k={k} is out of range: use 1 to 50 passages")
        store = self._store  # one snapshot for the whole question
        query = follow_up_query(question, history)
        language = detect_language(question)
        query_vector = self.embedder.embed_queries([query])[0]
        retriever = Retriever(store, self.embedder, self.analyzer, self.retrieval_settings)
        hits = retriever.search(query, k=k, query_vector=query_vector)
        return self.composer.compose(
            question, hits, store, language=language, query=query, query_vector=query_vector
        )

    def warm_up(self) -> None:
        """Load the model and build the in-memory lexical indexes now rather than on the first
        question (the web app calls this in the background once it serves)."""
        store = self._store
        query = "warm up"
        vector = self.embedder.embed_queries([query])[0]
        # A term the index knows, so that the lexical search really builds its indexes.
        term = next((terms[0] for terms in store.terms.values() if terms), query)
        retriever = Retriever(store, self.embedder, self.analyzer, self.retrieval_settings)
        retriever.search(term, k=1, query_vector=vector)

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


def safe_name(name: str) -> str:
    """A plain file name for the corpus folder; paths, hidden names and other types are refused.

    >>> safe_name("Mon article (2).txt")
    'Mon_article_2.txt'
    """
    raw = str(name)
    if "/" in raw or "\\" in raw or raw.startswith(".") or ".." in raw:
        raise CorpusError(f"file name {raw!r} is not allowed: use a plain name without folders")
    stem, dot, suffix = raw.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUFFIXES:
        raise CorpusError(f"{raw!r}: unsupported file type (use {', '.join(SUFFIXES)})")
    clean = re.sub(r"[^\w\-]+", "_", stem, flags=re.UNICODE).strip("_")[:80] or "article"
    return f"{clean}.{suffix.lower()}"


def _chunker(settings: Settings) -> Chunker:
    return Chunker(settings.chunk_size, settings.chunk_overlap)


def _model_for(settings: Settings, explicit: str | None) -> str:
    """The model to use: explicit, else the one that built the index, else settings (env/default)."""
    if explicit:
        return explicit
    import os

    if not os.environ.get("RAG_MODEL"):
        from .store import read_manifest

        try:
            return str(read_manifest(Path(settings.index_dir))["embedder"]["model_id"])
        except Exception:  # no index yet, or unreadable: loading it will report the real problem
            pass
    return settings.model
