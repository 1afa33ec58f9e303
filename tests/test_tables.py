"""Per-site and per-unit figures, baseline.csv and the --xlsx workbook."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from results_helpers import fleet_scenario, read_summary

from essdispatch.analysis.export import COLUMN_UNITS, column_unit, write_workbook
from essdispatch.cli import cli
from essdispatch.results.extract import (
    PER_SITE_UNITS,
    PER_UNIT_UNITS,
    per_site_figures,
    per_unit_figures,
)
from essdispatch.run import run_scenario
from essdispatch.solve.pair import solve_pair
from essdispatch.testing import make_inputs


def test_per_site_and_per_unit_figures_of_a_hand_solved_case():
    # 10 MWh of solar at noon, 10 MWh of load in the evening, export worth nothing: storage
    # moves the solar to the evening. Baseline: import 10 MWh at 100 (1000) and net emissions
    # 0.8*10 - 0.5*10 = 3 t at 10 CNY/t (30). Run: no grid at all, degradation 2 x 10 = 20.
    inp = make_inputs(
        [10, 0],
        [100, 100],
        [0, 0],
        load=[0, 10],
        carbon=[0.5, 0.8],
        carbon_price=10,
        units=[
            dict(
                name="u",
                power_mw=10,
                energy_mwh=10,
                charge_efficiency=1.0,
                discharge_efficiency=1.0,
                soc_initial=0.0,
                soc_min=0.0,
                soc_max=1.0,
                degradation_cost=2,
            )
        ],
    )
    run, _, base, _ = solve_pair(inp)
    site = per_site_figures(run, base)["site"]
    assert site["baseline_total_cost"] == pytest.approx(1030.0, abs=1e-6)
    assert site["total_cost"] == pytest.approx(20.0, abs=1e-6)
    assert site["savings"] == pytest.approx(1010.0, abs=1e-6)
    assert site["degradation_cost"] == pytest.approx(20.0, abs=1e-6)
    assert site["emissions_displaced_tco2"] == {"average": pytest.approx(3.0, abs=1e-9)}
    assert site["import_mwh"] == pytest.approx(0.0, abs=1e-9)
    unit = per_unit_figures(run)["u"]
    assert unit["duration_h"] == 1.0 and unit["equivalent_full_cycles"] == pytest.approx(1.0)
    assert unit["charge_mwh"] == pytest.approx(10.0) and unit["soc_end"] == pytest.approx(0.0)
    assert set(site) <= set(PER_SITE_UNITS) and set(unit) <= set(PER_UNIT_UNITS)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("tables")
    return run_scenario(
        fleet_scenario(base, "fleet-tables", 80), out=base / "results", csv=True
    ).folder


def test_per_site_figures_add_up_to_the_fleet(folder):
    s = read_summary(folder)
    sites = s["per_site"]
    assert list(sites) == s["sites"]
    for fig in (
        "savings",
        "total_cost",
        "curtailment_absorbed_mwh",
        "import_mwh",
        "export_mwh",
        "energy_cost",
        "carbon_cost",
        "degradation_cost",
    ):
        assert sum(v[fig] for v in sites.values()) == pytest.approx(s[fig], rel=1e-9, abs=1e-6), fig
    for series, value in s["emissions_displaced_tco2"].items():
        total = sum(v["emissions_displaced_tco2"][series] for v in sites.values())
        assert total == pytest.approx(value, rel=1e-9, abs=1e-9)
    units = s["per_unit"]
    assert units["north-bess"]["duration_h"] == pytest.approx(2.0)  # 50 MWh / 25 MW
    assert units["factory-bess"]["energy_mwh"] == pytest.approx(20.0)  # 2 x 10 MWh
    assert units["factory-bess"]["count"] == 2
    for name, unit in units.items():
        assert unit["site"] == s["unit_sites"][name]
        assert unit["equivalent_full_cycles"] == pytest.approx(s["equivalent_full_cycles"][name])


def test_csv_writes_the_baseline_too(folder):
    run = pd.read_csv(folder / "dispatch.csv", index_col=0)
    base = pd.read_csv(folder / "baseline.csv", index_col=0)
    parquet = pd.read_parquet(folder / "baseline.parquet")
    assert list(base.columns) == list(parquet.columns)
    assert set(base.columns) < set(run.columns)  # the baseline has no storage columns
    np.testing.assert_allclose(base.to_numpy(float), parquet.to_numpy(float), rtol=1e-12)


def test_workbook_has_every_sheet_with_units(folder, tmp_path):
    path = write_workbook(folder, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb.sheetnames == ["summary", "per_site", "per_unit", "dispatch", "baseline", "units"]
    s = read_summary(folder)
    summary = pd.read_excel(path, sheet_name="summary")
    row = summary[summary["figure"] == "total_cost"].iloc[0]
    assert row["unit"] == "CNY" and row["run"] == pytest.approx(s["total_cost"])
    assert row["baseline"] == pytest.approx(s["baseline"]["total_cost"])
    assert row["delta (baseline - run)"] == pytest.approx(s["savings"])
    dispatch = pd.read_excel(path, sheet_name="dispatch", header=0)
    units_row = dispatch.iloc[0]
    assert units_row["pv-north/pv"] == "MW" and units_row["north-bess/soc"] == "fraction"
    assert units_row["pv-north/buy_price"] == "CNY/MWh"
    assert units_row["pv-north/carbon_marginal"] == "tCO2/MWh"
    parquet = pd.read_parquet(folder / "dispatch.parquet")
    values = dispatch.iloc[1:]["pv-north/imp"].astype(float).to_numpy()
    np.testing.assert_allclose(values, parquet["pv-north/imp"].to_numpy(), rtol=1e-12)
    per_site = pd.read_excel(path, sheet_name="per_site")
    assert per_site.iloc[0]["savings"] == "CNY"
    assert per_site.iloc[1:]["savings"].astype(float).sum() == pytest.approx(s["savings"])
    units = pd.read_excel(path, sheet_name="units")
    assert len(units) == len(parquet.columns) + 1 and units["unit"].notna().all()


def test_every_dispatch_column_has_a_unit(folder):
    for col in pd.read_parquet(folder / "dispatch.parquet").columns:
        assert column_unit(col, "CNY"), col
    assert set(COLUMN_UNITS) >= {"pv", "cur", "imp", "exp", "ch", "dis", "soc", "energy_mwh"}


def test_cli_run_xlsx_and_csv(tmp_path):
    scenario = fleet_scenario(tmp_path, "fleet-cli", 80)
    res = CliRunner().invoke(
        cli, ["run", str(scenario), "--out", str(tmp_path / "out"), "--csv", "--xlsx", "-q"]
    )
    assert res.exit_code == 0, res.output
    folder = tmp_path / "out" / "fleet-cli"
    for name in ("dispatch.csv", "baseline.csv", "results.xlsx"):
        assert (folder / name).is_file(), name
