"""The ``rag`` command: index, add, remove, restore, ask, chat, serve, eval.

The command line is the one layer that sees both the library (``rag``, its public names) and the
web app (``ui.serving``, imported only by ``rag serve``). Every :class:`RagError` becomes a one-line
message on stderr and exit status 2. Progress bars are drawn here (on a terminal), never in the
library, which only reports :class:`~rag.Progress` events.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rag import (
    Answer,
    CorpusChange,
    Engine,
    FileResult,
    IndexReport,
    Progress,
    RagError,
    Settings,
    SettingsError,
    update_index,
)
from rag.corpus.web import MAX_ITEMS, is_web_source

# Bars drawn per stage of the library's progress events: (label, unit).
_BARS = {
    "embed": ("embedding sentences", "sentence"),
    "wait": ("waiting for the other build", "sentence"),
    "ask": ("asking", "q"),
    "fetch": ("fetching the feed's pages", "page"),
}


def progress_bar(enabled: bool, label: str | None = None) -> tuple[Callable[[Progress], None] | None, Any]:
    """A progress callback drawing one tqdm bar per stage of the events it gets (embedding, asking),
    and a function closing them. ``label`` overrides the embedding bar's label."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bars: dict[tuple[str, str], Any] = {}

    def on_progress(event: Progress) -> None:
        if event.stage not in _BARS or event.total == 0:
            return
        key = (event.stage, event.message if event.stage == "ask" else "")
        bar = bars.get(key)
        if bar is None:
            desc, unit = _BARS[event.stage]
            desc = event.message or desc if event.stage == "ask" else label or desc
            bar = bars[key] = tqdm(total=event.total, desc=desc, unit=unit, file=sys.stderr)
        bar.update(event.done - bar.n)

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return on_progress, close


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.resolve(
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        model=getattr(args, "model", None),
        chunk_size=getattr(args, "chunk_size", None),
        chunk_overlap=getattr(args, "chunk_overlap", None),
        k=getattr(args, "k", None),
        composer=getattr(args, "composer", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        auth=getattr(args, "auth", None),
        auth_file=getattr(args, "auth_file", None),
        read_only=getattr(args, "read_only", None) or None,
        time_reference=getattr(args, "time_reference", None),
    )


def cmd_index(args: argparse.Namespace) -> int:
    from rag.chunking import Chunker
    from rag.engine import embedder_for

    settings = _settings(args)
    embedder = embedder_for(settings, follow_index=not args.rebuild)
    on_progress, close = progress_bar(sys.stderr.isatty() and not args.json)
    try:
        report = update_index(
            settings.corpus_dir,
            settings.index_dir,
            embedder,
            Chunker(settings.chunk_size, settings.chunk_overlap),
            rebuild=args.rebuild,
            on_progress=on_progress,
            ivf_min=settings.ivf_min,
        )
    finally:
        close()
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
    return 0


def format_report(report: IndexReport) -> str:
    lines = [
        f"index {report.index_dir}: {report.documents_total} documents, {report.chunks_total} chunks, "
        f"{report.sentences_total} sentences"
        + (" (approximate search: inverted file)" if report.vector_index == "ivf" else ""),
        f"  added {report.added}, updated {report.updated}, removed {report.removed}, "
        f"unchanged {report.unchanged}; chunked {report.chunks_indexed} chunks, embedded "
        f"{report.sentences_embedded} sentences in {report.seconds:.1f} s"
        + (
            f" ({report.sentences_resumed} more from the stopped build resumed)"
            if report.sentences_resumed
            else ""
        ),
    ]
    lines += [f"  skipped {s.path}: {s.reason}" for s in report.skipped]
    return "\n".join(lines)


def cmd_add(args: argparse.Namespace) -> int:
    engine = _open_or_build(args)
    on_progress, close = progress_bar(sys.stderr.isatty() and not args.json)
    web = [f for f in args.files if is_web_source(f)]
    files = [f for f in args.files if f not in web]
    changes = []
    try:
        if files:
            changes.append(engine.add_files(files, replace=args.replace, on_progress=on_progress))
        for source in web:  # a URL or feed that fails is reported, and the others still go in
            try:
                changes.append(engine.add_web(source, on_progress, max_items=args.max_items))
            except RagError as exc:
                changes.append(CorpusChange((FileResult(source, "refused", message=str(exc)),), None))
    finally:
        close()
    codes = [_print_change(change, args.json) for change in changes]
    return max(codes, default=0)


def cmd_remove(args: argparse.Namespace) -> int:
    engine = Engine.open(settings=_settings(args))
    return _print_change(engine.remove_document(args.document), args.json)


def cmd_restore(args: argparse.Namespace) -> int:
    engine = Engine.open(settings=_settings(args))
    if not args.name:
        entries = engine.trashed()
        if args.json:
            print(json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=2))
        for e in [] if args.json else entries:
            print(f"{e.name}\t(was {e.path}, removed {e.removed_at})")
        if not entries and not args.json:
            print("the trash is empty")
        return 0
    return _print_change(engine.restore(args.name), args.json)


