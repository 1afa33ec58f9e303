"""Scenario files: loading, defaults, overrides, prepare_inputs, and every bad-input rule.

Fixtures are YAML text written to ``tmp_path``. Numbers from the file are compared
with ``pytest.approx(..., abs=1e-12)`` (they pass through float arithmetic only).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from essdispatch.base.exceptions import ScenarioError
from essdispatch.scenario.load import (
    Scenario,
    horizon_index,
    load_scenario,
    period_hours,
    prepare_inputs,
    scenario_from_dict,
)

EXACT = 1e-12

BASE = """\
name: test-fleet
description: two sites, one tie
horizon:
  start: 2026-06-01 00:00
  end: 2026-06-02 00:00
  resolution: 60min
  timezone: Asia/Shanghai
signals:
  buy_price: {tou: {periods: {peak: 1200, flat: 700, valley: 300}, hours: {peak: [[8, 11], [17, 23]], valley: [[23, 7]]}, default: flat}}
  sell_price: 250
sites:
  - name: site-a
    location: {lat: 38.29, lon: 109.73}
    solar:
      capacity_mw: 200
      profile: {hourly: [0, 0, 0, 0, 0, 0, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 1, 0.9, 0.8, 0.7, 0.5, 0.3, 0.1, 0, 0, 0, 0, 0]}
    grid: {export_limit_mw: 150, import_limit_mw: 20}
    load: 5
    storage:
      - name: bess-a
        power_mw: 50
        energy_mwh: 100
        charge_efficiency: 0.95
        discharge_efficiency: 0.9
  - name: site-b
    solar: {mw: 10}
    storage:
      - name: bess-b
        power_mw: 10
        energy_mwh: 40
        count: 3
        charge_power_mw: 8
        charge_efficiency: 0.9
        discharge_efficiency: 0.92
        soc_min: 0.1
        soc_max: 0.9
        soc_initial: 0.2
        terminal: cyclic
        self_discharge_per_hour: 0.001
        aux_mw: 0.5
        degradation_cost: 20
        grid_charging: false
        availability: {hourly: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.5, 0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}
groups:
  - {name: tie, sites: [site-a, site-b], export_limit_mw: 140}
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def base_data() -> dict[str, Any]:
    return yaml.safe_load(BASE)


def load_data(tmp_path: Path, data: dict[str, Any]) -> Scenario:
    return load_scenario(write(tmp_path, yaml.safe_dump(data, sort_keys=False)))


def error_text(tmp_path: Path, data_or_text: dict | str) -> str:
    text = data_or_text if isinstance(data_or_text, str) else yaml.safe_dump(data_or_text)
    path = write(tmp_path, text, "bad.yaml")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


# --------------------------------------------------------------------------- loading
def test_load_base_keeps_provenance(tmp_path):
    path = write(tmp_path, BASE)
    sc = load_scenario(path)
    assert sc.path == path
    assert sc.base_dir == tmp_path.resolve()
    assert sc.raw_text == BASE
    assert sc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sc.name == "test-fleet" and sc.model.name == "test-fleet"
    assert sc.currency == "CNY"
    assert sc.description == "two sites, one tie"


def test_models_are_frozen(tmp_path):
    sc = load_scenario(write(tmp_path, BASE))
    with pytest.raises(ValueError):
        sc.model.sites[0].storage[0].power_mw = 1.0  # type: ignore[misc]


def test_raw_text_is_exact_bytes(tmp_path):
    text = BASE.replace("\n", "\r\n")
    path = tmp_path / "crlf.yaml"
    path.write_bytes(text.encode())
    assert load_scenario(path).raw_text == text


