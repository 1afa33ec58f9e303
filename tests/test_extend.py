"""Extension hooks through the whole pipeline, on real solves (essdispatch.model.extend).

Every optimum below is worked out by hand in the comment above it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pyomo.environ as pyo
import pytest
from click.testing import CliRunner

from essdispatch.base.exceptions import ScenarioError, SolveError
from essdispatch.cli import cli
from essdispatch.model.extend import Extension, ExtensionError, load_extension
from essdispatch.run import run_scenario

ROOT = Path(__file__).resolve().parents[1]

# One site, no solar, no load; buy = sell = 10, 100, 100 CNY/MWh over three hours; one
# unit P = 2 MW, E = 4 MWh, η = 1, empty at the start, no degradation cost.
# Without a hook: charge 2 in t0, discharge 2 in t1: cost 20 − 200 = −180.
# With the ramp limit |p[t] − p[t−1]| ≤ 1 MW on the unit's net output p = dis − ch:
# with p0 = −a, p1 ≤ min(1 − a, a), p2 ≤ min(p1 + 1, a − p1), the cost is
# 10a − 100·min(a, 3 − 2a), least (−90) at a = 1 only: p = (−1, 0, 1).
RAMP = """\
name: ramp-case
horizon: {start: 2026-06-01 10:00, end: 2026-06-01 13:00, resolution: 60min,
          timezone: Asia/Shanghai}
signals:
  price: {hourly: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100]}
  carbon: {average: 0.6}
sites:
  - name: site
    storage:
      - {name: bess, power_mw: 2, energy_mwh: 4, charge_efficiency: 1,
         discharge_efficiency: 1, soc_initial: 0, terminal: free}
"""

HOOKS = '''\
import pyomo.environ as pyo


def ramp(m, inputs):
    """|p[t] - p[t-1]| <= 1 MW for unit bess, p = dis - ch."""
    if "bess" not in m.unit_names:
        return  # the baseline has no storage
    b = m.unit_names.index("bess")
    steps = [t for t in m.T if t > 0]

    def p(m, t):
        return m.dis[b, t] - m.ch[b, t]

    m.ramp_up = pyo.Constraint(steps, rule=lambda m, t: p(m, t) - p(m, t - 1) <= 1)
    m.ramp_down = pyo.Constraint(steps, rule=lambda m, t: p(m, t - 1) - p(m, t) <= 1)


ramp.couples_sites = False


def broken(m, inputs):
    raise RuntimeError("boom")


def squared(m, inputs):
    m.bad = pyo.Constraint(expr=m.imp[0, 0] ** 2 <= 1)
'''


@pytest.fixture()
def ramp_file(tmp_path: Path) -> Path:
    path = tmp_path / "ramp.yaml"
    path.write_text(RAMP, encoding="utf-8")
    (tmp_path / "hooks.py").write_text(HOOKS, encoding="utf-8")
    return path


@pytest.fixture()
def hooks(ramp_file: Path):
    return load_extension(f"{ramp_file.parent / 'hooks.py'}:ramp")


def test_ramp_limit_through_run_scenario(ramp_file: Path, tmp_path: Path, hooks: Extension):
    free = run_scenario(ramp_file, None)
    assert free.summary["total_cost"] == pytest.approx(-180.0, abs=1e-6)
    assert "extension" not in free.summary
    out = tmp_path / "results"
    outcome = run_scenario(ramp_file, out, extend=hooks.fn)
    summary = json.loads((out / "ramp-case" / "summary.json").read_text())
    assert summary["total_cost"] == pytest.approx(-90.0, abs=1e-6)
    assert summary["baseline"]["total_cost"] == pytest.approx(0.0, abs=1e-9)
    assert summary["savings"] == pytest.approx(90.0, abs=1e-6)
    p = outcome.run.dis[0] - outcome.run.ch[0]
    assert p == pytest.approx([-1.0, 0.0, 1.0], abs=1e-6)
    hook_file = tmp_path / "hooks.py"
    assert summary["extension"] == {
        "module": hooks.fn.__module__,
        "function": "ramp",
        "file": str(hook_file),
        "sha256": hashlib.sha256(hook_file.read_bytes()).hexdigest(),
        "couples_sites": False,
    }
    # the user's families have duals: the ramp-up row t = 2 binds (p2 − p1 = 1)
    duals = outcome.run.duals
    assert set(duals) >= {"ramp_up", "ramp_down", "balance", "storage"}
    assert duals["ramp_up"].shape == (2,) and duals["ramp_up"][1] < -1e-6
    # ... and in the diagnostics of summary.json
    ramp_up = summary["diagnostics"]["shadow_prices"]["user_families"]["ramp_up"]
    assert ramp_up["rows"] == 2 and ramp_up["binding_rows"] >= 1
    assert ramp_up["min"] == pytest.approx(float(duals["ramp_up"].min()))


def test_ramp_limit_through_the_cli_in_a_subprocess(ramp_file: Path, tmp_path: Path):
    out = tmp_path / "results"
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-m", "essdispatch.cli", "run", str(ramp_file), "--out", str(out)]
        + ["--extend", "hooks:ramp", "-q"],
        cwd=tmp_path,  # hooks.py sits in the working directory
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "ramp-case" / "summary.json").read_text())
    assert summary["total_cost"] == pytest.approx(-90.0, abs=1e-6)
    assert summary["extension"]["module"] == "hooks"
    assert summary["extension"]["function"] == "ramp"


def test_backend_pyomo_applies_the_hook_too(ramp_file: Path, hooks: Extension):
    outcome = run_scenario(ramp_file, None, extend=hooks, backend="pyomo")
    assert outcome.summary["total_cost"] == pytest.approx(-90.0, abs=1e-6)


# Two sites, no solar, no storage, 1 MW of load each for one hour; buy = sell = 10 at
# site a and 20 at site b; voll = max(10 000, 10·20) = 10 000.
# Without a hook: import 1 + 1: cost 30.
# With Σ_s imp[s,t] ≤ 1.5 MW (couples the sites): each MW imported saves voll − price,
# more at a: import 1 at a and 0.5 at b, shed 0.5: cost 10 + 10 + 0.5·10 000 = 5020.
TWO = """\
name: two-sites
horizon: {start: 2026-06-01 10:00, end: 2026-06-01 11:00, resolution: 60min,
          timezone: Asia/Shanghai}
