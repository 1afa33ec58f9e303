"""Fuzz the scenario door (issue 8): mutated documents give a valid run or ScenarioError.

Sweep files are fuzzed the same way (:func:`test_fuzz_sweep_files`), and one base
scenario carries ``operation:`` and ``solver:`` blocks that the mutations reach (issue 16).

Hypothesis mutates small valid scenario documents — keys deleted, values replaced
by wrong types, NaN, inf, huge, negative, percent, strings, lists, duplicated list
entries (duplicate names), unknown keys — and, for a share of them, dumps them to
YAML and corrupts the text (stray characters, truncation, object-constructing
tags, duplicated lines) before :func:`load_scenario` reads the file. Every
document goes through validation and :func:`prepare_inputs`; about one in fifty
valid ones with a short horizon is also solved with :func:`run_loaded`. Documents
come in batches of :data:`BATCH` per Hypothesis example, which shares Hypothesis'
per-example cost; one in :data:`YAML_SHARE` goes through YAML text. The only
outcomes allowed are success or :class:`ScenarioError` (and, for a solve, a
:class:`SolveError` that explains an infeasible but valid scenario) — never
another exception, never a hang (each document has an alarm).

At least 10 000 documents per run; derandomized, so CI sees the same ones.
"""

from __future__ import annotations

import copy
import math
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from essdispatch.base.exceptions import ScenarioError, SolveError
from essdispatch.run import preflight, run_loaded
from essdispatch.scenario.load import load_scenario, prepare_inputs, scenario_from_dict
from essdispatch.sweeps.sweep_file import load_sweep

N_DOCUMENTS = int(os.environ.get("ESSDISPATCH_FUZZ_DOCUMENTS", "10000"))
#: seconds one document may take before it counts as a hang
ALARM_S = 20

DATA_DIR = Path(tempfile.mkdtemp(prefix="essdispatch-fuzz-"))
(DATA_DIR / "prices.csv").write_text(
    "time,price,retail\n"
    + "".join(f"2026-06-01 {h:02d}:00,{200 + 20 * h},{400 + 20 * h}\n" for h in range(24)),
    encoding="utf-8",
)
(DATA_DIR / "adir").mkdir()

PV = [
    0,
    0,
    0,
    0,
    0,
    0,
    0.1,
    0.3,
    0.5,
    0.7,
    0.8,
    0.9,
    1,
    0.9,
    0.8,
    0.7,
    0.5,
    0.3,
    0.1,
    0,
    0,
    0,
    0,
    0,
]
TOU = {
    "tou": {
        "periods": {"peak": 900, "flat": 500, "valley": 200},
        "hours": {"peak": [[8, 11], [17, 22]], "valley": [[23, 7]]},
        "default": "flat",
    }
}
BASES: list[dict[str, Any]] = [
    {
        "name": "fuzz-a",
        "horizon": {
            "start": "2026-06-01 06:00",
            "end": "2026-06-01 18:00",
            "resolution": "60min",
            "timezone": "Asia/Shanghai",
        },
        "objective": {"carbon_price": 50},
        "signals": {"price": TOU, "carbon": {"average": 0.6, "marginal": {"hourly": [0.8] * 24}}},
        "sites": [
            {
                "name": "pv-1",
                "location": {"lat": 38.3, "lon": 109.7},
                "solar": {"capacity_mw": 20, "profile": {"hourly": PV}},
                "grid": {"export_limit_mw": 15, "import_limit_mw": 5},
                "load": 2,
                "storage": [
                    {
                        "name": "bess-1",
                        "power_mw": 5,
                        "energy_mwh": 10,
                        "charge_efficiency": 0.95,
                        "discharge_efficiency": 0.9,
                        "soc_min": 0.1,
                        "soc_max": 0.9,
                        "soc_initial": 0.5,
                        "terminal": "cyclic",
                        "degradation_cost": 10,
                        "grid_charging": False,
                    }
                ],
            },
            {"name": "pv-2", "solar": {"mw": 4}},
        ],
        "groups": [{"name": "tie", "sites": ["pv-1", "pv-2"], "export_limit_mw": 12}],
    },
    {
        "name": "fuzz-b",
        "currency": "EUR",
        "horizon": {
            "start": "2026-06-01 00:00",
            "end": "2026-06-01 06:00",
            "resolution": "30min",
            "timezone": "Europe/Berlin",
        },
        "objective": {"voll": 3000, "exclusive_charge_discharge": False},
        "signals": {"buy_price": {"hourly": [100] * 24}, "sell_price": -20},
        "sites": [
            {
                "name": "factory",
                "solar": {"capacity_mw": 3, "profile": 0.4},
                "load": {"hourly": [4] * 24},
                "signals": {"buy_price": 150, "sell_price": 40},
                "storage": [
                    {
                        "name": "b1",
                        "power_mw": 1,
                        "energy_mwh": 2,
                        "count": 2,
                        "charge_power_mw": 0.8,
                        "charge_efficiency": 0.9,
                        "discharge_efficiency": 0.9,
                        "self_discharge_per_hour": 0.001,
                        "aux_mw": 0.05,
                        "availability": 1,
                    },
                    {
                        "name": "b2",
                        "power_mw": 2,
                        "energy_mwh": 2,
                        "charge_efficiency": 1,
                        "discharge_efficiency": 1,
                        "terminal": "free",
                    },
                ],
            }
        ],
        "solver": {"time_limit_s": 30, "threads": 1},
    },
    {
        "name": "fuzz-c",
        "horizon": {
            "start": "2026-06-01 00:00",
            "end": "2026-06-01 04:00",
            "resolution": "15min",
            "timezone": "Asia/Shanghai",
        },
        "signals": {
            "buy_price": {"csv": "prices.csv", "column": "retail"},
            "sell_price": {"csv": "prices.csv", "column": "price"},
        },
        "sites": [
            {
                "name": "s",
                "solar": {"mw": 1},
                "grid": {"import_limit_mw": 2},
                "storage": [
                    {
                        "name": "u",
                        "power_mw": 1,
                        "energy_mwh": 1,
                        "charge_efficiency": 0.9,
                        "discharge_efficiency": 0.9,
                    }
                ],
            }
        ],
    },
]