def _print_change(change: CorpusChange, as_json: bool) -> int:
    """One line per file, then the index update; exit status 2 when a file was refused."""
    if as_json:
        print(json.dumps(asdict(change), ensure_ascii=False, indent=2))
    else:
        for f in change.files:
            where = f" -> {f.path}" if f.path and f.path != f.name else ""
            trash = f" (old version in the trash: {f.trash})" if f.trash else ""
            print(f"{f.status} {f.name}{where}{trash}" + (f": {f.message}" if f.message else ""))
        for note in change.notes:
            print(f"note: {note}")
        if change.index is not None:
            print(format_report(change.index))
    return 2 if change.refused else 0


def format_answer(answer: Answer, width: int = 100) -> str:
    # (the period searched, if any, then the short answer, then the quotes: each a line of the text)
    lines = [textwrap.fill(line, width) for line in answer.text.split("\n")]
    cited = answer.related if answer.abstained else answer.citations
    if cited:
        lines.append("")
        lines.append("Passages proches :" if answer.abstained else "Sources :")
        for c in cited:
            when = f", {c.date}" if c.date else ""
            lines.append(f"[{c.number}] {c.title}{when} ({c.source}, caractères {c.start}-{c.end})")
            lines.append(textwrap.indent(textwrap.fill(f"« {c.quote} »", width - 4), "    "))
            for other in (
                o for o in answer.copies if o.of == c.doc_id and c.number == _first(answer, c.doc_id)
            ):
                when = f", {other.date}" if other.date else ""
                relation = f", {other.relation}" if other.relation != "copy" else ""
                lines.append(f"    aussi : {other.title}{when} ({other.source}{relation})")
    return "\n".join(lines)


def _first(answer: Answer, doc_id: str) -> int:
    """The number of the first citation of a document (its copies are listed under it)."""
    return next(c.number for c in answer.citations if c.doc_id == doc_id)


def cmd_ask(args: argparse.Namespace) -> int:
    settings = _settings(args)
    period = {"since": args.since, "until": args.until}
    local = args.local or args.time_reference  # (a server counts time from its own setting)
    answer = None if local else served_answer(settings, args.question, **period)
    if answer is None:
        answer = Engine.open(settings=settings).ask(args.question, **period)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return 0


