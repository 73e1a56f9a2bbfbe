"""Wire copies: precision and recall of the grouping, and the time it adds (run by hand, not in CI).

    python bench/copies.py [--copies 2] [--seed 5] [--archive 3000]

The test set is made here from the Wikinews articles (``../shared/data/wikinews_fr_2012.jsonl``),
with a fixed seed: each article gets ``--copies`` copies, each made by two to four realistic edits
drawn from: the lead cut (its first sentences), the tail cut (to 40-80 % of it), two paragraphs
swapped, another headline, a byline added ("Par … (AFP)"), typos (3 % of the words), a sentence of
another article added. The originals are the unrelated pairs, the hardest being those on the same
subject: the 100 pairs of distinct originals sharing the most words are reported on their own.

A pair is predicted a copy when :class:`rag.store.copies.CopyIndex` puts both in one group. The
articles are split by the parity of a hash of their id: the *tuning* half (even) is where the
thresholds of ``rag.store.copies`` were chosen (``--sweep`` prints containment thresholds there), the
*held-out* half (odd) only reports. Then the time: with ``--build``, the set is indexed with the
default model and the grouping's share of that build measured in the same run; and the signatures
and grouping of the synthetic archive of ``bench/archive.py`` (``--archive`` articles, not embedded).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.corpus import make_document  # noqa: E402
from rag.store import Store, copies  # noqa: E402
from rag.text import fold, words  # noqa: E402
from rag.types import Document  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý«\"])")
BYLINES = ["Par Marie Dupont (AFP)", "Par Jean Martin, avec Reuters", "De notre correspondant à Bruxelles"]


def articles() -> list[dict[str, str]]:
    rows = [json.loads(line) for line in (DATA / "wikinews_fr_2012.jsonl").read_text("utf-8").splitlines()]
    return [r for r in rows if len(SENTENCE.split(r["text"])) >= 4]


def half(doc_id: str) -> str:
    return "tuning" if hashlib.sha256(doc_id.encode()).digest()[0] % 2 == 0 else "held-out"


def typos(text: str, rng: random.Random, rate: float = 0.03) -> str:
    out = []
    for word in text.split(" "):
        if len(word) > 3 and rng.random() < rate:
            i = rng.randrange(1, len(word) - 1)
            word = (
                word[:i] + word[i + 1] + word[i] + word[i + 2 :]
                if rng.random() < 0.5
                else word[:i] + word[i + 1 :]
            )
        out.append(word)
    return " ".join(out)


def edited(
    row: dict[str, str], others: list[dict[str, str]], rng: random.Random
) -> tuple[str, str, list[str]]:
    """A copy of an article: (title, text, the edits made)."""
    paragraphs = [p for p in row["text"].split("\n") if p.strip()]
    sentences = [s for p in paragraphs for s in SENTENCE.split(p)]
    title = row["title"]
    edits = rng.sample(["lead", "tail", "swap", "headline", "byline", "typos", "added"], rng.randint(2, 4))
    if "lead" in edits:
        sentences = sentences[rng.randint(1, max(1, len(sentences) // 4)) :]
    if "tail" in edits:
        sentences = sentences[: max(2, round(len(sentences) * rng.uniform(0.4, 0.8)))]
    if "swap" in edits and len(sentences) >= 4:
        i = rng.randrange(len(sentences) - 1)
        sentences[i], sentences[i + 1] = sentences[i + 1], sentences[i]
    if "added" in edits:
        other = rng.choice(others)
        sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(SENTENCE.split(other["text"])))
    text = "\n".join(sentences)
    if "typos" in edits:
        text = typos(text, rng)
    if "byline" in edits:
        text = rng.choice(BYLINES) + "\n" + text
    if "headline" in edits:
        title = "Dépêche : " + " ".join(title.split()[: max(2, len(title.split()) // 2)])
    return title, text, edits


def make_set(n_copies: int, seed: int) -> tuple[list[Document], dict[str, str]]:
    """The documents and, for each, the id of the original it copies (itself for an original)."""
    rng = random.Random(seed)
    rows = articles()
    docs, origin = [], {}
    for row in rows:
        docs.append(make_document(row["id"], row["text"], title=row["title"], date=row.get("date", "")))
        origin[row["id"]] = row["id"]
        for n in range(n_copies):
            title, text, _ = edited(row, [r for r in rows if r is not row], rng)
            copy_id = f"{row['id']}-copy{n + 1}"
            docs.append(
                make_document(copy_id, text, title=title, date=row.get("date", ""), source=f"outlet{n}")
            )
            origin[copy_id] = row["id"]
    return docs, origin


def score(
    index: copies.CopyIndex, docs: list[Document], origin: dict[str, str], part: str
) -> dict[str, float]:
    ids = [d.id for d in docs if half(origin[d.id]) == part]
    tp = fp = fn = 0
    for a, b in itertools.combinations(ids, 2):
        same = origin[a] == origin[b]
        grouped = a in index.group and index.group.get(a) == index.group.get(b)
        tp += same and grouped
        fp += grouped and not same
        fn += same and not grouped
    return {
        "pairs": tp + fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "false_pairs": fp,
    }


def hardest_unrelated(docs: list[Document], n: int = 100) -> list[tuple[str, str, float]]:
    """The ``n`` pairs of distinct originals sharing the most words (Jaccard of their word sets)."""
    originals = [d for d in docs if "-copy" not in d.id]
    vocab = {d.id: {fold(w) for w in words(d.text) if len(w) > 3} for d in originals}
    pairs = [
        (a.id, b.id, len(vocab[a.id] & vocab[b.id]) / len(vocab[a.id] | vocab[b.id]))
        for a, b in itertools.combinations(originals, 2)
    ]
    return sorted(pairs, key=lambda p: -p[2])[:n]


def build_share(docs: list[Document]) -> None:
    """Index ``docs`` with the default model; the time spent grouping copies against the whole."""
    import tempfile

    from rag import Settings
    from rag.embedders.registry import DEFAULT_MODEL, load_embedder
    from rag.indexing import update_index

    spent = [0.0]
    real = Store.group_copies

    def timed(self: Store, like: Store | None = None) -> int:
        started = time.perf_counter()
        try:
            return real(self, like)
        finally:
            spent[0] += time.perf_counter() - started

    Store.group_copies = timed  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            {"id": d.id, "title": d.title, "date": d.date, "source": d.source, "text": d.text} for d in docs
        ]
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        (corpus / "set.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
        report = update_index(
            corpus, Path(tmp) / "index", load_embedder(DEFAULT_MODEL, Settings.resolve().cache_dir)
        )
    print(
        f"build of {report.documents_total} documents ({report.sentences_total} sentences, "
        f"{report.sentences_embedded} texts embedded): {report.seconds:.1f} s, of which grouping copies "
        f"{spent[0]:.2f} s = {spent[0] / report.seconds:.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--archive", type=int, default=3000)
    parser.add_argument("--build", action="store_true", help="index the set; time the grouping's share")
    parser.add_argument(
        "--sweep", action="store_true", help="print containment thresholds on the tuning half"
    )
    args = parser.parse_args()
    docs, origin = make_set(args.copies, args.seed)
    by_id = {d.id: d for d in docs}
    started = time.perf_counter()
    index = copies.CopyIndex()
    index.regroup(by_id)
    took = time.perf_counter() - started
    print(f"{len(docs)} documents ({len(articles())} originals) grouped in {took:.2f} s")
    for part in ("tuning", "held-out"):
        print(part, json.dumps(score(index, docs, origin, part)))
    hard = hardest_unrelated(docs)
    joined = [p for p in hard if index.group.get(p[0], -1) == index.group.get(p[1], -2)]
    span = f"word Jaccard {hard[-1][2]:.2f}-{hard[0][2]:.2f}"
    print(f"100 most similar unrelated originals ({span}): {len(joined)} grouped")
    if args.sweep:
        saved = copies.MIN_CONTAINMENT
        for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            copies.MIN_CONTAINMENT = threshold
            swept = copies.CopyIndex()
            swept.regroup(by_id)
            print(f"  containment >= {threshold}: tuning", json.dumps(score(swept, docs, origin, "tuning")))
        copies.MIN_CONTAINMENT = saved
    if args.build:
        build_share(docs)
    if args.archive:
        sys.path.insert(0, str(ROOT / "bench"))
        import tempfile

        import archive

        from rag.corpus import load_corpus

        with tempfile.TemporaryDirectory() as tmp:
            archive.write_archive(Path(tmp), args.archive, 15)
            loaded = load_corpus(tmp).documents
        started = time.perf_counter()
        sigs = [copies.signature(d.text) for d in loaded]
        signed = time.perf_counter() - started
        started = time.perf_counter()
        big = copies.CopyIndex()
        big.regroup({d.id: d for d in loaded})
        grouped = time.perf_counter() - started  # (signatures again, inside, plus the grouping)
        print(
            f"archive of {len(loaded)}: signatures {signed:.2f} s, signatures + grouping {grouped:.2f} s, "
            f"{len(big.members)} groups; regroup with signatures known:",
            end=" ",
        )
        started = time.perf_counter()
        big.regroup({d.id: d for d in loaded})
        print(f"{time.perf_counter() - started:.2f} s ({len(sigs)} signatures)")


if __name__ == "__main__":
    main()