def test_prepare_inputs_base(tmp_path):
    inp = prepare_inputs(load_scenario(write(tmp_path, BASE)))
    assert inp.name == "test-fleet" and inp.currency == "CNY"
    assert inp.n_periods == 24 and inp.dt_h == pytest.approx(1.0, abs=EXACT)
    assert str(inp.index.tz) == "Asia/Shanghai"
    assert inp.site_names == ("site-a", "site-b")
    assert inp.pv[0, 12] == pytest.approx(200.0, abs=EXACT)
    assert inp.pv[0, 9] == pytest.approx(140.0, abs=EXACT)
    assert inp.pv[1] == pytest.approx(np.full(24, 10.0), abs=EXACT)
    assert inp.load[0] == pytest.approx(np.full(24, 5.0)) and inp.load[1].sum() == 0.0
    assert inp.buy_price[:, 8] == pytest.approx([1200.0, 1200.0], abs=EXACT)
    assert inp.buy_price[0, 0] == pytest.approx(300.0, abs=EXACT)
    assert inp.sell_price == pytest.approx(np.full((2, 24), 250.0), abs=EXACT)
    assert inp.export_limit == pytest.approx([150.0, np.inf])
    assert inp.import_limit == pytest.approx([20.0, np.inf])
    assert inp.group_names == ("tie",)
    assert inp.group_sites[0].tolist() == [0, 1]
    assert inp.group_export_limit == pytest.approx([140.0])
    assert inp.group_import_limit == pytest.approx([np.inf])


def test_storage_defaults_and_count_scaling(tmp_path):
    inp = prepare_inputs(load_scenario(write(tmp_path, BASE)))
    assert inp.unit_names == ("bess-a", "bess-b")
    assert inp.unit_site.tolist() == [0, 1]
    # bess-a: every default
    assert inp.count[0] == 1
    assert inp.power[0] == pytest.approx(50.0) and inp.charge_power[0] == pytest.approx(50.0)
    assert inp.energy[0] == pytest.approx(100.0)
    assert inp.soc_min[0] == pytest.approx(0.0, abs=EXACT)
    assert inp.soc_max[0] == pytest.approx(1.0, abs=EXACT)
    assert inp.soc_initial[0] == pytest.approx(0.5, abs=EXACT)
    assert inp.terminal[0] == "at_least_initial"
    assert inp.self_discharge[0] == pytest.approx(0.0, abs=EXACT)
    assert inp.aux[0] == pytest.approx(0.0, abs=EXACT)
    assert inp.degradation_cost[0] == pytest.approx(0.0, abs=EXACT)
    assert bool(inp.grid_charging[0]) is True
    assert inp.availability[0] == pytest.approx(np.ones(24), abs=EXACT)
    assert inp.eta_charge[0] == pytest.approx(0.95) and inp.eta_discharge[0] == pytest.approx(0.9)
    # bess-b: count 3 scales power, charge power, energy and aux
    assert inp.count[1] == 3
    assert inp.power[1] == pytest.approx(30.0, abs=EXACT)
    assert inp.charge_power[1] == pytest.approx(24.0, abs=EXACT)
    assert inp.energy[1] == pytest.approx(120.0, abs=EXACT)
    assert inp.aux[1] == pytest.approx(1.5, abs=EXACT)
    assert inp.site_aux == pytest.approx([0.0, 1.5], abs=EXACT)
    assert (inp.soc_min[1], inp.soc_max[1], inp.soc_initial[1]) == pytest.approx((0.1, 0.9, 0.2))
    assert inp.terminal[1] == "cyclic"
    assert inp.self_discharge[1] == pytest.approx(0.001, abs=EXACT)
    assert inp.degradation_cost[1] == pytest.approx(20.0, abs=EXACT)
    assert bool(inp.grid_charging[1]) is False
    assert inp.availability[1, 12] == pytest.approx(0.5, abs=EXACT)


def test_objective_defaults(tmp_path):
    inp = prepare_inputs(load_scenario(write(tmp_path, BASE)))
    assert inp.carbon_price == pytest.approx(0.0, abs=EXACT)
    assert inp.exclusive is False
    assert inp.voll == pytest.approx(12000.0, abs=EXACT)  # 10 × highest buy price (1200)
    assert inp.steer_by == "average"
    assert set(inp.carbon) == {"average"}  # no carbon block anywhere: average 0
    assert inp.carbon["average"] == pytest.approx(np.zeros((2, 24)), abs=EXACT)


def test_voll_floor_and_explicit(tmp_path):
    data = base_data()
    data["signals"] = {"price": 500}
    assert prepare_inputs(load_data(tmp_path, data)).voll == pytest.approx(10000.0, abs=EXACT)
    data["objective"] = {"voll": 5000, "carbon_price": 80, "exclusive_charge_discharge": True}
    inp = prepare_inputs(load_data(tmp_path, data))
    assert inp.voll == pytest.approx(5000.0, abs=EXACT)
    assert inp.carbon_price == pytest.approx(80.0, abs=EXACT) and inp.exclusive is True
    assert inp.buy_price == pytest.approx(inp.sell_price, abs=EXACT)


