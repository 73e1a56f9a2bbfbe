"""What the web chat does when something happens: the event handlers over one shared engine.

:class:`Handlers` holds the engine and the page's components (:class:`Components`, made by
``ui.app``); each method is one event and returns the updates for the components it names.
:func:`answer_stream` is the chat bubble as it grows, :func:`ask_json` the ``/ask`` API. Markup
comes from :mod:`ui.render` only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr

from rag import CorpusChange, Engine, Progress, RagError

from . import render
from .words import words

log = logging.getLogger(__name__)

MAX_UPLOAD_FILES = 50
CORPUS_VIEWS = 6  # the outputs of Handlers.corpus_views
STREAM_DELAY = 0.05  # seconds between streamed sentences
STAGES = {
    "load": "Lecture des fichiers",
    "fetch": "Téléchargement des pages",
    "embed": "Calcul des vecteurs",
    "save": "Enregistrement",
}


@dataclass
class Components:
    """The page's components that events read or update (made by ``ui.app.build_app``)."""

    chatbot: Any
    question_box: Any
    k_slider: Any
    turns_state: Any
    picked: Any
    pick: Any
    article: Any
    info: Any
    docs: Any
    files: Any
    replace: Any
    web_source: Any  # an article's URL or a feed's, for Handlers.add_web
    status: Any
    remove_pick: Any
    remove_note: Any
    confirm_row: Any
    confirm_text: Any
    trash_pick: Any
    shown: Any  # what the page shows of the index and the corpus, for Handlers.poll
    pending_note: Any
    pending_update: Any
    opened: Any  # a hidden box: "turn:n" when a [n] marker is clicked (CHAT_JS)
    search: Any
    order: Any
    page: Any
    docs_version: Any  # changes when the documents do; the table then follows
    lang: Any  # the page's language ("fr" or "en", from ?lang=)
    since: Any  # the period the chat searches (Settings)
    until: Any


def ask_json(
    engine: Engine, question: Any, k: Any = None, history: Any = (), since: Any = None, until: Any = None
) -> dict[str, Any]:
    """The answer as the JSON dict of ``Answer.to_dict()`` (the ``/ask`` API). The arguments are
    checked by the engine (a :class:`RagError` names the bad one); a slider's ``5.0`` is ``5``."""
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    history = () if history is None else history
    return engine.ask(question, k=k, history=history, since=since or None, until=until or None).to_dict()


class Step(NamedTuple):
    """One state of the assistant's bubble while an answer streams in."""

    html: str
    answer: dict[str, Any] | None  # None while searching
    done: bool  # the complete answer, with its query and sources


def answer_stream(
    engine: Engine,
    question: str,
    k: int | float | None = None,
    history: Sequence[str] = (),
    turn: int | None = None,
    lang: str = "fr",
    since: str | None = None,
    until: str | None = None,
) -> Iterator[Step]:
    """The assistant's chat bubble as it grows: a "searching" bubble, then the answer one more
    sentence (with its markers) at a time, the last step complete with the search query used and
    the sources. ``turn``: the bubble's place in the chat. Raises the engine's :class:`RagError`."""
    yield Step(f'<div class="rag-pending">{render.escape(words(lang)["searching"])}</div>', None, False)
    data = ask_json(engine, question, k, history, since, until)
    texts = _texts(engine, data)
    short, body = (data["text"].split("\n", 1) + [""])[:2] if data.get("short_answer") else ("", data["text"])
    for prefix in render.stream_prefixes(body)[:-1]:
        prefix = f"{short}\n{prefix}" if short else prefix
        yield Step(render.message_html(data, texts, partial_text=prefix, turn=turn), data, False)
        time.sleep(STREAM_DELAY)
    yield Step(render.message_html(data, texts, turn=turn), data, True)