signals:
  carbon: {average: 0.6}
sites:
  - name: a
    load: 1
    signals: {price: 10}
  - name: b
    load: 1
    signals: {price: 20}
"""


def shared_import(m, inputs):
    """Σ_s imp[s,t] ≤ 1.5 MW."""
    m.shared_import = pyo.Constraint(m.T, rule=lambda m, t: sum(m.imp[s, t] for s in m.S) <= 1.5)


def test_hook_that_couples_sites_is_solved_jointly(tmp_path: Path):
    path = tmp_path / "two.yaml"
    path.write_text(TWO)
    assert run_scenario(path, None).summary["total_cost"] == pytest.approx(30.0, abs=1e-6)
    joint = run_scenario(path, None, extend=shared_import)
    assert joint.summary["total_cost"] == pytest.approx(5020.0, abs=1e-6)
    assert joint.summary["unserved_mwh"] == pytest.approx(0.5, abs=1e-6)
    assert joint.summary["solver"]["route"].startswith("joint (extension")
    # the same hook wrongly declared not to couple sites: each site's part sees only
    # its own import, and the site-by-site optimum ignores the shared limit
    shared_import.couples_sites = False
    try:
        split = run_scenario(path, None, extend=shared_import)
    finally:
        del shared_import.couples_sites
    assert split.summary["solver"]["route"] == "per-site"
    assert split.summary["total_cost"] == pytest.approx(30.0, abs=1e-6)


def test_hook_in_rolling_operation(tmp_path: Path, hooks: Extension):
    # Window 1 h, lookahead 2 h, perfect forecasts. Without the hook window 0 plans the
    # perfect-foresight −180 and commits p0 = −2; p1 = 2 follows: −180. With the hook,
    # window 0 (t0..t2) commits p0 = −1 as above; window 1 starts with 1 MWh and the hook
    # sees only that window (t1, t2): discharge 1 at 100: 10 − 100 = −90.
    text = RAMP + "operation: {mode: rolling, window: 1h, lookahead: 2h}\n"
    path = tmp_path / "rolling.yaml"
    path.write_text(text)
    plain = run_scenario(path, None)
    assert plain.summary["total_cost"] == pytest.approx(-180.0, abs=1e-6)
    rolled = run_scenario(path, None, extend=hooks)
    assert rolled.summary["total_cost"] == pytest.approx(-90.0, abs=1e-6)
    assert rolled.summary["value_of_foresight"] == pytest.approx(0.0, abs=1e-6)
    assert rolled.run.ch[0, 0] - rolled.run.dis[0, 0] == pytest.approx(1.0, abs=1e-6)


def must_export(m, inputs):
    """exp[s,t] ≥ 5 MW at every site, with no solar and no storage to give it."""
    m.must_export = pyo.Constraint(m.S, m.T, rule=lambda m, s, t: m.exp[s, t] >= 5)


def test_infeasible_hook_is_explained_naming_the_user_family(tmp_path: Path):
    path = tmp_path / "two.yaml"
    path.write_text(
        TWO.replace(
            "sites:\n  - name: a\n", "sites:\n  - name: a\n    grid: {export_limit_mw: 2}\n"
        )
    )
    out = tmp_path / "results"
    with pytest.raises(SolveError) as info:
        run_scenario(path, out, extend=must_export)
    text = str(info.value)
    assert info.value.termination == "infeasible"
    # site a may export at most 2 MW: 3 MW short of 5 in its only period
    assert text.startswith("run: infeasible: user constraint must_export[0,0] cannot hold")
    assert "(slack 3)" in text
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    "spec, words",
    [
        ("hooks.py:broken", "extension hooks:broken raised RuntimeError: boom"),
        ("hooks.py:squared", "made the model not linear or not Pyomo"),
        ("hooks.py:missing", "has no function missing"),
        ("nosuchmodule_xyz:fn", "cannot import nosuchmodule_xyz"),
        ("no-colon", "expected module:function"),
    ],
)
def test_broken_hook_exits_2_and_writes_nothing(ramp_file: Path, tmp_path: Path, spec, words):
    out = tmp_path / "results"
    if spec.startswith("hooks.py"):
        spec = f"{tmp_path / 'hooks.py'}{spec[len('hooks.py') :]}"
        words = words.replace("extension hooks:", f"extension {tmp_path / 'hooks.py'}:")
    result = CliRunner().invoke(
        cli, ["run", str(ramp_file), "--out", str(out), "--extend", spec, "-q"]
    )
    assert result.exit_code == 2, result.output
    message = result.output.strip().splitlines()
    assert len(message) == 1 and words in message[0]
    assert not out.exists() or not any(out.iterdir())


def test_hook_errors_from_python_are_scenario_errors(ramp_file: Path):
    with pytest.raises(ExtensionError, match="raised ZeroDivisionError") as info:
        run_scenario(ramp_file, None, extend=lambda m, inputs: 1 / 0)
    assert isinstance(info.value, ScenarioError)
    with pytest.raises(ExtensionError, match="not callable"):
        run_scenario(ramp_file, None, extend=42)


def test_per_site_hook_in_worker_processes_and_in_this_process(tmp_path: Path):
    # the two-site case with a per-site hook (imp ≤ 0.5 MW at each site, so 0.5 MW shed
    # at each at voll 10 000): cost 5 + 10 + 2·5 000 = 10 015, whether the sites are
    # solved in worker processes (a module-level hook pickles) or, for a lambda, here
    from essdispatch.scenario.load import load_scenario, prepare_inputs
    from essdispatch.solve.dispatch import solve_dispatch

    path = tmp_path / "two.yaml"
    path.write_text(TWO)
    inputs = prepare_inputs(load_scenario(path))
    hook = Extension.of(half_import)
    result, stats = solve_dispatch(inputs, extension=hook, workers=2)
    assert stats.route == "per-site" and stats.subproblems == 2
    assert result.objective == pytest.approx(10_015.0, abs=1e-6)
    # one more MW of import at a site saves voll − price: duals −9 990 (a), −9 980 (b)
    assert result.duals["half_import"] == pytest.approx([-9_990.0, -9_980.0], abs=1e-6)

    def local(m, inputs):
        half_import(m, inputs)

    local.couples_sites = False
    result, stats = solve_dispatch(inputs, extension=Extension.of(local), workers=2)
    assert stats.route == "per-site"
    assert result.objective == pytest.approx(10_015.0, abs=1e-6)


def half_import(m, inputs):
    """imp[s,t] ≤ 0.5 MW at every site."""
    m.half_import = pyo.Constraint(m.S, m.T, rule=lambda m, s, t: m.imp[s, t] <= 0.5)


half_import.couples_sites = False
