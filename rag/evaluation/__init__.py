"""``rag eval``: retrieval, answer, citation and abstention metrics on an extractive QA file.

- ``qa``: reading and checking QA files, the no-answer split;
- ``metrics``: answer matching, ranks, ROC AUC, abstention, the summary of a run;
- ``harness``: building the indexes and asking every question (:func:`evaluate`);
- ``report``: the markdown table.
"""

from .harness import RETRIEVER_CHOICES, CachingEmbedder, engine_thresholds, evaluate, retriever_runs
from .metrics import abstention_at, contains_answer, document_ranks, roc_auc, threshold_for
from .qa import DEFAULT_SEED, QAItem, context_id, load_qa, no_answer_split
from .report import format_table

__all__ = [
    "DEFAULT_SEED",
    "RETRIEVER_CHOICES",
    "CachingEmbedder",
    "QAItem",
    "abstention_at",
    "contains_answer",
    "context_id",
    "document_ranks",
    "engine_thresholds",
    "evaluate",
    "format_table",
    "load_qa",
    "no_answer_split",
    "retriever_runs",
    "roc_auc",
    "threshold_for",
]
