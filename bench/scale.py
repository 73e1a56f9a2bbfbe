"""Search latency, recall@10 and memory of FAISS index types at scale (run by hand).

    python bench/scale.py [--dim 384] [--sizes 100000 1000000] [--queries 200]

Random unit vectors of the model's dimension (the point is the index, not the model). Recall@10 is
measured against exact (flat) search. Tells where the default flat index should give way to HNSW.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("| vectors | index | build s | memory MB | search p50 ms | p95 ms | recall@10 |")
    print("|---|---|---|---|---|---|---|")
    for n in args.sizes:
        base = unit(rng, n, args.dim)
        # queries near stored vectors, as real questions are near their passages
        queries = base[rng.choice(n, args.queries, replace=False)] + 0.05 * unit(rng, args.queries, args.dim)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        truth = None
        for name in ("flat", "hnsw32"):
            t = time.perf_counter()
            if name == "flat":
                index = faiss.IndexFlatIP(args.dim)
            else:
                index = faiss.IndexHNSWFlat(args.dim, 32, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = 80
                index.hnsw.efSearch = 64
            index.add(base)
            build = time.perf_counter() - t
            memory = faiss.serialize_index(index).nbytes / 1e6
            lat, found = [], []
            for q in queries:
                t = time.perf_counter()
                _, ids = index.search(q[None, :], 10)
                lat.append((time.perf_counter() - t) * 1000)
                found.append(ids[0])
            found_arr = np.array(found)
            if truth is None:
                truth = found_arr
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found_arr, truth, strict=True)])
            print(
                f"| {n:,} | {name} | {build:.1f} | {memory:.0f} | {np.percentile(lat, 50):.2f} | "
                f"{np.percentile(lat, 95):.2f} | {recall:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
