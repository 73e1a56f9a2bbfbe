"""Load test of the web app's ``/ask`` API (run by hand, not in CI): questions per second and
latency under concurrent clients.

    python bench/load.py [--clients 20] [--questions 5] [--url http://127.0.0.1:7860]

Without ``--url`` it serves the seed corpus itself (``rag serve`` in a child process, on a
temporary copy of the index, the default model) and stops it after. Each client is a
``gradio_client.Client`` made before the clock starts (connecting is not timed); all of them then
ask their ``--questions`` questions one after the other, at once. Reported: questions per second
over the whole run (first question sent to last answer), p50 and p95 of the per-question wall
time, errors. Bounded: every question has a 60 s timeout and the run stops at the first hang.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Quel est l'enjeu pour Washington ?",
    "Combien de pays participent à la réunion ?",
    "Qui représente l'Union européenne ?",
    "What does China control?",
    "Que possède la Chine ?",
    "Quelle est la position de l'Australie ?",
]


def serve(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """``rag serve`` over the seed corpus, its index built into ``folder`` first."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    index = folder / "index"
    subprocess.run(
        [sys.executable, "-m", "ui.cli", "index", "--corpus", str(ROOT / "seeds"), "--index", str(index)],
        env=env,
        check=True,
        capture_output=True,
    )
    command = [
        sys.executable,
        "-m",
        "ui.cli",
        "serve",
        "--corpus",
        str(ROOT / "seeds"),
        "--index",
        str(index),
    ]
    proc = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start in 120 s")


def run(url: str, clients: int, questions: int) -> dict[str, float]:
    from gradio_client import Client

    connected = [Client(url, verbose=False, download_files=False) for _ in range(clients)]
    connected[0].predict(QUESTIONS[0], 5, api_name="/ask")  # the model is loaded, the indexes built
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client_run(i: int) -> None:
        for j in range(questions):
            question = QUESTIONS[(i + j) % len(QUESTIONS)]
            started = time.perf_counter()
            try:
                job = connected[i].submit(question, 5, api_name="/ask")
                job.result(timeout=60)
            except Exception as exc:  # counted and shown, the run goes on
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                times.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_run, range(clients)))
    wall = time.perf_counter() - started
    times.sort()
    return {
        "clients": clients,
        "questions": len(times),
        "errors": len(errors),
        "per_second": len(times) / wall,
        "p50_s": statistics.median(times),
        "p95_s": times[max(0, int(round(0.95 * len(times))) - 1)],
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=5, help="per client")
    parser.add_argument("--url", help="a running rag serve (default: start one on the seed corpus)")
    parser.add_argument("--port", type=int, default=7871)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rag-load-"))
    proc = None if args.url else serve(folder, args.port)
    url = args.url or f"http://127.0.0.1:{args.port}/"
    try:
        result = run(url, args.clients, args.questions)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"{result['clients']} clients, {result['questions']} questions ({result['errors']} errors): "
        f"{result['per_second']:.1f} questions/s, p50 {result['p50_s']:.2f} s, p95 {result['p95_s']:.2f} s "
        f"(wall {result['wall_s']:.1f} s)"
    )


if __name__ == "__main__":
    main()
