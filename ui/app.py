"""The Gradio web chat over a shared :class:`rag.Engine`: the page's layout, and serving it.

``serve(engine, host, port)`` (used by ``rag serve``) prints the address and blocks;
``build_app(engine)`` returns the :class:`gradio.Blocks` (queue enabled) and ``launch_app(app, …)``
starts it with the page's CSS and upload limit (tests use it with ``prevent_thread_lock=True``).
What each event does is in :mod:`ui.handlers`, all markup in :mod:`ui.render`.

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

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Engine, RagError, SettingsError

from . import render
from .handlers import Components, Handlers
from .words import page_language, words

log = logging.getLogger(__name__)

CONCURRENCY = 8  # questions answered at once (the engine is safe for concurrent questions)
SERVING = ".serving.json"  # beside the index: which process serves it, and where
POLL_S = 2.0  # the page looks for an index built elsewhere and for corpus files not indexed this often

CSS = """
.rag-question { white-space: normal; }
.rag-marker { color: var(--color-accent); font-weight: 600; margin-left: 1px; }
.rag-query { font-size: .85em; opacity: .75; margin-top: .45em; }
.rag-sources { margin-top: .6em; padding-top: .4em; border-top: 1px solid var(--border-color-primary); }
.rag-sources-title { font-weight: 600; font-size: .9em; margin-bottom: .2em; }
.rag-src { margin: .45em 0; padding: .35em .6em; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary); border-radius: 4px; }
.rag-related .rag-src { border-left-color: var(--border-color-primary); }
.rag-src-head { font-size: .85em; }
.rag-src-title { font-weight: 600; }
.rag-src-file, .rag-docs code { font-family: var(--font-mono); font-size: .9em; }
.rag-passage { font-size: .9em; margin-top: .2em; line-height: 1.45; }
.rag-answer mark, .rag-article mark { background: #fde68a; color: #1f2937; padding: 0 .1em;
  border-radius: 2px; }
