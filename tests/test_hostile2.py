"""Issue 16 (never wrong silently, part two): one section per numbered class.

Signals and kills use real subprocesses of ``python -m essdispatch.cli``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from essdispatch.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def scenario_doc(name: str = "x", **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": name,
        "horizon": {
            "start": "2026-06-01 00:00",
            "end": "2026-06-02 00:00",
            "resolution": "60min",
            "timezone": "Asia/Shanghai",
        },
        "signals": {"price": {"hourly": [300 + 10 * h for h in range(24)]}},
        "sites": [
            {
                "name": "a",
                "solar": {"capacity_mw": 10, "profile": {"hourly": [0] * 6 + [0.5] * 12 + [0] * 6}},
                "load": 1,
                "storage": [
                    {
                        "name": "b",
                        "power_mw": 2,
                        "energy_mwh": 4,
                        "charge_efficiency": 0.95,
                        "discharge_efficiency": 0.95,
                    }
                ],
            }
        ],
    }
    doc.update(changes)
    return doc


def write_scenario(folder: Path, doc: dict[str, Any] | None = None, file: str = "s.yaml") -> Path:
    path = folder / file
    path.write_text(yaml.safe_dump(doc if doc is not None else scenario_doc()), encoding="utf-8")
    return path


def env(**extra: str) -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = str(ROOT)
    out["MPLBACKEND"] = "Agg"
    out.update(extra)
    return out


def cli_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "essdispatch.cli", *args]


def run_proc(*args: str, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli_cmd(*args), capture_output=True, text=True, env=env(**extra), timeout=timeout
    )


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def one_line_error(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.startswith("essdispatch: error")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr, stderr
    return lines[0]


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"child exited {proc.returncode}: {proc.stderr.read()}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError("child never reached the window")
        time.sleep(0.05)


# ============================================================ class 1: crash-safe swap
def _complete(folder: Path) -> dict:
    assert folder.is_dir() and not folder.is_symlink()
    for f in ("summary.json", "dispatch.parquet", "baseline.parquet", "scenario.yaml"):
        assert (folder / f).is_file(), f
    return json.loads((folder / "summary.json").read_text())


@pytest.mark.parametrize("mode", ["exchange", "rename"])
def test_kill_inside_the_swap_window_never_loses_the_results(tmp_path, mode):
    out = tmp_path / "results"
    first = write_scenario(tmp_path, scenario_doc(), "first.yaml")
    assert invoke("run", str(first), "--out", str(out), "-q").exit_code == 0
    before = _complete(out / "x")
    doc = scenario_doc()
    doc["sites"][0]["load"] = 2  # a different result
    second = write_scenario(tmp_path, doc, "second.yaml")
    mark = tmp_path / "in-window"
    extra = {"ESSDISPATCH_DEBUG_SWAP_DELAY": "60", "ESSDISPATCH_DEBUG_SWAP_MARK": str(mark)}
    if mode == "rename":
        extra["ESSDISPATCH_DEBUG_SWAP"] = "rename"
    proc = subprocess.Popen(
        cli_cmd("run", str(second), "--out", str(out), "-q"),
        env=env(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(mark, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert hidden(out), "the kill did not land inside the window"
    if mode == "exchange":  # the exchange is atomic: the new folder is in place already
        assert _complete(out / "x")["total_cost"] != before["total_cost"]
    else:  # the two-rename window: no x until the next start repairs it
        assert not (out / "x").exists()
    # the next run of the name repairs first, then writes; nothing is left behind
    third = run_proc("run", str(first), "--out", str(out), "-q")
    assert third.returncode == 0, third.stderr
    assert _complete(out / "x")["total_cost"] == pytest.approx(before["total_cost"])
    assert hidden(out) == []


def test_recover_restores_a_complete_tmp_or_the_old_folder(tmp_path):
    from essdispatch.base.safe_write import recover

    out = tmp_path
    new = out / ".x.tmp-aaaa"
    new.mkdir()
    (new / "summary.json").write_text("{}")
    half = out / ".x.tmp-bbbb"  # incomplete: no summary.json
    half.mkdir()
    old = out / ".x.old-cccc"
    old.mkdir()
    (old / "summary.json").write_text('{"old": 1}')
    note = recover(out, "x")
    assert note and "restored" in note
    assert (out / "x" / "summary.json").read_text() == "{}"
    assert hidden(out) == []
    # only an old folder left: it comes back
    old.mkdir()
    (old / "summary.json").write_text('{"old": 1}')
    (out / "x" / "summary.json").unlink()
    (out / "x").rmdir()
    recover(out, "x")
    assert json.loads((out / "x" / "summary.json").read_text()) == {"old": 1}


@pytest.mark.parametrize("earlier", ["file", "symlink", "dangling"])
def test_earlier_target_file_or_symlink_leaves_nothing_behind(tmp_path, earlier):
    out = tmp_path / "results"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep")
    if earlier == "file":
        (out / "x").write_text("not a folder")
    elif earlier == "symlink":
        (out / "x").symlink_to(elsewhere)
    else:
        (out / "x").symlink_to(tmp_path / "missing")
    path = write_scenario(tmp_path)
    result = invoke("run", str(path), "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    _complete(out / "x")
    assert hidden(out) == []
    assert (elsewhere / "keep.txt").read_text() == "keep"  # a link is replaced, not followed


def test_two_concurrent_runs_of_one_name(tmp_path):
    out = tmp_path / "results"
    path = write_scenario(tmp_path)
    mark = tmp_path / "in-window"
    first = subprocess.Popen(
        cli_cmd("run", str(path), "--out", str(out), "-q"),
        env=env(ESSDISPATCH_DEBUG_SWAP_DELAY="20", ESSDISPATCH_DEBUG_SWAP_MARK=str(mark)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(mark, first)
    second = run_proc("run", str(path), "--out", str(out), "-q")
    assert first.poll() is None, "the first run ended before the second tried"
    first.wait(timeout=60)
    assert first.returncode == 0
    assert second.returncode == 4
    assert "another essdispatch run" in one_line_error(second.stderr)
    _complete(out / "x")
    assert hidden(out) == []


# ============================================================ classes 2, 3, 7, 8: YAML reading
def write_sweep(folder: Path, body: str) -> Path:
    write_scenario(folder, scenario_doc("base"), "base.yaml")
    path = folder / "sweep.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def assert_bad_input(result: Any, *fragments: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    line = one_line_error(result.stderr)
    for fragment in fragments:
        assert fragment in line, line
    return line


@pytest.mark.parametrize(
    "body, key",
    [
        (
            "name: s\nbase: base.yaml\ngrid:\n  objective.carbon_price: [0, 100]\n"
            "  objective.carbon_price: [200, 300, 400]\n",
            "grid.objective.carbon_price",
        ),
        ("name: s\nname: t\nbase: base.yaml\n", "name"),
        (
            "name: s\nbase: base.yaml\ncases:\n  - name: a\n    set:\n      sites[0].load: 1\n"
            "      sites[0].load: 2\n",
            "cases[0].set.sites[0].load",
        ),
    ],
)
def test_duplicate_keys_in_sweep_files_are_refused(tmp_path, body, key):
    path = write_sweep(tmp_path, body)
    for args in (["sweep", str(path), "--dry-run"], ["sweep", str(path), "--inline", "-q"]):
        result = invoke(*args, "--out", str(tmp_path / "out"))
        assert_bad_input(result, "sweep.yaml", key, "key given twice")
    assert not (tmp_path / "out").exists()


def test_duplicate_key_in_results_scenario_yaml_is_a_damaged_folder(tmp_path):
    from essdispatch.analysis.scenario_diff import flatten_scenario
    from essdispatch.base.exceptions import ResultsError

    with pytest.raises(ResultsError, match="key given twice"):
        flatten_scenario("a: 1\na: 2\n")


@pytest.mark.parametrize("name", ["base\n", "base\n\n", "x" * 101, "x" * 250])
def test_bad_names_are_refused(tmp_path, name):
    path = write_scenario(tmp_path, scenario_doc(name))
    result = invoke("run", str(path), "--out", str(tmp_path / "out"), "-q")
    assert_bad_input(result, "s.yaml", "name")
    assert not (tmp_path / "out").exists()
    sweep = write_sweep(tmp_path, yaml.safe_dump({"name": name, "base": "base.yaml"}))
    assert_bad_input(invoke("sweep", str(sweep), "--dry-run"), "sweep.yaml", "name")


def test_block_scalar_name_with_trailing_newline(tmp_path):
    text = yaml.safe_dump(scenario_doc()).replace("name: x\n", "name: |\n  base\n")
    assert "name: |" in text
    (tmp_path / "s.yaml").write_text(text)
    assert_bad_input(invoke("validate", str(tmp_path / "s.yaml")), "name")


BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n"
    for p, n in zip("abcdefghijklmnop", "bcdefghijklmnopq", strict=True)
)


@pytest.mark.parametrize(
    "text, fragment",
    [
        (BOMB, "alias"),
        ("a: &x [*x]\n", "recursive YAML alias"),
        ("&a {b: *a}\n", "recursive YAML alias"),
        ("a: " + "[" * 3000 + "]" * 3000 + "\n", "nested deeper"),
        ("a: {" * 2000 + "}" * 2000 + "\n", "nested deeper"),
        ("name: x\nb: " + "9" * 5000 + "\n", "5000 digits"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "sweep"])
def test_hostile_yaml_is_refused_quickly(tmp_path, text, fragment, command):
    path = tmp_path / "f.yaml"
    path.write_text(text)
    t0 = time.perf_counter()
    args = ["sweep", str(path), "--dry-run"] if command == "sweep" else ["validate", str(path)]
    proc = run_proc(*args, timeout=60)
    assert time.perf_counter() - t0 < 30
    assert proc.returncode == 2, proc.stderr
    line = one_line_error(proc.stderr)
    assert "f.yaml" in line and fragment in line, line


def test_oversized_yaml_is_refused(tmp_path, monkeypatch):
    from essdispatch.base import yamlio
    from essdispatch.base.exceptions import ScenarioError

    monkeypatch.setattr(yamlio, "MAX_YAML_BYTES", 1000)
    path = tmp_path / "big.yaml"
    path.write_text("a: [" + "1," * 1000 + "1]\n")
    with pytest.raises(ScenarioError, match="big.yaml.*MiB"):
        yamlio.read_yaml_file(path)


@pytest.mark.parametrize("value, fragment", [("1:30", "1:30"), ("010", "010"), ("'1:30'", "1:30")])
def test_yaml_11_sexagesimal_and_octal_are_not_numbers(tmp_path, value, fragment):
    text = yaml.safe_dump(scenario_doc()).replace("load: 1\n", f"load: {value}\n")
    assert f"load: {value}" in text
    (tmp_path / "s.yaml").write_text(text)
    result = invoke("validate", str(tmp_path / "s.yaml"))
    if value == "010":  # text "010" is not silently octal 8: pydantic reads the digits as 10
        from essdispatch.scenario.load import load_scenario

        assert load_scenario(tmp_path / "s.yaml").series["sites[0].load"][0] == 10.0
        return
    assert_bad_input(result, "sites[0].load", fragment)


# ============================================================ class 5: validate covers operation/solver
BAD_OPERATION = [
    ({"mode": "rolling", "foo": 1}, "operation.foo"),
    ({"mode": "sometimes"}, "operation.mode"),
    ({"mode": "rolling", "window": "abc"}, "operation.window"),
    ({"mode": "rolling", "window": "0h"}, "operation.window"),
    ({"mode": "rolling", "lookahead": "-3h"}, "operation.lookahead"),
    ({"mode": "rolling", "window": "90min"}, "operation.window"),
    ({"mode": "rolling", "terminal_value": "lots"}, "operation.terminal_value"),
    ({"mode": "rolling", "forecast": {"wind": {"error": {"model": "ar1", "sd": 0.1}}}}, "wind"),
    ({"mode": "rolling", "forecast": {"load": {}}}, "operation.forecast.load"),
    (
        {"mode": "rolling", "forecast": {"load": {"error": {"model": "ar1", "sd": -1}}}},
        "operation.forecast.load.error.sd",
    ),
    (
        {"mode": "rolling", "forecast": {"load": {"error": {"model": "ar1", "sd": 0.1, "rho": 1}}}},
        "operation.forecast.load.error.rho",
    ),
    (
        {
            "mode": "rolling",
            "forecast": {"load": {"series": {"csv": "missing.csv", "column": "v"}}},
        },
        "missing.csv",
    ),
    ("rolling", "operation"),
]


@pytest.mark.parametrize("operation, key", BAD_OPERATION)
def test_validate_and_dry_run_check_operation(tmp_path, operation, key):
    path = write_scenario(tmp_path, scenario_doc(operation=operation))
    assert_bad_input(invoke("validate", str(path)), "s.yaml", key)
    result = invoke("run", str(path), "--out", str(tmp_path / "out"), "-q")
    assert_bad_input(result, key)
    assert not (tmp_path / "out").exists()
    sweep = write_sweep(
        tmp_path,
        yaml.safe_dump(
            {
                "name": "s",
                "base": "base.yaml",
                "cases": [{"name": "c", "set": {"operation": operation}}],
            }
        ),
    )
    assert_bad_input(invoke("sweep", str(sweep), "--dry-run"), "case c", key)


BAD_SOLVER = [
    ({"options": {"solver": "foo"}}, "solver.options.solver"),
    ({"options": {"presolve": "maybe"}}, "solver.options.presolve"),
    ({"options": {"no_such_option": 1}}, "solver.options.no_such_option"),
    ({"options": {"random_seed": 1.5}}, "solver.options.random_seed"),
    ({"options": {"mip_rel_gap": 0.9}}, "solver.options.mip_rel_gap"),
    ({"options": {"mip_abs_gap": 5}}, "solver.options.mip_abs_gap"),
    ({"options": {"threads": 100000}}, "solver.options.threads"),
    ({"options": {"time_limit": -1}}, "solver.options.time_limit"),
    ({"threads": 100000}, "solver.threads"),
    ({"threads": 0}, "solver.threads"),
    ({"time_limit_s": -1}, "solver.time_limit_s"),
    ({"time_limit_s": 1e30}, "solver.time_limit_s"),
]


@pytest.mark.parametrize("solver, key", BAD_SOLVER)
def test_validate_checks_solver_options_as_run_reads_them(tmp_path, solver, key):
    path = write_scenario(tmp_path, scenario_doc(solver=solver))
    assert_bad_input(invoke("validate", str(path)), "s.yaml", key)
    result = invoke("run", str(path), "--out", str(tmp_path / "out"), "-q")
    assert_bad_input(result, key)
    assert not (tmp_path / "out").exists()


# ============================================================ class 9: CLI options bounded
@pytest.mark.parametrize(
    "args, key",
    [
        (["--threads", "100000"], "--threads"),
        (["--threads", "0"], "--threads"),
        (["--threads", "-4"], "--threads"),
        (["--time-limit", "-1"], "--time-limit"),
        (["--time-limit", "nan"], "--time-limit"),
        (["--time-limit", "inf"], "--time-limit"),
        (["--time-limit", "0"], "--time-limit"),
        (["--solver-option", "solver=foo"], "--solver-option solver"),
        (["--solver-option", "bogus=1"], "--solver-option bogus"),
        (["--solver-option", "time_limit=nan"], "--solver-option time_limit"),
        (["--solver-option", "threads=99999"], "--solver-option threads"),
        (["--solver-option", "mip_rel_gap=0.9"], "--solver-option mip_rel_gap"),
        (["--solver-option", "novalue"], "--solver-option"),
        (["--solver-option", "=3"], "--solver-option"),
    ],
)
def test_cli_options_are_bounded(tmp_path, args, key):
    path = write_scenario(tmp_path)
    proc = run_proc("run", str(path), "--out", str(tmp_path / "out"), "-q", *args)
    assert proc.returncode == 2, proc.stderr
    assert key in one_line_error(proc.stderr)
    assert not (tmp_path / "out").exists()


def exclusive_doc() -> dict[str, Any]:
    """A MILP (exclusive charge/discharge) with price swings worth cycling."""
    doc = scenario_doc(objective={"exclusive_charge_discharge": True})
    doc["signals"]["price"] = {"hourly": [100, 900] * 12}
    return doc


def test_loose_gap_needs_permission_and_shows_in_the_headline(tmp_path):
    path = write_scenario(tmp_path, exclusive_doc())
    out = tmp_path / "out"
    ok = invoke("run", str(path), "--out", str(out), "-q")
    assert ok.exit_code == 0, ok.output
    assert "optimal (MIP gap" in ok.stdout
    refused = invoke(
        "run", str(path), "--out", str(out), "-q", "--solver-option", "mip_rel_gap=0.9"
    )
    assert_bad_input(refused, "mip_rel_gap", "--allow-loose-gap")
    loose = invoke(
        "run",
        str(path),
        "--out",
        str(out),
        "-q",
        "--solver-option",
        "mip_rel_gap=0.9",
        "--allow-loose-gap",
        "--solver-option",
        "mip_heuristic_effort=0",
        "--solver-option",
        "presolve=off",
    )
    assert loose.exit_code == 0, loose.output
    summary = json.loads((out / "x" / "summary.json").read_text())
    gap = summary["solver"]["mip_gap"]
    assert gap is not None
    if gap > 1e-6:
        assert "NOT proven optimal" in loose.stdout and f"{gap:.3%}" in loose.stdout
    else:
        assert "optimal (MIP gap" in loose.stdout


# ============================================================ class 6: inputs read as something else
def csv_doc(csv_text: str, folder: Path, column: str = "v", resolution: str = "60min") -> Path:
    (folder / "data.csv").write_text(csv_text, encoding="utf-8")
    doc = scenario_doc()
    doc["horizon"]["resolution"] = resolution
    doc["sites"][0]["load"] = {"csv": "data.csv", "column": column}
    return write_scenario(folder, doc)


def hourly_rows(values: list[float], day: str = "2026-06-01") -> str:
    return "".join(f"{day} {h:02d}:00,{v}\n" for h, v in enumerate(values))


@pytest.mark.parametrize(
    "where, preset, fragment",
    [
        ("load", "cn-grid-average/central/2021", "emission-factor in tCO2/MWh"),
        ("price", "cn-grid-average/central/2021", "this series is in CNY/MWh"),
        ("carbon", "jiangxi-tou-2025", "this series is in tCO2/MWh"),
        ("profile", "cn-coal-benchmark/jiangxi", "per-unit"),
    ],
)
def test_preset_of_the_wrong_kind_is_refused(tmp_path, where, preset, fragment):
    doc = scenario_doc()
    key = {
        "load": "sites[0].load",
        "price": "signals.price",
        "carbon": "signals.carbon.average",
        "profile": "sites[0].solar.profile",
    }[where]
    if where == "load":
        doc["sites"][0]["load"] = {"preset": preset}
    elif where == "price":
        doc["signals"]["price"] = {"preset": preset}
    elif where == "carbon":
        doc["signals"]["carbon"] = {"average": {"preset": preset}}
    else:
        doc["sites"][0]["solar"]["profile"] = {"preset": preset}
    path = write_scenario(tmp_path, doc)
    assert_bad_input(invoke("validate", str(path)), key, preset, fragment)


def test_presets_of_the_right_kind_still_work_and_all_carry_kind_and_unit(tmp_path):
    from essdispatch.scenario.presets import list_presets

    table = list_presets()
    assert (table["kind"].str.len() > 0).all() and (table["unit"].str.len() > 0).all()
    doc = scenario_doc()
    doc["signals"]["price"] = {"preset": "jiangxi-tou-2025"}
    doc["signals"]["carbon"] = {"average": {"preset": "cn-grid-average/central/2021"}}
    result = invoke("validate", str(write_scenario(tmp_path, doc)))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda d: d["signals"]["price"].update(hourly=[True] * 24), "signals.price.hourly[0]"),
        (lambda d: d["sites"][0].update(load=True), "sites[0].load"),
        (lambda d: d["sites"][0]["storage"][0].update(power_mw=True), "power_mw"),
        (lambda d: d["sites"][0]["storage"][0].update(soc_initial=False), "soc_initial"),
        (lambda d: d.update(objective={"carbon_price": True}), "objective.carbon_price"),
        (
            lambda d: d.update(operation={"mode": "rolling", "terminal_value": True}),
            "operation.terminal_value",
        ),
    ],
)
def test_booleans_are_not_numbers(tmp_path, mutate, key):
    doc = scenario_doc()
    mutate(doc)
    assert_bad_input(invoke("validate", str(write_scenario(tmp_path, doc))), key, "true/false")


def test_duplicate_csv_column_is_refused(tmp_path):
    text = "time,v,v\n" + "".join(f"2026-06-01 {h:02d}:00,1,2\n" for h in range(24))
    path = csv_doc(text, tmp_path)
    assert_bad_input(invoke("validate", str(path)), "sites[0].load.csv", "appears twice")


@pytest.mark.parametrize("missing", [range(6, 12), range(24, 48)])
def test_gaps_in_a_regular_csv_are_refused_with_their_span(tmp_path, missing):
    stamps = pd_range("2026-05-31 00:00", 96)
    rows = "".join(f"{t},{i}\n" for i, t in enumerate(stamps) if i - 24 not in missing)
    doc_path = csv_doc("time,v\n" + rows, tmp_path)
    span = f"{len(missing) + 1:02d}:00:00" if len(missing) < 23 else "1 days 01:00:00"
    line = assert_bad_input(invoke("validate", str(doc_path)), "sites[0].load.csv", "gap")
    assert span in line, line


def pd_range(start: str, n: int) -> list[str]:
    import pandas as pd

    return [t.strftime("%Y-%m-%d %H:%M") for t in pd.date_range(start, periods=n, freq="h")]


def test_rows_inside_a_period_are_weighted_by_duration(tmp_path):
    from essdispatch.scenario.load import load_scenario

    values = [0.0] * 24
    text = "time,v\n" + hourly_rows(values) + "2026-06-01 05:59,600\n"
    lines = text.splitlines()
    body = sorted(lines[1:])
    path = csv_doc("\n".join([lines[0], *body]) + "\n", tmp_path)
    load = load_scenario(path).series["sites[0].load"]
    assert load[5] == pytest.approx(10.0)  # 600 MW for 1 of 60 minutes, not (0 + 600) / 2
    assert load[4] == 0.0 and load[6] == 0.0


def test_csv_at_finer_resolution_than_the_file_still_holds_each_row(tmp_path):
    from essdispatch.scenario.load import load_scenario

    text = "time,v\n" + hourly_rows(list(range(24)))
    path = csv_doc(text, tmp_path, resolution="15min")
    load = load_scenario(path).series["sites[0].load"]
    assert list(load[:8]) == [0, 0, 0, 0, 1, 1, 1, 1]


def test_coverage_message_never_prints_two_identical_ranges(tmp_path):
    text = "time,v\n" + "".join(f"2026-06-01 {h:02d}:00:30,1\n" for h in range(24))
    line = assert_bad_input(invoke("validate", str(csv_doc(text, tmp_path))), "covers")
    have, need = line.split(" covers ", 1)[1].split(" but the horizon needs ")
    assert have != need, line


# ============================================================ class 13: clear messages and exit codes
def test_memory_guard_counts_memory_like_the_benchmarks():
    """The estimate matches the measured peak RSS of benchmarks/RESULTS.md within 15 %,
    and 10 years at 1 minute is refused on a 24 GiB machine."""
    from essdispatch.model.numerics import estimate_size, size_problems

    measured = {(20, 35040, 15): 4159, (100, 8760, 60): 5144}  # MiB
    for (n, periods, minutes), mib in measured.items():
        size = estimate_size(n, n, periods, group_members=n, group_rows=1, period_minutes=minutes)
        assert size.bytes / 2**20 == pytest.approx(mib, rel=0.15)
    ten_years = estimate_size(1, 1, 10 * 525_600, period_minutes=1)
    problems = size_problems(ten_years, available=24 * 2**30)
    assert problems and problems[0][0] == "horizon" and "memory" in problems[0][1]


@pytest.mark.parametrize(
    "option, fragment",
    [("mip_max_nodes=0", "node, leaf or solution limit"), ("mip_max_leaves=0", "limit")],
)
def test_mip_limits_are_named_not_just_the_solver_failed(tmp_path, option, fragment):
    path = write_scenario(tmp_path, exclusive_doc())
    result = invoke(
        "run", str(path), "--out", str(tmp_path / "out"), "-q", "--solver-option", option
    )
    assert result.exit_code == 3
    line = one_line_error(result.stderr)
    assert fragment in line and "the solver failed" not in line, line
    assert not (tmp_path / "out").exists()  # a failed run leaves no empty --out


@pytest.mark.parametrize("option", ["objective_bound=-1e9", "objective_target=1e12"])
def test_objective_bound_is_refused_not_called_infeasible(tmp_path, option):
    path = write_scenario(tmp_path, exclusive_doc())
    result = invoke(
        "run", str(path), "--out", str(tmp_path / "out"), "-q", "--solver-option", option
    )
    line = assert_bad_input(result, option.split("=")[0], "not supported")
    assert "infeasible" not in line.split("not supported")[0]


@pytest.mark.parametrize(
    "error, key",
    [
        ({"model": "ar1", "sd": 1e30}, "operation.forecast.load.error.sd"),
        ({"model": "ar1", "sd": 1e7, "kind": "additive"}, "operation.forecast.load.error.sd"),
    ],
)
def test_absurd_forecast_errors_are_range_checked(tmp_path, error, key):
    doc = scenario_doc(operation={"mode": "rolling", "forecast": {"load": {"error": error}}})
    assert_bad_input(invoke("validate", str(write_scenario(tmp_path, doc))), key, "sane")


def test_symlink_loops_are_named(tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    assert_bad_input(invoke("validate", str(loop)), "loop.yaml", "link loop")
    csv_loop = tmp_path / "data.csv"
    csv_loop.symlink_to(csv_loop)
    doc = scenario_doc()
    doc["sites"][0]["load"] = {"csv": "data.csv", "column": "v"}
    assert_bad_input(invoke("validate", str(write_scenario(tmp_path, doc))), "link loop")


def test_out_that_is_a_file_exits_4_with_one_line(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    proc = run_proc("run", str(write_scenario(tmp_path)), "--out", str(target), "-q")
    assert proc.returncode == 4, proc.stderr
    assert "not writable" in one_line_error(proc.stderr)
    assert target.read_text() == "x"


def test_empty_out_is_refused(tmp_path):
    path = write_scenario(tmp_path)
    proc = subprocess.run(
        cli_cmd("run", str(path), "--out", "", "-q"),
        capture_output=True,
        text=True,
        env=env(),
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "--out" in one_line_error(proc.stderr)
    assert not (tmp_path / "x").exists()


def test_failed_run_leaves_no_empty_out_folder(tmp_path):
    out = tmp_path / "deep" / "out"
    path = write_scenario(tmp_path, exclusive_doc())
    args = ["--solver-option", "mip_max_nodes=0"]
    result = invoke("run", str(path), "--out", str(out), "-q", *args)
    assert result.exit_code == 3, result.output
    assert not (tmp_path / "deep").exists()


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "Mars/Olympus"])
def test_machine_dependent_time_zones_are_refused(tmp_path, zone):
    doc = scenario_doc()
    doc["horizon"]["timezone"] = zone
    assert_bad_input(invoke("validate", str(write_scenario(tmp_path, doc))), "horizon.timezone")


# ============================================================ class 10: sweeps with odd values and damage
@pytest.mark.parametrize(
    "body",
    [
        "grid:\n  horizon.start: [2026-06-01, 2026-06-01 00:00:00]\n",
        "cases:\n  - name: a\n    set:\n      horizon.start: 2026-06-01\n",
        "cases:\n  - name: a\n    set:\n      horizon: {start: 2026-06-01 00:00:00, end: 2026-06-02,"
        " resolution: 60min, timezone: Asia/Shanghai}\n",
    ],
)
def test_dates_in_sweeps_are_plain_values(tmp_path, body):
    path = write_sweep(tmp_path, "name: s\nbase: base.yaml\n" + body)
    out = tmp_path / "out"
    dry = invoke("sweep", str(path), "--dry-run", "--out", str(out))
    assert dry.exit_code == 0, dry.output
    assert not out.exists()
    ran = invoke("sweep", str(path), "--inline", "-q", "--out", str(out))
    assert ran.exit_code == 0, ran.output
    plan = json.loads((out / "sweeps" / "s" / "plan.json").read_text())
    assert "2026-06-01" in json.dumps(plan)


def test_binary_values_in_a_sweep_are_refused_before_any_folder(tmp_path):
    path = write_sweep(
        tmp_path, "name: s\nbase: base.yaml\ngrid:\n  description: [!!binary aGk=]\n"
    )
    out = tmp_path / "out"
    assert_bad_input(invoke("sweep", str(path), "--inline", "--out", str(out)), "grid.description")
    assert not out.exists()


def _finished_sweep(tmp_path: Path) -> tuple[Path, Path]:
    path = write_sweep(tmp_path, "name: s\nbase: base.yaml\ngrid:\n  sites[0].load: [1, 2]\n")
    out = tmp_path / "out"
    result = invoke("sweep", str(path), "--inline", "-q", "--out", str(out))
    assert result.exit_code == 0, result.output
    return path, out / "sweeps" / "s"


@pytest.mark.parametrize("damage", ["[1, 2]", '"text"', "null", "{broken"])
def test_damaged_case_summary_is_rerun_on_resume_and_named_by_compare(tmp_path, damage):
    path, folder = _finished_sweep(tmp_path)
    case = sorted((folder / "cases").iterdir())[0]
    (case / "summary.json").write_text(damage)
    result = invoke("compare", str(case), str(sorted((folder / "cases").iterdir())[1]))
    assert result.exit_code == 4
    assert "summary.json" in one_line_error(result.stderr)
    resumed = invoke("sweep", str(path), "--inline", "-q", "--out", str(tmp_path / "out"))
    assert resumed.exit_code == 0, resumed.output
    assert "1 finished" in resumed.stdout
    assert isinstance(json.loads((case / "summary.json").read_text()), dict)


@pytest.mark.parametrize("damage", [b"garbage", b"", b"PAR1\x00\x00PAR1"])
def test_corrupted_sweep_index(tmp_path, damage):
    path, folder = _finished_sweep(tmp_path)
    (folder / "index.parquet").write_bytes(damage)
    result = invoke("compare", str(folder))
    assert result.exit_code == 4
    assert "index.parquet" in one_line_error(result.stderr)
    resumed = invoke("sweep", str(path), "--inline", "-q", "--out", str(tmp_path / "out"))
    assert resumed.exit_code == 0, resumed.output
    assert invoke("compare", str(folder)).exit_code == 0  # rebuilt from the case folders


# ============================================================ class 11: damaged folders, plot bounds, odd files
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    path = write_scenario(folder)
    result = invoke("run", str(path), "--out", str(folder / "results"), "-q")
    assert result.exit_code == 0, result.output
    return folder / "results" / "x"


def _damaged_copy(finished_run: Path, tmp_path: Path, damage: Any) -> Path:
    import shutil

    copy = tmp_path / "damaged"
    shutil.copytree(finished_run, copy)
    damage(copy)
    return copy


def _edit_summary(**changes: Any) -> Any:
    def apply(folder: Path) -> None:
        doc = json.loads((folder / "summary.json").read_text())
        doc.update(changes)
        (folder / "summary.json").write_text(json.dumps(doc))

    return apply


DAMAGE = {
    "horizon-text": _edit_summary(horizon="oops"),
    "horizon-start": _edit_summary(horizon={"start": "yesterday", "end": None, "dt_h": 1}),
    "scenario-list": _edit_summary(scenario=[1]),
    "figure-text": _edit_summary(total_cost="a lot"),
    "baseline-list": _edit_summary(baseline=[1, 2]),
    "sites-text": _edit_summary(sites="a"),
    "non-utf8-yaml": lambda f: (f / "scenario.yaml").write_bytes(b"\xff\xfe name: x"),
    "no-dispatch": lambda f: (f / "dispatch.parquet").unlink(),
    "no-baseline": lambda f: (f / "baseline.parquet").unlink(),
    "bad-parquet": lambda f: (f / "dispatch.parquet").write_bytes(b"garbage"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("command", ["compare", "report", "plot"])
def test_damaged_results_folder_is_one_line(finished_run, tmp_path, damage, command):
    copy = _damaged_copy(finished_run, tmp_path, DAMAGE[damage])
    args = {
        "compare": ["compare", str(finished_run), str(copy)],
        "report": ["report", str(copy), "--out", str(tmp_path / "r.html")],
        "plot": ["plot", str(copy), "--out", str(tmp_path / "p.png")],
    }[command]
    result = invoke(*args)
    assert result.exit_code == 4, (result.output, result.exception)
    one_line_error(result.stderr)


@pytest.mark.parametrize(
    "args, key",
    [
        (["--dpi", "0"], "--dpi"),
        (["--dpi", "-5"], "--dpi"),
        (["--dpi", "nan"], "--dpi"),
        (["--dpi", "1e9"], "--dpi"),
        (["--size", "100000x100000"], "--size"),
        (["--size", "200x99999"], "--size"),
    ],
)
def test_plot_options_are_bounded(finished_run, tmp_path, args, key):
    result = invoke("plot", str(finished_run), "--out", str(tmp_path / "p.png"), *args)
    assert result.exit_code == 2
    assert key in one_line_error(result.stderr)
    assert not (tmp_path / "p.png").exists()


def test_pvlib_far_future_is_refused(tmp_path):
    doc = scenario_doc()
    doc["horizon"].update(start="9999-06-01 00:00", end="9999-06-02 00:00")
    doc["sites"][0]["location"] = {"lat": 30, "lon": 110}
    doc["sites"][0]["solar"]["profile"] = {
        "pvlib": {"tilt": 20, "azimuth": 180, "annual_full_load_hours": 1500}
    }
    assert_bad_input(invoke("validate", str(write_scenario(tmp_path, doc))), "horizon.start")


def test_nul_and_oversized_csv_are_refused(tmp_path, monkeypatch):
    from essdispatch.scenario import series_csv

    path = csv_doc("time,v\n" + hourly_rows([1.0] * 24), tmp_path)
    (tmp_path / "data.csv").write_bytes(b"\x00" * 100_000)
    assert_bad_input(invoke("validate", str(path)), "sites[0].load.csv", "NUL")
    (tmp_path / "data.csv").write_text("time,v\n" + hourly_rows([1.0] * 24))
    monkeypatch.setattr(series_csv, "MAX_CSV_BYTES", 100)
    assert_bad_input(invoke("validate", str(path)), "sites[0].load.csv", "MiB")


def test_sparse_2gb_nul_file_is_refused_without_reading_it(tmp_path):
    path = csv_doc("time,v\n", tmp_path)
    with open(tmp_path / "data.csv", "wb") as fh:
        fh.truncate(2 * 2**30)  # sparse: no disk used
    t0 = time.perf_counter()
    proc = run_proc("validate", str(path), timeout=60)
    assert time.perf_counter() - t0 < 30
    assert proc.returncode == 2 and "sites[0].load.csv" in one_line_error(proc.stderr)


@pytest.mark.parametrize("which", ["scenario", "csv", "sweep"])
def test_fifo_inputs_do_not_hang(tmp_path, which):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    if which == "scenario":
        args = ["validate", str(fifo)]
    elif which == "sweep":
        args = ["sweep", str(fifo), "--dry-run"]
    else:
        doc = scenario_doc()
        doc["sites"][0]["load"] = {"csv": "fifo", "column": "v"}
        args = ["validate", str(write_scenario(tmp_path, doc))]
    proc = run_proc(*args, timeout=60)
    assert proc.returncode == 2
    assert "regular file" in one_line_error(proc.stderr)


# ============================================================ class 12: signals stop a running solve
def long_milp(folder: Path) -> Path:
    """A year at 15 min with exclusive charge/discharge and noisy prices: HiGHS needs far
    longer than the test allows (the time limit caps it at 120 s)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    index = pd.date_range("2026-01-01", periods=35040, freq="15min")
    prices = np.round(300 + 200 * rng.standard_normal(len(index)), 1)
    pd.DataFrame({"time": index.strftime("%Y-%m-%d %H:%M"), "p": prices}).to_csv(
        folder / "p.csv", index=False
    )
    doc = scenario_doc("long", objective={"exclusive_charge_discharge": True})
    doc["horizon"].update(start="2026-01-01 00:00", end="2027-01-01 00:00", resolution="15min")
    doc["signals"]["price"] = {"csv": "p.csv", "column": "p"}
    doc["sites"][0]["storage"][0]["self_discharge_per_hour"] = 0.001
    return write_scenario(folder, doc, "long.yaml")