def test_currency_is_kept(tmp_path):
    data = base_data()
    data["currency"] = "EUR"
    assert prepare_inputs(load_data(tmp_path, data)).currency == "EUR"


def test_carbon_steering_defaults(tmp_path):
    data = base_data()
    data["signals"]["carbon"] = {"average": 0.55}
    inp = prepare_inputs(load_data(tmp_path, data))
    assert inp.steer_by == "average" and set(inp.carbon) == {"average"}
    assert inp.steer_carbon == pytest.approx(np.full((2, 24), 0.55), abs=EXACT)
    data["signals"]["carbon"]["marginal"] = 0.89
    inp = prepare_inputs(load_data(tmp_path, data))
    assert inp.steer_by == "marginal" and set(inp.carbon) == {"average", "marginal"}
    assert inp.steer_carbon == pytest.approx(np.full((2, 24), 0.89), abs=EXACT)
    data["objective"] = {"steer_by": "average"}
    inp = prepare_inputs(load_data(tmp_path, data))
    assert inp.steer_by == "average"
    assert inp.carbon["marginal"] == pytest.approx(np.full((2, 24), 0.89), abs=EXACT)


def test_site_signals_override_leaf_by_leaf(tmp_path):
    data = base_data()
    data["signals"]["carbon"] = {"average": 0.55, "marginal": 0.89}
    data["sites"][1]["signals"] = {
        "buy_price": 900,
        "sell_price": 100,
        "carbon": {"average": 0.2},
    }
    inp = prepare_inputs(load_data(tmp_path, data))
    assert inp.buy_price[1] == pytest.approx(np.full(24, 900.0), abs=EXACT)
    assert inp.sell_price[1] == pytest.approx(np.full(24, 100.0), abs=EXACT)
    assert inp.buy_price[0, 0] == pytest.approx(300.0, abs=EXACT)  # site-a keeps the top level
    assert inp.carbon["average"][:, 0] == pytest.approx([0.55, 0.2], abs=EXACT)
    assert inp.carbon["marginal"][:, 0] == pytest.approx([0.89, 0.89], abs=EXACT)  # inherited
    # a site price overrides the top buy/sell pair
    data["sites"][1]["signals"] = {"price": 400}
    inp = prepare_inputs(load_data(tmp_path, data))
    assert inp.buy_price[1] == pytest.approx(inp.sell_price[1]) and inp.buy_price[1, 0] == 400.0


def test_signals_only_at_sites(tmp_path):
    data = base_data()
    del data["signals"]
    data["sites"][0]["signals"] = {"price": 300}
    data["sites"][1]["signals"] = {"price": 310}
    inp = prepare_inputs(load_data(tmp_path, data))
    assert inp.buy_price[:, 0] == pytest.approx([300.0, 310.0], abs=EXACT)


def test_dst_horizon_has_23_periods(tmp_path):
    data = base_data()
    data["horizon"] = {
        "start": "2026-03-29 00:00",
        "end": "2026-03-30 00:00",
        "resolution": "60min",
        "timezone": "Europe/Berlin",
    }
    sc = load_data(tmp_path, data)
    inp = prepare_inputs(sc)
    assert inp.n_periods == 23 and inp.availability.shape == (2, 23)
    # local 07:00 (flat) and 08:00 (peak) are periods 6 and 7: hour 02:00 is skipped
    assert inp.buy_price[0, 6:8] == pytest.approx([700.0, 1200.0], abs=EXACT)
    assert len(horizon_index(sc.model.horizon)) == 23


