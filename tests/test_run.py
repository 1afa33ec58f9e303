"""End to end: scenario file -> results folder, and the CLI through click's test runner."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from essdispatch.cli import cli
from essdispatch.run import run_scenario
from essdispatch.testing import assert_results_folder

ROOT = Path(__file__).resolve().parents[1]

MODEL_FIGURES = {
    "solar_available_mwh",
    "curtailed_mwh",
    "charge_mwh",
    "discharge_mwh",
    "grid_charge_mwh",
    "storage_losses_mwh",
    "import_mwh",
    "export_mwh",
    "unserved_mwh",
    "emissions_tco2",
    "energy_cost",
    "carbon_cost",
    "degradation_cost",
    "total_cost",
    "equivalent_full_cycles",
    "simultaneous_charge_discharge_mwh",
}
DELTA_FIGURES = {"curtailment_absorbed_mwh", "emissions_displaced_tco2", "savings"}

# A hand-solvable scenario: PV 10 MW for two hours then nothing, export limit 6 MW, sell
# 20 then 50 (buy = sell + 5), one unit P = 5, E = 10, η = 0.9, cdeg = 1, empty at the
# start and (cyclic) at the end.
# Baseline: export 6 + 6, curtail 4 + 4, then 0: cost −240.
# Run: discharge is capped at P = 5 MW in t2, which needs 5/0.9 MWh stored, i.e. 5/0.81
# = 6.17 MWh charged — all of it from energy the baseline curtails, so exports stay
# 6 + 6 and t2 exports 5: cost = −20·12 − 50·5 + 1·5 = −485; savings 245; curtailment
# absorbed 5/0.81 MWh. Cyclic makes the optimum unique (no free energy left stored).
HAND = """\
name: hand-case
horizon: {start: 2026-06-01 10:00, end: 2026-06-01 13:00, resolution: 60min,
          timezone: Asia/Shanghai}
signals:
  buy_price: {hourly: [25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55]}
  sell_price: {hourly: [20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50]}
  carbon: {average: 0.6, marginal: 0.9}
sites:
  - name: pv
    solar:
      capacity_mw: 10
      mw: {hourly: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}
    grid: {export_limit_mw: 6}
    storage:
      - {name: bess, power_mw: 5, energy_mwh: 10, charge_efficiency: 0.9,
         discharge_efficiency: 0.9, soc_initial: 0, terminal: cyclic, degradation_cost: 1}
