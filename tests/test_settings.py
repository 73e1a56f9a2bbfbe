"""Settings: argument > environment variable > default, every value checked, nothing read at import."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from rag import Settings, SettingsError
from rag.config import _SPECS

VALID = {
    "corpus_dir": ("articles", Path("articles")),
    "index_dir": ("idx", Path("idx")),
    "model": ("hash", "hash"),
    "backend": ("torch", "torch"),
    "cache_dir": ("/tmp/rag-cache", Path("/tmp/rag-cache")),
    "chunk_size": ("800", 800),
    "chunk_overlap": ("120", 120),
    "k": ("7", 7),
    "composer": ("extractive", "extractive"),
    "ivf_min": ("0", 0),
    "host": ("0.0.0.0", "0.0.0.0"),
    "port": ("8080", 8080),
    "auth": ("ana:s3cret", "ana:s3cret"),
    "read_only": ("1", True),
    "time_reference": ("today", "today"),
    "span_reader": ("0", False),
    # "auth_file" needs a file: see the test
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for spec in _SPECS.values():
        monkeypatch.delenv(spec.env, raising=False)


def test_every_setting_has_a_variable_and_is_read_from_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    logins = tmp_path / "logins.txt"
    logins.write_text("bob:hunter2\n\n", encoding="utf-8")
    valid = {**VALID, "auth_file": (str(logins), logins)}
    assert {f.name for f in fields(Settings)} == set(_SPECS) == set(valid)
    for name, (raw, _) in valid.items():
        monkeypatch.setenv(_SPECS[name].env, raw)
    settings = Settings.resolve()
    assert {name: getattr(settings, name) for name in valid} == {n: v for n, (_, v) in valid.items()}
    assert settings.logins() == [("ana", "s3cret"), ("bob", "hunter2")]
    assert "s3cret" not in repr(settings)
    assert {s.env for s in _SPECS.values()} >= {"RAG_BACKEND", "RAG_HOST", "RAG_PORT"}


def test_an_argument_wins_over_the_variable_which_wins_over_the_default(monkeypatch: pytest.MonkeyPatch):
    assert Settings.resolve().k == 5
    monkeypatch.setenv("RAG_K", "9")
    assert Settings.resolve().k == 9
    assert Settings.resolve(k=3).k == 3
    assert Settings.resolve(k=None).k == 9  # None means "not given"
    monkeypatch.setenv("RAG_K", "  ")
    assert Settings.resolve().k == 5  # a blank variable is unset


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("RAG_CHUNK_SIZE", "10", "use 50 or more"),
        ("RAG_CHUNK_SIZE", "beaucoup", "is not a whole number"),
        ("RAG_CHUNK_OVERLAP", "500", "use 0 to 499"),  # not under the chunk size (500)
        ("RAG_K", "0", "use 1 to 50"),
        ("RAG_K", "51", "use 1 to 50"),
        ("RAG_PORT", "70000", "use 1 to 65535"),
        ("RAG_IVF_MIN", "-1", "use 0 or more"),
        ("RAG_BACKEND", "cuda", "use one of auto, openvino-int8, openvino, torch"),
        ("RAG_READ_ONLY", "maybe", "use 1 or 0"),
        ("RAG_AUTH_FILE", "/nonexistent/logins", "cannot be read"),
    ],
)
def test_a_bad_value_names_the_variable_the_value_the_range_and_the_default(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        Settings.resolve()
    message = str(error.value)
    assert variable in message and value in message
    assert says in message and "default" in message and "\n" not in message


def test_a_bad_login_is_refused_without_showing_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAG_AUTH", "justaname")
    with pytest.raises(SettingsError, match="RAG_AUTH") as error:
        Settings.resolve()
    assert "is not user:password" in str(error.value) and "justaname" not in str(error.value)


def test_explicit_values_are_checked_too_and_k_zero_is_not_the_default():
    with pytest.raises(SettingsError, match="k = 0 is out of range"):
        Settings(k=0)
    with pytest.raises(SettingsError, match="not a whole number"):
        Settings.resolve(k=True)
    with pytest.raises(SettingsError, match="flag --chunk-size or variable RAG_CHUNK_SIZE"):
        Settings.resolve(chunk_size="10")
    with pytest.raises(TypeError, match="unknown settings"):
        Settings.resolve(colour="blue")


def test_the_cache_folder_is_found_when_settings_are_made_not_at_import(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Settings().cache_dir == tmp_path / "rag"  # rag was imported long before this test
    monkeypatch.setenv("RAG_CACHE", str(tmp_path / "mine"))
    assert Settings.resolve().cache_dir == tmp_path / "mine"


def test_importing_everything_changes_no_environment_variable():
    code = (
        "import os; before = dict(os.environ); import rag, rag.evaluation, ui.cli, ui.app, ui.serving; "
        "from rag.embedders import registry, openvino, sbert; "
        "print(sorted(set(os.environ.items()) ^ set(before.items())))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "GRADIO_ANALYTICS_ENABLED")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"


def test_the_telemetry_check_is_declined_only_while_converting():
    oic = pytest.importorskip("openvino_telemetry.utils.opt_in_checker")
    from rag.embedders.openvino_ir import _telemetry_declined

    original = oic.OptInChecker.check
    with _telemetry_declined():
        assert oic.OptInChecker().check(True) == oic.ConsentCheckResult.DECLINED
    assert oic.OptInChecker.check is original


@pytest.mark.model
def test_a_model_loads_offline_without_setting_the_hub_variables():
    code = (
        "import os; from rag import load_embedder; e = load_embedder('all-minilm-l6-v2'); "
        "v = e.embed_passages(['Un texte.']); "
        "print(v.shape, os.environ.get('HF_HUB_OFFLINE'), os.environ.get('TRANSFORMERS_OFFLINE'))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "(1, 384) None None"
