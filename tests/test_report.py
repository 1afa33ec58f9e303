"""report: one self-contained HTML page per run."""

from __future__ import annotations

import base64
import re
import struct

import pytest
from click.testing import CliRunner
from results_helpers import DESCRIPTION, fleet_scenario, read_summary

from essdispatch.cli import cli
from essdispatch.report import build_report, write_report
from essdispatch.run import run_scenario


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("report")
    return run_scenario(fleet_scenario(base, "fleet-week", 80), out=base / "results").folder


@pytest.fixture(scope="session")
def page(run) -> str:
    return write_report(run).read_text(encoding="utf-8")


def test_report_embeds_three_png_figures(page):
    images = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [alt.split(":")[0].split(",")[0] for alt, _ in images] == [
        "Dispatch",
        "Curtailment",
        "Emissions displaced by storage on each carbon basis",
    ]
    for _, data in images:
        png = base64.b64decode(data)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])
        assert width >= 1000 and height >= 500


def test_report_is_self_contained(page):
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_report_has_summary_values_and_solver_facts(run, page):
    s = read_summary(run)
    for value in (
        f"{s['savings']:,.0f}",
        f"{s['total_cost']:,.0f}",
        f"{s['baseline']['total_cost']:,.0f}",
        f"{s['curtailed_mwh']:,.1f}",
        f"{s['curtailment_absorbed_mwh']:,.1f}",
        f"{s['emissions_displaced_tco2']['marginal']:,.1f}",
        f"{s['equivalent_full_cycles']['north-bess']:,.2f}",
    ):
        assert value in page, value
    assert "<code>emissions_tco2[average]</code>" in page
    assert ">Optimal<" in page and ">termination<" in page
    assert f"{s['solver']['variables']}" in page
    assert "balance_residual_max_mw" in page


def test_report_escapes_text(page):
    escaped = "Two sites &lt;one with &quot;load&quot;&gt; &amp; a shared tie"
    assert escaped in page  # the description, in the header
    assert DESCRIPTION not in page
    # the scenario file itself, escaped inside <pre>
    pre = re.search(r"<pre>(.*?)</pre>", page, re.S).group(1)
    assert "name: fleet-week" in pre and "&lt;one with" in pre and "<one" not in pre


def test_report_limits_long_dispatch_window(run):
    page = build_report(run, max_dispatch_days=1)
    assert "first 1 days of 2" in page


def test_cli_report(run, tmp_path):
    out = tmp_path / "r.html"
    res = CliRunner().invoke(cli, ["report", str(run), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text(encoding="utf-8").count("data:image/png;base64,") == 3
    missing = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert missing.exit_code == 2 and "not a complete run" in missing.output
