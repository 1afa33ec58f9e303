"""Sweeps: the file format, validation before running, a real 2-worker LocalCluster,
resume, failed cases, a worker killed mid-sweep, the index, compare on a sweep folder."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from distributed import Client
from distributed.diagnostics.plugin import WorkerPlugin

from essdispatch.base.exceptions import ScenarioError
from essdispatch.cli import cli
from essdispatch.run import run_loaded
from essdispatch.scenario.load import scenario_from_dict
from essdispatch.solve import dispatch
from essdispatch.sweeps.key_paths import apply_override, parse_key_path
from essdispatch.sweeps.sweep import run_sweep
from essdispatch.sweeps.sweep_file import case_hash, load_sweep
from essdispatch.sweeps.sweep_index import flatten_figures, read_index
from essdispatch.sweeps.sweep_workers import local_cluster, plan_workers

REL = 1e-7  # figures of a case on a worker vs the same case alone (same LP, same solver)

#: strictly ordered prices, efficiencies below 1 and a degradation cost: a unique optimum
PRICE = [
    300 + 17 * h + (h % 5) * 3.1 if h < 12 else 900 - 13 * h + (h % 7) * 2.3 for h in range(24)
]
PV = [0, 0, 0, 0, 0, 0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.9, 0.8, 0.6, 0.4, 0.2, 0.05]
PV += [0] * (24 - len(PV))
CARBON = [round(0.8 - 0.01 * h + 0.002 * (h % 3), 4) for h in range(24)]


def write_base(folder: Path, *, csv_load: bool = False) -> Path:
    """A one-site, one-day hourly scenario (solves in milliseconds)."""
    load = "{csv: load.csv, column: mw}" if csv_load else "5"
    if csv_load:
        stamps = pd.date_range("2026-06-01", periods=24, freq="60min")
        pd.DataFrame({"time": stamps, "mw": np.linspace(4.0, 9.0, 24)}).to_csv(
            folder / "load.csv", index=False
        )
    text = f"""\
name: tiny-day
horizon: {{start: 2026-06-01 00:00, end: 2026-06-02 00:00, resolution: 60min, timezone: Asia/Shanghai}}
objective: {{carbon_price: 50}}
signals:
  price: {{hourly: {json.dumps([round(p, 2) for p in PRICE])}}}
  carbon: {{average: {{hourly: {json.dumps(CARBON)}}}}}
sites:
  - name: pv-a
    solar: {{capacity_mw: 40, profile: {{hourly: {json.dumps(PV)}}}}}
    grid: {{export_limit_mw: 25, import_limit_mw: 30}}
    load: {load}
    storage:
      - {{name: bess-a, power_mw: 10, energy_mwh: 20, charge_efficiency: 0.94,
         discharge_efficiency: 0.93, soc_min: 0.1, soc_max: 0.9, degradation_cost: 12}}
"""
    path = folder / "tiny-day.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def write_sweep(folder: Path, body: str, name: str = "tiny-sweep") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nbase: tiny-day.yaml\n{body}", encoding="utf-8")
    return path


GRID = """\
grid:
  objective.carbon_price: [0, 200]
  sites[*].storage[*].energy_mwh: {scale: [0.5, 2]}
"""

#: a unit that can never charge (availability 0) but loses energy and must end at
#: least where it started: infeasible
INFEASIBLE = """\
  - name: broken
    set:
      sites[0].storage[0].self_discharge_per_hour: 0.05
      sites[0].storage[0].availability: 0
