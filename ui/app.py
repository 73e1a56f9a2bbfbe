"""The Gradio web chat over a shared :class:`rag.Engine`: the page's layout and its wiring.

``build_app(engine)`` returns the :class:`gradio.Blocks` (queue enabled); serving it (limits,
login, ``serve``) is :mod:`ui.serving`, its CSS and scripts :mod:`ui.assets`. What each event does
is in :mod:`ui.handlers`, all markup in :mod:`ui.render`, its words in :mod:`ui.words`.

The app has two tabs. *Chat*: questions in French or English, answers streamed sentence by sentence
with ``[n]`` markers, the search query used, and source cards (title, date, file, passage with the
quote in ``<mark>``); a side panel opens the whole article with the quote highlighted and scrolled
into view. The welcome text and the example questions come from the articles indexed. *Articles*:
index facts, the indexed documents, upload (the corpus formats) with a progress bar, and removal.
The question function is also the API endpoint ``/ask``
(``gradio_client.Client(url).predict(question, k, history, api_name="/ask")`` returns the JSON of
``Answer.to_dict()``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from rag import Engine

from . import render
from .assets import ARTICLE_JS, CHAT_JS
from .handlers import Components, Handlers
from .words import page_language, words

log = logging.getLogger(__name__)

CONCURRENCY = 8  # questions answered at once (the engine is safe for concurrent questions)
POLL_S = 2.0  # the page looks for an index built elsewhere and for corpus files not indexed this often

WRITE_COMPONENTS = (
    "files",
    "replace",
    "web_source",
    "status",
    "remove_pick",
    "remove_note",
    "confirm_row",
    "confirm_text",
    "trash_pick",
)


class Labels:
    """The page's components whose words depend on its language: each is made in French, and
    :meth:`updates` gives the updates that put it in another (run when the page loads)."""

    def __init__(self) -> None:
        self.entries: list[tuple[Any, str, Callable[[str], Any]]] = []

    def __call__(self, component: Any, attr: str, say: str | Callable[[str], Any]) -> Any:
        """Register ``component``: its ``attr`` is the word ``say`` (a key of :mod:`ui.words`), or
        what ``say(lang)`` gives. Returns the component."""
        if isinstance(say, str):
            key = say
            self.entries.append((component, attr, lambda lang: words(lang)[key]))
        else:
            self.entries.append((component, attr, say))
        return component

    @property
    def components(self) -> list[Any]:
        return [component for component, _, _ in self.entries]

    def updates(self, lang: str) -> list[Any]:
        return [gr.update(**{attr: say(lang)}) for _, attr, say in self.entries]


def _write_forms(engine: Engine, say: Labels) -> dict[str, Any]:
    """The Articles tab's forms that change the corpus (upload, removal, the trash): their
    components (:data:`WRITE_COMPONENTS`) and buttons, by name."""
    w = words("fr")
    types = render.escape(", ".join(engine.upload_suffixes))

    def heading(lang: str) -> str:
        return str(words(lang)["add_heading"]).format(types=types, mb=engine.MAX_UPLOAD_BYTES // 1024 // 1024)

    say(gr.Markdown(heading("fr")), "value", heading)
    out: dict[str, Any] = {}
    out["files"] = say(
        gr.File(
            file_count="multiple",
            file_types=list(engine.upload_suffixes),
            type="filepath",
            label=w["files"],
            elem_id="rag-files",
        ),
        "label",
        "files",
    )
    out["replace"] = say(gr.Checkbox(False, label=w["replace"], elem_id="rag-replace"), "label", "replace")
    out["add"] = say(gr.Button(w["add"], variant="primary", elem_id="rag-add"), "value", "add")
    with gr.Row():
        out["web_source"] = say(
            gr.Textbox(label=w["web_source"], placeholder="https://…", scale=4, elem_id="rag-web-source"),
            "label",
            "web_source",
        )
        out["add_web"] = say(gr.Button(w["add_web"], scale=1, elem_id="rag-add-web"), "value", "add_web")
    out["status"] = gr.HTML(elem_id="rag-status")
    say(gr.Markdown(w["remove_heading"]), "value", "remove_heading")
    with gr.Row():
        out["remove_pick"] = say(
            gr.Dropdown(choices=[], label=w["article"], scale=4, elem_id="rag-remove-pick"),
            "label",
            "article",
        )
        out["remove"] = say(
            gr.Button(w["remove"], variant="stop", scale=1, elem_id="rag-remove"), "value", "remove"
        )
    out["remove_note"] = gr.Markdown(elem_id="rag-remove-note")
    with gr.Row(visible=False, elem_id="rag-confirm") as confirm_row:
        out["confirm_text"] = gr.Markdown(elem_id="rag-confirm-text")
        out["confirm"] = say(
            gr.Button(w["yes_remove"], variant="stop", elem_id="rag-confirm-yes"), "value", "yes_remove"
        )
        out["cancel"] = say(gr.Button(w["cancel"], elem_id="rag-confirm-no"), "value", "cancel")
    out["confirm_row"] = confirm_row
    say(gr.Markdown(w["trash_heading"]), "value", "trash_heading")
    with gr.Row():
        out["trash_pick"] = say(
            gr.Dropdown(choices=[], label=w["trashed"], scale=4, elem_id="rag-trash-pick"), "label", "trashed"
        )
        out["restore"] = say(gr.Button(w["restore"], scale=1, elem_id="rag-restore"), "value", "restore")
    return out


def _orders(lang: str) -> list[tuple[str, str]]:
    w = words(lang)
    return [(str(w["newest"]), "date"), (str(w["by_title"]), "title")]


def build_app(engine: Engine, read_only: bool = False) -> gr.Blocks:
    """The web chat over ``engine`` (shared by every visitor), with the queue enabled. With
    ``read_only`` the page has no upload, removal or restore, and their events refuse. The page
    speaks French, or English with ``?lang=en`` (:mod:`ui.words`)."""
    default_k = max(1, min(20, engine.settings.k))
    documents = engine.documents()
    w, say = words("fr"), Labels()
    with gr.Blocks(title="rag — questions sur les articles", analytics_enabled=False) as app:
        say(gr.Markdown(w["title"], elem_id="rag-title"), "value", "title")
        turns_state = gr.State([])
        picked = gr.State([])
        lang = gr.State("fr")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=360):
                    chatbot = gr.Chatbot(
                        label="Chat",
                        elem_id="rag-chat",
                        height=560,
                        examples=[{"text": q} for q in render.example_questions(documents)] or None,
                        placeholder=render.welcome_text(documents),
                        latex_delimiters=[],
                        sanitize_html=True,
                        feedback_options=None,
                        buttons=[],  # copying would copy the HTML of the bubbles: see .rag-copy
                        layout="bubble",
                        autoscroll=False,  # CHAT_JS keeps the start of the answer in view instead
                    )
                    opened = gr.Textbox(elem_id="rag-open", elem_classes=["rag-hidden"], show_label=False)
                    gr.HTML("", js_on_load=CHAT_JS, elem_classes=["rag-hidden"])
                    with gr.Row():
                        question_box = gr.Textbox(
                            placeholder=w["question"],
                            show_label=False,
                            elem_id="rag-question",
                            scale=5,
                            min_width=160,
                            max_lines=4,
                            autofocus=True,
                        )
                        say(question_box, "placeholder", "question")
                        send = say(
                            gr.Button(
                                w["send"], variant="primary", scale=1, min_width=80, elem_id="rag-send"
                            ),
                            "value",
                            "send",
                        )
                    with say(gr.Accordion(w["settings"], open=False), "label", "settings"):
                        k_slider = say(
                            gr.Slider(1, 20, value=default_k, step=1, label=w["k"], elem_id="rag-k"),
                            "label",
                            "k",
                        )
                        with gr.Row():
                            since = say(
                                gr.Textbox(label=w["since"], max_lines=1, elem_id="rag-since"),
                                "label",
                                "since",
                            )
                            until = say(
                                gr.Textbox(label=w["until"], max_lines=1, elem_id="rag-until"),
                                "label",
                                "until",
                            )
                        clear = say(gr.Button(w["clear"], size="sm"), "value", "clear")
                with gr.Column(scale=2, min_width=300):
                    pick = say(
                        gr.Radio(choices=[], label=w["sources_pick"], elem_id="rag-pick"),
                        "label",
                        "sources_pick",
                    )
                    article = gr.HTML(
                        render.article_html(None),
                        elem_id="rag-article",
                        js_on_load=ARTICLE_JS,
                        container=True,
                        padding=True,
                    )
                    say(article, "value", lambda lang: render.article_html(None, lang=lang))
            with gr.Tab("Articles", id="articles"):
                info = gr.HTML(render.info_html(engine.info()), elem_id="rag-info")
                with gr.Row():
                    pending_note = gr.Markdown(elem_id="rag-pending")
                    pending_update = say(
                        gr.Button(w["update"], visible=False, scale=0, elem_id="rag-update"),
                        "value",
                        "update",
                    )
                writes = {} if read_only else _write_forms(engine, say)
                say(gr.Markdown(w["docs_heading"]), "value", "docs_heading")
                with gr.Row():
                    search = say(
                        gr.Textbox(
                            placeholder=w["search"],
                            show_label=False,
                            scale=4,
                            min_width=160,
                            elem_id="rag-docs-search",
                        ),
                        "placeholder",
                        "search",
                    )
                    order = say(
                        gr.Dropdown(
                            _orders("fr"),
                            value="date",
                            show_label=False,
                            scale=2,
                            min_width=120,
                            elem_id="rag-docs-order",
                        ),
                        "choices",
                        _orders,
                    )
                    page = gr.Number(
                        1,
                        precision=0,
                        minimum=1,
                        label="Page",
                        scale=1,
                        min_width=80,
                        elem_id="rag-docs-page",
                    )
                docs = gr.HTML(render.documents_html(documents), elem_id="rag-docs")
                docs_version = gr.State("")
        shown = gr.State("")
        timer = gr.Timer(POLL_S)

        c = Components(
            chatbot=chatbot,
            question_box=question_box,
            k_slider=k_slider,
            turns_state=turns_state,
            picked=picked,
            pick=pick,
            article=article,
            info=info,
            docs=docs,
            **{name: writes.get(name) for name in WRITE_COMPONENTS},
            shown=shown,
            pending_note=pending_note,
            pending_update=pending_update,
            opened=opened,
            search=search,
            order=order,
            page=page,
            docs_version=docs_version,
            lang=lang,
            since=since,
            until=until,
        )
        buttons = {
            "send": send,
            "clear": clear,
            "timer": timer,
            **{k: v for k, v in writes.items() if k not in WRITE_COMPONENTS},
        }
        _wire(Handlers(engine, c, read_only=read_only), c, buttons, app, say)
    app.queue(default_concurrency_limit=CONCURRENCY)
    return app


def _wire(h: Handlers, c: Components, buttons: dict[str, Any], app: gr.Blocks, say: Labels) -> None:
    """Connect the events to their handlers. The UI's own events are private: the one API is /ask.
    Every handler that writes words gets the page's language (``c.lang``) as its last input."""
    send, clear = buttons["send"], buttons["clear"]
    chat_inputs = [c.question_box, c.chatbot, c.turns_state, c.k_slider, c.lang, c.since, c.until]
    chat_outputs = [c.question_box, c.chatbot, c.turns_state, c.pick, c.picked, c.article]
    private: dict[str, Any] = {"api_visibility": "private"}
    c.question_box.submit(h.chat, chat_inputs, chat_outputs, show_progress="hidden", **private)
    send.click(h.chat, chat_inputs, chat_outputs, show_progress="hidden", **private)
    c.chatbot.example_select(h.use_example, None, [c.question_box], **private).then(
        h.chat, chat_inputs, chat_outputs, show_progress="hidden", **private
    )
    c.chatbot.select(h.select_turn, [c.turns_state, c.lang], [c.pick, c.picked, c.article], **private)
    c.pick.input(h.open_pick, [c.pick, c.picked, c.lang], [c.article], show_progress="hidden", **private)
    cleared = [c.chatbot, c.turns_state, c.pick, c.picked, c.article]
    clear.click(h.clear_chat, [c.lang], cleared, **private)
    c.chatbot.clear(h.clear_chat, [c.lang], cleared, **private)

    def set_language(request: gr.Request) -> tuple[Any, ...]:
        lang = page_language(dict(request.query_params) if request is not None else {})
        return (lang, *say.updates(lang))

    loaded = app.load(set_language, None, [c.lang, *say.components], **private)
    polled = [c.shown, c.pending_note, c.pending_update]
    table = [c.search, c.order, c.page, c.lang]
    for changed in (c.docs_version.change, c.search.change, c.order.change, c.page.change):
        changed(h.docs_view, table, [c.docs], show_progress="hidden", **private)
    c.opened.change(
        h.open_marker, [c.opened, c.turns_state, c.lang], [c.pick, c.picked, c.article], **private
    )
    if h.read_only:
        loaded.then(h.page_load, [c.lang], [c.shown, c.info, c.docs_version, c.chatbot], **private)
        buttons["timer"].tick(
            h.poll,
            [c.shown, c.lang],
            [*polled, c.info, c.docs_version, c.chatbot],
            show_progress="hidden",
            **private,
        )
        gr.api(h.api_ask, api_name="ask", concurrency_limit=CONCURRENCY)
        return
    corpus_outputs = [c.info, c.docs_version, c.remove_pick, c.remove_note, c.trash_pick, c.chatbot]
    buttons["timer"].tick(
        h.poll,
        [c.shown, c.lang],
        [*polled, *corpus_outputs],
        show_progress="hidden",
        **private,
    )
    corpus: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": "corpus", **private}
    buttons["add"].click(
        h.add_files,
        [c.files, c.replace, c.lang],
        [c.status, *corpus_outputs, c.files],
        show_progress_on=[c.files],
        **corpus,
    )
    for fire in (buttons["add_web"].click, c.web_source.submit):
        fire(
            h.add_web,
            [c.web_source, c.lang],
            [c.status, *corpus_outputs, c.web_source],
            show_progress_on=[c.status],
            **corpus,
        )
    confirming = gr.State("")  # the article the confirmation names: "yes" removes only that one
    buttons["remove"].click(
        h.ask_remove, [c.remove_pick, c.lang], [c.confirm_row, c.confirm_text, confirming], **private
    )
    buttons["cancel"].click(h.cancel_remove, None, [c.confirm_row], **private)
    buttons["confirm"].click(
        h.remove_doc,
        [c.remove_pick, confirming, c.lang],
        [c.confirm_row, c.status, *corpus_outputs],
        show_progress_on=[c.status],
        **corpus,
    )
    buttons["restore"].click(
        h.restore_doc,
        [c.trash_pick, c.lang],
        [c.status, *corpus_outputs],
        show_progress_on=[c.status],
        **corpus,
    )
    c.pending_update.click(
        h.index_pending,
        [c.lang],
        [c.status, c.pending_note, c.pending_update, *corpus_outputs],
        show_progress_on=[c.pending_note],
        **corpus,
    )
    loaded.then(h.page_load, [c.lang], [c.shown, *corpus_outputs], **private)
    gr.api(h.api_ask, api_name="ask", concurrency_limit=CONCURRENCY)
