"""`validate` stays fast (issue 15, item 3) without changing a result: it imports no heavy
module it does not need, and each shortcut it takes gives the same numbers bit for bit.

No timing is asserted here (timed tests are flaky on shared machines):
``benchmarks/validate_time.py`` measures the wall time, ``benchmarks/RESULTS.md`` records it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from essdispatch.base import yamlio
from essdispatch.base.exceptions import ScenarioError
from essdispatch.operate import forecasts as rolling
from essdispatch.scenario import grid_model
from essdispatch.scenario import series_pvlib as series

ROOT = Path(__file__).resolve().parents[1]

#: what validating a scenario must not load: the solver, the modelling layer, plotting,
#: exports, distributed sweeps, scipy (assembly and the stored-carbon solve only), and pvlib
#: once its profiles are cached
HEAVY = (
    "pyomo",
    "highspy",
    "matplotlib",
    "plotly",
    "dask",
    "distributed",
    "pyarrow",
    "openpyxl",
    "scipy",
    "pvlib",
)
#: the week scenarios of issue 15 and the tie-line day; between them every series form the
#: examples use (CSV, pvlib, presets, modelled grid signals) and a rolling operation
SCENARIOS = sorted(p.name for p in (ROOT / "scenarios").glob("*week*.yaml")) + [
    "two-sites-shared-tie-day.yaml"
]

_PROBE = """
import json, sys
from essdispatch.cli import main
codes = []
for path in sys.argv[1:]:
    sys.argv = ["essdispatch", "validate", path]
    try:
        main()
    except SystemExit as exc:
        codes.append(exc.code)
    else:
        codes.append(0)
