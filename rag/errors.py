"""Every error rag raises on purpose is a :class:`RagError`.

The tree is small on purpose; catch ``RagError`` to handle them all::

    RagError
    ├── QuestionError      the question is empty, too long, or has no words
    ├── CorpusError        a corpus folder or file cannot be used (missing, binary, bad encoding…)
    ├── IndexNotFoundError there is no index yet: build it with ``rag index``
    ├── IndexCorruptError  a file of the saved index cannot be read: rebuild it
    ├── IndexMismatchError the index was built by another embedder or format version
    ├── ModelError         an embedding model cannot be found or loaded
    └── SettingsError      a setting (flag or environment variable) has an unusable value

Each message names the bad value and says how to fix it. The CLI prints the message on one line and
exits with status 2; the web UI shows it in the page.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class of every error raised on purpose by rag."""


class QuestionError(RagError, ValueError):
    """The question cannot be asked as given (empty, too long, no words)."""


class CorpusError(RagError):
    """A corpus folder or document cannot be read or used."""


class IndexNotFoundError(RagError):
    """No index exists at the given path."""


class IndexCorruptError(RagError):
    """A file of the saved index is missing or unreadable."""


class IndexMismatchError(RagError):
    """The saved index was built with another embedder, dimension or format version."""


class ModelError(RagError):
    """An embedding model cannot be resolved or loaded."""


class SettingsError(RagError, ValueError):
    """A setting, given as a flag or an environment variable, has a value rag cannot use."""
