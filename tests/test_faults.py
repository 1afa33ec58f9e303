"""Solver and process faults (issue 8, part 2).

An infeasible scenario explains itself; a time limit is reported as a time limit;
SIGTERM while the results are being written and SIGINT while solving leave the
earlier results folder byte-identical and no temporary folders; an unwritable
folder or a full disk fails with a clear message before solving.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from essdispatch.base.exceptions import ResultsError, SolveError
from essdispatch.cli import EXIT_INTERRUPTED, EXIT_RESULTS, EXIT_SOLVE, cli
from essdispatch.model.lp import assemble_lp
from essdispatch.results.folder import write_results
from essdispatch.run import run_scenario
from essdispatch.solve.highs import SolverOptions, solve_lp
from essdispatch.solve.infeasibility import explain_infeasibility
from essdispatch.testing import make_inputs

SCENARIO = """\
name: faults
horizon: {{start: 2026-06-01 00:00, end: 2026-06-01 12:00, resolution: 60min, timezone: Asia/Shanghai}}
signals: {{buy_price: {{hourly: [300, 300, 300, 300, 300, 300, 500, 500, 800, 800, 800, 800, 800, 800, 500, 500, 500, 900, 900, 900, 900, 500, 300, 300]}}, sell_price: 200}}
sites:
  - name: site-a
    solar: {{mw: {solar}}}
    load: 1
    storage:
      - {{name: bess-a, power_mw: 2, energy_mwh: 8, charge_efficiency: 0.95, discharge_efficiency: 0.95,
         self_discharge_per_hour: {sigma}, grid_charging: {gc}, soc_initial: 0.5}}
"""


def write_scenario(folder: Path, solar: float = 2.0, sigma: float = 0.0, gc: str = "true") -> Path:
    path = folder / "faults.yaml"
    path.write_text(SCENARIO.format(solar=solar, sigma=sigma, gc=gc), encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------- infeasible
def test_infeasible_scenario_explains_itself(tmp_path):
    scenario = write_scenario(tmp_path, solar=0.0, sigma=0.01, gc="false")
    out = tmp_path / "results"
    res = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(out), "-q"])
    assert res.exit_code == EXIT_SOLVE
    assert res.stderr.count("\n") == 1
    assert "run: infeasible: unit bess-a cannot meet terminal rule at_least_initial: short of" in (
        res.stderr
    )
    assert "self-discharge 0.01/h" in res.stderr and "no charging source" in res.stderr
    assert not (out / "faults").exists()


def test_infeasible_pyomo_route_explains_itself_too(tmp_path):
    scenario = write_scenario(tmp_path, solar=0.0, sigma=0.01, gc="false")
    with pytest.raises(SolveError, match="run: infeasible: unit bess-a cannot meet terminal"):
        run_scenario(scenario, None, backend="pyomo")


def test_infeasible_amount_is_the_self_discharge_loss():
    e0, sigma, T = 4.0, 0.01, 12
    inputs = make_inputs(
        pv=[0.0] * T,
        buy_price=[100.0] * T,
        units=[
            dict(
                name="bess-a",
                power_mw=2,
                energy_mwh=8,
                charge_efficiency=0.95,
                discharge_efficiency=0.95,
                self_discharge_per_hour=sigma,
                grid_charging=False,
            )
        ],
    )
    with pytest.raises(SolveError) as info:
        solve_lp(assemble_lp(inputs))
    assert info.value.termination == "infeasible"
    text = explain_infeasibility(inputs)
    short = e0 * (1 - (1 - sigma) ** T)
    assert f"short of {short:.3g} MWh at the end" in text


def test_soc_min_unreachable_names_the_bound():
    inputs = make_inputs(
        pv=[0.0] * 6,
        buy_price=[100.0] * 6,
        import_limit=0.0,
        units=[
            dict(
                name="u",
                power_mw=1,
                energy_mwh=10,
                charge_efficiency=0.9,
                discharge_efficiency=0.9,
                self_discharge_per_hour=0.02,
                soc_min=0.5,
                soc_initial=0.5,
                terminal="free",
            )
        ],
    )
    text = explain_infeasibility(inputs)
    assert text.startswith("infeasible: unit u cannot stay within soc_min (0.5 × E = 5 MWh)")
    assert "in 6 periods from 2026-06-01 00:00+08:00" in text
    assert "terminal" not in text  # free terminal: not the cause


def test_time_limit_is_reported_as_time_limit():
    rng = np.random.default_rng(1)
    T = 400
    inputs = make_inputs(
        pv=rng.uniform(0, 10, T),
        buy_price=rng.uniform(50, 500, T),
        load=rng.uniform(0, 8, T),
        export_limit=5,
        units=[dict(power_mw=2, energy_mwh=10, charge_efficiency=0.9, discharge_efficiency=0.9)],
    )
    with pytest.raises(SolveError) as info:
        solve_lp(assemble_lp(inputs), SolverOptions(time_limit_s=1e-9))
    assert info.value.termination == "time_limit"
    assert "time_limit: the solver hit its time limit" in str(info.value)
    assert "bound" in str(info.value)


# --------------------------------------------------------------------------- signals
# The child stalls in short sleeps, not one long one: a process-directed signal may be
# delivered to any thread (pyarrow starts a pool), and Python runs the handler in the main
# thread only when it next returns to the interpreter.
CHILD = """\
import sys, time, pathlib
def stall():
    for _ in range(1200):
        time.sleep(0.1)