def start_run(path: Path, out: Path) -> subprocess.Popen:
    """``essdispatch run`` of ``path`` in a child process, stderr piped (text)."""
    proc = subprocess.Popen(
        cli_cmd("run", str(path), "--out", str(out), "--time-limit", "120"),
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    return proc


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_solve_promptly(tmp_path, signum):
    path = long_milp(tmp_path)
    out = tmp_path / "out"
    proc = start_run(path, out)
    for line in proc.stderr:
        if "run: solving joint problem" in line:
            break
    else:
        raise AssertionError(f"no solve started: {proc.wait()}")
    time.sleep(3.0)  # well inside HiGHS's branch and bound
    sent = time.monotonic()
    proc.send_signal(signum)
    rest = proc.communicate(timeout=150)[1]
    waited = time.monotonic() - sent
    assert proc.returncode == 130, rest
    assert "interrupted" in rest
    assert waited < 20, f"took {waited:.1f} s to stop after the signal"
    assert not (out / "long").exists() and not (out.exists() and hidden(out))


# ============================================================ class 4: a broken terminal rule is loud


def _short_of_import_rolling_doc() -> dict:
    """A rolling run that cannot keep its terminal rule: 8 MW of load, 5 MW of import, a
    10 MW / 40 MWh store half full, no lookahead."""
    doc = scenario_doc("roll")
    site = doc["sites"][0]
    del site["solar"]
    site["load"] = 8
    site["grid"] = {"import_limit_mw": 5}
    site["storage"][0].update(power_mw=10, energy_mwh=40, soc_initial=0.5)
    doc["operation"] = {
        "mode": "rolling",
        "window": "24h",
        "lookahead": "0h",
        "forecast": {"load": {"series": 2}},
    }
    return doc


def test_rolling_terminal_shortfall_is_reported_like_unserved_energy(tmp_path):
    """Forecast load 2 MW, actual 8 MW behind a 5 MW import limit: settling on actuals,
    the unit (20 MWh stored, at_least_initial) empties itself and still 53 MWh are shed.
    Hand check: 24 h × 3 MW = 72 MWh short of import; the store gives 20 MWh (19 MWh
    delivered at η = 0.95), 72 − 19 = 53 MWh shed, the terminal rule misses 20 MWh."""
    doc = _short_of_import_rolling_doc()
    out = tmp_path / "out"
    result = invoke("run", str(write_scenario(tmp_path, doc)), "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "roll" / "summary.json").read_text())
    assert summary["windows"]["terminal_shortfall_mwh"] == pytest.approx(20.0, abs=1e-6)
    assert summary["windows"]["terminal_shortfall_by_unit"] == {"b": pytest.approx(20.0)}
    assert any(w.startswith("terminal rule broken") for w in summary["warnings"])
    assert "TERMINAL RULE BROKEN" in result.stdout and "20.0 MWh short" in result.stdout
    assert "UNSERVED ENERGY" in result.stdout and "53.0 MWh" in result.stdout
    assert "warning: terminal rule broken" in result.stderr
    assert summary["diagnostics"]["unserved_energy"]["total_mwh"] == pytest.approx(53.0, abs=1e-6)


def test_rolling_that_keeps_the_terminal_rule_says_nothing(tmp_path):
    doc = scenario_doc("calm")
    doc["operation"] = {"mode": "rolling", "window": "12h", "lookahead": "12h"}
    out = tmp_path / "out"
    result = invoke("run", str(write_scenario(tmp_path, doc)), "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    assert "TERMINAL RULE BROKEN" not in result.stdout
    summary = json.loads((out / "calm" / "summary.json").read_text())
    assert summary["windows"]["terminal_shortfall_mwh"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    "args, key",
    [
        (["--workers", "100000"], "--workers"),
        (["--workers", "0"], "--workers"),
        (["--retries", "-1"], "--retries"),
        (["--retries", "100000"], "--retries"),
        (["--out", ""], "--out"),
    ],
)
def test_sweep_options_are_bounded(tmp_path, args, key):
    path = write_sweep(tmp_path, "name: s\nbase: base.yaml\n")
    result = invoke("sweep", str(path), "--inline", "-q", *args)
    assert_bad_input(result, key)


@pytest.mark.parametrize(
    "body, key", [("workers: 100000\n", "workers"), ("retries: 1000\n", "retries")]
)
def test_sweep_file_counts_are_bounded(tmp_path, body, key):
    path = write_sweep(tmp_path, "name: s\nbase: base.yaml\n" + body)
    assert_bad_input(invoke("sweep", str(path), "--dry-run"), key)


def test_scale_with_a_list_inside_a_grid_list_is_one_line(tmp_path):
    """Found by the sweep fuzzer: a ``{scale: [..]}`` wrapped in a grid list crashed the
    case labels with a TypeError."""
    body = "name: s\nbase: base.yaml\ngrid:\n  sites[0].load: [{scale: [1, 2]}]\n"
    assert_bad_input(invoke("sweep", str(write_sweep(tmp_path, body)), "--dry-run"), "scale")


def test_forecast_series_preset_of_the_wrong_kind_is_refused(tmp_path):
    doc = scenario_doc(
        operation={
            "mode": "rolling",
            "forecast": {"load": {"series": {"preset": "cn-grid-average/central/2021"}}},
        }
    )
    line = assert_bad_input(invoke("validate", str(write_scenario(tmp_path, doc))), "tCO2/MWh")
    assert "operation.forecast.load.series" in line


def test_report_shows_a_broken_terminal_rule_at_the_top(tmp_path):
    doc = _short_of_import_rolling_doc()
    out = tmp_path / "out"
    assert invoke("run", str(write_scenario(tmp_path, doc)), "--out", str(out), "-q").exit_code == 0
    assert invoke("report", str(out / "roll")).exit_code == 0
    html = (out / "roll" / "report.html").read_text()
    assert html.index("terminal rule broken") < html.index('id="run-vs-baseline"')


def test_kill_during_the_solve_leaves_nothing_behind(tmp_path):
    """A kill before the window (while solving) leaves no lock file, no hidden folder and
    no --out folder the run created; the next run of the name is not blocked."""
    path = long_milp(tmp_path)
    out = tmp_path / "out"
    proc = start_run(path, out)
    for line in proc.stderr:
        if "run: solving joint problem" in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not out.exists() or hidden(out) == []
    again = invoke(
        "run", str(write_scenario(tmp_path, scenario_doc("long"))), "--out", str(out), "-q"
    )
    assert again.exit_code == 0, again.output
    assert hidden(out) == []


def test_a_failing_run_still_repairs_an_interrupted_swap(tmp_path):
    """Recovery happens at the start of a run of the name, not only when it writes."""
    out = tmp_path / "out"
    out.mkdir()
    old = out / ".x.old-abcd1234"
    old.mkdir()
    for f in ("summary.json", "dispatch.parquet", "baseline.parquet", "scenario.yaml"):
        (old / f).write_text("{}")
    path = write_scenario(tmp_path, exclusive_doc())
    result = invoke("run", str(path), "--out", str(out), "-q", "--solver-option", "mip_max_nodes=0")
    assert result.exit_code == 3
    assert (out / "x" / "summary.json").read_text() == "{}"
    assert hidden(out) == []


def test_carbon_free_share_takes_only_a_fraction_preset(tmp_path):
    doc = scenario_doc()
    doc["signals"]["carbon"] = {
        "average": 0.6,
        "carbon_free_share": {"preset": "cn-grid-average/central/2021"},
    }
    assert_bad_input(
        invoke("validate", str(write_scenario(tmp_path, doc))),
        "signals.carbon.carbon_free_share",
        "fraction",
    )


def test_sweep_out_that_is_a_file_exits_4_with_one_line(tmp_path):
    path = write_sweep(tmp_path, "name: s\nbase: base.yaml\n")
    target = tmp_path / "file"
    target.write_text("x")
    result = invoke("sweep", str(path), "--inline", "-q", "--out", str(target))
    assert result.exit_code == 4
    assert "sweep folder" in one_line_error(result.stderr)
    assert target.read_text() == "x"


def test_signal_stops_per_site_worker_processes_promptly(tmp_path):
    """Per-site MILPs in worker processes (4 sites × 35 040 periods, exclusive mode): a
    SIGTERM to the parent stops the workers at once; exit 130, nothing written."""
    import psutil

    path = long_milp(tmp_path)
    text = path.read_text()
    doc = yaml.safe_load(text)
    site = doc["sites"][0]
    doc["sites"] = [
        dict(site, name=f"s{i}", storage=[dict(site["storage"][0], name=f"u{i}")]) for i in range(4)
    ]
    path = write_scenario(tmp_path, doc, "many.yaml")
    out = tmp_path / "out"
    proc = start_run(path, out)
    deadline = time.monotonic() + 60
    children: list = []
    while time.monotonic() < deadline and len(children) < 2:
        time.sleep(0.5)
        children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 2, "no worker processes started"
    time.sleep(3.0)  # the workers are inside their branch and bound
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=150)[1]
    waited = time.monotonic() - sent
    assert proc.returncode == 130, rest
    assert waited < 20, f"took {waited:.1f} s to stop after the signal"
    time.sleep(1.0)
    alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert alive == []
    assert not (out / doc["name"]).exists() and not (out.exists() and hidden(out))
