"""A news archive of thousands of articles (run by hand, not in CI): build, update and query times,
peak memory and size on disk.

    python bench/archive.py [--articles 3000] [--sentences 15] [--folder /tmp/rag-archive] [--questions 200]

The archive is synthetic (timing does not depend on what articles say) and made here, not stored:
the distinct sentences of the PIAF and XQuAD contexts and the Wikinews articles
(``../shared/data``), drawn with a fixed seed into ``--articles`` articles of ``--sentences``
sentences, each use of a sentence varied (its numbers changed, or a date and a name put before it)
so that no two sentences are the same, each article dated within five years (2018-2022). It is
written as 100-article ``.jsonl`` files, so that adding or removing 100 articles is one file.

Measured, each as a fresh ``rag index`` process (its progress bar on stderr, with tqdm's ETA):
the full build (wall time, peak RSS), adding one file of 100 new articles, removing it again; then,
in this process, warm ``Engine.ask`` p50 over ``--questions`` questions (a sentence's first words)
without and with a one-year period; the index's size on disk; and adding and removing the 100
articles as the web app does, in an engine that has the model and the index loaded. The model
caches are warm.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
PER_FILE = 100
NAMES = ["Marie Dupont", "Jean Martin", "Ana Silva", "Karim Benali", "Li Wei", "Olga Petrova", "Tom Baker"]
MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()


def source_sentences() -> list[str]:
    """The distinct sentences of the PIAF and XQuAD contexts and the Wikinews articles."""
    from rag.chunking import Chunker
    from rag.corpus import make_document

    texts: list[str] = []
    for name in ("piaf_v1.0_fr.jsonl", "xquad_en.jsonl"):
        seen = set()
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            context = json.loads(line)["context"]
            if context not in seen:
                seen.add(context)
                texts.append(context)
    texts += [
        json.loads(x)["text"]
        for x in (DATA / "wikinews_fr_2012.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    chunker, found = Chunker(), {}
    for i, text in enumerate(texts):
        doc = make_document(f"t{i}", text)
        for s in chunker.sentences(doc):
            sentence = " ".join(text[s.start : s.end].split())
            if len(sentence) > 30:
                found.setdefault(sentence, None)
    return list(found)


def varied(sentence: str, rng: random.Random) -> str:
    """The sentence with its numbers changed, or, without numbers, a date and a name before it."""
    if re.search(r"\d", sentence) and rng.random() < 0.7:
        return re.sub(r"\d+", lambda m: str(rng.randint(1, 10 ** len(m.group())) - 1), sentence)
    when = f"Le {rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(1990, 2024)}"
    return f"{when}, selon {rng.choice(NAMES)}, {sentence[0].lower()}{sentence[1:]}"


def write_archive(folder: Path, articles: int, sentences: int, seed: int = 7) -> int:
    """``articles`` articles in 100-article files under ``folder``; returns the sentence count."""
    rng = random.Random(seed)
    pool = source_sentences()
    used: set[str] = set()
    start = date(2018, 1, 1)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    for a in range(articles):
        body = []
        while len(body) < sentences:
            candidate = varied(rng.choice(pool), rng)
            if candidate not in used:
                used.add(candidate)
                body.append(candidate)
        day = start + timedelta(days=rng.randint(0, 5 * 365 - 1))
        rows.append(
            {"id": f"a{a:05d}", "title": body[0][:80], "date": day.isoformat(), "text": " ".join(body)}
        )
    for f in range(0, articles, PER_FILE):
        lines = [json.dumps(r, ensure_ascii=False) for r in rows[f : f + PER_FILE]]
        (folder / f"archive-{f // PER_FILE:03d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(used)


def rag_index(corpus: Path, index: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS MB, last report line) of one ``rag index`` process."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "index", "--corpus", str(corpus), "--index", str(index)],
        env=env,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"rag index failed: {out[-500:]}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, out.strip().splitlines()[-1]


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--sentences", type=int, default=15)
    parser.add_argument("--folder", default="/tmp/rag-archive")
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    folder = Path(args.folder)
    shutil.rmtree(folder, ignore_errors=True)
    corpus, extra, index = folder / "corpus", folder / "extra", folder / "index"
    total = write_archive(corpus, args.articles + PER_FILE, args.sentences)
    extra.mkdir(parents=True)
    last = sorted(corpus.glob("archive-*.jsonl"))[-1]
    shutil.move(str(last), extra / last.name)  # the 100 articles added later
    print(
        f"archive: {args.articles} articles of {args.sentences} sentences "
        f"({total} distinct with the extra 100)"
    )

    build_s, build_mb, line = rag_index(corpus, index)
    print(f"full build: {build_s:.0f} s, peak RSS {build_mb:.0f} MB; {line}")
    shutil.copy(extra / last.name, corpus / last.name)
    add_s, add_mb, line = rag_index(corpus, index)
    print(
        f"add 100 articles: {add_s:.1f} s ({add_s / build_s:.3f} of the build), "
        f"peak RSS {add_mb:.0f} MB; {line}"
    )
    (corpus / last.name).unlink()
    remove_s, remove_mb, line = rag_index(corpus, index)
    print(f"remove 100 articles: {remove_s:.1f} s, peak RSS {remove_mb:.0f} MB; {line}")
    print(f"index on disk: {size_mb(index):.0f} MB")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rag import Engine

    engine = Engine.open(index, corpus_dir=corpus)
    engine.warm_up()
    rng = random.Random(11)
    texts = [d.text for d in engine.store.documents.values()]
    questions = [" ".join(rng.choice(texts).split()[:8]) + " ?" for _ in range(args.questions)]
    for label, period in (
        ("no period", {}),
        ("one year (2020)", {"since": "2020-01-01", "until": "2020-12-31"}),
    ):
        times = []
        for q in questions:
            t = time.perf_counter()
            engine.ask(q, **period)
            times.append(time.perf_counter() - t)
        print(f"warm Engine.ask p50, {label}: {1000 * statistics.median(times):.1f} ms")

    # As the web app adds and removes: the engine has the model and the index loaded already.
    started = time.perf_counter()
    change = engine.add_files([extra / last.name])
    added_s = time.perf_counter() - started
    assert change.index is not None and change.index.added == PER_FILE, change
    share = f"{added_s / build_s:.3f} of the build"
    print(f"add 100 articles in a running engine (Engine.add_files): {added_s:.1f} s ({share})")
    (Path(engine.settings.corpus_dir) / last.name).unlink()
    started = time.perf_counter()
    report = engine.update()
    print(f"remove 100 articles in a running engine (Engine.update): {time.perf_counter() - started:.1f} s")
    assert report.removed == PER_FILE


if __name__ == "__main__":
    main()