BASES.append(
    {
        "name": "fuzz-d",
        "horizon": {
            "start": "2026-06-01 00:00",
            "end": "2026-06-02 00:00",
            "resolution": "60min",
            "timezone": "Asia/Shanghai",
        },
        "signals": {"price": {"hourly": [300 + 20 * (h % 12) for h in range(24)]}},
        "sites": [
            {
                "name": "op",
                "solar": {"capacity_mw": 5, "profile": {"hourly": PV}},
                "load": 1,
                "storage": [
                    {
                        "name": "ob",
                        "power_mw": 2,
                        "energy_mwh": 4,
                        "charge_efficiency": 0.95,
                        "discharge_efficiency": 0.95,
                    }
                ],
            }
        ],
        "operation": {
            "mode": "rolling",
            "window": "6h",
            "lookahead": "6h",
            "terminal_value": "perfect_foresight",
            "forecast": {
                "solar": {"error": {"model": "ar1", "sd": 0.2, "rho": 0.5, "seed": 3}},
                "load": {"series": {"hourly": [1.2] * 24}},
                "price": {"error": {"model": "ar1", "sd": 20, "kind": "additive"}},
            },
        },
        "solver": {"time_limit_s": 30, "options": {"presolve": "on", "mip_rel_gap": 1e-7}},
    }
)

HOSTILE: list[Any] = [
    None,
    True,
    0,
    -1,
    -1e9,
    1e300,
    10**40,
    95,
    1.5,
    0.0,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "abc",
    "95%",
    "1e400",
    "nan",
    "2026-06-01 06:30",
    "2026-05-31 00:00",
    "Mars/Base",
    "localtime",
    "1:30",
    "rolling",
    "perfect_foresight",
    "24h",
    "-3h",
    "ipm",
    "objective.carbon_price",
    "sites[0].load",
    "sites[*].storage[0].power_mw",
    "sites[nope].load",
    {"scale": [0.5, 2]},
    {"scale": 2},
    {"model": "ar1", "sd": 1e30},
    {"error": {"model": "ar1", "sd": 0.1}},
    {"series": 3},
    {"mip_rel_gap": 0.5},
    {"solver": "foo"},
    "7min",
    "1MS",
    "cyclic",
    "pv-1",
    "bess-1",
    "prices.csv",
    "adir",
    "nope.csv",
    [],
    [1, 2],
    [None],
    {},
    {"hourly": [1] * 23},
    {"hourly": [1] * 24},
    {"csv": "prices.csv", "column": "nope"},
    {"csv": "prices.csv", "column": "price"},
    {"tou": {"periods": {"a": 1}, "hours": {"a": [[0, 24]]}}},
    {"tou": {"periods": {"a": 1}, "hours": {"b": [[5, 5]]}}},
    {"pvlib": {"tilt": 30, "azimuth": 180}},
    {"preset": "no-such-preset"},
    {"price": 1},
    {"a": {"b": {"c": []}}},
]

