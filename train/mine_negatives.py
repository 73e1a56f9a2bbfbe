"""Mine the sentences a trained span reader wrongly reads an answer in: hard negatives for a second pass.

The first training pass (train/span_reader.py) shows the model, for each question, sentences of its
own paragraph that do not answer. What it then gets wrong in use is different: a sentence of another
article that states the same relation of something else ("Manille, capitale des Philippines" for the
capital of Australia), or a sentence of the same article with a number of the same kind about
something else ("une salle de 12 000 personnes" for how many came). This script reads, for each
training question, the other sentences of its article and the sentences of other training articles
closest to it (dense, e5), and keeps those the model reads an answer in (score over ``FLOOR``), at
most ``KEPT`` a question, best first. None of them holds the gold answer's text.

Only training data is read: PIAF's and XQuAD's training halves (``title_half``), without the tuning
fold when ``--hold-out-fold`` is given. Then::

    .venv/bin/python train/mine_negatives.py ../shared/data --out /tmp/hard.jsonl
    .venv/bin/python train/span_reader.py ../shared/data --hard /tmp/hard.jsonl \\
        --start rag/composer/span_reader.safetensors --epochs 2 --learning-rate 3e-5

Everything is deterministic; the same weights and data give the same file.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag import Settings, load_embedder  # noqa: E402
from rag.composer.span_model import WEIGHTS, SpanModel  # noqa: E402
from rag.evaluation.qa import QAItem, load_qa, title_half  # noqa: E402
from rag.text import fold, normalize  # noqa: E402
from train.span_reader import FILES, tuning_fold, with_before  # noqa: E402

log = logging.getLogger("mine")

NEIGHBOURS = 8  # sentences of other articles read per question, closest first
OWN = 16  # sentences of its own article read per question, most words in common first
FLOOR = 0.0  # a sentence the model reads an answer in: its span scores over "no answer"
KEPT = 2  # hard negatives kept per question


def mine(data: Path, weights: Path, hold_out_fold: bool = False) -> list[dict[str, str]]:
    cache = Settings.resolve().cache_dir
    reader = SpanModel.load(cache, weights)
    embedder = load_embedder("multilingual-e5-small", cache_dir=cache)
    found: list[dict[str, str]] = []
    for name in FILES:
        items = [i for i in load_qa(data / name) if i.answerable and title_half(i.title) == "train"]
        items = [i for i in items if not (hold_out_fold and tuning_fold(i.title))]
        pool: list[tuple[str, str, str]] = []  # (sentence, before, title), each context's sentences once
        seen: set[str] = set()
        for i in items:
            context = normalize(i.context)
            if context not in seen:
                seen.add(context)
                pool += [(s, b, i.title) for s, b in with_before(context)]
        vectors = embedder.embed_passages([s for s, _, _ in pool])
        questions = embedder.embed_queries([normalize(i.question) for i in items])
        log.info("%s: %d questions, %d sentences", name, len(items), len(pool))
        for n, item in enumerate(items):
            found += _hard(item, pool, vectors @ questions[n], reader)
            if n % 200 == 0:
                log.info("%s: %d/%d questions, %d negatives", name, n, len(items), len(found))
    return found


def _hard(
    item: QAItem, pool: list[tuple[str, str, str]], closeness: np.ndarray, reader: SpanModel
) -> list[dict[str, str]]:
    question = normalize(item.question)
    answers = [fold(normalize(a)) for a in item.answers]

    def answering(sentence: str) -> bool:  # holds the gold text: maybe an answer, never a negative
        folded = fold(sentence)
        return any(a and a in folded for a in answers)

    asked = set(fold(question).split())
    own = [n for n, (s, _, t) in enumerate(pool) if t == item.title and not answering(s)]
    own.sort(key=lambda n: (-len(asked & set(fold(pool[n][0]).split())), n))
    others = [int(n) for n in np.argsort(-closeness, kind="stable") if pool[int(n)][2] != item.title]
    chosen = own[:OWN] + [n for n in others if not answering(pool[n][0])][:NEIGHBOURS]
    if not chosen:
        return []
    spans = reader.read(question, [pool[n][0] for n in chosen], [pool[n][1] for n in chosen])
    scored = sorted(
        ((s.score, n) for s, n in zip(spans, chosen, strict=True) if s.end > s.start and s.score > FLOOR),
        key=lambda p: (-p[0], p[1]),
    )
    return [
        {"question": question, "sentence": pool[n][0], "before": pool[n][1], "score": f"{score:.2f}"}
        for score, n in scored[:KEPT]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="the folder holding piaf_v1.0_fr.jsonl and xquad_en.jsonl")
    parser.add_argument("--weights", type=Path, default=WEIGHTS, help="the trained reader to mine with")
    parser.add_argument("--out", type=Path, required=True, help="where to write the negatives (jsonl)")
    parser.add_argument("--hold-out-fold", action="store_true", help="leave the tuning fold out")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    rows = mine(args.data, args.weights, args.hold_out_fold)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(args.out)
    log.info("%d hard negatives written to %s", len(rows), args.out)


if __name__ == "__main__":
    main()
