"""Every citation in the product is something a reader can find.

No bare identifiers of a search index or corpus ("index id 59325530096"), no path outside the
repository (a session's work folder, ``../shared/``), in the data files, the text of
``essdispatch presets``, the scenario and sweep files, the docs, the README and the tutorial.
Each preset's source names a URL, a document number, or says the official text was not
retrieved.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from essdispatch.scenario.presets import describe_preset, list_presets, presets_table_text

ROOT = Path(__file__).resolve().parents[1]

#: what a reader cannot look up
BAD = [
    (re.compile(r"\b(?:search[ -]?)?index[ -]ids?\b", re.I), "a search-index identifier"),
    (re.compile(r"\b(?:corpus|search)[ -]ids?\b", re.I), "a search identifier"),
    (re.compile(r"(?<![\w.+/-])\d{9,}(?![\w.])"), "a bare numeric identifier"),
    (re.compile(r"(?<![\w.#])/(?:work|home|tmp|root|mnt|Users)/"), "a path outside the repository"),
    (
        re.compile(r"\.\./shared\b|\bshared/(?:DATA_SOURCES|MODEL|SCENARIOS|STYLE)\.md"),
        "a path outside the repository",
    ),
    (re.compile(r"\bcode[- ]file (?:id|ids)\b", re.I), "a code-file identifier"),
]

#: a source a reader can follow: a URL, a document number, or an honest statement
FINDABLE = re.compile(
    # a document a reader can look up, or a figure this repository computes (a modelled
    # series names the file of its model's parameters, each of which cites its source)
    r"https?://|〔\d{4}〕|\bNo\.\s?\d|Announcement|not retrieved|derived|calculat|computed"
    r"|^MODELLED \(essdispatch/data/",
    re.I,
)


def problems(text: str) -> list[str]:
    """The unfindable citations in ``text`` (``"<what>: <match>"``)."""
    found = []
    for pattern, what in BAD:
        found += [f"{what}: {m.group(0)!r}" for m in pattern.finditer(text)]
    return found


def product_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder, pattern in (
        ("essdispatch/data", "*"),
        ("essdispatch", "*.py"),
        ("scenarios", "*.yaml"),
        ("scenarios/data", "*.py"),
        ("sweeps", "*.yaml"),
        ("docs", "*.md"),
        ("examples", "*.ipynb"),
        ("examples", "*.py"),
        ("benchmarks", "*.py"),
        ("benchmarks", "*.md"),
    ):
        files += sorted((ROOT / folder).glob(pattern))
    return [f for f in files if f.is_file()]


def test_checker_catches_what_a_reader_cannot_follow():
    assert problems("public code file, search index id 59325530096 (province table)")
    assert problems("e.g. index ids 22012816432 and 24205715093")
    assert problems("see /work/shared/DATA_SOURCES.md")
    assert problems("cited in ../shared/DATA_SOURCES.md §2a")
    assert not problems(
        "陕发改价格〔2025〕1034号, https://sndrc.shaanxi.gov.cn/a/t20250723_3546317.html"
    )
    assert not problems("0.5857 tCO2/MWh; sha256 0ebd7e9762d9701cb45f28fec61c601d8c917d15566dde11")
    assert not problems("see docs/DATA_SOURCES.md §2a")


@pytest.mark.parametrize("path", product_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_product_file_cites_only_findable_sources(path: Path):
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.name == "test_provenance.py":
        pytest.skip("the checker itself")
    assert problems(text) == [], path


def test_presets_output_cites_findable_sources():
    assert problems(presets_table_text()) == []
    for row in list_presets().itertuples(index=False):
        text = describe_preset(row.name)
        assert problems(text) == [], row.name
        assert FINDABLE.search(str(row.source)), (row.name, row.source)


def test_data_sources_page_is_in_the_repository():
    page = ROOT / "docs" / "DATA_SOURCES.md"
    assert page.is_file()
    text = page.read_text(encoding="utf-8")
    for section in ("### 1a.", "### 1b.", "### 2a.", "### 2b.", "### 2c.", "### 2d."):
        assert section in text