def served_answer(
    settings: Settings, question: str, since: str | None = None, until: str | None = None
) -> Answer | None:
    """The answer from a ``rag serve`` running on the same index on this machine (it has the model
    loaded: 0.4 s instead of 2.6 s), or None when there is none or it cannot be reached. An error
    the server gives about the question is raised as a :class:`RagError`."""
    path = Path(settings.index_dir) / ".serving.json"  # written by ui.serving.announce
    try:
        row = json.loads(path.read_text(encoding="utf-8"))
        os.kill(int(row["pid"]), 0)  # still running?
        url = str(row["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    logins = settings.logins()
    if row.get("login") and not logins:
        return None
    try:
        from gradio_client import Client
        from gradio_client.exceptions import AppError

        client = Client(url, auth=logins[0] if logins else None, verbose=False, download_files=False)
    except Exception as exc:  # not reachable, not a rag server: answer here instead
        logging.getLogger(__name__).info("the server at %s cannot be used (%s): answering here", url, exc)
        return None
    try:
        data = client.predict(question, settings.k, [], since or "", until or "", api_name="/ask")
    except AppError as exc:  # the server's one-line message (an empty question, a bad k)
        raise RagError(str(exc)) from None
    return Answer.from_dict(data)


def _open_or_build(args: argparse.Namespace) -> Engine:
    settings = _settings(args)
    on_progress, close = progress_bar(sys.stderr.isatty())
    try:
        return Engine.open(settings=settings, build=True, on_progress=on_progress)
    finally:
        close()


def cmd_chat(args: argparse.Namespace) -> int:
    engine = _open_or_build(args)
    history: list[str] = []
    print("Posez une question (Ctrl-D pour quitter).")
    while True:
        try:
            question = input("\n? ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        try:
            answer = engine.ask(question, history=history)
        except RagError as exc:
            print(f"error: {exc}")
            continue
        history.append(question)
        print(format_answer(answer))


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from ui.serving import check_exposure, serve
    except ImportError:
        print("the web UI is not available here; starting the terminal chat instead", file=sys.stderr)
        return cmd_chat(args)
    settings = _settings(args)  # checked before the index is built or the model loaded
    check_exposure(settings.host, settings.logins(), settings.read_only)
    engine = _open_or_build(args)
    serve(engine, settings.host, settings.port, logins=settings.logins(), read_only=settings.read_only)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.engine import embedder_for
    from rag.evaluation import DEFAULT_SEED, evaluate, format_table, load_qa

    json_out = args.json_out
    if json_out and not Path(json_out).resolve().parent.is_dir():
        raise SettingsError(f"--json {json_out}: its folder does not exist; create it or write elsewhere")
    items = load_qa(args.qa)
    settings = Settings.resolve(model=args.model, composer=args.composer)
    embedder = embedder_for(settings, follow_index=False)
    on_progress, close = progress_bar(sys.stderr.isatty(), "indexing contexts")
    try:
        result = evaluate(
            items,
            embedder,
            retriever=args.retriever,
            limit=args.limit,
            distractors=args.distractors,
            seed=DEFAULT_SEED if args.seed is None else args.seed,
            settings=settings,
            on_progress=on_progress,
            source=f"qa:{Path(args.qa).name}",
            half=args.half,
        )
    finally:
        close()
    result["config"]["qa"] = str(args.qa)
    result["config"]["limit"] = args.limit
    print(f"## rag eval: {Path(args.qa).name}\n")
    print(format_table(result))
    if json_out:
        try:
            Path(json_out).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        except OSError as exc:
            raise SettingsError(f"--json {json_out}: cannot write it ({exc})") from exc
        print(f"\nfull results: {json_out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Cited answers from a corpus of French articles."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)

    def today(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--today",
            action="store_const",
            const="today",
            dest="time_reference",
            help='"last week" in a question counts from today, not the newest article (RAG_TIME_REFERENCE)',
        )

    def common(p: argparse.ArgumentParser, corpus: bool = True, composer: bool = True) -> None:
        p.add_argument("--index", help="index folder (default: RAG_INDEX or index/)")
        p.add_argument("--model", help="embedding model name or folder (default: the index's, or RAG_MODEL)")
        if composer:
            p.add_argument("--composer", help="how answers are composed: reader (default) or extractive")
        if corpus:
            p.add_argument("--corpus", help="corpus folder (default: RAG_CORPUS or seeds/)")

    p = sub.add_parser("index", help="build or update the index from the corpus folder")
    common(p, composer=False)
    p.add_argument("--rebuild", action="store_true", help="start from an empty index")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--chunk-size", help="characters per chunk (default: RAG_CHUNK_SIZE or 500)")
    p.add_argument("--chunk-overlap", help="characters shared by neighbouring chunks (default 100)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("add", help="copy files into the corpus folder and index them (never overwrites)")
    common(p, composer=False)
    p.add_argument(
        "files",
        nargs="+",
        help=".txt, .md, .html or .jsonl files; an article URL; an RSS or Atom feed (a URL, .rss or .atom)",
    )
    p.add_argument(
        "--max-items",
        type=int,
        default=MAX_ITEMS,
        help=f"items read from a feed, newest first (default {MAX_ITEMS})",
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="replace a file of the same name (the old one goes to the trash)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("remove", help="move a document's file to the corpus trash and update the index")
    common(p, composer=False)
    p.add_argument("document", help="the document id (its path in the corpus folder)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("restore", help="list the corpus trash, or put a file back from it")
    common(p, composer=False)
    p.add_argument("name", nargs="?", help="a trash entry, or the file's old path (the latest removed)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("ask", help="answer one question")
    common(p, corpus=False)
    p.add_argument("question")
    p.add_argument("-k", help="passages to retrieve, 1 to 50 (default: RAG_K or 5)")
    p.add_argument("--json", action="store_true", help="print the answer object as JSON")
    p.add_argument("--since", help="only articles published on or after this date (YYYY-MM-DD)")
    p.add_argument("--until", help="only articles published on or before this date (YYYY-MM-DD)")
    today(p)
    p.add_argument(
        "--local", action="store_true", help="answer in this process even when a rag serve runs on the index"
    )
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="ask questions in the terminal (builds the index if missing)")
    common(p)
    today(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", help="serve the web chat (builds the index if missing)")
    common(p)
    today(p)
    p.add_argument("--host", help="address to listen on (default: RAG_HOST or 127.0.0.1)")
    p.add_argument("--port", help="port (default: RAG_PORT or 7860)")
    p.add_argument("--auth", help="user:password the page asks for (default: RAG_AUTH; none on 127.0.0.1)")
    p.add_argument("--auth-file", help="a file of user:password lines (default: RAG_AUTH_FILE)")
    p.add_argument(
        "--read-only", action="store_true", help="no upload, removal or restore in the page (RAG_READ_ONLY)"
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="evaluate retrieval and answers on a QA file")
    p.add_argument("--qa", required=True, help="QA jsonl file (schema of shared/data/README.md)")
    p.add_argument("--limit", type=_whole("--limit"), default=None, help="only the first N questions")
    p.add_argument("--retriever", default="hybrid", choices=["bm25", "dense", "hybrid", "all"])
    p.add_argument("--model", help="embedding model (default: RAG_MODEL or multilingual-e5-small)")
    p.add_argument("--composer", help="how answers are composed: reader (default) or extractive")
    p.add_argument(
        "--half", choices=["train", "test"], help="only the questions of one half of the file, by title"
    )
    p.add_argument("--json", dest="json_out", help="write the full results to this file")
    p.add_argument("--distractors", help="extra articles (corpus jsonl) indexed beside the contexts")
    p.add_argument(
        "--seed", type=_whole("--seed"), help="seed of the no-answer simulation's 10 %% sample (default 13)"
    )
    p.set_defaults(func=cmd_eval)
    return parser


def _whole(flag: str) -> Callable[[str], int]:
    def whole_number(value: str) -> int:
        try:
            return int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None

    return whole_number


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python's exit flush quiet
        return 0


if __name__ == "__main__":
    sys.exit(main())
