"""Settings: an explicit argument wins, then an environment variable, then the default.

This is the only place rag reads its environment, and every value is checked here: a bad one is a
:class:`~rag.errors.SettingsError` naming the setting, its variable, the allowed values and the
default. Nothing is read at import time; :meth:`Settings.resolve` reads the environment when called.

>>> Settings.resolve(k=3).k
3
>>> Settings.resolve(k=0)  # doctest: +ELLIPSIS
Traceback (most recent call last):
  ...
rag.errors.SettingsError: setting k = 0 is out of range: use 1 to 50 (flag -k or variable RAG_K; ...)

The variables are ``RAG_`` + the setting's name in capitals (``RAG_CORPUS`` and ``RAG_INDEX`` for
the two folders, ``RAG_CACHE`` for ``cache_dir``); the README lists them with their defaults.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .chunking import MIN_CHUNK_SIZE
from .composer import COMPOSERS, DEFAULT_COMPOSER
from .embedders.registry import AUTO, BACKENDS, DEFAULT_BACKEND
from .errors import SettingsError

MAX_K = 50  # passages a question may ask for
# From this many sentence vectors on, dense search uses an inverted file (approximate): where exact
# search gets slow, and not before, since an IVF must scan a quarter of its lists to keep recall
# (docs/tuning.md#dense-index).
IVF_MIN_VECTORS = 500_000


def default_cache_dir() -> Path:
    """Where built models are kept when ``RAG_CACHE`` is not set (the XDG cache folder)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag"


@dataclass(frozen=True)
class _Spec:
    env: str
    flag: str | None  # the command-line flag, if there is one
    parse: Callable[[str, Any], Any]
    low: int | None = None
    high: int | None = None


def _path(name: str, value: Any) -> Path:
    if isinstance(value, Path):
        return value
    if not isinstance(value, str) or not value.strip():
        raise _error(name, value, "is not a folder path")
    return Path(value)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _error(name, value, "is empty")
    return value.strip()


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise _error(name, value, "is not a whole number")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise _error(name, value, "is not a whole number") from None


def _composer(name: str, value: Any) -> str:
    composer = _text(name, value)
    if composer not in COMPOSERS:
        raise _error(name, composer, f"is not a composer: use one of {', '.join(COMPOSERS)}")
    return composer


def _login(name: str, value: Any) -> str:
    login = _text(name, value)
    user, colon, password = login.partition(":")
    if not colon or not user.strip() or not password:
        raise _error(name, "…", "is not user:password (both parts needed)")  # the value is a secret
    return login


def _login_file(name: str, value: Any) -> Path:
    path = _path(name, value)
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        raise _error(name, str(path), f"cannot be read ({exc.strerror or exc})") from None
    if not lines:
        raise _error(name, str(path), "holds no user:password line")
    for line in lines:
        _login(name, line)
    return path


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise _error(name, value, "is not a yes/no value: use 1 or 0")


TIME_REFERENCES = ("newest", "today")


def _time_reference(name: str, value: Any) -> str:
    reference = _text(name, value)
    if reference not in TIME_REFERENCES:
        raise _error(name, reference, "is not a time reference: use newest (the newest article) or today")
    return reference


def _backend(name: str, value: Any) -> str:
    backend = _text(name, value)
    if backend != AUTO and backend not in BACKENDS:
        raise _error(name, backend, f"is not a backend: use one of {AUTO}, {', '.join(BACKENDS)}")
    return backend