values = st.one_of(
    st.sampled_from(HOSTILE),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.text(max_size=6),
    st.lists(st.integers(-5, 5), max_size=3),
)
OPS = (
    "replace",
    "replace",
    "delete",
    "duplicate",
    "unknown_key",
    "wrap",
    "stringify",
    "percent",
    "negate",
)
mutations = st.lists(
    st.tuples(st.integers(0, 10**6), st.sampled_from(OPS), values), min_size=1, max_size=3
)
TEXT_OPS = ("none", "insert", "delete", "truncate", "tag", "dup_line", "tab")
text_mutation = st.tuples(
    st.sampled_from(TEXT_OPS), st.integers(0, 10**6), st.sampled_from(list(":-[]{}!&*#|>'\"%@`\t"))
)


def slots(node: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key) of a document, depth first, the root's keys first."""
    if isinstance(node, dict):
        for key in list(node):
            yield node, key
            yield from slots(node[key])
    elif isinstance(node, list):
        for i in range(len(node)):
            yield node, i
            yield from slots(node[i])


def mutate(doc: dict, muts: list[tuple[int, str, Any]]) -> None:
    for where, op, value in muts:
        places = list(slots(doc))
        if not places:
            return
        container, key = places[where % len(places)]
        current = container[key]
        if op == "replace":
            container[key] = copy.deepcopy(value)
        elif op == "delete":
            del container[key]
        elif op == "duplicate" and isinstance(current, list) and current:
            current.append(copy.deepcopy(current[where % len(current)]))
        elif op == "duplicate" and isinstance(container, list):
            container.append(copy.deepcopy(current))
        elif op == "unknown_key" and isinstance(current, dict):
            current["bogus_key"] = 1
        elif op == "wrap":
            container[key] = [current]
        elif op == "stringify":
            container[key] = str(current)
        elif op == "percent" and isinstance(current, int | float) and not isinstance(current, bool):
            container[key] = current * 100
        elif op == "negate" and isinstance(current, int | float) and not isinstance(current, bool):
            container[key] = -current


def corrupt(text: str, how: tuple[str, int, str]) -> str:
    op, pos, char = how
    p = pos % (len(text) + 1)
    if op == "insert":
        return text[:p] + char + text[p:]
    if op == "delete":
        return text[:p] + text[p + 1 :]
    if op == "truncate":
        return text[:p]
    if op == "tag":
        line_start = text.rfind("\n", 0, p) + 1
        colon = text.find(": ", line_start)
        if colon < 0:
            return "!!python/object/apply:os.system ['true']\n" + text
        return text[: colon + 2] + "!!python/object/apply:os.system ['true'] " + text[colon + 2 :]
    if op == "dup_line":
        lines = text.splitlines(keepends=True)
        i = pos % len(lines)
        return "".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :])
    if op == "tab":
        return text[:p] + "\t" + text[p:]
    return text


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang(f"one document took more than {ALARM_S} s")


COUNTS = {"documents": 0, "valid": 0, "solved": 0, "yaml": 0}
SCENARIO_FILE = DATA_DIR / "scenario.yaml"


#: documents per Hypothesis example (a batch shares Hypothesis' per-example overhead)
BATCH = 4
#: one document in YAML_SHARE goes through YAML text (pure-Python parsing is the slow part)
YAML_SHARE = 16
#: one valid document in SOLVE_SHARE (with at most 48 periods) is solved too
SOLVE_SHARE = 50


def check_document(doc: dict, as_yaml: bool, text_how: tuple[str, int, str], solve: bool) -> None:
    """Validate (and maybe solve) one document: success or ScenarioError, nothing else."""
    COUNTS["documents"] += 1
    try:
        if as_yaml:
            COUNTS["yaml"] += 1
            try:
                text = yaml.dump(
                    doc, Dumper=DUMPER, sort_keys=False, default_flow_style=None, width=200
                )
            except yaml.YAMLError:
                return
            SCENARIO_FILE.write_text(corrupt(text, text_how), encoding="utf-8")
            scenario = load_scenario(SCENARIO_FILE)
        else:
            scenario = scenario_from_dict(doc, DATA_DIR, file="fuzz.yaml")
        inputs, _, _ = preflight(scenario)  # as `run` and `validate` read it: operation, solver
    except ScenarioError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    COUNTS["valid"] += 1
    if solve and inputs.n_periods <= 48 and inputs.n_units <= 4:
        COUNTS["solved"] += 1
        try:
            run_loaded(scenario, out=None)
        except SolveError as exc:  # a valid but infeasible scenario explains itself
            assert exc.termination == "infeasible" and "infeasible: " in str(exc), exc
        except ScenarioError:
            pass


DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@settings(
    max_examples=-(-N_DOCUMENTS // BATCH),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    base=st.integers(0, len(BASES) - 1),
    batch=st.lists(
        st.tuples(
            mutations,
            st.sampled_from([False] * (YAML_SHARE - 1) + [True]),
            text_mutation,
            st.sampled_from([False] * (SOLVE_SHARE - 1) + [True]),
        ),
        min_size=BATCH,
        max_size=BATCH,
    ),
)
def _fuzz_batch(base: int, batch: list) -> None:
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for muts, as_yaml, text_how, solve in batch:
            doc = copy.deepcopy(BASES[base])
            mutate(doc, muts)
            signal.alarm(ALARM_S)
            check_document(doc, as_yaml, text_how, solve)
            signal.alarm(0)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_bases_are_valid():
    for doc in BASES:
        prepare_inputs(scenario_from_dict(copy.deepcopy(doc), DATA_DIR))


def test_fuzz_scenario_documents():
    _fuzz_batch()
    assert COUNTS["documents"] >= N_DOCUMENTS, COUNTS
    assert COUNTS["valid"] > 0 and COUNTS["solved"] > 0 and COUNTS["yaml"] > 0, COUNTS


# --------------------------------------------------------------------------- sweep files
N_SWEEPS = int(os.environ.get("ESSDISPATCH_FUZZ_SWEEPS", "600"))
SWEEP_BASE_FILE = DATA_DIR / "sweep-base.yaml"
SWEEP_BASE_FILE.write_text(yaml.safe_dump(BASES[2]), encoding="utf-8")
SWEEP_FILE = DATA_DIR / "sweep.yaml"
SWEEP_BASES: list[dict[str, Any]] = [
    {
        "name": "fuzz-sweep",
        "base": "sweep-base.yaml",
        "grid": {
            "objective.carbon_price": [0, 100],
            "sites[0].storage[0].power_mw": {"scale": [1, 2]},
        },
    },
    {
        "name": "fuzz-cases",
        "description": "cases and a grid",
        "base": "sweep-base.yaml",
        "combine": "union",
        "cases": [
            {"name": "small", "set": {"sites[s].storage[u].energy_mwh": 0.5}},
            {"name": "rolling", "set": {"operation": {"mode": "rolling", "window": "1h"}}},
            {"name": "solver", "set": {"solver.options.presolve": "off", "solver.threads": 1}},
        ],
        "grid": {"horizon.end": ["2026-06-01 02:00", "2026-06-01 03:00"]},
        "retries": 1,
    },
]
SWEEP_COUNTS = {"sweeps": 0, "valid": 0}


@settings(
    max_examples=N_SWEEPS,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    base=st.integers(0, len(SWEEP_BASES) - 1),
    muts=mutations,
    as_yaml=st.booleans(),
    text_how=text_mutation,
)
def _fuzz_sweeps(base: int, muts: list, as_yaml: bool, text_how: tuple[str, int, str]) -> None:
    doc = copy.deepcopy(SWEEP_BASES[base])
    mutate(doc, muts)
    try:
        text = yaml.dump(doc, Dumper=DUMPER, sort_keys=False, default_flow_style=None, width=200)
    except yaml.YAMLError:
        return
    SWEEP_FILE.write_text(corrupt(text, text_how) if as_yaml else text, encoding="utf-8")
    SWEEP_COUNTS["sweeps"] += 1
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(ALARM_S)
    try:
        sweep = load_sweep(SWEEP_FILE)
        for case in sweep.cases:  # what `sweep --dry-run` checks for every case
            preflight(case.scenario)
        SWEEP_COUNTS["valid"] += 1
    except ScenarioError as exc:
        assert str(exc) and "\n" not in str(exc)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_sweep_bases_are_valid():
    for doc in SWEEP_BASES:
        SWEEP_FILE.write_text(yaml.safe_dump(doc), encoding="utf-8")
        for case in load_sweep(SWEEP_FILE).cases:
            preflight(case.scenario)


def test_fuzz_sweep_files():
    """Mutated sweep files (grids, cases, operation and solver overrides, YAML damage):
    a loaded sweep whose every case passes the run's checks, or one ScenarioError line."""
    _fuzz_sweeps()
    assert SWEEP_COUNTS["sweeps"] >= N_SWEEPS * 0.9, SWEEP_COUNTS
    assert SWEEP_COUNTS["valid"] > 0, SWEEP_COUNTS