@pytest.mark.parametrize(
    ("start", "end", "resolution", "n", "dt"),
    [
        ("2026-06-01", "2026-06-02", "15min", 96, 0.25),
        ("2026-06-01T00:00:00", "2026-06-01 12:00", "1h", 12, 1.0),
        ("2026-06-01 00:00:00+08:00", "2026-06-01 02:00", "30min", 4, 0.5),
    ],
)
def test_horizon_forms(tmp_path, start, end, resolution, n, dt):
    text = BASE.replace("start: 2026-06-01 00:00", f"start: {start}")
    text = text.replace("end: 2026-06-02 00:00", f"end: {end}")
    text = text.replace("resolution: 60min", f"resolution: {resolution}")
    sc = load_scenario(write(tmp_path, text))
    idx = horizon_index(sc.model.horizon)
    assert len(idx) == n and period_hours(sc.model.horizon) == pytest.approx(dt, abs=EXACT)
    assert idx[0] == pd.Timestamp("2026-06-01 00:00", tz="Asia/Shanghai")


def test_csv_relative_to_scenario_file(tmp_path):
    (tmp_path / "data").mkdir()
    rows = "".join(f"2026-06-01 {h:02d}:00,{100 + h}\n" for h in range(24))
    (tmp_path / "data" / "p.csv").write_text("time,price\n" + rows)
    data = base_data()
    data["signals"] = {"price": {"csv": "data/p.csv", "column": "price"}}
    inp = prepare_inputs(load_data(tmp_path, data))
    assert inp.buy_price[0] == pytest.approx(100.0 + np.arange(24), abs=EXACT)


def test_pvlib_profile_in_a_scenario(tmp_path):
    data = base_data()
    data["sites"][0]["solar"]["profile"] = {"pvlib": {"tilt": 30, "azimuth": 180, "seed": 3}}
    inp = prepare_inputs(load_data(tmp_path, data))
    assert inp.pv[0, 0] == pytest.approx(0.0, abs=EXACT) and inp.pv[0, 12] > 100.0


def test_operation_and_solver_blocks_accepted(tmp_path):
    data = base_data()
    data["operation"] = {"mode": "rolling", "window": "24h"}  # checked by validate/run (issue 16)
    data["solver"] = {
        "time_limit_s": 30,
        "threads": 2,
        "options": {"mip_rel_gap": 1e-6, "presolve": "on", "parallel": True},
    }
    sc = load_data(tmp_path, data)
    assert sc.model.operation == {"mode": "rolling", "window": "24h"}
    assert sc.model.solver.time_limit_s == pytest.approx(30.0)
    assert sc.model.solver.threads == 2
    assert sc.model.solver.options == {"mip_rel_gap": 1e-6, "presolve": "on", "parallel": True}
    text = BASE + "solver: {options: {mip_rel_gap: 1e-6, threads: '2', solver: ipm}}\n"
    options = load_scenario(write(tmp_path, text, "opts.yaml")).model.solver.options
    assert options == {"mip_rel_gap": pytest.approx(1e-6, rel=1e-12), "threads": 2, "solver": "ipm"}


def test_scenario_from_dict_round_trip(tmp_path):
    sc = load_scenario(write(tmp_path, BASE))
    data = sc.to_dict()
    data["sites"][0]["storage"][0]["power_mw"] = 60
    other = scenario_from_dict(data, sc.base_dir)
    assert other.path is None and other.file == "<dict>"
    assert other.sha256 == hashlib.sha256(other.raw_text.encode()).hexdigest()
    a, b = prepare_inputs(sc), prepare_inputs(other)
    assert b.power[0] == pytest.approx(60.0, abs=EXACT)
    assert b.buy_price == pytest.approx(a.buy_price, abs=EXACT)
    assert yaml.safe_load(other.raw_text)["sites"][0]["storage"][0]["power_mw"] == 60
    # the dumped text is itself a valid scenario file
    assert load_scenario(write(tmp_path, other.raw_text, "again.yaml")).name == "test-fleet"


def test_scenario_from_dict_errors_name_the_source(tmp_path):
    data = base_data()
    data["name"] = "Bad Name"
    with pytest.raises(ScenarioError, match=r"^sweep-3: name: must use only"):
        scenario_from_dict(data, tmp_path, file="sweep-3")


# --------------------------------------------------------------------------- bad input
def at(path: str, value: Any) -> Callable[[dict], None]:
    """A mutation setting (or, with value DELETE, removing) ``a.b[0].c`` in the data."""

    def apply(data: dict) -> None:
        parts = path.replace("]", "").replace("[", ".").split(".")
        node: Any = data
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        last = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list) and last == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[last] = copy.deepcopy(value)

    return apply


