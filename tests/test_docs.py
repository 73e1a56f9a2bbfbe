"""The documentation holds together: links and anchors resolve, the README stays a short guide, and
every tuned number of the code is explained in docs/tuning.md."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from helpers import ROOT

from rag.composer import ComposerSettings
from rag.retrieval import RetrievalSettings
from rag.store.dense import DenseSettings

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_REFERENCE = re.compile(r"(docs/[a-z_]+\.md)(#[a-z0-9-]+)?")


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of a markdown page."""
    out = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def _check(target: Path, anchor: str, where: str) -> None:
    assert target.exists(), f"{where}: {target} does not exist"
    if anchor:
        assert anchor in _anchors(target), f"{where}: no heading #{anchor} in {target.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_of_the_docs_resolves(page: Path):
    for link in LINK.findall(page.read_text(encoding="utf-8")):
        if link.startswith(("http://", "https://")):
            continue
        path, _, anchor = link.partition("#")
        _check((page.parent / path).resolve() if path else page, anchor, f"{page.name} -> {link}")


def test_every_docs_reference_in_the_code_resolves():
    sources = [*ROOT.glob("rag/**/*.py"), *ROOT.glob("ui/*.py"), *ROOT.glob("bench/*.py")]
    found = 0
    for source in sources:
        for path, anchor in CODE_REFERENCE.findall(source.read_text(encoding="utf-8")):
            _check(ROOT / path, anchor.lstrip("#"), f"{source.relative_to(ROOT)} -> {path}{anchor}")
            found += 1
    assert found >= 10


def test_the_readme_is_a_short_guide_linking_to_every_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 220
    for page in PAGES[1:]:
        assert str(page.relative_to(ROOT)) in readme, f"the README does not link to {page.name}"
    for command in ("make run", "make test"):
        assert command in readme


def test_every_tuned_setting_is_explained_in_the_tuning_page():
    tuning = (ROOT / "docs" / "tuning.md").read_text(encoding="utf-8")
    for settings in (RetrievalSettings, ComposerSettings, DenseSettings):
        for f in fields(settings):
            if f.name != "threshold":  # ComposerSettings.threshold only overrides the calibration
                assert f"`{f.name}`" in tuning or f" {f.name} " in tuning, f"{settings.__name__}.{f.name}"
