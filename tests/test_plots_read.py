"""Plots a reader understands at a glance: fleet views aggregate, legends where colours
repeat, words and units on every axis (the Shaanxi fleet week: 11 sites, 11 units, a spot
price at the PV plants and a TOU tariff at the C&I sites)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from essdispatch.analysis.compare import compare_table
from essdispatch.analysis.plots import (
    FIGURES,
    compare_figure,
    dispatch_figure,
    displaced_frame,
    emissions_figure,
    price_lines,
    sites_figure,
)
from essdispatch.run import run_scenario
from essdispatch.sweeps.sweep_plots import DURATION_COLUMN, plot_sweep

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plots-read")
    return run_scenario(ROOT / "scenarios" / "shaanxi-fleet-1100mwh-week.yaml", out=out).folder


def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def test_fleet_dispatch_aggregates_state_of_charge_and_keeps_tariffs_apart(week: Path):
    fig = dispatch_figure(week)
    ax_p, ax_s, ax_c, *_ = fig.axes
    assert len(ax_s.get_lines()) == 1  # the fleet, not 11 unlabelled lines
    assert _legend_texts(ax_s) == ["Range over 11 units", "Fleet (energy-weighted)"]
    assert "[% of energy]" in ax_s.get_ylabel()
    labels = _legend_texts(ax_c)
    assert "Buy, 8 sites" in labels and "Buy, 3 sites" in labels
    assert not any("mean" in label for label in labels)
    assert "[CNY/MWh]" in ax_c.get_ylabel() and "[MW]" in ax_p.get_ylabel()
    # a site on request: its own unit and its own prices
    one = dispatch_figure(week, site="xixian-datacenter")
    assert _legend_texts(one.axes[1]) == ["xixian-bess"]


def test_price_lines_group_identical_series(week: Path):
    lines = price_lines(week)
    buy = [(label, values) for label, values, _ in lines if label.startswith("Buy")]
    assert [label for label, _ in buy] == ["Buy, 8 sites", "Buy, 3 sites"]
    frame = pd.read_parquet(week / "dispatch.parquet")
    np.testing.assert_array_equal(buy[1][1].to_numpy(), frame["xixian-datacenter/buy_price"])
    single = price_lines(week, site="yulin-shenmu-pv")
    assert [label for label, _, _ in single] == ["Buy", "Sell"]


def test_emissions_dip_below_zero_is_explained(week: Path):
    cumulative = displaced_frame(week).cumsum()
    assert cumulative.min().min() < 0  # the week's first day
    fig = emissions_figure(week)
    notes = [t.get_text() for t in fig.axes[0].texts]
    assert any(note.startswith("Below zero") for note in notes)
    # a window that never dips carries no note
    late = emissions_figure(week, start="2026-07-19", end="2026-07-19")
    if displaced_frame(week, start="2026-07-19", end="2026-07-19").cumsum().min().min() >= 0:
        assert not late.axes[0].texts


def test_compare_cycles_panel_has_a_legend(week: Path, tmp_path: Path):
    copies = []
    for name in ("base", "again"):
        copies.append(tmp_path / name)
        shutil.copytree(week, copies[-1])
    fig = compare_figure(compare_table(copies))
    cycles = fig.axes[3]
    assert _legend_texts(cycles) == ["Mean over 11 units", "Least to most used unit"]
    assert "[cycles]" in cycles.get_ylabel()
    assert all("[" in ax.get_ylabel() for ax in fig.axes[:4])  # every axis with its unit


def test_sweep_plot_in_words_units_and_hours():
    rows = []
    for price in (0, 1000):
        for scale, hours in ((0.5, 1.0), (1.0, 2.0), (2.0, 4.0)):
            rows.append(
                {
                    "case": f"c{price}-{scale}",
                    "status": "finished",
                    "objective.carbon_price": price,
                    "sites[*].storage[*].energy_mwh (scale)": scale,
                    DURATION_COLUMN: hours,
                    "savings": 1e6 * hours + price,
                    "emissions_displaced_tco2.average": 100 * hours,
                    "emissions_displaced_tco2.marginal": 150 * hours,
                    "curtailment_absorbed_mwh": 50 * hours,
                    "discharge_mwh": 1000 * hours,
                }
            )
    table = pd.DataFrame(rows)
    table.attrs = {
        "parameters": ["objective.carbon_price", "sites[*].storage[*].energy_mwh (scale)"],
        "sweep": "demo",
    }
    fig = plot_sweep(table)
    axes = fig.axes
    titles = [ax.get_title() for ax in axes[:5]]
    assert titles == [
        "Savings",
        "CO2 displaced, average",
        "CO2 displaced, marginal",
        "Curtailment absorbed",
        "Discharged",
    ]
    assert all("_" not in t for t in titles)
    assert {ax.get_xlabel() for ax in axes[:5]} == {"carbon price [CNY/tCO2]"}
    assert [ax.get_ylabel() for ax in axes[:5]] == ["[CNY]", "[tCO2]", "[tCO2]", "[MWh]", "[MWh]"]
    # durations in hours (not a scale factor); the legend sits in the spare sixth panel
    assert all(ax.get_legend() is None for ax in axes[:5])
    assert _legend_texts(axes[5]) == ["1 h", "2 h", "4 h"]
    assert axes[5].get_legend().get_title().get_text() == "storage duration [h]"
    assert not axes[5].axison
    by_hours = plot_sweep(table, against=DURATION_COLUMN)
    assert by_hours.axes[0].get_xlabel() == "storage duration [h]"
    assert _legend_texts(by_hours.axes[5]) == ["0 CNY/tCO2", "1000 CNY/tCO2"]


def test_sites_small_multiples(week: Path):
    assert FIGURES["sites"] is sites_figure
    fig = sites_figure(week)
    panels = [ax for ax in fig.axes if ax.axison]
    assert len(panels) == 11
    assert panels[0].get_title().startswith("yulin-shenmu-pv\nsaves ")
    assert all(ax.get_ylabel() == "[MW]" for ax in panels)
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [
        "Solar available",
        "Grid export (> 0) / import (< 0)",
        "Storage discharge (> 0) / charge (< 0)",
        "Export limit",
    ]
    one = sites_figure(week, site="xixian-datacenter")
    assert len([ax for ax in one.axes if ax.axison]) == 1