DELETE = object()
UNIT = "sites[0].storage[0]"


BAD_CASES = [
    ("name", at("name", "Test Fleet"), "name: must use only a-z"),
    ("name-missing", at("name", DELETE), "name: required key missing"),
    ("unknown-top", at("foo", 1), "foo: unknown key (allowed here: name, description"),
    ("typo", at(f"{UNIT}.soc_mn", 0.1), f"{UNIT}.soc_mn: unknown key (allowed here: name,"),
    ("horizon-whole", at("horizon.end", "2026-06-01 12:30"), "horizon.end: end - start (12.5 h)"),
    ("horizon-order", at("horizon.end", "2026-05-31 00:00"), "horizon.end: must be after start"),
    (
        "resolution-day",
        at("horizon.resolution", "1D"),
        "horizon.resolution: resolution '1D' has no fixed length",
    ),
    ("resolution-month", at("horizon.resolution", "MS"), "horizon.resolution: resolution 'MS'"),
    (
        "resolution-bad",
        at("horizon.resolution", "abc"),
        "horizon.resolution: unknown resolution 'abc'",
    ),
    ("resolution-sub-minute", at("horizon.resolution", "30s"), "not a whole number of minutes"),
    (
        "timezone",
        at("horizon.timezone", "Mars/Olympus"),
        "horizon.timezone: unknown time zone 'Mars/Olympus'",
    ),
    ("start-text", at("horizon.start", "tomorrow"), "horizon.start: not a date-time: 'tomorrow'"),
    (
        "solar-both",
        at("sites[1].solar.profile", 0.5),
        "sites[1].solar: give profile or mw, not both",
    ),
    ("solar-neither", at("sites[1].solar", {}), "sites[1].solar: give profile"),
    (
        "profile-capacity",
        at("sites[0].solar.capacity_mw", DELETE),
        "sites[0].solar.capacity_mw: required with profile",
    ),
    (
        "unit-dup",
        at("sites[1].storage[0].name", "bess-a"),
        "sites[1].storage[0].name: duplicate unit name 'bess-a' (also sites[0].storage[0])",
    ),
    ("site-dup", at("sites[1].name", "site-a"), "sites[1].name: duplicate site name 'site-a'"),
    (
        "group-dup",
        at("groups[1]", {"name": "tie", "sites": ["site-a"]}),
        "groups[1].name: duplicate group name 'tie'",
    ),
    (
        "group-site",
        at("groups[0].sites[1]", "site-x"),
        "groups[0].sites[1]: unknown site 'site-x' (sites: site-a, site-b)",
    ),
    (
        "group-site-twice",
        at("groups[0].sites[1]", "site-a"),
        "groups[0].sites[1]: site 'site-a' listed twice",
    ),
    ("power-missing", at(f"{UNIT}.power_mw", DELETE), f"{UNIT}.power_mw: required key missing"),
    (
        "energy-missing",
        at(f"{UNIT}.energy_mwh", DELETE),
        f"{UNIT}.energy_mwh: required key missing",
    ),
    (
        "eta-c-missing",
        at(f"{UNIT}.charge_efficiency", DELETE),
        f"{UNIT}.charge_efficiency: required key missing",
    ),
    (
        "eta-d-missing",
        at(f"{UNIT}.discharge_efficiency", DELETE),
        f"{UNIT}.discharge_efficiency: required key missing",
    ),
    (
        "eta-percent",
        at(f"{UNIT}.charge_efficiency", 95),
        f"{UNIT}.charge_efficiency: must be in (0, 1], got 95 (looks like a percent; write 0.95)",
    ),
    (
        "eta-zero",
        at(f"{UNIT}.discharge_efficiency", 0),
        f"{UNIT}.discharge_efficiency: must be in (0, 1], got 0",
    ),
    (
        "soc-percent",
        at(f"{UNIT}.soc_max", 90),
        f"{UNIT}.soc_max: must be a fraction in [0, 1], got 90 (looks like a percent; write 0.9)",
    ),
    (
        "soc-negative",
        at(f"{UNIT}.soc_min", -0.1),
        f"{UNIT}.soc_min: must be a fraction in [0, 1], got -0.1",
    ),
    (
        "soc-min-order",
        at(f"{UNIT}.soc_min", 0.7),
        f"{UNIT}.soc_min: must be <= soc_initial (0.5), got 0.7",
    ),
    (
        "soc-max-order",
        at(f"{UNIT}.soc_max", 0.4),
        f"{UNIT}.soc_initial: must be <= soc_max (0.4), got 0.5",
    ),
    (
        "power-negative",
        at(f"{UNIT}.power_mw", -1),
        f"{UNIT}.power_mw: Input should be greater than or equal to 0, got -1",
    ),
    (
        "energy-inf",
        at(f"{UNIT}.energy_mwh", float("inf")),
        f"{UNIT}.energy_mwh: Input should be a finite number",
    ),
    (
        "capacity-nan",
        at("sites[0].solar.capacity_mw", float("nan")),
        "sites[0].solar.capacity_mw: Input should be a finite number",
    ),
    (
        "count-zero",
        at(f"{UNIT}.count", 0),
        f"{UNIT}.count: Input should be greater than or equal to 1",
    ),
    ("count-float", at(f"{UNIT}.count", 1.5), f"{UNIT}.count:"),
    (
        "self-discharge",
        at(f"{UNIT}.self_discharge_per_hour", 2),
        f"{UNIT}.self_discharge_per_hour: must be a fraction",
    ),
    ("aux-negative", at(f"{UNIT}.aux_mw", -1), f"{UNIT}.aux_mw:"),
    ("degradation-negative", at(f"{UNIT}.degradation_cost", -5), f"{UNIT}.degradation_cost:"),
    (
        "terminal",
        at(f"{UNIT}.terminal", "loop"),
        f"{UNIT}.terminal: Input should be 'at_least_initial', 'cyclic' or 'free'",
    ),
    ("grid-charging", at(f"{UNIT}.grid_charging", "maybe"), f"{UNIT}.grid_charging:"),
    ("charge-power-negative", at(f"{UNIT}.charge_power_mw", -2), f"{UNIT}.charge_power_mw:"),
    (
        "availability-range",
        at(f"{UNIT}.availability", 1.5),
        f"{UNIT}.availability: must be in [0, 1] (fraction available), got 1.5 at 2026-06-01 00:00+08:00",
    ),
    (
        "profile-range",
        at("sites[0].solar.profile", {"hourly": [0.0] * 12 + [1.2] + [0.0] * 11}),
        "sites[0].solar.profile: must be in [0, 1] (per-unit of capacity_mw), got 1.2 at 2026-06-01 12:00+08:00",
    ),
    ("mw-negative", at("sites[1].solar.mw", -1), "sites[1].solar.mw: must be >= 0 MW"),
    ("load-negative", at("sites[0].load", -3), "sites[0].load: must be >= 0 MW, got -3"),
    (
        "buy-below-sell",
        at("signals.sell_price", 500),
        "signals.sell_price: buy price must be >= sell price in every period; at 2026-06-01 00:00+08:00 buy 300 < sell 500",
    ),
    (
        "price-and-buy",
        at("signals.price", 500),
        "signals.price: give price, or buy_price and sell_price, not both",
    ),
    (
        "buy-without-sell",
        at("signals.sell_price", DELETE),
        "signals.sell_price: required with buy_price",
    ),
    ("no-price", at("signals", DELETE), "sites[0].signals: site 'site-a' has no price"),
    (
        "location",
        at("sites[0].location.lat", 100),
        "sites[0].location.lat: Input should be less than or equal to 90",
    ),
    (
        "steer-marginal",
        at("objective", {"steer_by": "marginal"}),
        "sites[0].signals.carbon.marginal: objective.steer_by is marginal but site 'site-a' has no marginal",
    ),
    (
        "steer-bad",
        at("objective", {"steer_by": "both"}),
        "objective.steer_by: Input should be 'average' or 'marginal'",
    ),
    ("carbon-price", at("objective", {"carbon_price": -1}), "objective.carbon_price:"),
    ("voll-zero", at("objective", {"voll": 0}), "objective.voll: Input should be greater than 0"),
    (
        "carbon-price-inf",
        at("objective", {"carbon_price": float("inf")}),
        "objective.carbon_price: Input should be a finite number",
    ),
    (
        "series-nan",
        at("signals.sell_price", float("nan")),
        "signals.sell_price: Input should be a finite number",
    ),
    (
        "series-unknown",
        at("sites[0].load", {"daily": 3}),
        "sites[0].load: not a series: expected a number or a mapping",
    ),
    (
        "series-nan-hourly",
        at("sites[0].load", {"hourly": [1.0] * 23 + [float("nan")]}),
        "sites[0].load.hourly[23]: Input should be a finite number",
    ),
    (
        "csv-missing",
        at("sites[0].load", {"csv": "nope.csv", "column": "mw"}),
        "sites[0].load.csv: file not found",
    ),
    (
        "pvlib-not-solar",
        at("sites[0].load", {"pvlib": {"tilt": 30, "azimuth": 180}}),
        "sites[0].load: the pvlib form is only for a solar profile",
    ),
    (
        "pvlib-no-location",
        at(
            "sites[1].solar", {"capacity_mw": 5, "profile": {"pvlib": {"tilt": 30, "azimuth": 180}}}
        ),
        "sites[1].solar.profile: the pvlib form needs the site's location",
    ),
    ("sites-empty", at("sites", []), "sites: List should have at least 1 item"),
    (
        "solver-unknown",
        at("solver", {"time_limit": 3}),
        "solver.time_limit: unknown key (allowed here: time_limit_s, threads, options, allow_loose_gap)",
    ),
    (
        "solver-option",
        at("solver", {"options": {"x": [1]}}),
        "solver.options: option 'x' must be a string, number or true/false",
    ),
    ("solver-threads", at("solver", {"threads": 0}), "solver.threads:"),
    ("currency-type", at("currency", 5), "currency: Input should be a valid string"),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES]
)
def test_bad_input(tmp_path, mutate, expected):
    data = base_data()
    mutate(data)
    assert expected in error_text(tmp_path, data)


