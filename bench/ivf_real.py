"""Recall of an inverted file (IVF) on a real index's sentence vectors and real questions (run by hand).

    python bench/ivf_real.py --index INDEX_DIR --qa ../shared/data/piaf_v1.0_fr.jsonl [--limit 4000]

The synthetic vectors of ``bench/scale.py`` flatter IVF: questions sit near their passages there. Real
e5 questions are further from the sentences that answer them than sentences are from each other, so
the lists a question is routed to often miss its neighbours. This measures recall@10 and top-1
agreement against exact search for several list counts and shares of lists searched, which is what
``rag.store.dense.DenseSettings.ivf_probed`` is chosen from.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag import load_embedder  # noqa: E402
from rag.evaluation import load_qa  # noqa: E402
from rag.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", required=True, help="an index built with the model to measure")
    parser.add_argument("--qa", required=True, help="a QA file whose questions are the queries")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--model", default="multilingual-e5-small")
    args = parser.parse_args()
    store = Store.load(args.index)
    embedder = load_embedder(args.model)
    if embedder.model_id != store.model_id:
        raise SystemExit(f"index built by {store.model_id}, model is {embedder.model_id}")
    ids, vectors = store.dense.all_vectors()
    questions = [item.question for item in load_qa(args.qa)[: args.limit]]
    queries = np.concatenate(
        [embedder.embed_queries(questions[i : i + 64]) for i in range(0, len(questions), 64)]
    )
    n, dim = vectors.shape
    exact = faiss.IndexFlatIP(dim)
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    print(f"{n:,} sentence vectors, {len(queries):,} questions, {store.model_id}")
    print("| lists | searched | share searched | recall@10 | top-1 as exact |")
    print("|---|---|---|---|---|")
    for lists in sorted({max(1, n // 39), round(4 * math.sqrt(n))}):
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
        ivf.train(vectors)
        ivf.add(vectors)
        for probes in sorted({min(32, lists), *(math.ceil(lists * f) for f in (0.125, 0.25, 0.5))}):
            ivf.nprobe = probes
            _, found = ivf.search(queries, 10)
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
            top1 = np.mean(found[:, 0] == truth[:, 0])
            print(f"| {lists} | {probes} | {probes / lists:.3f} | {recall:.3f} | {top1:.3f} |", flush=True)


if __name__ == "__main__":
    main()
