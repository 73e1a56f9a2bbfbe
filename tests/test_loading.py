import json
import logging
from pathlib import Path

import pytest

from rag.corpus import load_corpus, load_file
from rag.errors import CorpusError


def test_each_format_loads_with_metadata(tmp_path: Path):
    (tmp_path / "a.txt").write_text("Premier titre\n\nLe texte suit.", encoding="utf-8")
    (tmp_path / "b.md").write_text(
        "---\ntitle: Un titre\ndate: 2026-01-02\nsource: AFP\nurl: https://ex.org/b\n---\n"
        "Corps de l'article.\n",
        encoding="utf-8",
    )
    (tmp_path / "c.html").write_text(
        "<html><head><title>Page HTML</title></head><body><nav>menu</nav><article><h1>Page HTML</h1>"
        "<p>Le gouvernement a annoncé hier une réforme importante des retraites, qui entrera en vigueur "
        "au printemps prochain selon le ministre.</p><p>Les syndicats ont aussitôt appelé à manifester "
        "dans toutes les grandes villes du pays.</p></article></body></html>",
        encoding="utf-8",
    )
    rows = [{"id": "x1", "title": "T1", "date": "2012-05-22", "text": "Texte un.", "source": "wiki"}]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    docs = {d.id: d for d in load_corpus(tmp_path).documents}
    assert set(docs) == {"a.txt", "b.md", "c.html", "x1"}
    assert docs["a.txt"].title == "Premier titre"
    assert (docs["b.md"].title, docs["b.md"].date, docs["b.md"].source) == ("Un titre", "2026-01-02", "AFP")
    assert docs["b.md"].text.startswith("Corps")
    assert "réforme importante" in docs["c.html"].text and "menu" not in docs["c.html"].text
    assert (docs["x1"].title, docs["x1"].date) == ("T1", "2012-05-22")
    assert all(len(d.content_hash) == 32 for d in docs.values())


def test_bad_files_are_skipped_with_a_warning_naming_them(tmp_path: Path, caplog, monkeypatch):
    (tmp_path / "good.txt").write_text("Un bon article.", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PNG")
    (tmp_path / "latin1.txt").write_bytes("Élection présidentielle".encode("latin-1"))
    (tmp_path / "empty.md").write_text("  \n", encoding="utf-8")
    (tmp_path / "locked.txt").write_text("secret", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with caplog.at_level(logging.WARNING):
        result = load_corpus(tmp_path)
    assert [d.id for d in result.documents] == ["good.txt"]
    reasons = {s.path: s.reason for s in result.skipped}
    assert "binary" in reasons["binary.txt"]
    assert "not UTF-8" in reasons["latin1.txt"] and "iconv" in reasons["latin1.txt"]
    assert "empty" in reasons["empty.md"]
    assert "Permission denied" in reasons["locked.txt"]
    assert "unsupported" in reasons["image.png"]
    for name in reasons:
        assert name in caplog.text


def test_missing_corpus_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")


def test_jsonl_bad_lines_are_skipped_but_good_ones_kept(tmp_path: Path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "ok", "text": "Bon."}\nnot json\n{"id": "no-text"}\n', encoding="utf-8")
    assert [d.id for d in load_file(path)] == ["ok"]
    skipped = load_corpus(tmp_path).skipped  # and each bad line is reported, with its number
    assert [(s.path, s.reason.split(":")[0]) for s in skipped] == [
        ("a.jsonl", "line 2"),
        ("a.jsonl", "line 3"),
    ]
    assert "'text'" in skipped[1].reason


def test_document_ids_and_hashes_are_stable(tmp_path: Path):
    (tmp_path / "a.txt").write_text("Titre\nTexte.", encoding="utf-8")
    first = load_corpus(tmp_path).documents[0]
    second = load_corpus(tmp_path).documents[0]
    assert first == second
    (tmp_path / "a.txt").write_text("Titre\nTexte modifié.", encoding="utf-8")
    assert load_corpus(tmp_path).documents[0].content_hash != first.content_hash