def test_carbon_average_needed_everywhere_once_given(tmp_path):
    data = base_data()
    data["sites"][0]["signals"] = {"carbon": {"average": 0.5}}
    text = error_text(tmp_path, data)
    assert "sites[1].signals.carbon.average: site 'site-b' has no average carbon intensity" in text


def test_all_problems_are_listed(tmp_path):
    data = base_data()
    data["sites"][0]["storage"][0]["charge_efficiency"] = 95
    data["sites"][1]["storage"][0]["soc_min"] = 0.5  # > soc_initial 0.2
    data["horizon"]["timezone"] = "Nowhere/City"
    data["sites"][1]["name"] = "site-a"
    text = error_text(tmp_path, data)
    assert f"{UNIT}.charge_efficiency: must be in (0, 1]" in text
    assert "sites[1].storage[0].soc_min: must be <= soc_initial (0.2), got 0.5" in text
    assert "horizon.timezone: unknown time zone" in text
    assert "sites[1].name: duplicate site name 'site-a'" in text


def test_all_series_problems_are_listed(tmp_path):
    data = base_data()
    data["sites"][0]["load"] = -1
    data["sites"][1]["storage"][0]["availability"] = 2
    text = error_text(tmp_path, data)
    assert "sites[0].load: must be >= 0 MW" in text
    assert "sites[1].storage[0].availability: must be in [0, 1]" in text


def test_dst_nonexistent_start(tmp_path):
    data = base_data()
    data["horizon"].update(
        start="2026-03-29 02:30", end="2026-03-30 02:30", timezone="Europe/Berlin"
    )
    assert "horizon.start: 2026-03-29 02:30:00 does not exist or is ambiguous" in error_text(
        tmp_path, data
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: [unclosed\n", "invalid YAML at line"),
        ("name: a\n  bad: indent\n", "invalid YAML"),
        ("- a\n- b\n", "expected a mapping (name:, horizon:, sites: ...), got list"),
        ("just text\n", "expected a mapping"),
        ("", "the file is empty"),
        ("!!python/object:os.system {}\n", "YAML tags are not allowed"),
        ("name: !!python/name:os.system\n", "YAML tags are not allowed"),
        (BASE + "name: again\n", "name: key given twice (lines 1 and"),
    ],
)
def test_malformed_files(tmp_path, text, fragment):
    assert fragment in error_text(tmp_path, text)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ScenarioError, match="nope.yaml: file not found"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(path)
