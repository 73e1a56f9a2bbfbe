"""Cold start (run by hand, not in CI): wall time and peak RSS of fresh processes.

    python bench/coldstart.py [--runs 3] [--model multilingual-e5-small]

Over the seed corpus (``seeds/``, indexed once into a temporary folder first, not timed):

- ``rag ask "…"`` as a new process: wall time to exit and the child's peak RSS (``wait4``'s
  ``ru_maxrss``), which includes loading the model and the index and answering; and the same while a
  ``rag serve`` runs on the index, which ``rag ask`` then asks instead;
- ``rag serve``: wall time until the page answers HTTP 200 and the server's peak RSS then
  (``VmHWM``); then the first question through the ``/ask`` API, asked at once (it waits for the
  model, which loads in the background once the page is up) or 10 s later (a user typing), with its
  wall time and the peak RSS after it.

Model caches (``~/.cache/rag``: the e5 folder and the OpenVINO IR) are warm, as on a user's second
start; the first run on a machine also builds them (tens of seconds, reported by ``rag index``).
Each figure is the median of ``--runs``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Quel est l'enjeu pour Washington ?"


def rag_command() -> list[str]:
    return [sys.executable, "-m", "ui.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_ask(index: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one ``rag ask`` process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*rag_command(), "ask", QUESTION, "--index", str(index)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or "[1]" not in out:
        raise SystemExit(f"rag ask failed ({proc.returncode}): {out[:300]}")
    return seconds, usage.ru_maxrss / 1024


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_serve(
    index: Path, env: dict[str, str], delay: float = 0.0, then_ask: bool = False
) -> tuple[float, float, float, float]:
    """(seconds to serve, peak RSS MB then, seconds of the first answer asked ``delay`` seconds
    after the page appeared, peak RSS MB after it). With ``then_ask`` the last two are those of a
    ``rag ask`` process run once the server has answered (it asks the server)."""
    from gradio_client import Client

    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*rag_command(), "serve", "--index", str(index), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"rag serve exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        serve_s = time.perf_counter() - started
        serve_rss = peak_rss_mb(proc.pid)
        client = Client(url, verbose=False)
        time.sleep(delay)  # a user reading the page and typing
        t = time.perf_counter()
        result = client.predict(QUESTION, 5, api_name="/ask")
        first_s = time.perf_counter() - t
        if "[1]" not in str(result):
            raise SystemExit(f"/ask gave no cited answer: {str(result)[:300]}")
        if then_ask:
            return (serve_s, serve_rss, *run_ask(index, env))
        return serve_s, serve_rss, first_s, peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default="multilingual-e5-small")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rag-coldstart-"))
    env = dict(os.environ, HF_HUB_OFFLINE="1", RAG_CORPUS=str(ROOT / "seeds"), RAG_MODEL=args.model)
    try:
        index = work / "index"
        subprocess.run(
            [*rag_command(), "index", "--index", str(index), "--corpus", str(ROOT / "seeds")],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=ROOT,
        )
        asks = [run_ask(index, env) for _ in range(args.runs)]
        serves = [run_serve(index, env) for _ in range(args.runs)]
        typed = [run_serve(index, env, delay=10.0) for _ in range(args.runs)]
        served = [run_serve(index, env, then_ask=True) for _ in range(args.runs)]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(values: list[float]) -> float:
        return statistics.median(values)

    print(f"{args.runs} runs each, median; load average {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    rows = [
        (f'`rag ask "{QUESTION}"` (to exit)', [a[0] for a in asks], [a[1] for a in asks]),
        ("`rag serve` until the page answers", [s[0] for s in serves], [s[1] for s in serves]),
        ("then at once the first question via `/ask`", [s[2] for s in serves], [s[3] for s in serves]),
        ("or the first question 10 s after the page appears", [s[2] for s in typed], [s[3] for s in typed]),
        (
            "`rag ask` while a `rag serve` runs on the index (asks it)",
            [s[2] for s in served],
            [s[3] for s in served],
        ),
    ]
    print("| process | wall s | peak RSS MB |")
    print("|---|---|---|")
    for label, seconds, rss in rows:
        print(f"| {label} | {med(seconds):.1f} | {med(rss):.0f} |")


if __name__ == "__main__":
    main()
