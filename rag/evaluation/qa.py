"""QA files for ``rag eval``, and the no-answer splits.

The QA file is JSONL, one question a line (the schema of ``shared/data/README.md``)::

    {"id", "question", "answers": [str], "answer_starts": [int], "context", "title"}

with ``answers[i] == context[answer_starts[i]:answer_starts[i] + len(answers[i])]``. A row with
``"answers": []`` is a question the context does not answer (the right behaviour is to abstain).

>>> context_id("Un texte.")
'ctx-4fbbd2fe4d9aa1c3'
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import CorpusError, QuestionError, SettingsError
from ..query import check_question
from ..text import fold, sentence_spans

DEFAULT_SEED = 13
DEFAULT_FRACTION = 0.10  # of the questions whose context is left out of the no-answer index
QA_FIELDS = ("id", "question", "answers", "answer_starts", "context", "title")


@dataclass(frozen=True)
class QAItem:
    id: str
    question: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]
    context: str
    title: str
    doc_id: str

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def context_id(context: str) -> str:
    """The stable document id of a context: the same text always gets the same id."""
    return "ctx-" + hashlib.sha256(context.encode("utf-8")).hexdigest()[:16]


def load_qa(path: str | Path, limit: int | None = None) -> list[QAItem]:
    """The questions of a QA jsonl file (the first ``limit``), checked; bad input is a CorpusError."""
    path = Path(path)
    if limit is not None and limit < 1:
        raise SettingsError(f"--limit {limit}: use a positive number of questions")
    if not path.is_file():
        raise CorpusError(f"QA file {str(path)!r} does not exist: pass a .jsonl file with --qa")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"QA file {path}: cannot read it as UTF-8 text ({exc})") from exc
    items: list[QAItem] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item = _parse_row(line, f"{path}:{lineno}")
        if item.id in seen:
            raise CorpusError(f"{path}:{lineno}: duplicate question id {item.id!r}")
        seen.add(item.id)
        items.append(item)
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise CorpusError(f"QA file {path} has no questions (one JSON object a line: {', '.join(QA_FIELDS)})")
    return items


def _parse_row(line: str, where: str) -> QAItem:
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise CorpusError(f"{where}: not valid JSON ({exc})") from exc
    if not isinstance(row, dict):
        raise CorpusError(f"{where}: expected a JSON object with fields {', '.join(QA_FIELDS)}")
    missing = [f for f in QA_FIELDS if f not in row]
    if missing:
        raise CorpusError(f"{where}: missing field(s) {', '.join(missing)} (schema: {', '.join(QA_FIELDS)})")
    qid, question, answers, starts, context, title = (row[f] for f in QA_FIELDS)
    if not isinstance(qid, (str, int)) or isinstance(qid, bool) or not str(qid).strip():
        raise CorpusError(f"{where}: 'id' must be a non-empty string")
    for name, value in (("question", question), ("context", context), ("title", title)):
        if not isinstance(value, str):
            raise CorpusError(f"{where}: {name!r} must be a string, not {type(value).__name__}")
    if not context.strip():
        raise CorpusError(f"{where}: 'context' is empty")
    if not isinstance(answers, list) or not all(isinstance(a, str) and a for a in answers):
        raise CorpusError(f"{where}: 'answers' must be a list of non-empty strings")
    if (
        not isinstance(starts, list)
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in starts)
        or len(starts) != len(answers)
    ):
        raise CorpusError(f"{where}: 'answer_starts' must be a list of integers, one per answer")
    for answer, start in zip(answers, starts, strict=True):
        if context[start : start + len(answer)] != answer or start < 0:
            raise CorpusError(
                f"{where}: answer {answer!r} is not at offset {start} of the context "
                f"(found {context[max(start, 0) : max(start, 0) + len(answer)]!r})"
            )
    try:
        question = check_question(question)
    except QuestionError as exc:
        raise CorpusError(f"{where}: {exc}") from exc
    return QAItem(
        id=str(qid),
        question=question,
        answers=tuple(answers),
        answer_starts=tuple(starts),
        context=context,
        title=title,
        doc_id=context_id(context),
    )


def title_half(title: str) -> str:
    """``"train"`` or ``"test"``: the fixed half of a QA file an item belongs to, by its article's title
    (the first 32 bits of the title's SHA-256, even or odd), so that no article is in both halves.
    Models are trained on PIAF's ``"train"`` half only; every PIAF figure is also given on ``"test"``.

    >>> title_half("Paris"), title_half("Lyon")
    ('train', 'test')
    """
    return "train" if int(hashlib.sha256(title.encode("utf-8")).hexdigest()[:8], 16) % 2 == 0 else "test"


def no_answer_split(
    items: Sequence[QAItem], fraction: float = DEFAULT_FRACTION, seed: int = DEFAULT_SEED
) -> list[str]:
    """Ids of the contexts to leave out of the second index, sorted.

    Contexts are shuffled with ``random.Random(seed)`` (in order of first appearance, so the result
    depends only on the file, the limit and the seed) and taken until their questions reach
    ``fraction`` of all questions (at least one context when there are questions).
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction {fraction} must be between 0 and 1")
    counts: dict[str, int] = {}
    for item in items:
        counts[item.doc_id] = counts.get(item.doc_id, 0) + 1
    order = list(counts)
    random.Random(seed).shuffle(order)
    target = max(1, round(fraction * len(items))) if items and fraction > 0 else 0
    removed: list[str] = []
    covered = 0
    for doc_id in order:
        if covered >= target:
            break
        removed.append(doc_id)
        covered += counts[doc_id]
    return sorted(removed)


def without_answer_sentences(
    items: Sequence[QAItem], doc_ids: set[str] | None = None
) -> dict[str, tuple[QAItem, str]]:
    """For each context (of ``doc_ids``, or all), its first answerable question whose answer lies in
    one sentence and is written nowhere else in the context, and the context without that sentence:
    ``{doc_id: (question, cut context)}``. Asked over the cut context, the question is on the subject
    but its detail is gone: the reader should say it is missing.

    >>> text = "Lyon est une ville. Elle compte 500 000 habitants. Elle est en France."
    >>> q = QAItem("1", "Combien d'habitants ?", ("500 000",), (32,), text, "Lyon", "ctx-1")
    >>> without_answer_sentences([q])["ctx-1"][1]
    'Lyon est une ville. Elle est en France.'
    """
    out: dict[str, tuple[QAItem, str]] = {}
    for item in items:
        if item.doc_id in out or not item.answerable or (doc_ids is not None and item.doc_id not in doc_ids):
            continue
        start = item.answer_starts[0]
        end = start + len(item.answers[0])
        for a, b in sentence_spans(item.context):
            if a <= start and end <= b:
                cut = (item.context[:a].rstrip() + " " + item.context[b:].lstrip()).strip()
                if cut and fold(item.answers[0]) not in fold(cut):
                    out[item.doc_id] = (item, cut)
                break
    return out
