"""The example scenarios in ``scenarios/``: every file validates, the short ones solve.

* Every ``scenarios/*.yaml`` loads (``load_scenario``) and resolves (``prepare_inputs``),
  including the year-long files (their pvlib profiles, CSVs and presets over 8,760 hours).
* Every ``*-week*.yaml`` and ``*-day.yaml`` file is solved (run + no-storage baseline) and its
  results folder is written and checked with :func:`essdispatch.testing.assert_results_folder`.
  ``run_scenario(path)`` is ``load_scenario(path)`` followed by ``run_loaded``; the test calls
  ``run_loaded`` on the scenario it already loaded, so each file is read once. The year-long
  files are not solved here (see ``benchmarks/``).
* Sanity checks that follow from how the scenarios are built (their comments give the sources):
  the Shaanxi fleet is 1,100 MWh of 5 MWh / 2.5 MW containers; each year-long solar profile has
  the documented full-load hours (1,300 h northern Shaanxi, JA Solar's assumption; 1,200 h
  Guanzhong; 1,147.5 h Poyang = 137.7 GWh / 120 MW) to ±2 %; a unit with ``grid_charging:
  false`` never charges beyond its site's solar surplus; the fleet's storage absorbs curtailment;
  and the high carbon price displaces at least as many marginal-basis tCO2 as λ = 0.
* The carbon-price pair and the year file are the week file with only the stated keys changed,
  and the generated CSV files are current (``scenarios/data/make_*.py``).
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_summary_schema import round_trips

from essdispatch.run import run_loaded
from essdispatch.scenario.load import load_scenario, prepare_inputs
from essdispatch.scenario.presets import shaanxi_spot_synthetic
from essdispatch.testing import assert_results_folder

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
ALL = sorted(SCENARIOS.glob("*.yaml"))
SOLVED = [p for p in ALL if "-week" in p.stem or p.stem.endswith("-day")]
YEARS = [p for p in ALL if p.stem.endswith("-year")]

FLEET = "shaanxi-fleet-1100mwh"
FLEET_FILES = [p for p in ALL if p.stem.startswith(FLEET)]
FLEET_MWH = 1100.0
CONTAINER_MWH, CONTAINER_MW = 5.0, 2.5
BALANCE_TOL = 1e-6  # MW

# documented annual full-load hours of each year scenario's solar profile [h], by site prefix
FULL_LOAD_HOURS = {
    "yulin-": 1300.0,  # JA Solar assumption for Shaanxi (Shaanxi-specific figure UNCONFIRMED)
    "yanan-": 1300.0,
    "xian-": 1200.0,  # Xi'an 3.3 h/day, unsourced code table (L)
    "xianyang-": 1200.0,
    "xixian-": 1200.0,
    "poyang-": 137.7e3 / 120.0,  # Jinko's design yield 137.7 GWh/yr for 120 MW = 1,147.5 h
}


def ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@cache
def loaded(path: Path):
    scenario = load_scenario(path)
    return scenario, prepare_inputs(scenario)


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    out = tmp_path_factory.mktemp("example-results")
    outcomes: dict[Path, object] = {}

    def get(path: Path):
        if path not in outcomes:
            scenario, _ = loaded(path)
            outcomes[path] = run_loaded(scenario, out, file=str(path))
        return outcomes[path]

    return get


def test_there_are_scenarios():
    names = {p.stem for p in ALL}
    for expected in (
        f"{FLEET}-week",
        f"{FLEET}-year",
        f"{FLEET}-week-carbon0",
        f"{FLEET}-week-carbon300",
        "poyang-fishery-solar-storage-week",
        "shaanxi-ci-factory-week",
    ):
        assert expected in names


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_scenario_validates(path):
    scenario, inputs = loaded(path)
    assert scenario.name == path.stem  # results folders are named after the file
    assert np.isfinite(inputs.pv).all() and (inputs.pv >= 0).all()
    assert (inputs.buy_price >= inputs.sell_price).all()
    for s, site in enumerate(scenario.sites):
        if site.solar is not None and site.solar.capacity_mw:
            assert inputs.pv[s].max() <= site.solar.capacity_mw + 1e-9


@pytest.mark.parametrize("path", SOLVED, ids=ids(SOLVED))
def test_short_scenario_solves(path, solved):
    outcome = solved(path)
    summary = outcome.summary
    assert summary["solver"]["status"] == "Optimal"
    folder = outcome.folder
    assert_results_folder(folder, tol_mw=BALANCE_TOL)
    written = json.loads((folder / "summary.json").read_text())
    assert written["scenario"]["name"] == path.stem
    round_trips(written)  # the schema of summary.json (tests/test_summary_schema.py)
    assert summary["unserved_mwh"] == pytest.approx(0.0, abs=1e-6)
    # storage is optional: the run can always copy the baseline, so it never costs more
    assert summary["savings"] >= -1e-6 * max(1.0, abs(summary["baseline"]["total_cost"]))
    # at most two equivalent full cycles a day (the 1034号 tariff has two valleys a day)
    days = summary["horizon"]["periods"] * summary["horizon"]["dt_h"] / 24.0
    for unit, cycles in summary["equivalent_full_cycles"].items():
        assert 0.0 <= cycles <= 2.0 * days + 1e-6, unit


@pytest.mark.parametrize("path", SOLVED, ids=ids(SOLVED))
def test_no_grid_charging_where_forbidden(path, solved):
    """A site whose units all have grid_charging false charges from its solar surplus only."""
    scenario, inputs = loaded(path)
    frame = pd.read_parquet(solved(path).folder / "dispatch.parquet")
    for s, site in enumerate(scenario.sites):
        units = site.storage
        if not units or any(u.grid_charging for u in units):
            continue
        name = inputs.site_names[s]
        ch = sum(frame[f"{u.name}/ch"] for u in units)
        surplus = (
            frame[f"{name}/pv"]
            - frame[f"{name}/cur"]
            - frame[f"{name}/load"]
            - frame[f"{name}/aux"]
        ).clip(lower=0.0)
        assert (ch <= surplus + BALANCE_TOL).all(), name
        assert (ch <= frame[f"{name}/pv"] - frame[f"{name}/cur"] + BALANCE_TOL).all(), name


@pytest.mark.parametrize("path", FLEET_FILES, ids=ids(FLEET_FILES))
def test_fleet_is_1100_mwh_of_5_mwh_containers(path):
    scenario, inputs = loaded(path)
    assert inputs.energy.sum() == pytest.approx(FLEET_MWH, abs=1e-9)
    assert inputs.count.sum() * CONTAINER_MWH == pytest.approx(FLEET_MWH, abs=1e-9)
    np.testing.assert_allclose(inputs.energy / inputs.count, CONTAINER_MWH)
    np.testing.assert_allclose(inputs.power / inputs.count, CONTAINER_MW)  # 0.5C
    assert len(scenario.groups) == 1  # the shared northern tie


def test_fleet_week_absorbs_curtailment(solved):
    summary = solved(SCENARIOS / f"{FLEET}-week.yaml").summary
    assert summary["baseline"]["curtailed_mwh"] > 0.0
    assert summary["curtailment_absorbed_mwh"] > 0.0
    assert summary["savings"] > 0.0


@pytest.mark.parametrize("path", YEARS, ids=ids(YEARS))
def test_year_profiles_have_documented_full_load_hours(path):
    scenario, inputs = loaded(path)
    assert len(inputs.index) in (8760, 8784) and inputs.dt_h == 1.0
    checked = 0
    for s, site in enumerate(scenario.sites):
        if site.solar is None:
            continue
        target = next(h for prefix, h in FULL_LOAD_HOURS.items() if site.name.startswith(prefix))
        hours = inputs.pv[s].sum() * inputs.dt_h / site.solar.capacity_mw
        assert hours == pytest.approx(target, rel=0.02), site.name
        checked += 1
    assert checked > 0


def test_poyang_year_yield_matches_design():
    _, inputs = loaded(SCENARIOS / "poyang-fishery-solar-storage-year.yaml")
    assert inputs.pv.sum() * inputs.dt_h == pytest.approx(137.7e3, rel=0.02)  # MWh


def test_high_carbon_price_displaces_at_least_as_much(solved):
    """λ·(marginal emissions) is in the objective: raising λ cannot raise them (LP, parametric)."""
    low = solved(SCENARIOS / f"{FLEET}-week-carbon0.yaml").summary
    high = solved(SCENARIOS / f"{FLEET}-week-carbon300.yaml").summary
    assert low["carbon_price"] == 0 and high["carbon_price"] == 300
    assert high["steer_by"] == "marginal"
    tol = 1e-6 * max(1.0, abs(low["emissions_tco2"]["marginal"]))
    assert high["emissions_tco2"]["marginal"] <= low["emissions_tco2"]["marginal"] + tol
    assert (
        high["emissions_displaced_tco2"]["marginal"]
        >= low["emissions_displaced_tco2"]["marginal"] - tol
    )


def _raw(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _without(data: dict, *paths: str) -> dict:
    out = json.loads(json.dumps(data, default=str))
    for dotted in paths:
        *parents, leaf = dotted.split(".")
        node = out
        for key in parents:
            node = node[key]
        node.pop(leaf, None)
    return out


@pytest.mark.parametrize(
    ("variant", "changed"),
    [
        (f"{FLEET}-week-carbon0", ("name", "description", "objective.carbon_price")),
        (f"{FLEET}-week-carbon300", ("name", "description", "objective.carbon_price")),
        (f"{FLEET}-year", ("name", "description", "horizon")),
        (f"{FLEET}-week-rolling", ("name", "operation")),
        ("poyang-fishery-solar-storage-year", ("name", "description", "horizon")),
        (f"{FLEET}-week-hourly", ("name", "description", "signals.carbon")),
        (f"{FLEET}-year-hourly", ("name", "description", "signals.carbon")),
        ("poyang-fishery-solar-storage-week-hourly", ("name", "description", "signals.carbon")),
    ],
)
def test_variants_differ_only_in_stated_keys(variant, changed):
    if variant.endswith("-hourly"):  # the same file on the modelled hourly carbon signals
        base = variant.removesuffix("-hourly")
    else:
        base = variant.replace("-carbon0", "").replace("-carbon300", "").replace("-rolling", "")
        base = base.replace("-year", "-week")
    assert _without(_raw(SCENARIOS / f"{variant}.yaml"), *changed) == _without(
        _raw(SCENARIOS / f"{base}.yaml"), *changed
    )


def test_spot_buy_price_csv_is_current():
    """data/shaanxi-spot-2026.csv: buy = shaanxi-spot-synthetic(seed 7, year 2025) + 270.2."""
    frame = pd.read_csv(SCENARIOS / "data" / "shaanxi-spot-2026.csv")
    index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"])).tz_localize("Asia/Shanghai")
    spot = shaanxi_spot_synthetic(index, 1.0, seed=7, year=2025)
    np.testing.assert_allclose(frame["buy"].to_numpy(), spot + 270.2, atol=0.006)


def test_factory_load_csv_is_current():
    spec = importlib.util.spec_from_file_location(
        "make_factory_load", SCENARIOS / "data" / "make_factory_load.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    frame = pd.read_csv(SCENARIOS / "data" / "factory-loads-2026.csv")
    index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"])).tz_localize("Asia/Shanghai")
    for column, (peak, seed) in module.COLUMNS.items():
        np.testing.assert_allclose(frame[column], module.make(index, peak, seed), atol=0.006)


def test_hourly_signals_variant_reports_the_carbon_accounting(solved):
    """On the modelled signals the split sums to the total and the C&I sites get a 24/7 share."""
    summary = solved(SCENARIOS / f"{FLEET}-week-hourly.yaml").summary
    acc = summary["carbon_accounting"]
    assert acc["carbon_free_247_grid_basis"] == "series"
    for series, total in summary["emissions_displaced_tco2"].items():
        split = acc["emissions_displaced_split_tco2"][series]
        assert sum(split.values()) == pytest.approx(total, abs=1e-9)
        assert abs(acc["split_check_tco2"][series]) < 1e-3
    shares = acc["carbon_free_247"]
    assert set(shares) == {"xian-etdz-factory", "xianyang-factory", "xixian-datacenter"}
    for v in shares.values():
        assert 0.0 <= v["baseline"] <= 1.0 and 0.0 <= v["run"] <= 1.0


def test_hourly_variant_shares_the_spot_weather_seed():
    """The modelled carbon presets use the seed of the spot price preset: one weather draw."""
    data = _raw(SCENARIOS / f"{FLEET}-week-hourly.yaml")
    spot_seed = data["signals"]["sell_price"]["params"]["seed"]
    carbon = data["signals"]["carbon"]
    assert {leaf["params"]["seed"] for leaf in carbon.values()} == {spot_seed}
    assert all(leaf["preset"].endswith("/shaanxi") for leaf in carbon.values())


def test_carbon_price_on_hourly_signals_cannot_raise_marginal_emissions():
    """λ·(marginal emissions) is in the objective: on the modelled signals raising λ from 0 to
    300 cannot raise the run's marginal emissions (LP, parametric). That it strictly lowers them
    is asserted on a constructed case (tests/test_stored_carbon.py); here λ = 0 has ties (equal
    TOU prices) that a solver may break either way."""
    from essdispatch.scenario.load import scenario_from_dict
    from essdispatch.solve.pair import solve_pair

    data = _raw(SCENARIOS / f"{FLEET}-week-hourly.yaml")
    out = {}
    for lam in (0.0, 300.0):
        data["objective"]["carbon_price"] = lam
        inputs = prepare_inputs(scenario_from_dict(data, SCENARIOS, file="hourly"))
        run, _, _, _ = solve_pair(inputs)
        out[lam] = run.figures["emissions_tco2"]["marginal"]
    assert out[300.0] <= out[0.0] + 1e-6 * abs(out[0.0])
