"""What the terminal shows: solver logs only on request and on stderr, exit status 2 for every
bad argument (with suggestions), ISO dates only, rolling runs and data caveats announced,
lines within 100 columns, a running clock on long solves, and a fast `validate` (cached
clear-sky profiles)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from results_helpers import fleet_scenario

from essdispatch import cli as cli_module
from essdispatch.cli import cli
from essdispatch.scenario import series_pvlib

ROOT = Path(__file__).resolve().parents[1]

ROLLING = """
operation:
  mode: rolling
  window: 24h
  lookahead: 12h
  forecast:
    solar: {error: {model: ar1, sd: 0.2, rho: 0.5, seed: 3}}
"""


def _essdispatch(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), full_env.get("PYTHONPATH", "")) if p
    )
    return subprocess.run(
        [sys.executable, "-m", "essdispatch.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fleet_scenario(tmp_path_factory.mktemp("cli"), "fleet-cli", 80)


@pytest.fixture(scope="module")
def folder(scenario: Path) -> Path:
    out = scenario.parent / "results"
    res = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return out / "fleet-cli"


def test_solver_log_only_with_verbose_and_on_stderr(scenario: Path, tmp_path: Path) -> None:
    quiet = _essdispatch("run", str(scenario), "--out", str(tmp_path / "a"), "-q")
    assert quiet.returncode == 0, quiet.stderr
    assert "HiGHS" not in quiet.stdout and "HiGHS" not in quiet.stderr
    assert quiet.stdout.startswith("fleet-cli: optimal")
    assert all(len(line) <= 100 for line in quiet.stdout.splitlines())
    verbose = _essdispatch("run", str(scenario), "--out", str(tmp_path / "b"), "-q", "--verbose")
    assert verbose.returncode == 0, verbose.stderr
    assert "HiGHS" not in verbose.stdout
    assert "Solving" in verbose.stderr or "Objective value" in verbose.stderr  # HiGHS's log
    assert verbose.stdout.startswith("fleet-cli: optimal")


def test_rolling_run_announces_mode_and_value_of_foresight(scenario: Path, tmp_path: Path):
    rolling = tmp_path / "rolling.yaml"
    text = scenario.read_text(encoding="utf-8").replace("name: fleet-cli", "name: fleet-rolling")
    rolling.write_text(text + ROLLING, encoding="utf-8")
    res = CliRunner().invoke(cli, ["run", str(rolling), "--out", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 0, res.output
    assert "operation         rolling horizon: window 24h, lookahead 12h" in res.stdout
    assert "value of foresight" in res.stdout
    perfect = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(tmp_path / "pf"), "-q"])
    assert "operation         perfect foresight" in perfect.stdout
    assert "value of foresight" not in perfect.stdout


def test_synthetic_preset_is_named_on_the_console(scenario: Path, tmp_path: Path):
    synthetic = tmp_path / "synthetic.yaml"
    text = scenario.read_text(encoding="utf-8")
    spot = "{preset: shaanxi-spot-synthetic, params: {seed: 7, year: 2025}}"
    for key in ("  buy_price:", "  sell_price:"):  # one price both ways
        start = text.index(key)
        end = text.index("\n", start)
        text = text[:start] + f"{key} {spot}" + text[end:]
    synthetic.write_text(text, encoding="utf-8")
    res = CliRunner().invoke(cli, ["run", str(synthetic), "--out", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 0, res.output
    assert "rests on: shaanxi-spot-synthetic (synthetic)" in res.stdout
    assert "essdispatch: caution: this result rests on a synthetic series: preset " in res.stderr
    assert "shaanxi-spot-synthetic" in res.stderr and "signals.sell_price" in res.stderr
    plain = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(tmp_path / "p"), "-q"])
    assert "rests on" not in plain.stdout and "caution" not in plain.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["presets", "nosuch"], "no preset matches 'nosuch'"),
        (["presets", "cn-grid-om/nortwest"], "did you mean cn-grid-om/northwest"),
        (["plot", "{folder}", "--site", "pv-nort"], "did you mean 'pv-north'"),
        (["plot", "{folder}", "--from", "16/07/2026"], "expected an ISO date YYYY-MM-DD"),
        (["plot", "{folder}", "--to", "2026-13-45"], "not a valid date"),
        (["plot", "{folder}", "--from", "2027-01-01"], "no periods between"),
        (["plot", "{folder}", "--kind", "nope"], "'nope' is not one of"),
        (["plot", "{folder}", "--kind", "emission"], "did you mean 'emissions'?"),
        (["report", "{folder}/nothing-here"], "no such results folder"),
        (["compare", "{folder}", "{folder}/nothing-here"], "no such results folder"),
        (["run", "{folder}/missing.yaml"], "missing.yaml"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(folder: Path, args: list[str], expected: str):
    argv = [a.replace("{folder}", str(folder)) for a in args]
    res = CliRunner().invoke(cli, argv)
    assert res.exit_code == 2, (argv, res.output)
    assert expected in res.output
    assert res.stdout == ""  # errors go to stderr


def test_presets_prints_on_success(folder: Path):
    res = CliRunner().invoke(cli, ["presets", "om/"])
    assert res.exit_code == 0 and "cn-grid-om/northwest" in res.stdout


def test_running_clock_while_one_solve_runs(monkeypatch: pytest.MonkeyPatch):
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    monkeypatch.setattr(cli_module._Phase, "TICK_S", 0.05)
    phase = cli_module._Phase(quiet=False, clock=True)
    phase("run: solving joint problem")
    time.sleep(0.3)
    phase("writing results")
    phase.close()
    text = buf.getvalue()
    assert "run: solving: 00:00 elapsed" in text
    assert text.count("\r") >= 3  # refreshed while the solve ran
    assert text.rstrip().endswith("writing results")
    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    silent = cli_module._Phase(quiet=True, clock=True)
    silent("run: solving joint problem")
    silent.close()
    assert quiet.getvalue() == ""


def test_clear_sky_profiles_are_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from essdispatch.scenario.load import load_scenario, prepare_inputs

    monkeypatch.setenv("ESSDISPATCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(series_pvlib, "_CLEARSKY_MEMO", {})
    calls = []
    real = series_pvlib._clearsky_compute

    def counting(*args, **kwargs):
        calls.append(args[1:3])
        return real(*args, **kwargs)

    monkeypatch.setattr(series_pvlib, "_clearsky_compute", counting)
    path = ROOT / "scenarios" / "shaanxi-fleet-1100mwh-week.yaml"
    first = prepare_inputs(load_scenario(path))
    assert calls  # computed once per site and reference year
    assert len(list((tmp_path / "cache" / "pvlib").glob("*.npy"))) >= 1
    # a new process (empty memory) reads the disk cache and never computes
    monkeypatch.setattr(series_pvlib, "_CLEARSKY_MEMO", {})

    def forbidden(*args, **kwargs):
        raise AssertionError("clear-sky profile recomputed despite the cache")

    monkeypatch.setattr(series_pvlib, "_clearsky_compute", forbidden)
    second = prepare_inputs(load_scenario(path))
    np.testing.assert_array_equal(first.pv, second.pv)


def test_validate_on_a_warm_cache_does_not_import_pvlib(tmp_path: Path):
    env = {"ESSDISPATCH_CACHE_DIR": str(tmp_path / "cache")}
    path = ROOT / "scenarios" / "shaanxi-fleet-1100mwh-week.yaml"
    cold = _essdispatch("validate", str(path), env=env)
    assert cold.returncode == 0, cold.stderr
    probe = (
        "import sys, time; t = time.perf_counter();"
        "from essdispatch.cli import main; sys.argv = ['essdispatch', 'validate', sys.argv[1]];"
        "\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('pvlib' in sys.modules, round(time.perf_counter() - t, 3), file=sys.stderr)"
    )
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    warm = subprocess.run(
        [sys.executable, "-c", probe, str(path)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )
    assert "valid (11 sites" in warm.stdout, warm.stderr
    imported, seconds = warm.stderr.split()[-2:]
    assert imported == "False"
    print(f"validate on a warm cache: {seconds} s in-process")
