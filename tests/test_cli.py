import json
import subprocess
import sys
from pathlib import Path

from rag.store import current_generation
from ui.cli import main


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_index_then_ask_json(corpus: Path, index_dir: Path, capsys, monkeypatch):
    monkeypatch.setenv("RAG_MODEL", "hash")
    code, out, _ = run(["index", "--corpus", str(corpus), "--index", str(index_dir), "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and report["added"] == 3 and report["sentences_embedded"] > 0
    code, out, _ = run(["index", "--corpus", str(corpus), "--index", str(index_dir)], capsys)
    assert code == 0 and "unchanged 3" in out
    code, out, _ = run(
        ["ask", "Quel est l'enjeu pour Washington ?", "--index", str(index_dir), "--json", "-k", "3"], capsys
    )
    answer = json.loads(out)
    assert code == 0 and set(answer) >= {"text", "citations", "hits", "abstained", "confidence", "query"}
    assert len(answer["hits"]) <= 3
    assert answer["citations"][0]["quote"] == "Pour Washington, l’enjeu est avant tout stratégique."
    code, out, _ = run(["ask", "Quel est l'enjeu pour Washington ?", "--index", str(index_dir)], capsys)
    assert "[1]" in out and "Sources" in out


def test_errors_are_one_line_and_exit_2(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("RAG_MODEL", "hash")
    code, _, err = run(["ask", "Bonjour ?", "--index", str(tmp_path / "none")], capsys)
    assert code == 2 and err.startswith("error: no index") and len(err.strip().splitlines()) == 1
    code, _, err = run(["index", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i")], capsys)
    assert code == 2 and "does not exist" in err


def test_bad_question_exits_2_without_traceback(corpus: Path, index_dir: Path, monkeypatch):
    monkeypatch.setenv("RAG_MODEL", "hash")
    main(["index", "--corpus", str(corpus), "--index", str(index_dir)])
    proc = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ask", "   ", "--index", str(index_dir)],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "RAG_MODEL": "hash"},
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "empty" in proc.stderr


def test_a_fresh_rag_ask_prints_the_answer_and_nothing_else(corpus: Path, index_dir: Path, monkeypatch):
    monkeypatch.setenv("RAG_MODEL", "hash")
    main(["index", "--corpus", str(corpus), "--index", str(index_dir)])
    question = "Quel est l'enjeu pour Washington ?"
    proc = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ask", question, "--index", str(index_dir)],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "RAG_MODEL": "hash"},
    )
    # a fresh process builds the document BM25: bm25s used to print its DEBUG line to the terminal
    assert proc.returncode == 0 and "[1]" in proc.stdout and proc.stderr == ""


def test_rag_ivf_min_sets_where_search_becomes_approximate(
    corpus: Path, index_dir: Path, capsys, monkeypatch
):
    monkeypatch.setenv("RAG_MODEL", "hash")
    monkeypatch.setenv("RAG_IVF_MIN", "5")
    code, out, _ = run(["index", "--corpus", str(corpus), "--index", str(index_dir)], capsys)
    assert code == 0 and "approximate search" in out
    manifest = json.loads((current_generation(index_dir) / "manifest.json").read_text())
    assert manifest["vectors"]["index"] == "ivf"
    question = "Quel est l'enjeu pour Washington ?"
    code, out, _ = run(["ask", question, "--index", str(index_dir), "--json"], capsys)
    assert code == 0 and "stratégique" in json.loads(out)["citations"][0]["quote"]


def test_a_setting_that_is_not_a_number_is_one_line_naming_its_variable(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("RAG_MODEL", "hash")
    monkeypatch.setenv("RAG_IVF_MIN", "beaucoup")
    code, _, err = run(["index", "--corpus", str(tmp_path), "--index", str(tmp_path / "i")], capsys)
    assert code == 2 and "RAG_IVF_MIN" in err and "'beaucoup'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "i").exists()


def test_add_remove_restore(corpus: Path, index_dir: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("RAG_MODEL", "hash")
    where = ["--corpus", str(corpus), "--index", str(index_dir)]
    new = tmp_path / "cannes.txt"
    new.write_text("Le festival\nLe festival de Cannes a récompensé un film coréen.", encoding="utf-8")
    bad = tmp_path / "notes.pdf"
    bad.write_text("%PDF", encoding="utf-8")
    code, out, _ = run(["add", str(new), str(bad), *where], capsys)
    assert code == 2  # one file refused: said, and the other one is in
    assert out.splitlines()[0] == "added cannes.txt" and out.splitlines()[1].startswith("refused notes.pdf: ")
    assert "added 1" in out
    new.write_text("Le festival\nLe festival de Venise a eu lieu.", encoding="utf-8")
    code, out, _ = run(["add", str(new), *where, "--json"], capsys)
    change = json.loads(out)
    assert (
        code == 0
        and change["files"][0]["status"] == "renamed"
        and change["files"][0]["path"] == "cannes-2.txt"
    )
    code, out, _ = run(["remove", "cannes.txt", *where], capsys)
    assert (
        code == 0 and out.startswith("removed cannes.txt (old version in the trash: ") and "removed 1" in out
    )
    code, out, _ = run(["restore", *where], capsys)
    assert code == 0 and "\t(was cannes.txt, removed " in out
    code, out, _ = run(["restore", "cannes.txt", *where], capsys)
    assert code == 0 and out.startswith("restored ") and "added 1" in out
    code, out, err = run(["remove", "nope.txt", *where], capsys)
    assert code == 2 and err == "error: no document 'nope.txt' in the index\n"


def test_serve_beyond_this_machine_without_a_login_is_refused_first(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("RAG_MODEL", "hash")
    where = ["--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "index")]
    code, _, err = run(["serve", "--host", "0.0.0.0", *where], capsys)
    assert code == 2 and "--host 0.0.0.0 would let anyone" in err and "--read-only" in err
    assert not (tmp_path / "index").exists()  # refused before building or loading anything
    code, _, err = run(["serve", "--auth", "ana", *where], capsys)
    assert code == 2 and "RAG_AUTH" in err and "user:password" in err


def test_ask_in_a_period(corpus: Path, index_dir: Path, capsys, monkeypatch):
    monkeypatch.setenv("RAG_MODEL", "hash")
    run(["index", "--corpus", str(corpus), "--index", str(index_dir)], capsys)
    where = ["--index", str(index_dir), "--local"]
    code, out, _ = run(
        ["ask", "Quel temps fera-t-il à Lyon ?", *where, "--since", "2026-11-01", "--json"], capsys
    )
    answer = json.loads(out)
    assert code == 0 and {h["chunk"]["doc_id"] for h in answer["hits"]} == {"meteo.md"}
    code, out, _ = run(["ask", "Quel temps fera-t-il à Lyon ?", *where, "--since", "2026-11-01"], capsys)
    assert out.startswith("Depuis le 1er novembre 2026 :\nIl pleuvra")  # the answer says its period first
    code, _, err = run(["ask", "Quel temps ?", *where, "--until", "demain"], capsys)
    assert code == 2 and "until='demain' is not a date" in err
