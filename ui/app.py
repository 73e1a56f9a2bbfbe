"""The Gradio web chat over a shared :class:`rag.Engine`.

>>> # from rag import Engine; from ui.app import serve
>>> # serve(Engine.open("index"), host="127.0.0.1", port=7860)   # prints the address and blocks

``build_app(engine)`` returns the :class:`gradio.Blocks` (queue enabled); ``launch_app(app, …)``
starts it with the page's CSS and upload limit (tests use it with ``prevent_thread_lock=True``).

The app has two tabs. *Chat*: questions in French or English, answers streamed sentence by sentence
with ``[n]`` markers, the search query used, and source cards (title, date, file, passage with the
quote in ``<mark>``); a side panel opens the whole article with the quote highlighted and scrolled
into view. *Articles*: index facts, the indexed documents, upload (``.txt``, ``.md``, ``.html``,
``.jsonl``) with a progress bar, and removal. The same question function is the API endpoint
``/ask`` (``gradio_client.Client(url).predict(question, k, api_name="/ask")`` returns the JSON of
``Answer.to_dict()``).

All text from articles or people is escaped by :mod:`ui.render` before it becomes markup.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from rag import Engine, Progress, RagError  # noqa: E402

from . import render  # noqa: E402

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = Engine.MAX_UPLOAD_BYTES  # per file, checked before the engine sees it
MAX_UPLOAD_FILES = 50
UPLOAD_TYPES = list(Engine.UPLOAD_SUFFIXES)
STREAM_DELAY = 0.05  # seconds between streamed sentences
CONCURRENCY = 8  # questions answered at once (the engine is safe for concurrent questions)
COMPOSERS = ["extractive"]
STAGES = {"load": "Lecture des fichiers", "embed": "Calcul des vecteurs", "save": "Enregistrement"}

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
"""

# Runs in the article panel: whenever its value changes, scroll the cited span into view.
ARTICLE_JS = """
const show = () => {
  const mark = element.querySelector('mark#rag-cited');
  const body = element.querySelector('.rag-article-body');
  if (!mark || !body) return;
  const offset = mark.getBoundingClientRect().top - body.getBoundingClientRect().top;
  body.scrollTop += offset - body.clientHeight / 3;
  const r = body.getBoundingClientRect();
  if (r.top < 0 || r.top > window.innerHeight) body.scrollIntoView({block: 'nearest'});
};
watch('value', () => requestAnimationFrame(() => requestAnimationFrame(show)));
requestAnimationFrame(show);
"""


# ----- helpers shared by the events ---------------------------------------------------------------
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


def _article_for(engine: Engine, citation: dict[str, Any] | None) -> str:
    if not citation:
        return render.article_html(None)
    try:
        doc = asdict(engine.document(citation["doc_id"]))
    except RagError as exc:
        return render.error_html(str(exc))
    if render.quote_matches(citation, doc["text"]):
        return render.article_html(doc, int(citation["start"]), int(citation["end"]))
    return render.article_html(doc)


def _pick_update(cited: Sequence[dict[str, Any]], abstained: bool = False) -> Any:
    label = "Sources — cliquez pour lire l'article entier (open the article)"
    if abstained:
        label = "Passages proches — cliquez pour lire l'article (related passages)"
    choices = [(render.citation_label(c), i) for i, c in enumerate(cited)]
    return gr.Radio(choices=choices, value=0 if choices else None, label=label)


def _corpus_views(engine: Engine) -> tuple[str, str, Any, Any]:
    """Index facts, document table, removal choices and chat examples for the current corpus."""
    documents = engine.documents()
    choices = [(render.document_label(d.title, d.id), d.id) for d in documents]
    examples = [{"text": q} for q in render.example_questions(documents)]
    return (
        render.info_html(engine.info()),
        render.documents_html(documents),
        gr.Dropdown(choices=choices, value=None),
        gr.Chatbot(examples=examples or None),  # type: ignore[arg-type]  # TypedDict of {"text": str}
    )


def ask_json(
    engine: Engine, question: str, k: int | float | None = None, history: Sequence[str] = ()
) -> dict:
    """The answer as the JSON dict of ``Answer.to_dict()`` (the ``/ask`` API)."""
    answer = engine.ask(question, k=int(k) if k else None, history=list(history or ()))
    return answer.to_dict()


class Step(NamedTuple):
    """One state of the assistant's bubble while an answer streams in."""

    html: str
    answer: dict[str, Any] | None  # None while searching
    done: bool  # the complete answer, with its query and sources