"""


@pytest.fixture()
def hand_file(tmp_path: Path) -> Path:
    path = tmp_path / "hand.yaml"
    path.write_text(HAND, encoding="utf-8")
    return path


def test_run_writes_every_figure_with_hand_values(hand_file: Path, tmp_path: Path):
    out = tmp_path / "results"
    outcome = run_scenario(hand_file, out)
    folder = out / "hand-case"
    assert outcome.folder == folder
    summary = json.loads((folder / "summary.json").read_text())
    assert set(summary) >= MODEL_FIGURES
    assert set(summary) >= DELTA_FIGURES
    assert set(summary["baseline"]) >= MODEL_FIGURES
    assert summary["total_cost"] == pytest.approx(-485.0, abs=1e-6)
    assert summary["baseline"]["total_cost"] == pytest.approx(-240.0, abs=1e-6)
    assert summary["savings"] == pytest.approx(245.0, abs=1e-6)
    assert summary["curtailment_absorbed_mwh"] == pytest.approx(5 / 0.81, abs=1e-6)
    assert summary["baseline"]["curtailed_mwh"] == pytest.approx(8.0, abs=1e-6)
    assert summary["charge_mwh"] == pytest.approx(5 / 0.81, abs=1e-6)
    assert summary["storage_losses_mwh"] == pytest.approx(5 / 0.81 - 5, abs=1e-6)
    assert summary["grid_charge_mwh"] == pytest.approx(0.0, abs=1e-6)
    # emissions: net exports 17 (run) vs 12 (baseline), per series
    assert summary["emissions_tco2"]["average"] == pytest.approx(-0.6 * 17, abs=1e-6)
    assert summary["baseline"]["emissions_tco2"]["marginal"] == pytest.approx(-0.9 * 12, abs=1e-6)
    assert summary["emissions_displaced_tco2"]["marginal"] == pytest.approx(0.9 * 5, abs=1e-6)
    assert summary["equivalent_full_cycles"] == {"bess": pytest.approx(0.5, abs=1e-6)}
    assert summary["solver"]["termination"] == "optimal"
    assert summary["solver"]["variables"] > 0 and summary["solver"]["constraints"] > 0
    for key in ("status", "build_seconds", "solve_seconds"):
        assert key in summary["solver"]
    assert summary["scenario"]["name"] == "hand-case"
    assert summary["scenario"]["sha256"] == hashlib.sha256(hand_file.read_bytes()).hexdigest()
    assert (folder / "scenario.yaml").read_bytes() == hand_file.read_bytes()
    frame = pd.read_parquet(folder / "dispatch.parquet")
    assert len(frame) == 3
    assert {
        "pv/pv",
        "pv/cur",
        "pv/imp",
        "pv/exp",
        "pv/shed",
        "bess/ch",
        "bess/dis",
        "bess/soc",
        "pv/buy_price",
        "pv/sell_price",
        "pv/carbon_average",
        "pv/carbon_marginal",
    } <= set(frame.columns)
    # how charging splits over t0 and t1 is not unique; the state before discharging is
    assert frame["bess/soc"].iloc[1] == pytest.approx(5 / 0.9 / 10, abs=1e-6)
    assert frame["bess/soc"].iloc[-1] == pytest.approx(0.0, abs=1e-6)
    assert frame["bess/dis"].tolist() == pytest.approx([0.0, 0.0, 5.0], abs=1e-6)
    assert_results_folder(folder)
    assert not list(out.glob(".*"))  # no temporary folders left


def test_failed_run_writes_nothing_and_keeps_the_earlier_result(hand_file, tmp_path):
    out = tmp_path / "results"
    run_scenario(hand_file, out)
    before = {p.name: p.read_bytes() for p in (out / "hand-case").iterdir()}
    # same name, now infeasible: import forbidden, cyclic with self-discharge and no PV
    bad = HAND.replace(
        "soc_initial: 0,", "soc_initial: 0.5, self_discharge_per_hour: 0.1, grid_charging: false,"
    )
    bad = bad.replace(
        "mw: {hourly: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 10,",
        "mw: {hourly: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,",
    )
    hand_file.write_text(bad)
    runner = CliRunner()
    res = runner.invoke(cli, ["run", str(hand_file), "--out", str(out), "-q"])
    assert res.exit_code == 3, res.output
    assert "infeasible" in res.output
    after = {p.name: p.read_bytes() for p in (out / "hand-case").iterdir()}
    assert after == before
    assert not list(out.glob(".*"))


def test_bad_input_one_line_names_file_and_key(hand_file, tmp_path):
    hand_file.write_text(HAND.replace("charge_efficiency: 0.9,", "charge_efficiency: 95,"))
    res = CliRunner().invoke(cli, ["run", str(hand_file), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.startswith("essdispatch: error")]
    assert len(lines) == 1
    assert str(hand_file) in lines[0]
    assert "sites[0].storage[0].charge_efficiency" in lines[0]
    assert "0.95" in lines[0]  # the percent hint
    assert not (tmp_path / "r" / "hand-case").exists()


def test_cli_validate_and_debug(hand_file):
    runner = CliRunner()
    res = runner.invoke(cli, ["validate", str(hand_file)])
    assert res.exit_code == 0
    assert "valid (1 sites, 1 storage units, 3 periods of 1 h)" in res.output
    hand_file.write_text(HAND.replace("name: hand-case", "name: Hand Case"))
    res = runner.invoke(cli, ["validate", str(hand_file)])
    assert res.exit_code == 2 and "name" in res.output
    res = runner.invoke(cli, ["--debug", "validate", str(hand_file)])
    assert res.exit_code != 0 and res.exception is not None  # traceback, not one line


def test_cli_run_pyomo_backend_matches_direct(hand_file, tmp_path):
    runner = CliRunner()
    for backend in ("direct", "pyomo"):
        res = runner.invoke(
            cli,
            [
                "run",
                str(hand_file),
                "--out",
                str(tmp_path / backend),
                "--backend",
                backend,
                "-q",
                "--csv",
            ],
        )
        assert res.exit_code == 0, res.output
    a = json.loads((tmp_path / "direct" / "hand-case" / "summary.json").read_text())
    b = json.loads((tmp_path / "pyomo" / "hand-case" / "summary.json").read_text())
    assert a["total_cost"] == pytest.approx(b["total_cost"], abs=1e-6)
    assert (tmp_path / "pyomo" / "hand-case" / "dispatch.csv").exists()


def test_cli_time_limit_and_solver_option(hand_file, tmp_path):
    res = CliRunner().invoke(
        cli,
        [
            "run",
            str(hand_file),
            "--out",
            str(tmp_path),
            "-q",
            "--solver-option",
            "no_such_option=1",
        ],
    )
    assert res.exit_code == 3 and "no_such_option" in res.output
    res = CliRunner().invoke(
        cli,
        [
            "run",
            str(hand_file),
            "--out",
            str(tmp_path),
            "-q",
            "--time-limit",
            "60",
            "--threads",
            "1",
            "--solver-option",
            "solver=ipm",
        ],
    )
    assert res.exit_code == 0, res.output


def test_cli_progress_bar_over_sites(tmp_path):
    example = ROOT / "scenarios" / "two-sites-shared-tie-day.yaml"
    res = CliRunner().invoke(cli, ["run", str(example), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    # one bar over the two sites for the run, not a line per site; the storage-free
    # baseline is solved in closed form (no per-site solves, no bar)
    assert "run: sites: 100%" in res.stderr and "2/2" in res.stderr
    assert "baseline: sites" not in res.stderr
    assert "solving site" not in res.stderr
    assert "loading scenario" in res.stderr and "writing results" in res.stderr
