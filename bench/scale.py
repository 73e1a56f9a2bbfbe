"""Search latency, recall@10 and memory of FAISS index types at scale (run by hand).

    python bench/scale.py [--dim 384] [--sizes 100000 1000000] [--queries 200]

Synthetic unit vectors of the model's dimension (the point is the index, not the model): uniform on
the sphere (``--data random``, the worst case for approximate indexes: no structure to exploit) or
scattered around 1,000 topic centres (``--data clustered``, the default: mean cosine to the centre
about 0.65, closer to how a corpus' embeddings sit). Queries are stored vectors plus noise. Recall@10
is measured against exact (flat) search. Tells where the default flat index should give way to an
approximate one (IVF or HNSW, each at two or three search settings).
"""

from __future__ import annotations

import argparse
import time

import faiss
import numpy as np


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def measure(index, queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    lat, found = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = index.search(q[None, :], 10)
        lat.append((time.perf_counter() - t) * 1000)
        found.append(ids[0])
    return lat, np.array(found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data", choices=("random", "clustered"), default="clustered")
    parser.add_argument(
        "--hnsw-max", type=int, default=200_000, help="skip HNSW above this size (its build takes long)"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads")
    print("| vectors | data | index | search setting | build s | memory MB | p50 ms | p95 ms | recall@10 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        if args.data == "random":
            base = unit(rng, n, args.dim)
        else:  # topics: points scattered around 1,000 random centres, as embeddings of a corpus are
            centres = unit(rng, 1000, args.dim)
            noise = rng.standard_normal((n, args.dim), dtype=np.float32)
            base = centres[rng.integers(0, 1000, n)] + 0.06 * noise
            base /= np.linalg.norm(base, axis=1, keepdims=True)
        # queries near stored vectors, as real questions are near their passages
        queries = base[rng.choice(n, args.queries, replace=False)] + 0.05 * unit(rng, args.queries, args.dim)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        truth: np.ndarray | None = None
        kinds = ["flat", "ivf"] + (["hnsw32"] if n <= args.hnsw_max else [])
        for name in kinds:
            t = time.perf_counter()
            settings: list[tuple[str, object]]
            if name == "flat":
                index = faiss.IndexFlatIP(args.dim)
                index.add(base)
                settings = [("exact", None)]
            elif name == "ivf":
                nlist = int(4 * np.sqrt(n))
                quantizer = faiss.IndexFlatIP(args.dim)
                index = faiss.IndexIVFFlat(quantizer, args.dim, nlist, faiss.METRIC_INNER_PRODUCT)
                index.train(base[rng.choice(n, min(n, 40 * nlist), replace=False)])
                index.add(base)
                name = f"ivf{nlist}"
                settings = [(f"nprobe {p}", p) for p in (8, 32, 128)]
            else:
                index = faiss.IndexHNSWFlat(args.dim, 32, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = 80
                index.add(base)
                settings = [(f"efSearch {e}", e) for e in (64, 256)]
            build = time.perf_counter() - t
            memory = faiss.serialize_index(index).nbytes / 1e6
            for label, value in settings:
                if name.startswith("ivf"):
                    index.nprobe = value
                elif name.startswith("hnsw"):
                    index.hnsw.efSearch = value
                lat, found = measure(index, queries)
                if truth is None:
                    truth = found
                recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
                p50, p95 = np.percentile(lat, 50), np.percentile(lat, 95)
                print(
                    f"| {n:,} | {args.data} | {name} | {label} | {build:.1f} | {memory:.0f} | {p50:.2f} | "
                    f"{p95:.2f} | {recall:.3f} |",
                    flush=True,
                )
            del index


if __name__ == "__main__":
    main()