_SPECS: dict[str, _Spec] = {
    "corpus_dir": _Spec("RAG_CORPUS", "--corpus", _path),
    "index_dir": _Spec("RAG_INDEX", "--index", _path),
    "model": _Spec("RAG_MODEL", "--model", _text),
    "backend": _Spec("RAG_BACKEND", None, _backend),
    "cache_dir": _Spec("RAG_CACHE", None, _path),
    "chunk_size": _Spec("RAG_CHUNK_SIZE", "--chunk-size", _whole, MIN_CHUNK_SIZE, None),
    "chunk_overlap": _Spec("RAG_CHUNK_OVERLAP", "--chunk-overlap", _whole, 0, None),
    "k": _Spec("RAG_K", "-k", _whole, 1, MAX_K),
    "composer": _Spec("RAG_COMPOSER", "--composer", _composer),
    "ivf_min": _Spec("RAG_IVF_MIN", None, _whole, 0, None),
    "host": _Spec("RAG_HOST", "--host", _text),
    "port": _Spec("RAG_PORT", "--port", _whole, 1, 65535),
    "auth": _Spec("RAG_AUTH", "--auth", _login),
    "auth_file": _Spec("RAG_AUTH_FILE", "--auth-file", _login_file),
    "read_only": _Spec("RAG_READ_ONLY", "--read-only", _flag),
    "time_reference": _Spec("RAG_TIME_REFERENCE", "--today", _time_reference),
    "span_reader": _Spec("RAG_SPAN_READER", None, _flag),
}


@dataclass(frozen=True)
class Settings:
    """Everything a user may tune; every instance holds checked values.

    ``model`` None means "the model that built the index, else the default" (see
    :func:`rag.engine.embedder_name`).
    The chunker settings are recorded in the index manifest.
    """

    corpus_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    model: str | None = None
    backend: str = DEFAULT_BACKEND
    cache_dir: Path = field(default_factory=default_cache_dir)
    chunk_size: int = 500
    chunk_overlap: int = 100
    k: int = 5
    composer: str = DEFAULT_COMPOSER
    ivf_min: int = IVF_MIN_VECTORS
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str | None = field(default=None, repr=False)  # "user:password" for the web chat's login
    auth_file: Path | None = None  # a file of "user:password" lines
    read_only: bool = False  # the web chat without upload, removal or restore
    # "last week" in a question: the week before the newest article ("newest"), or before "today"
    time_reference: str = "newest"
    # the reader's trained span model (rag/composer/span_model.py); 0: its rules alone
    span_reader: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.default is None:  # not set
                continue
            spec = _SPECS[f.name]
            value = spec.parse(f.name, value)
            if isinstance(value, int) and not isinstance(value, bool):
                high = self.chunk_size - 1 if f.name == "chunk_overlap" else spec.high
                if (spec.low is not None and value < spec.low) or (high is not None and value > high):
                    raise _error(f.name, value, f"is out of range: use {_range(spec.low, high)}")
            object.__setattr__(self, f.name, value)

    @classmethod
    def resolve(cls, **given: Any) -> Settings:
        """Settings from explicit values (``None`` means "not given"), the environment, the defaults."""
        unknown = set(given) - set(_SPECS)
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for name, spec in _SPECS.items():
            if given.get(name) is not None:
                values[name] = given[name]
            elif os.environ.get(spec.env, "").strip():
                values[name] = os.environ[spec.env]
        return cls(**values)

    def logins(self) -> list[tuple[str, str]]:
        """The (user, password) pairs of ``auth`` and ``auth_file``; empty: no login asked."""
        lines = [self.auth] if self.auth else []
        if self.auth_file is not None:
            lines += [x.strip() for x in self.auth_file.read_text(encoding="utf-8").splitlines() if x.strip()]
        return [(user, password) for user, _, password in (line.partition(":") for line in lines)]


def _range(low: int | None, high: int | None) -> str:
    if high is None:
        return f"{low} or more"
    return f"{low} to {high}"


def _error(name: str, value: Any, problem: str) -> SettingsError:
    spec = _SPECS[name]
    default = Settings.__dataclass_fields__[name].default
    default_text = "the index's model, else multilingual-e5-small" if name == "model" else default
    if name == "cache_dir":
        default_text = "~/.cache/rag"
    via = f"flag {spec.flag} or variable {spec.env}" if spec.flag else f"variable {spec.env}"
    return SettingsError(
        f"setting {name} = {value!r} {problem} ({via}; unset it for the default, {default_text})"
    )
