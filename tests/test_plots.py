"""plots: figures from real results folders: axes, labels, data, PNG files."""

from __future__ import annotations

import struct

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from results_helpers import fleet_scenario, read_summary, write_run

from essdispatch.analysis.plots import (
    compare_figure,
    curtailment_figure,
    dispatch_figure,
    emissions_figure,
    figsize_px,
    save_png,
)
from essdispatch.base.exceptions import ResultsError
from essdispatch.cli import cli
from essdispatch.run import run_scenario

SMALL = {"figsize": (8.0, 5.0), "dpi": 80}


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("plots")
    out = base / "results"
    folders = {}
    for name, lam in (("fleet-lambda0", 0), ("fleet-lambda200", 200)):
        folders[name] = run_scenario(fleet_scenario(base, name, lam), out=out).folder
    folders["one"] = write_run(out, "one")
    return folders


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def legend_texts(ax) -> list[str]:
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()] if leg else []


def x_range_local(ax) -> tuple[pd.Timestamp, pd.Timestamp]:
    lo, hi = ax.get_xlim()
    tz = "Asia/Shanghai"
    return (
        pd.Timestamp(mdates.num2date(lo)).tz_convert(tz),
        pd.Timestamp(mdates.num2date(hi)).tz_convert(tz),
    )


def test_dispatch_figure_fleet(runs):
    folder = runs["fleet-lambda0"]
    fig = dispatch_figure(folder, **SMALL)
    assert isinstance(fig, Figure)
    ax_p, ax_s, ax_c, twin = fig.axes
    assert ax_p.get_ylabel().startswith("Power [MW]")
    assert "[% of energy]" in ax_s.get_ylabel()
    assert "[CNY/MWh]" in ax_c.get_ylabel()
    assert "[tCO2/MWh]" in twin.get_ylabel()
    assert "Local time" in ax_c.get_xlabel()
    assert "fleet total" in fig.get_suptitle()
    labels = legend_texts(ax_p)
    for name in (
        "Solar used",
        "Solar curtailed",
        "Storage discharge",
        "Grid import",
        "Storage charge",
        "Grid export",
        "Load + aux",
    ):
        assert name in labels
    assert legend_texts(ax_s) == ["north-bess", "factory-bess"]
    assert set(legend_texts(ax_c)) >= {"Carbon, average", "Carbon, marginal"}
    # non-empty data: the stacked areas span real power, the SOC lines have 48 points
    polys = [c for c in ax_p.collections if isinstance(c, PolyCollection)]
    assert len(polys) >= 7
    ymin, ymax = ax_p.get_ylim()
    assert ymax > 50 and ymin < -10
    assert all(len(line.get_xdata()) == 48 for line in ax_s.get_lines())
    soc = np.concatenate([line.get_ydata() for line in ax_s.get_lines()])
    assert soc.min() >= -1e-6 and soc.max() <= 100 + 1e-6 and soc.max() > 50
    lo, hi = x_range_local(ax_c)
    assert lo == pd.Timestamp("2026-06-01 00:00", tz="Asia/Shanghai")
    assert hi == pd.Timestamp("2026-06-03 00:00", tz="Asia/Shanghai")


def test_dispatch_figure_site_window(runs):
    fig = dispatch_figure(
        runs["fleet-lambda0"], site="factory", start="2026-06-02", end="2026-06-02 11:00", **SMALL
    )
    ax_p, ax_s, ax_c, _ = fig.axes
    assert "site factory" in fig.get_suptitle()
    lo, hi = x_range_local(ax_c)
    assert lo == pd.Timestamp("2026-06-02 00:00", tz="Asia/Shanghai")
    assert hi == pd.Timestamp("2026-06-02 12:00", tz="Asia/Shanghai")
    assert legend_texts(ax_s) == ["factory-bess"]
    # the state at the window's start comes from the previous period: 12 + 1 points
    assert len(ax_s.get_lines()[0].get_xdata()) == 13


def test_bad_window_and_site(runs):
    with pytest.raises(ResultsError, match="no periods between"):
        dispatch_figure(runs["one"], start="2027-01-01", **SMALL)
    with pytest.raises(ResultsError, match="no site 'nope'"):
        dispatch_figure(runs["one"], site="nope", **SMALL)