print(json.dumps({"codes": codes, "modules": sorted(sys.modules)}))
"""


def _probe(code: str, args: list[str], cache: Path) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "ESSDISPATCH_CACHE_DIR": str(cache),
        "MPLBACKEND": "Agg",
    }
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _loaded(modules: list[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_validate_imports_no_heavy_module(tmp_path: Path) -> None:
    """Validate every week scenario in one process (cold cache, then warm in a new process):
    none of HEAVY is imported, except pvlib (and its scipy) to fill the cold cache and what the
    unavoidable
    base libraries import themselves (pandas 3 imports pyarrow when it is installed)."""
    base = _probe(
        "import json, sys, numpy, pandas, pydantic, yaml, click;"
        "print(json.dumps({'modules': sorted(sys.modules)}))",
        [],
        tmp_path / "unused",
    )["modules"]
    allowed = {name for name in HEAVY if _loaded(base, name)}
    paths = [str(ROOT / "scenarios" / name) for name in SCENARIOS]
    cache = tmp_path / "cache"
    cold = _probe(_PROBE, paths, cache)
    assert cold["codes"] == [0] * len(paths)
    # filling the cache runs pvlib, which imports scipy itself
    heavy_cold = {n for n in HEAVY if _loaded(cold["modules"], n)} - allowed - {"pvlib", "scipy"}
    assert not heavy_cold, f"validate (cold cache) imported {sorted(heavy_cold)}"
    warm = _probe(_PROBE, paths, cache)
    assert warm["codes"] == [0] * len(paths)
    heavy_warm = {n for n in HEAVY if _loaded(warm["modules"], n)} - allowed
    assert not heavy_warm, f"validate (warm cache) imported {sorted(heavy_warm)}"
    # the command line itself imports nothing but click and the package's errors
    bare = _probe(
        "import json, sys; import essdispatch.cli; print(json.dumps({'modules': sorted(sys.modules)}))",
        [],
        cache,
    )["modules"]
    for name in (*HEAVY, "numpy", "pandas", "pydantic"):
        assert not _loaded(bare, name), f"import essdispatch.cli imported {name}"


def test_validate_still_refuses_what_it_refused(tmp_path: Path) -> None:
    """The faster path keeps validate's checks: a bad key, a duplicate key and a bad HiGHS
    option still exit 2 with their one-line messages."""
    text = (ROOT / "scenarios" / "yulin-pv-storage-week.yaml").read_text(encoding="utf-8")
    cases = {
        "dup.yaml": (text + "\nname: again\n", "key given twice"),
        "option.yaml": (text + "\nsolver:\n  options: {no_such_option: 1}\n", "not a HiGHS option"),
    }
    for name, (body, said) in cases.items():
        path = tmp_path / name
        path.write_text(body, encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, "-m", "essdispatch.cli", "validate", str(path)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "ESSDISPATCH_CACHE_DIR": str(tmp_path)},
            timeout=300,
            check=False,
        )
        assert proc.returncode == 2, (name, proc.stderr)
        assert said in proc.stderr, (name, proc.stderr)
        assert str(path) in proc.stderr


# ----------------------------------------------------------------- AR(1) forecast errors
@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    rows=st.integers(1, 4),
    periods=st.integers(0, 300),
    rho=st.floats(-0.999, 0.999, allow_nan=False),
    sd=st.floats(1e-6, 1e3, allow_nan=False),
    seed=st.integers(0, 2**32 - 1),
)
def test_ar1_recurrence_is_lfilter_bit_for_bit(rows, periods, rho, sd, seed) -> None:
    from scipy.signal import lfilter

    x = np.random.default_rng(seed).standard_normal((rows, periods)) * sd
    want = lfilter([1.0], [1.0, -rho], x, axis=-1)
    got = rolling.ar1_recurrence(x, rho)
    assert got.shape == want.shape
    assert np.array_equal(got, want)  # identical, not close


def test_ar1_errors_take_either_route_to_the_same_draw(monkeypatch: pytest.MonkeyPatch) -> None:
    import scipy.signal  # noqa: F401  (present: ar1_errors would take lfilter)

    draws = {}
    for route, limit, present in (("loop", 10**9, False), ("lfilter", 0, True)):
        monkeypatch.setattr(rolling, "AR1_RECURRENCE_MAX_PERIODS", limit)
        if not present:
            monkeypatch.delitem(sys.modules, "scipy.signal")
        rng = np.random.default_rng(11)
        draws[route] = rolling.ar1_errors(rng, (3, 500), 0.3, 0.8)
        monkeypatch.undo()
    assert np.array_equal(draws["loop"], draws["lfilter"])
    assert draws["loop"][:, 0].std() > 0  # a real draw


# ----------------------------------------------------------------- YAML through libyaml
def _pure(text: str) -> object:
    """What load_yaml_text gives with the pure-Python reader only (the reference)."""
    saved = yamlio._FastLoader
    yamlio._FastLoader = None
    try:
        return yamlio.load_yaml_text(text, "f.yaml")
    finally:
        yamlio._FastLoader = saved


def _every_project_yaml() -> list[Path]:
    found = []
    for folder in ("scenarios", "sweeps", "examples", "essdispatch/data", "benchmarks", "docs"):
        found += sorted((ROOT / folder).rglob("*.yaml"))
    return found


@pytest.mark.skipif(yamlio._FastLoader is None, reason="PyYAML without libyaml")
@pytest.mark.parametrize("path", _every_project_yaml(), ids=lambda p: str(p.relative_to(ROOT)))
def test_fast_yaml_reads_every_project_file_as_the_pure_reader(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = yamlio._load_fast(text)
    assert fast is not yamlio._FALLBACK  # the fast route is the one taken
    assert fast == _pure(text)
    assert repr(fast) == repr(_pure(text))  # same types too (int vs float, str vs date)


_TRICKY = [
    "a: 1:30\nb: 010\nc: 0x1F\nd: 1_000\ne: .5\nf: -.inf\ng: 1e3\nh: 1.0e+3\n",
    "on: off\nyes: no\n~: null\nt: 2026-07-16\nts: 2026-07-16 10:00:00+08:00\n",
    "s: 'quoted: yes'\nd: \"tab\\tnew\\nline\\u00e9\\x41\"\nm: |\n  a\n   b\n\nf: >\n  a\n  b\n",
    "base: &b {x: 1, y: [1, 2]}\nuse: *b\nmerge:\n  <<: *b\n  y: 3\n",
    "- 1\n- [a, {b: c}]\n- {? complex : 1}\n- !!str 12\n- !!float 3\n",
    "plain: a b  c\nmulti: a\n  b\n\n  c\nempty:\nk: [ ]\nu: 电站 1034号\n",
    "\ufeffbom: 1\n",
    "# only a comment\n",
    "",
]
_BAD = [
    "a: 1\na: 2\n",  # duplicate key
    "a: [1, 2\n",  # unclosed flow
    "a: *nope\n",  # undefined alias
    "a: !!python/object:os.system x\n",  # tag
    "a: b: c\n",  # mapping values not allowed
    "a:\n\t- 1\n",  # tab
    "x: " + "[" * 70 + "]" * 70 + "\n",  # too deep
    "n: " + "9" * 50 + "\n",  # long integer
    "a: \x07\n",  # non-printable (was a traceback; now a one-line error)
    "--- 1\n--- 2\n",  # two documents
    "a: &x [*x]\n",  # recursive alias
]


@pytest.mark.skipif(yamlio._FastLoader is None, reason="PyYAML without libyaml")
@pytest.mark.parametrize("text", _TRICKY + _BAD)
def test_fast_yaml_gives_the_pure_result_or_error(text: str) -> None:
    try:
        want: object = ("ok", repr(_pure(text)))
    except ScenarioError as exc:
        want = ("error", exc.problems)
    try:
        got: object = ("ok", repr(yamlio.load_yaml_text(text, "f.yaml")))
    except ScenarioError as exc:
        got = ("error", exc.problems)
    assert got == want
    if text in _BAD:
        assert got[0] == "error"


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, width=64),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["1:30", "010", "0o7", "yes", "off", "~", "2026-01-01", "1e3", ".5", "+1"]),
)
_docs = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)


@pytest.mark.skipif(yamlio._FastLoader is None, reason="PyYAML without libyaml")
@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(doc=_docs, flow=st.sampled_from([None, True, False]), width=st.sampled_from([20, 80]))
def test_fast_yaml_equals_pure_on_random_documents(doc, flow, width) -> None:
    text = yaml.safe_dump(doc, default_flow_style=flow, width=width, allow_unicode=True)
    try:
        want: object = ("ok", repr(_pure(text)))
    except ScenarioError as exc:
        want = ("error", exc.problems)
    try:
        got: object = ("ok", repr(yamlio.load_yaml_text(text, "f.yaml")))
    except ScenarioError as exc:
        got = ("error", exc.problems)
    assert got == want


# ----------------------------------------------------------------- the grid model's sun
def test_grid_model_clear_sky_is_cached_bit_for_bit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESSDISPATCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(grid_model, "_SOLAR_MEMO", {})
    region = grid_model.model_config()["regions"]["shaanxi"]
    hours = pd.date_range("2026-01-01", periods=24 * 365, freq="h")
    computed = grid_model._solar_clearsky_compute(region, hours)
    first = grid_model._solar_clearsky(region, hours)
    assert np.array_equal(first, computed)
    assert len(list((tmp_path / "pvlib").glob("*.npy"))) == 1
    # a new process (empty memory): read from disk, never computed
    monkeypatch.setattr(grid_model, "_SOLAR_MEMO", {})

    def forbidden(*args: object) -> np.ndarray:
        raise AssertionError("recomputed despite the cache")

    monkeypatch.setattr(grid_model, "_solar_clearsky_compute", forbidden)
    again = grid_model._solar_clearsky(region, hours)
    assert np.array_equal(again, computed) and again.dtype == np.float64
    # every input is in the key: another location, tilt, year or code version is computed
    calls = []
    monkeypatch.setattr(
        grid_model, "_solar_clearsky_compute", lambda r, h: calls.append(1) or np.zeros(len(h))
    )
    other = {**region, "location": {**region["location"], "tilt": region["location"]["tilt"] + 1}}
    grid_model._solar_clearsky(other, hours)
    moved = {**region, "location": {**region["location"], "lat": region["location"]["lat"] + 0.1}}
    grid_model._solar_clearsky(moved, hours)
    grid_model._solar_clearsky(region, pd.date_range("2027-01-01", periods=24 * 365, freq="h"))
    monkeypatch.setattr(grid_model, "_SOLAR_CODE_VERSION", grid_model._SOLAR_CODE_VERSION + 1)
    grid_model._solar_clearsky(region, hours)
    assert len(calls) == 4


def test_a_damaged_cache_file_is_recomputed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ESSDISPATCH_CACHE_DIR", str(tmp_path))
    memo: dict[str, np.ndarray] = {}
    series.cached_profile("k" * 32, 4, lambda: np.arange(4.0), memo)
    path = tmp_path / "pvlib" / f"{'k' * 32}.npy"
    for damage in (b"not numpy", None):
        if damage is None:
            np.save(path, np.array([1.0, np.nan, 3.0, 4.0]))  # right shape, not finite
        else:
            path.write_bytes(damage)
        got = series.cached_profile("k" * 32, 4, lambda: np.arange(4.0) * 2, {})
        assert np.array_equal(got, np.arange(4.0) * 2)
        assert not got.flags.writeable


def test_modelled_carbon_signal_same_with_a_warm_cache(tmp_path: Path) -> None:
    """The hourly carbon presets of a fleet week, computed cold and read warm in two fresh
    processes, are identical (the calibration runs on the cached clear-sky profile)."""
    code = (
        "import sys, json, numpy as np, pandas as pd\n"
        "from essdispatch.scenario.grid_model import grid_signal\n"
        "idx = pd.date_range('2026-07-13', periods=168, freq='h', tz='Asia/Shanghai')\n"
        "out = {s: grid_signal('shaanxi', s, idx, 1.0).tolist()"
        " for s in ('average', 'marginal', 'carbon-free-share')}\n"
        "print(json.dumps({'v': out, 'pvlib': 'pvlib' in sys.modules}))\n"
    )
    cold = _probe(code, [], tmp_path)
    warm = _probe(code, [], tmp_path)
    assert cold["pvlib"] and not warm["pvlib"]
    assert cold["v"] == warm["v"]
