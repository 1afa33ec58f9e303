"""Hostile and broken inputs (issue 8, part 1): one test per kind of bad input.

Each case writes a scenario (and data files) to ``tmp_path`` and runs the real
command ``essdispatch run``. It must exit 2 with exactly one line on stderr that
names the file and the key path, and write nothing under ``--out``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from essdispatch.base.exceptions import ScenarioError
from essdispatch.cli import EXIT_BAD_INPUT, cli
from essdispatch.model.numerics import estimate_size, size_problems
from essdispatch.scenario.load import load_scenario

HOURS = [f"2026-06-01 {h:02d}:00" for h in range(24)]
PRICE_CSV = "time,price\n" + "".join(f"{t},{300 + 10 * h}\n" for h, t in enumerate(HOURS))

BASE: dict[str, Any] = {
    "name": "hostile",
    "horizon": {
        "start": "2026-06-01 00:00",
        "end": "2026-06-02 00:00",
        "resolution": "60min",
        "timezone": "Asia/Shanghai",
    },
    "signals": {"price": {"csv": "prices.csv", "column": "price"}},
    "sites": [
        {
            "name": "site-a",
            "solar": {"capacity_mw": 10, "profile": {"hourly": [0] * 6 + [0.5] * 12 + [0] * 6}},
            "grid": {"export_limit_mw": 8, "import_limit_mw": 5},
            "load": 1,
            "storage": [
                {
                    "name": "bess-a",
                    "power_mw": 2,
                    "energy_mwh": 4,
                    "charge_efficiency": 0.95,
                    "discharge_efficiency": 0.95,
                }
            ],
        },
        {"name": "site-b", "solar": {"mw": 3}},
    ],
    "groups": [{"name": "tie", "sites": ["site-a", "site-b"], "export_limit_mw": 9}],
}


def setter(path: str, value: Any) -> Callable[[dict], None]:
    """Set ``a.b[0].c`` in a scenario dict (None deletes the key)."""

    def apply(doc: dict) -> None:
        parts: list[str | int] = []
        for piece in path.replace("]", "").split("."):
            name, *idx = piece.split("[")
            parts.append(name)
            parts.extend(int(i) for i in idx)
        node: Any = doc
        for p in parts[:-1]:
            node = node[p]
        if value is None:
            del node[parts[-1]]
        else:
            node[parts[-1]] = value

    return apply


def run_cli(tmp_path: Path, text: str, csv: str = PRICE_CSV) -> tuple[int, str, Path]:
    """Write scenario + prices.csv, run ``essdispatch run``; (exit code, stderr, out dir)."""
    (tmp_path / "prices.csv").write_text(csv, encoding="utf-8")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(text, encoding="utf-8")
    out = tmp_path / "results"
    res = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(out), "-q"])
    return res.exit_code, res.stderr, out


def assert_rejected(tmp_path: Path, text: str, key: str, fragment: str, csv: str = PRICE_CSV):
    code, err, out = run_cli(tmp_path, text, csv)
    assert code == EXIT_BAD_INPUT, err
    assert err.count("\n") == 1, err  # one line
    assert "scenario.yaml: " in err
    assert f"{key}: " in err and fragment in err, err
    assert not out.exists() or not any(out.iterdir())  # nothing written
    return err


def dumped(mutate: Callable[[dict], None] | None = None) -> str:
    doc = copy.deepcopy(BASE)
    if mutate is not None:
        mutate(doc)
    return yaml.safe_dump(doc, sort_keys=False)


def test_base_scenario_runs(tmp_path):
    code, err, out = run_cli(tmp_path, dumped())
    assert code == 0, err
    assert (out / "hostile" / "summary.json").exists()


def test_malformed_yaml(tmp_path):
    assert_rejected(tmp_path, "name: hostile\nhorizon: [unclosed\n", "", "invalid YAML at line")


@pytest.mark.parametrize(
    "text",
    [
        "!!python/object/apply:os.system ['echo pwned']\n",
        "name: !!python/name:os.system\n",
        "name: !!python/object/new:builtins.dict {}\n",
    ],
)
def test_yaml_tags_that_construct_objects(tmp_path, text):
    assert_rejected(tmp_path, text, "", "YAML tags are not allowed")


HOSTILE_VALUES = [
    # (id, key path, value, expected key path, fragment)
    ("wrong-type-number", "sites[0].storage[0].power_mw", "fifty", None, "valid number"),
    ("wrong-type-list", "sites[0].grid", [1, 2], None, "valid dictionary"),
    ("wrong-type-name", "sites[1].name", 7, None, "valid string"),
    ("nan", "sites[0].storage[0].energy_mwh", float("nan"), None, "finite number"),
    ("inf", "sites[0].grid.export_limit_mw", float("inf"), None, "finite number"),
    ("nan-series", "sites[0].load", float("nan"), None, "finite number"),
    ("negative-capacity", "sites[0].storage[0].power_mw", -5, None, "greater than or equal to 0"),
    ("negative-solar", "sites[0].solar.capacity_mw", -1, None, "greater than or equal to 0"),
    ("huge-capacity", "sites[0].storage[0].power_mw", 5e7, None, "beyond any sane value"),
    ("huge-energy", "sites[0].storage[0].energy_mwh", 1e12, None, "check the unit: MWh"),
    ("huge-limit", "groups[0].export_limit_mw", 1e9, None, "beyond any sane value"),
    ("huge-count", "sites[0].storage[0].count", 10**12, None, "less than or equal to 100000"),
    ("huge-price", "signals", {"price": 5e9}, "signals.price", "must be within ±1e+06"),
    ("negative-huge-price", "signals", {"price": -2e7}, "signals.price", "must be within ±1e+06"),
    ("huge-voll", "objective", {"voll": 1e12}, "objective.voll", "beyond any sane value"),
    (
        "carbon-g-per-kwh",
        "signals.carbon",
        {"average": 600},
        "signals.carbon.average",
        "not g/kWh",
    ),
    ("efficiency-zero", "sites[0].storage[0].charge_efficiency", 0, None, "must be in (0, 1]"),
    ("efficiency-above-one", "sites[0].storage[0].discharge_efficiency", 1.2, None, "(0, 1]"),
    (
        "efficiency-percent",
        "sites[0].storage[0].charge_efficiency",
        95,
        None,
        "looks like a percent; write 0.95",
    ),
    ("soc-percent", "sites[0].storage[0].soc_max", 90, None, "looks like a percent; write 0.9"),
    (
        "profile-percent",
        "sites[0].solar.profile",
        {"hourly": [0] * 6 + [50] * 12 + [0] * 6},
        None,
        "looks like a percent; write 0.5",
    ),
    ("unknown-key", "sites[0].storage[0].capacity", 3, None, "unknown key"),
    (
        "missing-required",
        "sites[0].storage[0].power_mw",
        None,
        "sites[0].storage[0].power_mw",
        "required key missing",
    ),
    ("unknown-timezone", "horizon.timezone", "Mars/Olympus_Mons", None, "unknown time zone"),
    ("not-whole-periods", "horizon.end", "2026-06-01 23:30", "horizon.end", "not a whole number"),
    ("end-before-start", "horizon.end", "2026-05-30 00:00", "horizon.end", "must be after start"),
    ("bad-resolution", "horizon.resolution", "1MS", None, "no fixed length"),
    ("unknown-terminal", "sites[0].storage[0].terminal", "never", None, "at_least_initial"),
]


@pytest.mark.parametrize(
    ("path", "value", "key", "fragment"),
    [c[1:] for c in HOSTILE_VALUES],
    ids=[c[0] for c in HOSTILE_VALUES],
)
def test_hostile_value(tmp_path, path, value, key, fragment):
    assert_rejected(tmp_path, dumped(setter(path, value)), key or path, fragment)


def test_soc_bounds_crossed(tmp_path):
    def mutate(doc: dict) -> None:
        doc["sites"][0]["storage"][0].update(soc_min=0.8, soc_max=0.2, soc_initial=0.5)

    assert_rejected(tmp_path, dumped(mutate), "sites[0].storage[0].soc_max", "bounds are crossed")


def test_soc_initial_outside_bounds(tmp_path):
    def mutate(doc: dict) -> None:
        doc["sites"][0]["storage"][0].update(soc_min=0.1, soc_max=0.6, soc_initial=0.9)

    assert_rejected(tmp_path, dumped(mutate), "sites[0].storage[0].soc_initial", "<= soc_max")


def test_buy_price_below_sell_price(tmp_path):
    text = dumped(setter("signals", {"buy_price": 100, "sell_price": 200}))
    assert_rejected(tmp_path, text, "signals.sell_price", "buy price must be >= sell price")


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("sites[0].solar.profile", {"hourly": [0.5] * 23}, "at least 24 items"),
        ("sites[0].load", {"hourly": [1] * 25}, "at most 24 items"),
    ],
    ids=["too-short", "too-long"],
)
def test_series_of_wrong_length(tmp_path, path, value, fragment):
    assert_rejected(tmp_path, dumped(setter(path, value)), path + ".hourly", fragment)


def test_csv_not_covering_the_horizon(tmp_path):
    short = "time,price\n" + "".join(f"{t},300\n" for t in HOURS[:12])
    assert_rejected(tmp_path, dumped(), "signals.price.csv", "but the horizon needs", csv=short)


CSV_CASES = [
    ("missing-timestamp", PRICE_CSV.replace("2026-06-01 05:00", ""), "csv", "missing timestamp"),
    (
        "duplicated-timestamp",
        PRICE_CSV.replace("2026-06-01 05:00", "2026-06-01 04:00"),
        "csv",
        "duplicated timestamp",
    ),
    (
        "unsorted",
        PRICE_CSV.replace("2026-06-01 05:00", "2026-06-01 07:30"),
        "csv",
        "not in increasing order",
    ),
    ("wrong-column", PRICE_CSV.replace("time,price", "time,cost"), "column", "no column 'price'"),
    (
        "non-numeric",
        PRICE_CSV.replace(",350\n", ",n/a\n"),
        "column",
        "'n/a' is not a finite number",
    ),
    ("empty-cell", PRICE_CSV.replace(",350\n", ",\n"), "column", "empty cell"),
    ("nan-cell", PRICE_CSV.replace(",350\n", ",nan\n"), "column", "not a finite number"),
]


@pytest.mark.parametrize(
    ("csv", "key", "fragment"), [c[1:] for c in CSV_CASES], ids=[c[0] for c in CSV_CASES]
)
def test_broken_csv(tmp_path, csv, key, fragment):
    assert_rejected(tmp_path, dumped(), f"signals.price.{key}", fragment, csv=csv)


def test_csv_path_missing(tmp_path):
    text = dumped(setter("signals.price.csv", "nope.csv"))
    assert_rejected(tmp_path, text, "signals.price.csv", "file not found")


def test_csv_path_is_a_directory(tmp_path):
    (tmp_path / "adir").mkdir()
    text = dumped(setter("signals.price.csv", "adir"))
    assert_rejected(tmp_path, text, "signals.price.csv", "is a directory")


def test_unknown_site_in_group(tmp_path):
    text = dumped(setter("groups[0].sites", ["site-a", "site-z"]))
    assert_rejected(tmp_path, text, "groups[0].sites[1]", "unknown site 'site-z'")


@pytest.mark.parametrize(
    ("path", "value", "key", "fragment"),
    [
        ("sites[1].name", "site-a", "sites[1].name", "duplicate site name 'site-a'"),
        (
            "sites[1].storage",
            [
                {
                    "name": "bess-a",
                    "power_mw": 1,
                    "energy_mwh": 1,
                    "charge_efficiency": 0.9,
                    "discharge_efficiency": 0.9,
                }
            ],
            "sites[1].storage[0].name",
            "duplicate unit name 'bess-a'",
        ),
        (
            "groups",
            [{"name": "tie", "sites": ["site-a"]}, {"name": "tie", "sites": ["site-b"]}],
            "groups[1].name",
            "duplicate group name 'tie'",
        ),
    ],
    ids=["site", "unit", "group"],
)
def test_duplicate_names(tmp_path, path, value, key, fragment):
    assert_rejected(tmp_path, dumped(setter(path, value)), key, fragment)


def test_duplicate_yaml_key(tmp_path):
    assert_rejected(tmp_path, dumped() + "name: again\n", "name", "key given twice")


def test_enormous_horizon_is_refused_with_the_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr("essdispatch.model.numerics.available_memory", lambda: 10**9)
    text = dumped(
        lambda d: d["horizon"].update(end="2031-06-01 00:00", resolution="5min", timezone="UTC")
    )
    err = assert_rejected(tmp_path, text, "horizon", "of memory")
    assert "525,888 periods" in err and "nonzeros" in err and "but 1 GB is available" in err


def test_horizon_beyond_highs_is_refused(tmp_path):
    text = dumped(
        lambda d: d["horizon"].update(end="2526-06-01 00:00", resolution="1min", timezone="UTC")
    )
    err = assert_rejected(tmp_path, text, "horizon", "too large for HiGHS")
    assert "262,974,240 periods" in err  # 500 years of minutes, refused before any series


def test_size_check_against_given_memory():
    size = estimate_size(2, 3, 8760)
    assert size_problems(size, available=size.bytes + 1) == []
    (key, msg), *_ = size_problems(size, available=size.bytes // 2)
    assert key == "horizon" and f"{size.columns:,} columns" in msg


def test_size_check_beyond_highs_indexing():
    (key, msg), *_ = size_problems(estimate_size(1000, 1000, 10**6), available=2**62)
    assert key == "horizon" and "too large for HiGHS" in msg


def test_scenario_file_is_a_directory(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path)