marker = pathlib.Path(sys.argv[1])
where = sys.argv[2]
if where == "write":
    import pandas as pd
    original = pd.DataFrame.to_parquet
    def slow_to_parquet(self, *args, **kwargs):
        original(self, *args, **kwargs)
        marker.write_text("writing")
        stall()
    pd.DataFrame.to_parquet = slow_to_parquet
else:
    import essdispatch.solve.pair as pair
    def slow_solve(*args, **kwargs):
        marker.write_text("solving")
        stall()
    pair.solve_dispatch = slow_solve
from essdispatch.cli import main
sys.argv = ["essdispatch", "run", sys.argv[3], "--out", sys.argv[4], "-q"]
main()
"""


def _interrupt_run(tmp_path: Path, where: str, sig: int) -> None:
    scenario = write_scenario(tmp_path)
    out = tmp_path / "results"
    first = run_scenario(scenario, out)  # the earlier results that must survive
    before = snapshot(first.folder)
    scenario.write_text(scenario.read_text().replace("load: 1", "load: 1.5"), encoding="utf-8")
    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(marker), where, str(scenario), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the child never reached the write"
            time.sleep(0.05)
        child.send_signal(sig)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == EXIT_INTERRUPTED, err
    assert "interrupted (a results folder is either complete or untouched)" in err
    assert snapshot(first.folder) == before  # byte-identical
    assert leftovers(out) == []  # no .faults.tmp-* or .faults.old-*


def test_sigterm_while_writing_leaves_earlier_results_intact(tmp_path):
    _interrupt_run(tmp_path, "write", signal.SIGTERM)


def test_sigint_while_solving_leaves_earlier_results_intact(tmp_path):
    _interrupt_run(tmp_path, "solve", signal.SIGINT)


def test_interrupt_inside_write_results_cleans_up(tmp_path, monkeypatch):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "results"
    first = run_scenario(scenario, out)
    before = snapshot(first.folder)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("essdispatch.results.folder.json.dump", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_results(out, "faults", first.summary, first.run, first.baseline, "name: faults\n")
    assert snapshot(first.folder) == before
    assert leftovers(out) == []


# --------------------------------------------------------------------------- disk
def _no_solve(*args, **kwargs):
    raise AssertionError("solved although the results cannot be written")


def test_unwritable_results_folder_fails_before_solving(tmp_path, monkeypatch):
    scenario = write_scenario(tmp_path)
    blocker = tmp_path / "results"
    blocker.write_text("a file where a folder should be")
    monkeypatch.setattr("essdispatch.run.solve_pair", _no_solve)
    res = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(blocker / "sub"), "-q"])
    assert res.exit_code == EXIT_RESULTS
    assert res.stderr.count("\n") == 1 and "results folder is not writable" in res.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_read_only_results_folder_fails_before_solving(tmp_path, monkeypatch):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "results"
    out.mkdir()
    out.chmod(0o500)
    monkeypatch.setattr("essdispatch.run.solve_pair", _no_solve)
    try:
        res = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(out), "-q"])
    finally:
        out.chmod(0o700)
    assert res.exit_code == EXIT_RESULTS and "not writable" in res.stderr


def test_full_disk_fails_before_solving(tmp_path, monkeypatch):
    scenario = write_scenario(tmp_path)
    monkeypatch.setattr("essdispatch.run.solve_pair", _no_solve)
    monkeypatch.setattr("essdispatch.results.folder.shutil.disk_usage", lambda path: Usage())
    with pytest.raises(ResultsError, match="not enough free disk space for the results: 0.5 MiB"):
        run_scenario(scenario, tmp_path / "results")


class Usage:
    total, used, free = 10 * 2**20, 10 * 2**20 - 2**19, 2**19


def test_disk_full_while_writing_keeps_earlier_results(tmp_path, monkeypatch):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "results"
    first = run_scenario(scenario, out)
    before = snapshot(first.folder)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("essdispatch.results.folder.json.dump", full)
    with pytest.raises(ResultsError, match="could not write results: No space left on device"):
        run_scenario(scenario, out)
    assert snapshot(first.folder) == before
    assert leftovers(out) == []