def answer_stream(
    engine: Engine, question: str, k: int | float | None = None, history: Sequence[str] = ()
) -> Iterator[Step]:
    """The assistant's chat bubble as it grows: a "searching" bubble, then the answer one more
    sentence (with its markers) at a time, the last step complete with the search query used and
    the sources. Raises the engine's :class:`RagError`."""
    yield Step('<div class="rag-pending">Recherche dans les articles…</div>', None, False)
    data = ask_json(engine, question, k, history)
    texts = _texts(engine, data)
    for prefix in render.stream_prefixes(data["text"])[:-1]:
        yield Step(render.message_html(data, texts, partial_text=prefix), data, False)
        time.sleep(STREAM_DELAY)
    yield Step(render.message_html(data, texts), data, True)


# ----- the app ----------------------------------------------------------------------------------
def build_app(engine: Engine) -> gr.Blocks:
    """The web chat over ``engine`` (shared by every visitor), with the queue enabled."""
    default_k = max(1, min(20, int(getattr(engine.settings, "k", 5) or 5)))
    documents = engine.documents()

    def chat(question: str, messages: list, turns: list, k: float, composer: str) -> Iterator[dict[Any, Any]]:
        question = (question or "").strip()
        messages = list(messages or [])
        if not question:
            gr.Warning("La question est vide : tapez une question (the question is empty).")
            yield {chatbot: messages}
            return
        history = [t["question"] for t in turns or []]
        base = [*messages, {"role": "user", "content": render.question_html(question)}]
        data: dict[str, Any] | None = None
        update: dict[Any, Any] = {question_box: ""}  # the question leaves the box with the first bubble
        try:
            for step in answer_stream(engine, question, k, history):
                update[chatbot] = [*base, {"role": "assistant", "content": step.html}]
                if step.done:  # the complete bubble goes out together with the sources panel
                    data = step.answer
                    break
                yield update
                update = {}
        except RagError as exc:
            gr.Warning(str(exc))
            yield {chatbot: [*base, {"role": "assistant", "content": render.error_html(str(exc))}]}
            return
        except Exception as exc:  # keep the page (and server) alive whatever happens
            log.exception("question failed: %r", question)
            message = f"Erreur inattendue (unexpected error): {type(exc).__name__}"
            gr.Warning(message)
            yield {chatbot: [*base, {"role": "assistant", "content": render.error_html(message)}]}
            return
        assert data is not None  # the complete answer is shown: remember it, open its first source
        cited = _cited(data)
        turn = {"question": question, "answer": data, "message": len(base)}
        update[turns_state] = [*(turns or []), turn]
        update[pick] = _pick_update(cited, bool(data["abstained"]))
        update[picked] = cited
        update[article] = _article_for(engine, cited[0] if cited else None)
        yield update

    def open_pick(index: int | None, cited: list) -> str:
        if index is None or not cited or not 0 <= int(index) < len(cited):
            return render.article_html(None)
        return _article_for(engine, cited[int(index)])

    def select_turn(turns: list, evt: gr.SelectData) -> tuple[Any, list, str]:
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        for turn in turns or []:
            if index in (turn["message"], turn["message"] - 1):
                cited = _cited(turn["answer"])
                return (
                    _pick_update(cited, bool(turn["answer"]["abstained"])),
                    cited,
                    _article_for(engine, cited[0] if cited else None),
                )
        return gr.skip(), gr.skip(), gr.skip()

    def use_example(evt: gr.SelectData) -> str:
        value = evt.value if isinstance(evt.value, dict) else {}
        return str(value.get("text", ""))

    def clear_chat() -> tuple[list, list, Any, list, str]:
        return [], [], gr.Radio(choices=[], value=None), [], render.article_html(None)

    def refresh() -> tuple[str, str, Any, Any]:
        return _corpus_views(engine)

    def add_files(paths: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
        def done(status: str) -> tuple:
            return (status, *_corpus_views(engine), None)

        def refused(message: str) -> tuple:
            gr.Warning(message)
            return (render.error_html(message), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip())

        paths = [str(p) for p in paths or []]
        if not paths:
            return refused("Choisissez d'abord un ou plusieurs fichiers (choose files first).")
        if len(paths) > MAX_UPLOAD_FILES:
            return refused(f"{len(paths)} fichiers : {MAX_UPLOAD_FILES} au plus à la fois.")
        names = [Path(p).name for p in paths]
        for path, name in zip(paths, names):
            size = Path(path).stat().st_size if Path(path).exists() else 0
            if size > MAX_UPLOAD_BYTES:
                return refused(
                    f"{name} : {size / 1024 / 1024:.1f} Mo, au-delà de la limite de "
                    f"{MAX_UPLOAD_BYTES // 1024 // 1024} Mo par fichier (file too large)."
                )
        progress(0.0, desc="Vérification des fichiers…")

        def on_progress(event: Progress) -> None:  # (its message names server paths: not shown)
            desc = STAGES.get(event.stage, event.stage)
            if event.total:
                progress(
                    (event.done, event.total),
                    desc=desc,
                    unit="étapes" if event.stage != "embed" else "passages",
                )
            else:
                progress(0.0, desc=desc)

        try:
            report = engine.add_files(paths, names=names, on_progress=on_progress)
        except RagError as exc:
            return refused(str(exc))
        except Exception as exc:
            log.exception("upload failed: %s", names)
            return refused(f"Erreur inattendue (unexpected error): {type(exc).__name__}")
        lines = [
            f"✓ {len(names)} fichier(s) indexé(s) : {report.added} nouveau(x), {report.updated} mis à jour, "
            f"{report.sentences_embedded} phrases vectorisées. Vous pouvez poser vos questions dès à présent."
        ]
        lines += [f"⚠ ignoré {s.path} : {s.reason}" for s in report.skipped]
        return done('<div class="rag-status-ok">' + "<br>".join(render.escape(x) for x in lines) + "</div>")

    def remove_doc(doc_id: str | None, progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
        if not doc_id:
            gr.Warning("Choisissez l'article à supprimer (choose an article).")
            return (gr.skip(),) * 5
        progress(0.0, desc="Suppression…")
        try:
            engine.remove_document(doc_id)
        except RagError as exc:
            gr.Warning(str(exc))
            return (render.error_html(str(exc)), gr.skip(), gr.skip(), gr.skip(), gr.skip())
        status = f'<div class="rag-status-ok">✓ {render.escape(doc_id)} supprimé (removed).</div>'
        return (status, *_corpus_views(engine))

    def api_ask(question: str, k: int = default_k, history: list[str] | None = None) -> dict:
        """Answer a question from the articles: the JSON of rag's Answer (text with [n] markers,
        citations with verbatim quotes and offsets, abstained, related, query, hits)."""
        try:
            return ask_json(engine, question, k, history or ())
        except RagError as exc:
            raise gr.Error(str(exc)) from None

    with gr.Blocks(title="rag — questions sur les articles", analytics_enabled=False) as app:
        gr.Markdown(
            "## Questions sur les articles\n"
            "Posez une question en français ou en anglais : la réponse cite les phrases des articles "
            "qui la justifient. *Ask in French or English; every answer quotes its sources.*"
        )
        turns_state = gr.State([])
        picked = gr.State([])
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=360):
                    chatbot = gr.Chatbot(
                        label="Chat",
                        elem_id="rag-chat",
                        height=560,
                        examples=[{"text": q} for q in render.example_questions(documents)] or None,
                        placeholder="Posez une question sur les articles, ou choisissez un exemple.",
                        latex_delimiters=[],
                        sanitize_html=True,
                        feedback_options=None,
                        buttons=[],  # copying would copy the HTML of the bubbles
                        layout="bubble",
                    )
                    with gr.Row():
                        question_box = gr.Textbox(
                            placeholder="Votre question… (your question, in French or English)",
                            show_label=False,
                            elem_id="rag-question",
                            scale=5,
                            max_lines=4,
                            autofocus=True,
                        )
                        send = gr.Button("Envoyer", variant="primary", scale=1, elem_id="rag-send")
                    with gr.Accordion("Réglages (settings)", open=False):
                        with gr.Row():
                            k_slider = gr.Slider(
                                1,
                                20,
                                value=default_k,
                                step=1,
                                label="Passages recherchés (k)",
                                elem_id="rag-k",
                            )
                            composer = gr.Dropdown(
                                COMPOSERS,
                                value=COMPOSERS[0],
                                label="Composition de la réponse",
                                info="extractive : phrases citées telles quelles",
                            )
                        clear = gr.Button("Nouvelle conversation (clear)", size="sm")
                with gr.Column(scale=2, min_width=300):
                    pick = gr.Radio(
                        choices=[],
                        label="Sources — cliquez pour lire l'article entier (open the article)",
                        elem_id="rag-pick",
                    )
                    article = gr.HTML(
                        render.article_html(None),
                        elem_id="rag-article",
                        js_on_load=ARTICLE_JS,
                        container=True,
                        padding=True,
                    )
            with gr.Tab("Articles", id="articles"):
                info = gr.HTML(render.info_html(engine.info()), elem_id="rag-info")
                docs = gr.HTML(render.documents_html(documents), elem_id="rag-docs")
                gr.Markdown(
                    "### Ajouter des articles\n"
                    "`.txt`, `.md` (front matter `title`/`date`), `.html`, `.jsonl` "
                    f"(one article per line) — {MAX_UPLOAD_BYTES // 1024 // 1024} Mo au plus par fichier."
                )
                files = gr.File(
                    file_count="multiple",
                    file_types=UPLOAD_TYPES,
                    type="filepath",
                    label="Fichiers",
                    elem_id="rag-files",
                )
                add = gr.Button("Indexer les fichiers (add)", variant="primary", elem_id="rag-add")
                status = gr.HTML(elem_id="rag-status")
                gr.Markdown("### Supprimer un article")
                with gr.Row():
                    remove_pick = gr.Dropdown(choices=[], label="Article", scale=4, elem_id="rag-remove-pick")
                    remove = gr.Button("Supprimer (remove)", variant="stop", scale=1, elem_id="rag-remove")

        chat_inputs = [question_box, chatbot, turns_state, k_slider, composer]
        chat_outputs = [question_box, chatbot, turns_state, pick, picked, article]
        private: dict[str, Any] = {"api_visibility": "private"}
        question_box.submit(chat, chat_inputs, chat_outputs, show_progress="hidden", **private)
        send.click(chat, chat_inputs, chat_outputs, show_progress="hidden", **private)
        chatbot.example_select(use_example, None, [question_box], **private).then(
            chat, chat_inputs, chat_outputs, show_progress="hidden", **private
        )
        chatbot.select(select_turn, [turns_state], [pick, picked, article], **private)
        pick.input(open_pick, [pick, picked], [article], show_progress="hidden", **private)
        clear.click(clear_chat, None, [chatbot, turns_state, pick, picked, article], **private)
        chatbot.clear(clear_chat, None, [chatbot, turns_state, pick, picked, article], **private)
        corpus_outputs = [info, docs, remove_pick, chatbot]
        add.click(
            add_files,
            [files],
            [status, *corpus_outputs, files],
            show_progress_on=[files],
            concurrency_limit=1,
            concurrency_id="corpus",
            **private,
        )
        remove.click(
            remove_doc,
            [remove_pick],
            [status, *corpus_outputs],
            show_progress_on=[status],
            concurrency_limit=1,
            concurrency_id="corpus",
            **private,
        )
        app.load(refresh, None, corpus_outputs, **private)
        gr.api(api_ask, api_name="ask", concurrency_limit=CONCURRENCY)

    app.queue(default_concurrency_limit=CONCURRENCY)
    return app


def launch_app(app: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860, **kwargs: Any) -> Any:
    """Start ``app`` with the page's CSS and upload limit; other ``kwargs`` go to ``Blocks.launch``."""
    options: dict[str, Any] = {
        "server_name": host,
        "server_port": port,
        "css": CSS,
        "max_file_size": 4 * MAX_UPLOAD_BYTES,  # bigger files are cut off by Gradio itself
        "show_error": True,
    }
    options.update(kwargs)
    return app.launch(**options)


def _warm_up(engine: Engine) -> None:
    try:
        engine.warm_up()
    except Exception:  # a broken model shows up, with its message, on the first question instead
        log.warning("warming up the engine failed", exc_info=True)


def serve(engine: Engine, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve the web chat until interrupted: prints the address, then blocks."""
    app = build_app(engine)
    try:
        launch_app(app, host=host, port=port, prevent_thread_lock=True, quiet=True)
    except OSError as exc:
        raise RagError(f"cannot serve on {host}:{port} ({exc}): choose another --port") from None
    print(f"rag web chat: http://{host}:{app.server_port or port}  (Ctrl-C to stop)", flush=True)
    # The page is up; the model loads now instead of during the first question (3.5 s on 2 cores).
    threading.Thread(target=_warm_up, args=(engine,), name="rag-warm-up", daemon=True).start()
    try:
        app.block_thread()
    finally:
        app.close()
