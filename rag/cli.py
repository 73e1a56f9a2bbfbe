"""The ``rag`` command: index, ask, chat, serve, eval.

Every :class:`RagError` becomes a one-line message on stderr and exit status 2. Progress bars are
drawn here (on a terminal), never in the library.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from .config import Settings
from .engine import Engine
from .errors import RagError
from .indexing import IndexReport, Progress, update_index
from .types import Answer


def progress_bar(enabled: bool, label: str = "embedding sentences") -> tuple[Any, Any]:
    """A progress callback drawing a tqdm bar of embedding progress, and a function closing it."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def on_progress(event: Progress) -> None:
        if event.stage != "embed" or event.total == 0:
            return
        bar = bars.get(event.stage)
        if bar is None:
            bar = bars[event.stage] = tqdm(
                total=event.total, desc=label, unit="sentence", file=sys.stderr
            )
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
    )


def cmd_index(args: argparse.Namespace) -> int:
    from .chunking import Chunker
    from .engine import _model_for
    from .models import load_embedder

    settings = _settings(args)
    model = args.model or (settings.model if args.rebuild else _model_for(settings, None))
    embedder = load_embedder(model, settings.cache_dir)
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
        f"{report.sentences_embedded} sentences in {report.seconds:.1f} s",
    ]
    lines += [f"  skipped {s.path}: {s.reason}" for s in report.skipped]
    return "\n".join(lines)


def format_answer(answer: Answer, width: int = 100) -> str:
    lines = [textwrap.fill(answer.text, width)]
    cited = answer.related if answer.abstained else answer.citations
    if cited:
        lines.append("")
        lines.append("Passages proches :" if answer.abstained else "Sources :")
        for c in cited:
            when = f", {c.date}" if c.date else ""
            lines.append(f"[{c.number}] {c.title}{when} ({c.source}, caractères {c.start}-{c.end})")
            lines.append(textwrap.indent(textwrap.fill(f"« {c.quote} »", width - 4), "    "))
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    settings = _settings(args)
    engine = Engine.open(settings.index_dir, model=args.model, settings=settings)
    answer = engine.ask(args.question, k=args.k)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return 0


def _open_or_build(args: argparse.Namespace) -> Engine:
    settings = _settings(args)
    on_progress, close = progress_bar(sys.stderr.isatty())
    try:
        return Engine.open(settings=settings, model=args.model, build=True, on_progress=on_progress)
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
        from ui.app import serve
    except ImportError:
        print("the web UI is not available here; starting the terminal chat instead", file=sys.stderr)
        return cmd_chat(args)
    engine = _open_or_build(args)
    serve(engine, host=args.host, port=args.port)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import main as eval_main

    return eval_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Cited answers from a corpus of French articles."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, corpus: bool = True) -> None:
        p.add_argument("--index", help="index folder (default: RAG_INDEX or index/)")
        p.add_argument("--model", help="embedding model name or folder (default: the index's, or RAG_MODEL)")
        if corpus:
            p.add_argument("--corpus", help="corpus folder (default: RAG_CORPUS or seeds/)")

    p = sub.add_parser("index", help="build or update the index from the corpus folder")
    common(p)
    p.add_argument("--rebuild", action="store_true", help="start from an empty index")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--chunk-size", type=int, help="characters per chunk (default 500)")
    p.add_argument("--chunk-overlap", type=int, help="characters shared by neighbouring chunks (default 100)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer one question")
    common(p, corpus=False)
    p.add_argument("question")
    p.add_argument("-k", type=int, default=None, help="passages to retrieve (default 5)")
    p.add_argument("--json", action="store_true", help="print the answer object as JSON")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="ask questions in the terminal (builds the index if missing)")
    common(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", help="serve the web chat (builds the index if missing)")
    common(p)
    p.add_argument("--host", default=os.environ.get("RAG_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("RAG_PORT", "7860")))
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="evaluate retrieval and answers on a QA file")
    p.add_argument("--qa", required=True, help="QA jsonl file (schema of shared/data/README.md)")
    p.add_argument("--limit", type=int, default=None, help="only the first N questions")
    p.add_argument("--retriever", default="hybrid", choices=["bm25", "dense", "hybrid", "all"])
    p.add_argument("--model", help="embedding model (default: RAG_MODEL or multilingual-e5-small)")
    p.add_argument("--json", dest="json_out", help="write the full results to this file")
    p.add_argument("--distractors", help="extra articles (corpus jsonl) indexed beside the contexts")
    p.add_argument("--seed", type=int, help="seed of the no-answer simulation's 10 %% sample (default 13)")
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
