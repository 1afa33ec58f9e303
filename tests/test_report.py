"""report: one self-contained HTML page per run."""

from __future__ import annotations

import base64
import re
import struct
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from results_helpers import DESCRIPTION, fleet_scenario, read_summary

from essdispatch.analysis.report import build_report, headline, write_report
from essdispatch.cli import cli
from essdispatch.run import run_scenario


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("report")
    return run_scenario(fleet_scenario(base, "fleet-week", 80), out=base / "results").folder


@pytest.fixture(scope="session")
def page(run) -> str:
    return write_report(run).read_text(encoding="utf-8")


def test_report_embeds_png_figures_and_an_interactive_chart(page):
    images = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [alt.split(":")[0] for alt, _ in images] == [
        "Curtailment",
        "Emissions displaced by storage on each carbon basis",
        "The sites one by one",
    ]
    for _, data in images:
        png = base64.b64decode(data)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])
        assert width >= 800 and height >= 300
    assert '<div id="timeseries"' in page and "Plotly.newPlot" in page


class _Refs(HTMLParser):
    """Every URL the page would load: script src, link href, img src, iframe src."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        wanted = {"script": "src", "img": "src", "iframe": "src", "link": "href", "source": "src"}
        for key, value in attrs:
            if tag in wanted and key == wanted[tag] and value:
                self.refs.append(value)


def test_report_is_self_contained(page):
    assert page.startswith("<!DOCTYPE html>")
    parser = _Refs()
    parser.feed(page)
    assert parser.refs and all(ref.startswith("data:") for ref in parser.refs), parser.refs
    # plotly.js itself is inline (the <script> tags have no src)
    assert len(page) > 3_000_000


def test_report_headline_and_labels(run, page):
    s = read_summary(run)
    h = headline(s)
    for key in ("savings", "curtailment_absorbed_mwh", "carbon_value"):
        assert f'data-key="{key}" data-value="{float(h[key])!r}"' in page, key
    # cash first (docs/ECONOMICS.md): the cash savings card leads the headline
    assert page.index('data-key="cash_savings"') < page.index('data-key="savings"')
    assert f'data-key="cash_savings" data-value="{float(s["cash_savings"])!r}"' in page
    # with no economics keys, cash savings = energy bill savings − degradation cost
    assert s["cash_savings"] == pytest.approx(
        h["energy_bill_savings"] - s["degradation_cost"], rel=1e-9, abs=1e-6
    )
    # the revenue streams and the carbon split are on the page
    assert 'id="revenue"' in page and 'id="carbon-split"' in page
    for series, value in s["emissions_displaced_tco2"].items():
        assert f'data-key="emissions_displaced_tco2.{series}" data-value="{value!r}"' in page
    # savings = energy bill + carbon value − degradation (and unserved) cost
    assert h["savings"] == pytest.approx(
        h["energy_bill_savings"]
        + h["carbon_value"]
        - s["degradation_cost"]
        - s["voll"] * s["unserved_mwh"],
        rel=1e-9,
    )
    energy = sum(u["energy_mwh"] for u in s["per_unit"].values())
    hours = s["horizon"]["periods"] * s["horizon"]["dt_h"]
    assert h["savings_per_kwh_year"] == pytest.approx(
        s["savings"] / (energy * 1000) * 8760 / hours, rel=1e-12
    )
    assert "emissions displaced (marginal) [tCO2]" in page  # human labels with units
    assert "<code>emissions_tco2[average]</code>" not in page
    for font in ("Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC"):
        assert font in page


def test_report_sections(run, page):
    s = read_summary(run)
    for section in ("per-site", "per-unit", "limits", "time-series", "run-vs-baseline"):
        assert f'id="{section}"' in page
    for site in s["sites"]:
        assert f"<td>{site}</td>" in page
    assert f"{s['per_site']['pv-north']['savings']:,.0f}" in page
    assert "binding [h]" in page
    # the scenario and the solver facts come last, collapsed
    assert page.index("<details><summary>Scenario file</summary>") > page.index('id="time-series"')
    assert ">Optimal<" in page and f"{s['solver']['variables']}" in page
    # every run carries its carbon accounting and revenue streams: both sections are there
    assert 'id="carbon-split"' in page and 'id="revenue"' in page
    split = s["carbon_accounting"]["emissions_displaced_split_tco2"]["average"]
    assert f"{split['grid_energy_shifted']:,.1f}" in page or "grid energy shifted" in page


def test_report_optional_sections_from_their_keys(run, tmp_path):
    import json
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    s = read_summary(run)
    # a results folder written before these figures existed: no section, no error
    for key in ("carbon_accounting", "revenue_streams", "finance"):
        s.pop(key, None)
    s["cash_savings"] = 1250.0
    s["value_of_foresight"] = 321.0
    s["data_caveats"] = [
        {
            "preset": "shaanxi-spot-synthetic",
            "kind": "spot-synthetic",
            "confidence": "M",
            "keys": ["signals.sell_price"],
            "reason": "synthetic",
            "note": "a seeded shape",
            "text": "x",
        }
    ]
    (copy / "summary.json").write_text(json.dumps(s), encoding="utf-8")
    page = build_report(copy)
    assert 'id="carbon-split"' not in page and 'id="revenue"' not in page
    assert 'data-key="cash_savings" data-value="1250.0"' in page
    assert 'data-key="value_of_foresight" data-value="321.0"' in page
    assert 'id="caveats"' in page and "shaanxi-spot-synthetic" in page
    # with the keys: the split by cause, the streams and the finance figures
    s["carbon_accounting"] = {
        "emissions_displaced_split_tco2": {
            "average": {
                "curtailed_solar_delivered": 12.5,
                "grid_energy_shifted": -2.0,
                "losses": -0.5,
            }
        }
    }
    s["revenue_streams"] = {
        "total": {"energy_arbitrage": 1000.0, "capacity_payment": 250.0, "cash_savings": 1250.0}
    }
    s["finance"] = {"npv": 1.5e6, "irr": 0.125}
    unit = next(iter(s["equivalent_full_cycles"]))
    s["life"] = {
        unit: {
            "lp_vs_assessed_cycle_fade": 0.66,
            "assessment": {
                "fade_per_year": 0.0201,
                "soh_end_of_horizon": 0.9996,
                "end_of_life_year": 21.8,
            },
        }
    }
    (copy / "summary.json").write_text(json.dumps(s), encoding="utf-8")
    page = build_report(copy)
    assert 'id="carbon-split"' in page and "12.5" in page
    assert 'id="revenue"' in page and "energy arbitrage" in page and "capacity payment" in page
    assert 'id="finance"' in page and "12.5 %" in page
    assert 'id="life"' in page and "2.01 %" in page and "21.8" in page and "0.66" in page


def test_report_escapes_text(page):
    escaped = "Two sites &lt;one with &quot;load&quot;&gt; &amp; a shared tie"
    assert escaped in page  # the description, in the header
    assert DESCRIPTION not in page
    # the scenario file itself, escaped inside <pre>
    pre = re.search(r"<pre>(.*?)</pre>", page, re.S).group(1)
    assert "name: fleet-week" in pre and "&lt;one with" in pre and "<one" not in pre


def test_cli_report(run, tmp_path):
    out = tmp_path / "r.html"
    res = CliRunner().invoke(cli, ["report", str(run), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert len(re.findall(r'<img alt="[^"]*" src="data:image/png', out.read_text("utf-8"))) == 3
    missing = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert missing.exit_code == 2 and "not a complete run" in missing.output