"""


@pytest.fixture(scope="module")
def client() -> Any:
    cluster = local_cluster(2, "1GiB", retries=0)
    with Client(cluster) as c:
        yield c
    cluster.close()


def summary_of(folder: Path, case_key: str) -> dict:
    return json.loads((folder / "cases" / case_key / "summary.json").read_text())


# --------------------------------------------------------------------------- key paths
def test_key_paths_set_scale_create_and_select() -> None:
    data: dict[str, Any] = {
        "objective": {"carbon_price": 10},
        "sites": [
            {"name": "a", "storage": [{"name": "u1", "energy_mwh": 4}, {"name": "u2"}]},
            {"name": "b", "storage": [{"name": "u3", "energy_mwh": 8}]},
        ],
    }
    defaults = {"sites": [{"storage": [{}, {"energy_mwh": 6.0}]}, {"storage": [{}]}]}
    assert parse_key_path("sites[*].storage[-1].energy_mwh") == [
        ("key", "sites"),
        ("all", None),
        ("key", "storage"),
        ("index", -1),
        ("key", "energy_mwh"),
    ]
    # scale reads an unset key from the defaults; every unit is scaled by its own value
    changed = apply_override(data, "sites[*].storage[*].energy_mwh", {"scale": 2}, defaults)
    assert changed == [
        "sites[0].storage[0].energy_mwh",
        "sites[0].storage[1].energy_mwh",
        "sites[1].storage[0].energy_mwh",
    ]
    assert [u["energy_mwh"] for s in data["sites"] for u in s["storage"]] == [8.0, 12.0, 16.0]
    # an unset key (and its unset parent mapping) is created
    apply_override(data, "sites[b].grid.export_limit_mw", 30)
    assert data["sites"][1]["grid"] == {"export_limit_mw": 30}
    apply_override(data, "objective.steer_by", "average")
    assert data["objective"] == {"carbon_price": 10, "steer_by": "average"}
    with pytest.raises(ValueError, match="index out of range"):
        apply_override(data, "sites[5].name", "x")
    with pytest.raises(ValueError, match=r"no element named 'c' \(names: a, b\)"):
        apply_override(data, "sites[c].name", "x")
    with pytest.raises(ValueError, match="scale needs a number"):
        apply_override(data, "sites[0].name", {"scale": 2})
    with pytest.raises(ValueError, match="bad key path"):
        parse_key_path("sites[0]..name")


def test_case_hash_is_of_the_resolved_scenario(tmp_path: Path) -> None:
    base = write_base(tmp_path)
    sweep = load_sweep(write_sweep(tmp_path, GRID))
    assert len(sweep.cases) == 4 and len({c.hash for c in sweep.cases}) == 4
    assert sweep.cases[0].name == "carbon_price=0,energy_mwh=x0.5"
    # same data, numbers written differently: same hash; other data: other hash
    a = scenario_from_dict(sweep.base.to_dict(), base.parent)
    data = sweep.base.to_dict()
    data["objective"]["carbon_price"] = 50.0
    assert case_hash(scenario_from_dict(data, base.parent)) == case_hash(a)
    data["objective"]["carbon_price"] = 51
    assert case_hash(scenario_from_dict(data, base.parent)) != case_hash(a)


# --------------------------------------------------------------------------- bad files
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("grid: {objective.carbon_price: [0]}\nworker: 2\n", "worker"),
        ("grid: {objective.carbon_price: []}\n", "at least one value"),
        ("cases:\n  - {name: a, set: {sites[0].load: 1}}\n", "quote key paths"),
        ("grid: {'objective..carbon_price': [1]}\n", "bad key path"),
        (
            "cases:\n  - {name: a, set: {objective.carbon_prise: 1}}\n",
            "case a: objective.carbon_prise",
        ),
        (
            "cases:\n  - {name: a, set: {'sites[3].load': 1}}\n",
            "case a: sites[3].load: sites[3]: index out of range",
        ),
        (
            "cases:\n  - {name: a, set: {objective.carbon_price: 1}}\n"
            "  - {name: a, set: {objective.carbon_price: 2}}\n",
            "duplicate case name 'a'",
        ),
        (
            "grid: {objective.carbon_price: [1]}\n"
            "cases:\n  - {name: a, set: {objective.carbon_price: 1}}\n",
            "also swept by grid",
        ),
    ],
)
def test_bad_sweep_files_name_the_case_and_key(tmp_path: Path, body: str, expected: str) -> None:
    write_base(tmp_path)
    with pytest.raises(ScenarioError, match="tiny-sweep.yaml") as err:
        load_sweep(write_sweep(tmp_path, body))
    assert expected in str(err.value)


def test_every_bad_case_is_reported_before_anything_runs(tmp_path: Path) -> None:
    write_base(tmp_path)
    body = """\