def test_curtailment_figure_totals_match_summary(runs):
    folder = runs["fleet-lambda0"]
    s = read_summary(folder)
    fig = curtailment_figure(folder, **SMALL)
    ax_p, ax_e = fig.axes
    assert ax_p.get_ylabel() == "Power [MW]"
    assert "[MWh]" in ax_e.get_ylabel()
    base_line, run_line = ax_e.get_lines()
    assert base_line.get_label() == "Baseline" and run_line.get_label() == "Run"
    assert base_line.get_ydata()[-1] == pytest.approx(s["baseline"]["curtailed_mwh"], abs=1e-6)
    assert run_line.get_ydata()[-1] == pytest.approx(s["curtailed_mwh"], abs=1e-6)
    assert s["baseline"]["curtailed_mwh"] > 1.0  # the scenario does curtail
    assert "Curtailed, baseline (no storage)" in legend_texts(ax_p)


def test_emissions_figure_totals_match_summary(runs):
    folder = runs["fleet-lambda200"]
    s = read_summary(folder)
    fig = emissions_figure(folder, **SMALL)
    ax_t, ax_b = fig.axes
    assert "[tCO2]" in ax_t.get_ylabel() and "[tCO2]" in ax_b.get_ylabel()
    heights = {p.get_x(): p.get_height() for p in ax_b.patches}
    bars = [heights[k] for k in sorted(heights)]
    names = [t.get_text() for t in ax_b.get_xticklabels()]
    assert names == ["Average", "Marginal"]
    expected = s["emissions_displaced_tco2"]
    assert bars == pytest.approx([expected["average"], expected["marginal"]], abs=1e-6)
    finals = [
        line.get_ydata()[-1]
        for line in ax_t.get_lines()
        if line.get_label() != "_nolegend_" and "intensity" in line.get_label()
    ]
    assert finals == pytest.approx([expected["average"], expected["marginal"]], abs=1e-6)


def test_compare_figure_bars(runs):
    a, b = runs["fleet-lambda0"], runs["fleet-lambda200"]
    sa, sb = read_summary(a), read_summary(b)
    fig = compare_figure([a, b], **SMALL)
    a_cost, a_abs, a_em, a_cyc = fig.axes[:4]
    assert a_cost.get_ylabel() == "Total cost [CNY]"
    assert a_abs.get_ylabel() == "Curtailment absorbed [MWh]"
    assert a_em.get_ylabel() == "Emissions displaced [tCO2]"
    assert "[cycles]" in a_cyc.get_ylabel()
    assert [t.get_text() for t in a_cost.get_xticklabels()] == ["fleet-lambda0", "fleet-lambda200"]
    # bars left to right: run and baseline of the first run, then of the second
    cost = [p.get_height() for p in sorted(a_cost.patches, key=lambda p: p.get_x())]
    expected = [sa["total_cost"], sa["baseline"]["total_cost"]]
    expected += [sb["total_cost"], sb["baseline"]["total_cost"]]
    assert cost == pytest.approx(expected, rel=1e-9)
    absorbed = [p.get_height() for p in sorted(a_abs.patches, key=lambda p: p.get_x())]
    assert absorbed == pytest.approx(
        [sa["curtailment_absorbed_mwh"], sb["curtailment_absorbed_mwh"]], abs=1e-9
    )
    assert set(legend_texts(a_em)) == {"average", "marginal"}
    assert len(a_cyc.patches) == 4  # 2 runs x 2 units


def test_png_of_requested_size(runs, tmp_path):
    fig = dispatch_figure(runs["one"], figsize=figsize_px(900, 600, dpi=100), dpi=100)
    path = save_png(fig, tmp_path / "d.png")
    assert png_size(path) == (900, 600)


def test_cli_plot(runs, tmp_path):
    out = tmp_path / "c.png"
    res = CliRunner().invoke(
        cli,
        [
            "plot",
            str(runs["one"]),
            "--kind",
            "curtailment",
            "--from",
            "2026-06-02",
            "--to",
            "2026-06-02",
            "--out",
            str(out),
            "--size",
            "800x500",
            "--dpi",
            "100",
        ],
    )
    assert res.exit_code == 0, res.output
    assert png_size(out) == (800, 500)
    bad = CliRunner().invoke(cli, ["plot", str(runs["one"]), "--site", "nope"])
    assert bad.exit_code == 2 and "no site 'nope'" in bad.output
