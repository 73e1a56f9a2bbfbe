"""The embedder registry: entries carry their prefixes, backends and calibration key; ids round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import Engine, ModelError, Settings
from rag.composer.calibration import CALIBRATIONS, UNCALIBRATED
from rag.embedders import BACKENDS, MODELS, HashEmbedder, load_embedder
from rag.embedders.registry import FALLBACK_BACKEND, calibration_key, resolve
from rag.embedders.sbert import SentenceTransformerEmbedder
from rag.store import Store


def test_every_entry_is_complete_and_consistent():
    for name, spec in MODELS.items():
        assert spec.name == name and spec.dim > 0 and BACKENDS[FALLBACK_BACKEND].runs(spec)
        assert spec.calibration is None or spec.calibration in CALIBRATIONS
        assert spec.prompts == {"query": spec.query_prefix, "passage": spec.passage_prefix}
    suffixes = [b.suffix for b in BACKENDS.values()]
    assert len(set(suffixes)) == len(suffixes)  # an id names one backend


def test_every_model_id_names_its_model_and_backend(tmp_path: Path):
    for spec in MODELS.values():
        for backend_name in [name for name, b in BACKENDS.items() if b.runs(spec)]:
            embedder = load_embedder(spec.name, tmp_path, backend=backend_name)
            if not BACKENDS[backend_name].available():
                continue
            assert embedder.model_id == spec.model_id + BACKENDS[backend_name].suffix
            assert resolve(embedder.model_id) == (spec, BACKENDS[backend_name])
            assert calibration_key(embedder.model_id) == spec.calibration
            # the id as an index manifest records it loads the same way again
            assert load_embedder(embedder.model_id, tmp_path).model_id == embedder.model_id
    assert list(tmp_path.iterdir()) == []  # nothing was built: models load on first use


def test_a_model_runs_on_a_backend_it_has():
    minilm = MODELS["all-minilm-l6-v2"]
    assert load_embedder(minilm.name, backend="openvino-int8").model_id == minilm.model_id  # torch only


def test_bad_names_say_what_exists():
    with pytest.raises(ModelError, match="unknown model 'nope'.*multilingual-e5-small"):
        load_embedder("nope")
    with pytest.raises(ModelError, match="unknown backend .cuda.*auto, openvino-int8, openvino, torch"):
        load_embedder("multilingual-e5-small", Path("/unused"), backend="cuda")
    with pytest.raises(ModelError, match="cache folder"):
        load_embedder("multilingual-e5-small")  # built at first use: it needs the cache folder
    assert isinstance(load_embedder("hash-32"), HashEmbedder) and load_embedder("hash-32").dim == 32


def test_a_local_folder_is_a_torch_model(tmp_path: Path):
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 48}))
    embedder = load_embedder(str(tmp_path))
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.dim == 48
    assert embedder.model_id == str(tmp_path.resolve())
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="does not look like a sentence-transformers model folder"):
        load_embedder(str(tmp_path))


class _E5Like(HashEmbedder):
    """A fake embedder with the default model's id, to see which calibration the engine picks."""

    @property
    def model_id(self) -> str:
        return MODELS["multilingual-e5-small"].model_id + BACKENDS["openvino-int8"].suffix


def test_the_engine_uses_the_calibration_of_its_embedders_registry_entry(tmp_path: Path):
    for embedder, expected in (
        (_E5Like(384), CALIBRATIONS["multilingual-e5-small"]),
        (HashEmbedder(), UNCALIBRATED),
    ):
        store = Store(embedder.model_id, embedder.dim, {})
        engine = Engine(Settings(index_dir=tmp_path), embedder, store)
        assert engine.composer.calibrations is expected  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("flags", "suffix"), [({"avx2", "avx512_vnni"}, "+ov-int8"), ({"avx2", "fma"}, "+ov")]
)
def test_auto_takes_the_fastest_backend_for_the_cpu(monkeypatch: pytest.MonkeyPatch, flags: set, suffix: str):
    from rag.embedders import cpu

    monkeypatch.setattr(cpu, "_cpuinfo", lambda: ("a CPU", frozenset(flags)))
    embedder = load_embedder("multilingual-e5-small", Path("/unused"), backend="auto")
    assert embedder.model_id == MODELS["multilingual-e5-small"].model_id + suffix
    # An index keeps the backend that built it, whatever this CPU would choose.
    built = MODELS["multilingual-e5-small"].model_id + "+ov-int8"
    assert load_embedder(built, Path("/unused"), backend="auto").model_id == built