cases:
  - {name: ok, set: {objective.carbon_price: 10}}
  - name: low-soc
    set: {'sites[0].storage[0].soc_min': 0.95}
  - name: percent
    set:
      sites[0].storage[0].charge_efficiency: 95
"""
    path = write_sweep(tmp_path, body)
    with pytest.raises(ScenarioError) as err:
        run_sweep(path, tmp_path / "out", inline=True, progress=False)
    text = str(err.value)
    assert "case low-soc: sites[0].storage[0].soc_" in text
    assert "case percent: sites[0].storage[0].charge_efficiency" in text
    assert "case ok" not in text
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written
    with pytest.raises(ScenarioError, match="nosweep.yaml: file not found"):
        load_sweep(tmp_path / "nosweep.yaml")
    (tmp_path / "x.yaml").write_text("name: x\nbase: missing.yaml\n")
    with pytest.raises(ScenarioError, match="base: scenario file not found"):
        load_sweep(tmp_path / "x.yaml")


# --------------------------------------------------------------------------- running
def test_cluster_figures_equal_each_case_alone(tmp_path: Path, client: Client) -> None:
    write_base(tmp_path)
    sweep = load_sweep(write_sweep(tmp_path, GRID))
    report = run_sweep(sweep, tmp_path / "out", client=client, progress=False)
    assert (report.finished, report.failed, report.skipped) == (4, 0, 0)
    workers = {summary_of(report.folder, c.key)["sweep"]["worker"] for c in sweep.cases}
    assert len(workers) == 2  # both worker processes took cases
    index = read_index(report.folder)
    assert list(index["case"]) == [c.name for c in sweep.cases]
    assert list(index["objective.carbon_price"]) == [0, 0, 200, 200]
    assert list(index["sites[*].storage[*].energy_mwh (scale)"]) == [0.5, 2, 0.5, 2]
    for case, row in zip(sweep.cases, index.itertuples(index=False), strict=True):
        alone = flatten_figures(run_loaded(case.scenario, None).summary)
        written = flatten_figures(summary_of(report.folder, case.key))
        for name, value in alone.items():
            if name.startswith("solver."):
                continue
            assert written[name] == pytest.approx(value, rel=REL, abs=1e-6), name
            assert index.loc[index["case"] == case.name, name].item() == pytest.approx(
                value, rel=REL, abs=1e-6
            )
        assert row.status == "finished"
    # more storage at a high carbon price displaces more carbon
    big = index[(index["objective.carbon_price"] == 200)]
    assert (
        big["emissions_displaced_tco2.average"].iloc[1]
        > big["emissions_displaced_tco2.average"].iloc[0]
    )


def test_resume_skips_finished_cases(
    tmp_path: Path, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_base(tmp_path)
    path = write_sweep(tmp_path, GRID)
    out = tmp_path / "out"
    first = run_sweep(path, out, client=client, progress=False)
    folder = first.folder
    stamps = {p: p.stat().st_mtime_ns for p in folder.glob("cases/*/summary.json")}
    assert len(stamps) == 4
    log_lines = (folder / "runs.jsonl").read_text().splitlines()
    again = run_sweep(path, out, client=client, progress=False)
    assert (again.skipped, again.finished, again.ran) == (4, 0, [])
    assert {p: p.stat().st_mtime_ns for p in folder.glob("cases/*/summary.json")} == stamps
    assert (folder / "runs.jsonl").read_text().splitlines() == log_lines
    # a grown grid runs only the new cases; count solver calls in this process
    calls: list[int] = []
    real = dispatch.solve_lp

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(dispatch, "solve_lp", counting)
    path.write_text(path.read_text().replace("[0, 200]", "[0, 100, 200]"))
    grown = run_sweep(path, out, inline=True, progress=False)
    assert (grown.skipped, grown.finished) == (4, 2)
    assert len(calls) == 2  # two new cases' runs (their baselines are in closed form)
    assert len(read_index(folder)) == 6
    calls.clear()
    assert run_sweep(path, out, inline=True, progress=False).ran == []
    assert calls == []


def test_failed_case_is_recorded_and_the_others_finish(tmp_path: Path, client: Client) -> None:
    write_base(tmp_path)
    body = (
        "combine: union\ngrid: {objective.carbon_price: [0, 100]}\ncases:\n"
        + INFEASIBLE
        + "  - name: timeout\n    set: {solver.time_limit_s: 1.0e-9}\n"
    )
    path = write_sweep(tmp_path, body)
    report = run_sweep(path, tmp_path / "out", client=client, progress=False)
    index = read_index(report.folder).set_index("case")
    assert report.failed >= 1 and report.finished >= 2
    assert index.loc["broken", "status"] == "failed"
    assert index.loc["broken", "failure_type"] == "infeasible"
    assert "infeasible" in index.loc["broken", "reason"]
    assert np.isnan(index.loc["broken", "savings"])
    for name in ("carbon_price=0", "carbon_price=100"):
        assert index.loc[name, "status"] == "finished"
        assert index.loc[name, "savings"] > 0
    if index.loc["timeout", "status"] == "failed":  # HiGHS may still finish a tiny LP
        assert index.loc["timeout", "failure_type"] == "time_limit"
    key = index.loc["broken", "hash"][:12]
    failure = json.loads((report.folder / "failures" / f"{key}.json").read_text())
    assert failure["case"] == "broken" and failure["type"] == "infeasible"
    assert failure["overrides"]["sites[0].storage[0].availability"] == 0
    assert not (report.folder / "cases" / key).exists()
    # a re-run tries the failed case again and skips the finished ones
    again = run_sweep(path, tmp_path / "out", client=client, progress=False)
    assert key in again.ran and again.skipped >= 2


class _KillOnCase(WorkerPlugin):
    """Test-only: the worker process dies the moment it starts the given case."""

    name = "kill-on-case"

    def __init__(self, case_key: str) -> None:
        self.prefix = f"case-{case_key}-"

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish == "executing" and str(key).startswith(self.prefix):
            os._exit(1)


def test_worker_killed_mid_sweep_loses_nothing_finished(tmp_path: Path, client: Client) -> None:
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    write_base(tmp_path)
    body = "grid: {objective.carbon_price: [0, 25, 50, 75, 100, 125]}\n"
    path = write_sweep(tmp_path, body)
    sweep = load_sweep(path)
    victim = sweep.cases[3]
    client.register_plugin(_KillOnCase(victim.key))
    try:
        report = run_sweep(sweep, tmp_path / "out", client=client, progress=False)
    finally:
        client.unregister_worker_plugin(_KillOnCase.name)
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    index = read_index(report.folder).set_index("case")
    assert index.loc[victim.name, "status"] == "failed"
    assert index.loc[victim.name, "failure_type"] == "worker_lost"
    assert "worker lost" in index.loc[victim.name, "reason"]
    others = [c for c in sweep.cases if c is not victim]
    for case in others:
        assert index.loc[case.name, "status"] == "finished"
        assert (report.folder / "cases" / case.key / "summary.json").exists()
    client.wait_for_workers(2, timeout=60)
    # the next run only re-runs the lost case
    again = run_sweep(sweep, tmp_path / "out", client=client, progress=False)
    assert again.ran == [victim.key] and again.finished == 1
    assert not (again.folder / "failures" / f"{victim.key}.json").exists()


def test_workers_get_resolved_data_not_paths(tmp_path: Path) -> None:
    write_base(tmp_path, csv_load=True)
    sweep = load_sweep(write_sweep(tmp_path, "grid: {objective.carbon_price: [0, 80]}\n"))
    (tmp_path / "load.csv").unlink()  # a worker could not read it
    report = run_sweep(sweep, tmp_path / "out", inline=True, progress=False)
    assert report.finished == 2
    summary = summary_of(report.folder, sweep.cases[0].key)
    assert summary["sweep"]["case"] == "carbon_price=0"
    assert summary["sweep"]["overrides"] == {"objective.carbon_price": 0}


def test_plan_workers_fits_memory() -> None:
    gib = 2**30
    assert plan_workers(10, gib, total_bytes=64 * gib, cpus=8) == (8, int(64 * gib * 0.8) // 8)
    n, limit = plan_workers(10, 4 * gib, total_bytes=16 * gib, cpus=8)
    assert n == 3 and limit >= 4 * gib  # 12.8 GiB of RAM for 4 GiB cases
    assert plan_workers(2, gib, total_bytes=64 * gib, cpus=8)[0] == 2  # no idle workers
    assert plan_workers(10, 100 * gib, total_bytes=16 * gib, cpus=8)[0] == 1
    assert plan_workers(10, gib, workers=5, total_bytes=64 * gib, cpus=2)[0] == 5


# --------------------------------------------------------------------------- CLI, compare
def test_cli_sweep_dry_run_run_and_compare(tmp_path: Path) -> None:
    write_base(tmp_path)
    path = write_sweep(tmp_path, GRID)
    out = tmp_path / "out"
    runner = CliRunner()
    dry = runner.invoke(cli, ["sweep", str(path), "--out", str(out), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "valid; 4 cases" in dry.output and dry.output.count("to run") == 4
    assert not out.exists()
    ran = runner.invoke(cli, ["sweep", str(path), "--out", str(out), "--inline", "-q"])
    assert ran.exit_code == 0, ran.output
    assert "4 finished, 0 failed" in ran.output
    folder = out / "sweeps" / "tiny-sweep"
    png, csv = tmp_path / "sweep.png", tmp_path / "sweep.csv"
    cmp = runner.invoke(cli, ["compare", str(folder), "--plot", str(png), "--csv", str(csv)])
    assert cmp.exit_code == 0, cmp.output
    assert "sweep tiny-sweep: 4 finished, 0 failed, 0 pending" in cmp.output
    assert max(len(line) for line in cmp.stdout.splitlines()) <= 100
    assert "duration" in cmp.stdout and "[h]" in cmp.stdout  # hours, not a scale factor
    assert "savings" in cmp.stdout and "[CNY]" in cmp.stdout
    wide = runner.invoke(cli, ["compare", str(folder), "--wide"])
    assert wide.exit_code == 0 and "carbon_price=200,energy_mwh=x2" in wide.output
    assert png.stat().st_size > 10_000
    assert len(pd.read_csv(csv)) == 4
    bad = runner.invoke(cli, ["sweep", str(tmp_path / "tiny-day.yaml")])
    assert bad.exit_code == 2 and "tiny-day.yaml" in bad.output


def test_cli_sweep_on_a_running_scheduler_by_address(tmp_path: Path, client: Client) -> None:
    # `--scheduler ADDRESS` connects over TCP (loopback here) to an existing cluster, as a
    # user would to a remote one; its figures equal the inline run's
    write_base(tmp_path)
    path = write_sweep(tmp_path, GRID)
    address = client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    runner = CliRunner()
    remote = runner.invoke(
        cli, ["sweep", str(path), "--out", str(tmp_path / "remote"), "--scheduler", address, "-q"]
    )
    assert remote.exit_code == 0, remote.output
    assert "4 finished, 0 failed" in remote.output
    inline = runner.invoke(
        cli, ["sweep", str(path), "--out", str(tmp_path / "inline"), "--inline", "-q"]
    )
    assert inline.exit_code == 0, inline.output
    a = pd.read_parquet(tmp_path / "remote" / "sweeps" / "tiny-sweep" / "index.parquet")
    b = pd.read_parquet(tmp_path / "inline" / "sweeps" / "tiny-sweep" / "index.parquet")
    a, b = a.set_index("hash").sort_index(), b.set_index("hash").sort_index()
    assert list(a.index) == list(b.index)
    assert a["total_cost"].to_numpy() == pytest.approx(b["total_cost"].to_numpy(), abs=1e-6)