class Handlers:
    """The page's events over ``engine`` (shared by every visitor)."""

    def __init__(self, engine: Engine, components: Components, read_only: bool = False) -> None:
        self.engine = engine
        self.c = components
        self.read_only = read_only  # no upload, removal or restore: each refuses

    # ----- the chat ------------------------------------------------------------------------------
    def chat(
        self,
        question: str,
        messages: list[Any],
        turns: list[Any],
        k: float,
        lang: str = "fr",
        since: str | None = None,
        until: str | None = None,
    ) -> Iterator[dict[Any, Any]]:
        c, w = self.c, words(lang)
        question = (question or "").strip()
        messages = list(messages or [])
        if not question:
            gr.Warning(str(w["empty_question"]))
            yield {c.chatbot: messages}
            return
        history = [t["question"] for t in turns or []][-self.engine.MAX_HISTORY_ITEMS :]
        base = [*messages, {"role": "user", "content": render.question_html(question)}]
        data: dict[str, Any] | None = None
        update: dict[Any, Any] = {c.question_box: ""}  # the question leaves the box with the first bubble
        try:
            steps = answer_stream(self.engine, question, k, history, len(base), lang, since, until)
            for step in steps:
                update[c.chatbot] = [*base, {"role": "assistant", "content": step.html}]
                if step.done:  # the complete bubble goes out together with the sources panel
                    data = step.answer
                    break
                yield update
                update = {}
        except RagError as exc:
            gr.Warning(str(exc))
            yield {c.chatbot: [*base, {"role": "assistant", "content": render.error_html(str(exc))}]}
            return
        except Exception as exc:  # keep the page (and server) alive whatever happens
            log.exception("question failed: %r", question)
            message = str(w["unexpected"]).format(name=type(exc).__name__)
            gr.Warning(message)
            yield {c.chatbot: [*base, {"role": "assistant", "content": render.error_html(message)}]}
            return
        assert data is not None  # the complete answer is shown: remember it, open its first source
        cited = _cited(data)
        turn = {"question": question, "answer": data, "message": len(base)}
        update[c.turns_state] = [*(turns or []), turn]
        update[c.pick] = _pick_update(cited, bool(data["abstained"]), lang=lang)
        update[c.picked] = cited
        update[c.article] = self._article_for(cited[0] if cited else None, lang=lang)
        yield update

    def open_pick(self, index: int | None, cited: list[Any], lang: str = "fr") -> str:
        if index is None or not cited or not 0 <= int(index) < len(cited):
            return render.article_html(None, lang=lang)
        return self._article_for(cited[int(index)], reveal=True, lang=lang)

    def open_marker(self, clicked: str, turns: list[Any], lang: str = "fr") -> tuple[Any, Any, Any]:
        """A ``[n]`` marker clicked in an answer (``"turn:n:time"``, sent by ``ui.assets.CHAT_JS``):
        that answer's sources, citation ``n`` picked and its article opened."""
        turn_text, _, rest = str(clicked or "").partition(":")
        number = rest.partition(":")[0]
        for turn in turns or []:
            if turn_text.isdigit() and int(turn_text) == turn["message"]:
                cited = _cited(turn["answer"])
                index = next((i for i, c in enumerate(cited) if str(c["number"]) == number), None)
                if index is None:
                    break
                pick = _pick_update(cited, bool(turn["answer"]["abstained"]), picked=index, lang=lang)
                return pick, cited, self._article_for(cited[index], reveal=True, lang=lang)
        return gr.skip(), gr.skip(), gr.skip()

    def select_turn(self, turns: list[Any], lang: str, evt: gr.SelectData) -> tuple[Any, Any, Any]:
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        for turn in turns or []:
            if index in (turn["message"], turn["message"] - 1):
                cited = _cited(turn["answer"])
                return (
                    _pick_update(cited, bool(turn["answer"]["abstained"]), lang=lang),
                    cited,
                    self._article_for(cited[0] if cited else None, reveal=True, lang=lang),
                )
        return gr.skip(), gr.skip(), gr.skip()

    @staticmethod
    def use_example(evt: gr.SelectData) -> str:
        value = evt.value if isinstance(evt.value, dict) else {}
        return str(value.get("text", ""))

    @staticmethod
    def clear_chat(lang: str = "fr") -> tuple[list[Any], list[Any], Any, list[Any], str]:
        return [], [], gr.Radio(choices=[], value=None), [], render.article_html(None, lang=lang)

    def api_ask(
        self,
        question: str,
        k: int | None = None,
        history: list[str] | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> dict[str, Any]:
        """Answer a question from the articles: the JSON of rag's Answer (text with [n] markers,
        citations with verbatim quotes and offsets, abstained, related, query, hits). ``since`` and
        ``until`` (YYYY-MM-DD) limit it to the articles published in that period."""
        try:
            return ask_json(self.engine, question, k, history, since, until)
        except RagError as exc:  # the caller's mistake: one line in the log, the message to the client
            log.warning("/ask refused: %s", exc)
            raise gr.Error(str(exc), print_exception=False) from None

    # ----- the corpus ----------------------------------------------------------------------------
    def corpus_views(self, keep: bool = False, lang: str = "fr") -> tuple[Any, ...]:
        """Index facts, document table, removal choices and note, the trash, and the chat's welcome
        and examples (the outputs named ``corpus_outputs`` in ``ui.app``). ``keep``: leave what is
        picked for removal or restore as it is (a poll: someone may be picking right now)."""
        documents = self.engine.documents()
        removable = [(render.document_label(d.title, d.id), d.id) for d in documents if d.removable]
        others = len(documents) - len(removable)
        w = words(lang)
        note = str(w["jsonl_note"]).format(n=others) if others else ""
        trash = [
            (f"{e.path} — {str(w['removed_at']).format(when=e.removed_at.replace('T', ' '))}", e.name)
            for e in self.engine.trashed()
        ]
        examples = [{"text": q} for q in render.example_questions(documents, lang=lang)]
        return (
            render.info_html(self.engine.info(), lang=lang),
            f"{self.engine.store.generation}:{len(documents)}",  # the table follows (docs_view)
            gr.Dropdown(choices=removable) if keep else gr.Dropdown(choices=removable, value=None),
            note,
            gr.Dropdown(choices=trash) if keep else gr.Dropdown(choices=trash, value=None),
            gr.Chatbot(examples=examples or None, placeholder=render.welcome_text(documents, lang=lang)),  # type: ignore[arg-type]
        )

    def shown_now(self) -> tuple[str, tuple[str, ...]]:
        """What the page shows, as :meth:`poll` compares it: the index generation and the corpus
        files not indexed yet."""
        pending = self.engine.pending_changes()
        return f"{self.engine.store.generation}|{'|'.join(pending)}", pending

    def page_load(self, lang: str = "fr") -> tuple[Any, ...]:
        """The page opens: what it shows (for :meth:`poll`), then the corpus views."""
        views = self.read_only_views(lang) if self.read_only else self.corpus_views(lang=lang)
        return (self.shown_now()[0], *views)

    def poll(self, shown: str, lang: str = "fr") -> tuple[Any, ...]:
        """Every few seconds: pick up an index another process built and look for corpus files not
        indexed yet. Outputs: what the page shows (a state), the pending-changes note and its
        button, then the corpus views, all skipped when nothing changed."""
        self.engine.refresh()
        now, pending = self.shown_now()
        if now == shown:
            return (gr.skip(),) * (3 + (3 if self.read_only else CORPUS_VIEWS))
        note = ""
        if pending:
            listed = ", ".join(pending[:5]) + (" …" if len(pending) > 5 else "")
            note = str(words(lang)["pending"]).format(n=len(pending), files=render.escape(listed))
        button = gr.Button(visible=bool(pending) and not self.read_only)
        views = self.read_only_views(lang) if self.read_only else self.corpus_views(True, lang)
        return (now, note, button, *views)

    def index_pending(self, lang: str = "fr", progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        """The "update" button: index what changed in the corpus folder. Outputs: status, the
        pending note and button (cleared), the corpus views."""
        self._refuse_writes()
        try:
            report = self.engine.update(on_progress=self._progress(progress))
        except RagError as exc:
            log.warning("update refused: %s", exc)
            gr.Warning(str(exc))
            return (render.error_html(str(exc)), gr.skip(), gr.skip(), *(gr.skip(),) * CORPUS_VIEWS)
        change = CorpusChange((), report)
        return (render.change_html(change, lang), "", gr.Button(visible=False), *self.corpus_views(lang=lang))

    def docs_view(self, query: str | None, order: str | None, page: float | None, lang: str = "fr") -> str:
        """The table of indexed documents, searched, sorted and paged."""
        documents = self.engine.documents()
        return render.documents_html(documents, query or "", order or "date", int(page or 1), lang=lang)

    def read_only_views(self, lang: str = "fr") -> tuple[Any, ...]:
        """Index facts, document table, and the chat's welcome and examples (a read-only page)."""
        info, docs, *_, chatbot = self.corpus_views(lang=lang)
        return info, docs, chatbot

    def _refuse_writes(self, lang: str = "fr") -> None:
        if self.read_only:  # the page shows no write form; an event sent by hand is refused here
            raise gr.Error(str(words(lang)["read_only"]), print_exception=False)

    def _progress(self, progress: gr.Progress) -> Any:
        def on_progress(event: Progress) -> None:  # (its message names server paths: not shown)
            desc = STAGES.get(event.stage, event.stage)
            if event.total:
                unit = "étapes" if event.stage != "embed" else "passages"
                progress((event.done, event.total), desc=desc, unit=unit)
            else:
                progress(0.0, desc=desc)

        return on_progress

    def add_files(
        self,
        paths: list[str] | None,
        replace: bool = False,
        lang: str = "fr",
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:
        """Upload: one line per file (added, kept under a new name, refused and why), the good ones
        indexed. Outputs: status, the corpus views, the file box (emptied)."""
        self._refuse_writes(lang)
        w = words(lang)
        skip = (gr.skip(),) * CORPUS_VIEWS

        def refused(message: str) -> tuple[Any, ...]:
            gr.Warning(message)
            return (render.error_html(message), *skip, gr.skip())

        paths = [str(p) for p in paths or []]
        if not paths:
            return refused(str(w["choose_files"]))
        if len(paths) > MAX_UPLOAD_FILES:
            return refused(str(w["too_many_files"]).format(n=len(paths), max=MAX_UPLOAD_FILES))
        progress(0.0, desc="Vérification des fichiers…")
        names = [Path(p).name for p in paths]
        try:
            change = self.engine.add_files(
                paths, names=names, replace=bool(replace), on_progress=self._progress(progress)
            )
        except RagError as exc:
            log.warning("upload refused: %s", exc)
            return refused(str(exc))
        except Exception as exc:
            log.exception("upload failed: %s", names)
            return refused(str(w["unexpected"]).format(name=type(exc).__name__))
        if change.refused:
            gr.Warning(str(w["refused_some"]).format(n=len(change.refused), total=len(names)))
        return (render.change_html(change, lang), *self.corpus_views(lang=lang), None)

    def add_web(
        self,
        source: str | None,
        lang: str = "fr",
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:
        """The article at a URL, or a feed's items, fetched and indexed: one line per article and
        per failed item. Outputs: status, the corpus views, the URL box (emptied when done). The
        pages are fetched outside the index lock: the chat keeps answering meanwhile."""
        self._refuse_writes(lang)
        source = (source or "").strip()
        skip = (gr.skip(),) * CORPUS_VIEWS
        if not source.lower().startswith(("http://", "https://")):
            message = str(words(lang)["web_source_needed"])
            gr.Warning(message)
            return (render.error_html(message), *skip, gr.skip())
        progress(0.0, desc="Téléchargement…")
        try:
            change = self.engine.add_web(source, on_progress=self._progress(progress))
        except RagError as exc:
            log.warning("web source refused: %s", exc)
            gr.Warning(str(exc))
            return (render.error_html(str(exc)), *skip, gr.skip())
        except Exception as exc:
            log.exception("adding %s failed", source)
            message = str(words(lang)["unexpected"]).format(name=type(exc).__name__)
            return (render.error_html(message), *skip, gr.skip())
        if change.refused:
            total = len(change.files)
            gr.Warning(str(words(lang)["refused_some"]).format(n=len(change.refused), total=total))
        return (render.change_html(change, lang), *self.corpus_views(lang=lang), "")

    def ask_remove(self, doc_id: str | None, lang: str = "fr") -> tuple[Any, Any, str]:
        """The first click on "remove": ask to confirm, naming the article. Outputs: the
        confirmation row, its text, and the article it names (what "yes" will remove)."""
        if not doc_id:
            gr.Warning(str(words(lang)["choose_article"]))
            return gr.Row(visible=False), "", ""
        title = next((d.title for d in self.engine.documents() if d.id == doc_id), "")
        label = render.document_label(title, doc_id)
        return gr.Row(visible=True), str(words(lang)["confirm"]).format(label=label), doc_id

    @staticmethod
    def cancel_remove() -> Any:
        return gr.Row(visible=False)

    def remove_doc(
        self,
        doc_id: str | None,
        confirmed: str | None,
        lang: str = "fr",
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:
        """Confirmed removal of ``confirmed``, the article the confirmation named, if it is still
        the one picked (``doc_id``). Outputs: the confirmation row (hidden), status, the views."""
        self._refuse_writes(lang)
        hidden = gr.Row(visible=False)
        if not doc_id or doc_id != confirmed:
            gr.Warning(str(words(lang)["choose_article" if not doc_id else "changed"]))
            return (hidden, gr.skip(), *(gr.skip(),) * CORPUS_VIEWS)
        progress(0.0, desc="Suppression…")
        try:
            change = self.engine.remove_document(doc_id, on_progress=self._progress(progress))
        except RagError as exc:
            log.warning("removal refused: %s", exc)
            gr.Warning(str(exc))
            return (hidden, render.error_html(str(exc)), *(gr.skip(),) * CORPUS_VIEWS)
        return (hidden, render.change_html(change, lang), *self.corpus_views(lang=lang))

    def restore_doc(
        self,
        name: str | None,
        lang: str = "fr",
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:
        """Put a file back from the trash. Outputs: status, the corpus views."""
        self._refuse_writes(lang)
        if not name:
            gr.Warning(str(words(lang)["choose_trash"]))
            return (gr.skip(), *(gr.skip(),) * CORPUS_VIEWS)
        progress(0.0, desc="Restauration…")
        try:
            change = self.engine.restore(name, on_progress=self._progress(progress))
        except RagError as exc:
            log.warning("restore refused: %s", exc)
            gr.Warning(str(exc))
            return (render.error_html(str(exc)), *(gr.skip(),) * CORPUS_VIEWS)
        return (render.change_html(change, lang), *self.corpus_views(lang=lang))

    # ----- helpers -------------------------------------------------------------------------------
    def _article_for(self, citation: dict[str, Any] | None, reveal: bool = False, lang: str = "fr") -> str:
        if not citation:
            return render.article_html(None, lang=lang)
        try:
            doc = asdict(self.engine.document(citation["doc_id"]))
        except RagError as exc:
            return render.error_html(str(exc))
        if render.quote_matches(citation, doc["text"]):
            return render.article_html(doc, int(citation["start"]), int(citation["end"]), reveal=reveal)
        return render.article_html(doc, reveal=reveal)


def _texts(engine: Engine, answer: dict[str, Any]) -> dict[str, str]:
    """The current text of every document an answer cites (missing documents are left out)."""
    texts: dict[str, str] = {}
    for c in [*answer.get("citations", ()), *answer.get("related", ())]:
        if c["doc_id"] not in texts:
            try:
                texts[c["doc_id"]] = engine.document(c["doc_id"]).text
            except RagError:
                pass
    return texts


def _cited(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return list(answer.get("related" if answer.get("abstained") else "citations") or ())


def _pick_update(
    cited: Sequence[dict[str, Any]], abstained: bool = False, picked: int = 0, lang: str = "fr"
) -> Any:
    label = str(words(lang)["related_pick" if abstained else "sources_pick"])
    choices = [(render.citation_label(c), i) for i, c in enumerate(cited)]
    return gr.Radio(choices=choices, value=picked if choices else None, label=label)