.rag-short { font-weight: 700; font-size: 1.08em; margin-bottom: .25em; }
.rag-error { color: #b91c1c; font-weight: 500; }
.rag-pending { opacity: .6; }
.rag-article h3 { margin: 0 0 .2em 0; font-size: 1.05em; }
.rag-article-meta { font-size: .85em; opacity: .75; margin-bottom: .5em; }
.rag-article-body { max-height: 60vh; overflow-y: auto; line-height: 1.55; padding-right: .5em; }
.rag-empty { opacity: .7; font-style: italic; }
.rag-docs { width: 100%; border-collapse: collapse; font-size: .92em; }
.rag-docs th, .rag-docs td { text-align: left; padding: .3em .5em;
  border-bottom: 1px solid var(--border-color-primary); }
.rag-num { text-align: right; }
.rag-info { margin: .2em 0 .6em 0; }
.rag-status-ok { color: #15803d; }
.rag-status-warn { color: #92400e; }
.rag-changes { margin: 0; padding-left: 1.2em; }
.rag-change-refused { color: #b91c1c; }
.rag-marker { cursor: pointer; }
.rag-copy { cursor: pointer; font-size: .8em; opacity: .7; margin-left: .6em; text-decoration: underline; }
.rag-copy-text, .rag-hidden { display: none !important; }
#rag-docs { max-height: 65vh; overflow: auto; }
.rag-docs td code { word-break: break-all; }
@media (max-width: 640px) {  /* a phone: the question box and send button above the fold */
  #rag-chat { height: 58vh !important; max-height: 58vh !important; }
  #rag-title h2 { font-size: 1.1em; margin: 0; }
  #rag-title p { display: none; }
  #rag-docs { max-height: 50vh; }
  .rag-docs th:nth-child(3), .rag-docs td:nth-child(3) { display: none; }
}
"""

# Runs in the article panel: whenever its value changes, scroll the cited span into view.
ARTICLE_JS = """
const show = () => {
  const mark = element.querySelector('mark#rag-cited');
  const body = element.querySelector('.rag-article-body');
  if (!mark || !body) return;
  const offset = mark.getBoundingClientRect().top - body.getBoundingClientRect().top;
  body.scrollTop += offset - body.clientHeight / 3;
  // The page itself moves to the panel only when a person asked for this article (a source or a
  // marker clicked), not when an answer opens its first source (on a phone that jumped away).
  if (!element.querySelector('.rag-reveal')) return;
  const r = body.getBoundingClientRect();
  if (r.top < 0 || r.top > window.innerHeight) body.scrollIntoView({block: 'nearest'});
};
watch('value', () => requestAnimationFrame(() => requestAnimationFrame(show)));
requestAnimationFrame(show);
"""

# Runs once in the page: keeps the start of the latest answer in view (the chat's own autoscroll,
# off, went to the bottom of the source cards), and makes the answers' [n] markers and copy
# buttons work (the chat's HTML is sanitised: no handlers in it, so they are delegated here).
CHAT_JS = """
const install = () => {
const chat = document.querySelector('#rag-chat');
if (!chat) { setTimeout(install, 100); return; }
const scroller = (el) => {
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const y = getComputedStyle(p).overflowY;
    if ((y === 'auto' || y === 'scroll') && p.scrollHeight > p.clientHeight) return p;
  }
  return null;
};
let pinned = 0;  // the number of the question kept at the top while its answer streams in
new MutationObserver(() => {
  const asked = chat.querySelectorAll('.rag-question');
  if (asked.length === 0 || pinned < 0 && asked.length === -pinned) return;
  const last = asked[asked.length - 1];
  const box = scroller(last);
  if (box) box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
  const answers = chat.querySelectorAll('.rag-answer .rag-query, .rag-error');
  pinned = answers.length >= asked.length ? -asked.length : asked.length;  // done: let go
}).observe(chat, {childList: true, subtree: true, characterData: true});
chat.addEventListener('click', (event) => {
  const marker = event.target.closest('.rag-marker');
  const answer = event.target.closest('.rag-answer');
  const number = (el, prefix) => {
    const c = [...el.classList].find((x) => x.startsWith(prefix));
    return c ? c.slice(prefix.length) : null;
  };
  if (marker && answer && number(answer, 'rag-turn-') !== null) {
    const box = document.querySelector('#rag-open textarea, #rag-open input');
    // (a time stamp: clicking the same marker again is a change too)
    box.value = number(answer, 'rag-turn-') + ':' + number(marker, 'rag-n-') + ':' + Date.now();
    box.dispatchEvent(new Event('input', {bubbles: true}));
    box.dispatchEvent(new Event('change', {bubbles: true}));
    event.stopPropagation();
  }
  const copy = event.target.closest('.rag-copy');
  if (copy && answer) {
    const text = answer.querySelector('.rag-copy-text').textContent;
    navigator.clipboard.writeText(text).then(() => { copy.textContent = '✓ copié (copied)'; });
    event.stopPropagation();
  }
}, true);
};
install();
"""


WRITE_COMPONENTS = (
    "files",
    "replace",
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


MAX_REQUEST_BYTES = 1024 * 1024  # a question and 20 history items of 2,000 characters fit many times


class RequestLimit:
    """ASGI middleware: a request body over :data:`MAX_REQUEST_BYTES` (file uploads aside, which
    have their own limit) is answered 413 with a one-line message. Its bytes are read and dropped as
    they come (never kept or parsed), so that the client gets the answer rather than a broken pipe;
    a body sent without a length (chunked) is read up to the limit before the app sees it."""

    def __init__(self, app: Any, limit: int = MAX_REQUEST_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path", "").endswith("/upload"):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and length.isdigit():
            if int(length) <= self.limit:
                await self.app(scope, receive, send)
            else:
                await self._refuse(scope, receive, send, int(length), more=True)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size, more = size + len(chunks[-1]), bool(message.get("more_body"))
            if size > self.limit:
                await self._refuse(scope, receive, send, size, more)
                return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Any, receive: Any, send: Any, size: int, more: bool) -> None:
        log.warning("request refused: %d bytes to %s, over %d", size, scope.get("path"), self.limit)
        while more:  # drain what the client still sends, a chunk at a time
            message = await receive()
            more = message["type"] == "http.request" and bool(message.get("more_body"))
        body = (
            f'{{"error": "the request has {size} bytes or more, over the limit of {self.limit}: send a '
            f'shorter question or history"}}'
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def launch_app(app: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860, **kwargs: Any) -> Any:
    """Start ``app`` with the page's CSS, upload and request limits; other ``kwargs`` go to
    ``Blocks.launch``."""
    from starlette.middleware import Middleware

    options: dict[str, Any] = {
        "server_name": host,
        "server_port": port,
        "css": CSS,
        "max_file_size": 4 * Engine.MAX_UPLOAD_BYTES,  # bigger files are cut off by Gradio itself
        "show_error": True,
        "app_kwargs": {"middleware": [Middleware(RequestLimit)]},
    }
    options.update(kwargs)
    return app.launch(**options)


def _warm_up(engine: Engine) -> None:
    try:
        engine.warm_up()
    except Exception:  # a broken model shows up, with its message, on the first question instead
        log.warning("warming up the engine failed", exc_info=True)


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_exposure(host: str, logins: Sequence[tuple[str, str]], read_only: bool) -> None:
    """Refuse to serve the page's write actions (upload, removal) beyond this machine without a
    login: a :class:`SettingsError` saying how to set one, or to serve read-only."""
    if host in LOCAL_HOSTS or host.startswith("127.") or logins or read_only:
        return
    raise SettingsError(
        f"--host {host} would let anyone who can reach this machine upload and remove articles: set a "
        "login (--auth user:password, --auth-file FILE, or RAG_AUTH / RAG_AUTH_FILE), or serve without "
        "the write actions (--read-only)"
    )


def serve(
    engine: Engine,
    host: str = "127.0.0.1",
    port: int = 7860,
    logins: Sequence[tuple[str, str]] = (),
    read_only: bool = False,
) -> None:
    """Serve the web chat until interrupted: prints the address, then blocks. ``logins``: the
    (user, password) pairs the page asks for (none: no login); see :func:`check_exposure`."""
    check_exposure(host, logins, read_only)
    app = build_app(engine, read_only=read_only)
    try:
        launch_app(app, host=host, port=port, prevent_thread_lock=True, quiet=True, auth=list(logins) or None)
    except OSError as exc:
        raise RagError(f"cannot serve on {host}:{port} ({exc}): choose another --port") from None
    url = f"http://{host}:{app.server_port or port}"
    print(f"rag web chat: {url}  (Ctrl-C to stop)", flush=True)
    # The page is up; the model loads now instead of during the first question (3.5 s on 2 cores).
    threading.Thread(target=_warm_up, args=(engine,), name="rag-warm-up", daemon=True).start()
    announced = announce(engine.settings.index_dir, url, bool(logins))
    try:
        app.block_thread()
    finally:
        announced.unlink(missing_ok=True)
        app.close()


def announce(index_dir: Path, url: str, login: bool) -> Path:
    """Say, beside the index, that this process serves it at ``url``: ``rag ask`` then asks it
    instead of loading the model itself (see ``ui.cli.served_answer``). Returns the file written."""
    path = Path(index_dir) / SERVING
    row = {"pid": os.getpid(), "url": url.replace("0.0.0.0", "127.0.0.1"), "login": login}
    tmp = path.with_name(f"{SERVING}.{os.getpid()}")
    tmp.write_text(json.dumps(row), encoding="utf-8")
    os.replace(tmp, path)
    return path
