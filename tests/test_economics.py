"""MODEL.md constraints 9–12: hand-solved optima, routes, revenue streams, bad input."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from essdispatch.base.exceptions import ScenarioError
from essdispatch.model.econ import month_structure
from essdispatch.model.econ_figures import revenue_streams
from essdispatch.results.extract import delta_figures
from essdispatch.run import run_scenario
from essdispatch.scenario.econ_keys import capital_recovery_factor
from essdispatch.scenario.load import prepare_inputs, scenario_from_dict
from essdispatch.solve.dispatch import solve_dispatch, solve_joint
from essdispatch.testing import assert_energy_balance

HERE = Path(__file__).resolve().parent
TZ = "Asia/Shanghai"


def scenario(sites: list[dict], start: str, end: str, price=0.0, **extra) -> dict:
    return {
        "name": "econ-case",
        "horizon": {"start": start, "end": end, "resolution": "60min", "timezone": TZ},
        "signals": {"price": price},
        "sites": sites,
        **extra,
    }


def solve(data: dict, decompose: bool = True, base_dir: Path = HERE):
    inputs = prepare_inputs(scenario_from_dict(data, base_dir))
    run, _ = solve_dispatch(inputs, decompose=decompose)
    base, _ = solve_dispatch(inputs.without_storage(), decompose=decompose)
    return run, base


def unit(**kw) -> dict:
    out = {"name": "bess", "charge_efficiency": 1.0, "discharge_efficiency": 1.0}
    out.update(kw)
    return out


# --------------------------------------------------------------------------- 9 sizing
def test_sizing_duration_bound_binds():
    """Buy at 0 in hour 1, sell at 100 in hour 2 (H = 2/8760, r = 0, L = 1: CRF = 1).

    Per horizon, a MW of Pn costs 10 and a MWh of En costs 20; the unit moves
    x = min(Pn, En) MWh for 100 each. With dmin = 2 h, En ≥ 2·Pn, so x = Pn and the
    value is 100·Pn − 10·Pn − 20·2·Pn = 50·Pn > 0: Pn = Pmax = 5, En = 2·Pn = 10
    (the duration bound binds; Emax = 20 does not). Objective −500 + 50 + 200 = −250.
    """
    H = 2 / 8760
    data = scenario(
        [
            {
                "name": "a",
                "storage": [
                    unit(
                        soc_initial=0.0,
                        terminal="free",
                        sizing={
                            "power_mw": {"max": 5},
                            "energy_mwh": {"max": 20},
                            "duration_h": {"min": 2},
                            "capex_per_kw": 10 / (H * 1000),
                            "capex_per_kwh": 20 / (H * 1000),
                            "lifetime_years": 1,
                        },
                    )
                ],
            }
        ],
        "2026-06-01 00:00",
        "2026-06-01 02:00",
        price={"hourly": [0, 100] + [0] * 22},
    )
    run, base = solve(data)
    f = run.figures
    assert f["sized_power_mw"]["bess"] == pytest.approx(5.0, abs=1e-7)
    assert f["sized_energy_mwh"]["bess"] == pytest.approx(10.0, abs=1e-7)
    assert f["investment_cost"] == pytest.approx(250.0, abs=1e-6)
    assert run.objective == pytest.approx(-250.0, abs=1e-6)
    assert f["cash_cost"] == pytest.approx(-250.0, abs=1e-6)
    assert delta_figures(f, base.figures)["cash_savings"] == pytest.approx(250.0, abs=1e-6)
    # the state of charge reads the sized energy
    assert run.inputs.energy[0] == pytest.approx(10.0, abs=1e-7)
    assert f["equivalent_full_cycles"]["bess"] == pytest.approx(0.5, abs=1e-7)


def test_sizing_duration_max_and_discount_rate():
    """Same prices, dmax = 1 h, r = 0.08, L = 10 (CRF by hand), Emax = 3 binds:

    x = min(Pn, En); En ≤ 1·Pn so x = En ≤ 3, Pn ≥ En costs without value beyond En:
    Pn = En = 3. Cost per horizon = H·1000·CRF·(capex_kw·3 + capex_kwh·3).
    """
    H = 2 / 8760
    crf = 0.08 * 1.08**10 / (1.08**10 - 1)
    assert capital_recovery_factor(0.08, 10) == pytest.approx(crf, rel=1e-12)
    data = scenario(
        [
            {
                "name": "a",
                "storage": [
                    unit(
                        soc_initial=0.0,
                        terminal="free",
                        sizing={
                            "power_mw": {"min": 0, "max": 50},
                            "energy_mwh": {"max": 3},
                            "duration_h": {"max": 1},
                            "capex_per_kw": 200,
                            "capex_per_kwh": 300,
                            "fixed_om_per_kw_year": 10,
                            "lifetime_years": 10,
                            "discount_rate": 0.08,
                        },
                    )
                ],
            }
        ],
        "2026-06-01 00:00",
        "2026-06-01 02:00",
        price={"hourly": [0, 100] + [0] * 22},
    )
    run, _ = solve(data)
    f = run.figures
    invest = H * 1000 * (crf * (200 * 3 + 300 * 3) + 10 * 3)
    assert invest < 300  # the unit pays: it is built to the bound
    assert f["sized_power_mw"]["bess"] == pytest.approx(3.0, abs=1e-7)
    assert f["sized_energy_mwh"]["bess"] == pytest.approx(3.0, abs=1e-7)
    assert f["investment_cost"] == pytest.approx(invest, rel=1e-9)
    assert run.objective == pytest.approx(-300 + invest, abs=1e-6)


def test_sized_unit_fixed_by_bounds_equals_fixed_unit():
    """A sized unit whose bounds pin it at (P, E) dispatches as the fixed unit (P, E)."""
    price = {"hourly": [30, 20, 10, 50, 90, 60, 40, 80, 70, 20, 15, 95] * 2}
    common = dict(
        charge_efficiency=0.93,
        discharge_efficiency=0.94,
        soc_min=0.1,
        soc_max=0.9,
        soc_initial=0.4,
        degradation_cost=3,
        compensation_per_mwh_discharged=12,
        capacity_payment_per_kw_year=100,
        capacity_reference_hours=2,
    )
    sized = {
        "power_mw": {"min": 4, "max": 4},
        "energy_mwh": {"min": 10, "max": 10},
        "capex_per_kw": 300,
        "capex_per_kwh": 500,
        "lifetime_years": 12,
        "discount_rate": 0.05,
    }
    site = {
        "name": "a",
        "load": {"hourly": [3] * 12 + [5] * 12},
        "grid": {"demand_charge_per_kw_month": 30},
    }
    fixed = scenario(
        [{**site, "storage": [unit(power_mw=4, energy_mwh=10, **common)]}],
        "2026-06-01 00:00",
        "2026-06-02 00:00",
        price=price,
    )
    sz = scenario(
        [{**site, "storage": [unit(sizing=sized, **common)]}],
        "2026-06-01 00:00",
        "2026-06-02 00:00",
        price=price,
    )
    rf, _ = solve(fixed)
    rs, _ = solve(sz)
    inv = rs.figures["investment_cost"]
    assert inv > 0 and rf.figures["investment_cost"] == 0
    assert rs.objective - inv == pytest.approx(rf.objective, abs=1e-6)
    for key in ("energy_cost", "demand_charge_cost", "compensation_revenue", "capacity_revenue"):
        assert rs.figures[key] == pytest.approx(rf.figures[key], abs=1e-6)
    assert_energy_balance(rs)


def test_exclusive_mode_with_sized_unit_is_exact_milp():
    """Exclusive mode with a sized unit: big-M is Pmax, so the LP optimum (no
    simultaneous charge/discharge at a strict spread) is also the MILP optimum."""
    H = 2 / 8760
    sizing = {
        "power_mw": {"max": 5},
        "energy_mwh": {"max": 20},
        "duration_h": {"min": 2},
        "capex_per_kw": 10 / (H * 1000),
        "capex_per_kwh": 20 / (H * 1000),
        "lifetime_years": 1,
    }
    data = scenario(
        [{"name": "a", "storage": [unit(soc_initial=0.0, terminal="free", sizing=sizing)]}],
        "2026-06-01 00:00",
        "2026-06-01 02:00",
        price={"hourly": [0, 100] + [0] * 22},
        objective={"exclusive_charge_discharge": True},
    )
    run, _ = solve(data)
    assert run.objective == pytest.approx(-250.0, abs=1e-5)
    assert run.figures["sized_power_mw"]["bess"] == pytest.approx(5.0, abs=1e-6)


# --------------------------------------------------------------------------- 10 demand charge
def test_month_fractions_across_a_boundary_and_dst():
    import pandas as pd

    idx = pd.date_range(
        "2026-05-31 22:00", "2026-06-01 02:00", freq="60min", inclusive="left", tz=TZ
    )
    months, k, labels = month_structure(idx, 1.0)
    assert labels == ("2026-05", "2026-06")
    assert months.tolist() == [0, 0, 1, 1]
    assert k == pytest.approx([2 / 744, 2 / 720], rel=1e-12)
    # a DST month counts elapsed hours: March 2026 in Berlin has 743
    idx = pd.date_range(
        "2026-03-01", "2026-03-02", freq="60min", inclusive="left", tz="Europe/Berlin"
    )
    _, k, _ = month_structure(idx, 1.0)
    assert k == pytest.approx([24 / 743], rel=1e-12)
    idx = pd.date_range(
        "2026-10-01", "2026-10-02", freq="60min", inclusive="left", tz="Europe/Berlin"
    )
    _, k, _ = month_structure(idx, 1.0)
    assert k == pytest.approx([24 / 745], rel=1e-12)


def test_demand_charge_shaved_by_one_discharge_across_month_boundary(tmp_path):
    """Load 10, 10 (May 31, 22–24 h) then 10, 14 (June 1, 0–2 h); energy is free.

    k_May = 2/744, k_Jun = 2/720, d = 30 CNY/kW·month. The unit holds 4 MWh (P = 4):
    discharging 4 MW in the 14 MW hour cuts June's peak to 10, worth
    1000·30·(2/720)·4 = 333.3; shaving May needs 2 MWh per MW (two hours), worth
    less per MWh. Run: 1000·30·(10·2/744 + 10·2/720); baseline the same with 14 in June.
    """
    site = {
        "name": "factory",
        "load": {"csv": "data/econ_load.csv", "column": "load"},
        "grid": {"demand_charge_per_kw_month": 30},
        "storage": [unit(power_mw=4, energy_mwh=4, soc_initial=1.0, terminal="free")],
    }
    csv = tmp_path / "data" / "econ_load.csv"
    csv.parent.mkdir()
    csv.write_text(
        "time,load\n2026-05-31 22:00,10\n2026-05-31 23:00,10\n"
        "2026-06-01 00:00,10\n2026-06-01 01:00,14\n"
    )
    data = scenario([site], "2026-05-31 22:00", "2026-06-01 02:00")
    run, base = solve(data, base_dir=tmp_path)
    run_cost = 1000 * 30 * (10 * 2 / 744 + 10 * 2 / 720)
    base_cost = 1000 * 30 * (10 * 2 / 744 + 14 * 2 / 720)
    assert run.figures["demand_charge_cost"] == pytest.approx(run_cost, rel=1e-9)
    assert base.figures["demand_charge_cost"] == pytest.approx(base_cost, rel=1e-9)
    assert run.objective == pytest.approx(run_cost, rel=1e-9)
    assert base.objective == pytest.approx(base_cost, rel=1e-9)
    assert run.dis[0, 3] == pytest.approx(4.0, abs=1e-7)
    assert base.figures["peak_import_mw"]["factory"] == pytest.approx(14.0)
    savings = delta_figures(run.figures, base.figures)["cash_savings"]
    assert savings == pytest.approx(1000 * 30 * 4 * 2 / 720, rel=1e-9)
    streams = revenue_streams(run, base)
    assert streams["total"]["demand_charge_savings"] == pytest.approx(savings, rel=1e-9)
    # the storage-free baseline is not split into time blocks when a demand charge links periods
    long = scenario([{**site, "load": 5.0, "storage": []}], "2026-05-01 00:00", "2026-05-15 00:00")
    inputs = prepare_inputs(scenario_from_dict(long, HERE))
    _, stats = solve_dispatch(inputs)
    assert "time blocks" not in stats.route


# --------------------------------------------------------------------------- 11 compensation
def test_compensation_cycle_cap_binds():
    """Flat price 10, η = 0.9 each way, P = E = 1, q = 100/MWh, n = 365 cycles/year,
    24 h (H = 24/8760): Q ≤ 365·H·1 = 1 MWh. Discharging D costs 10·D/0.81 − 10·D
    and earns 100·min(D, 1): D = 1. Objective −100 + 10·(1/0.81 − 1)."""
    data = scenario(
        [
            {
                "name": "a",
                "storage": [
                    unit(
                        power_mw=1,
                        energy_mwh=1,
                        charge_efficiency=0.9,
                        discharge_efficiency=0.9,
                        compensation_per_mwh_discharged=100,
                        compensated_cycles_per_year=365,
                    )
                ],
            }
        ],
        "2026-06-01 00:00",
        "2026-06-02 00:00",
        price=10.0,
    )
    run, base = solve(data)
    assert run.figures["compensation_revenue"] == pytest.approx(100.0, abs=1e-6)
    assert run.figures["discharge_mwh"] == pytest.approx(1.0, abs=1e-6)
    assert run.objective == pytest.approx(-100 + 10 * (1 / 0.81 - 1), abs=1e-6)
    # without the cap the unit cycles as much as power and time allow
    uncapped = copy.deepcopy(data)
    del uncapped["sites"][0]["storage"][0]["compensated_cycles_per_year"]
    run2, _ = solve(uncapped)
    assert run2.figures["discharge_mwh"] > 5.0


# --------------------------------------------------------------------------- 12 capacity
def test_capacity_credit_fixed_unit():
    """P = 10, E = 20, h = 4: Z = min(10, 20/4) = 5 MW; c = 100/kW·year over 24 h."""
    H = 24 / 8760
    data = scenario(
        [
            {
                "name": "a",
                "storage": [
                    unit(
                        power_mw=10,
                        energy_mwh=20,
                        charge_efficiency=0.9,
                        discharge_efficiency=0.9,
                        capacity_payment_per_kw_year=100,
                    )
                ],
            }
        ],
        "2026-06-01 00:00",
        "2026-06-02 00:00",
        price=10.0,
    )
    run, _ = solve(data)
    assert run.figures["capacity_revenue"] == pytest.approx(H * 1000 * 100 * 5, rel=1e-9)
    assert run.objective == pytest.approx(-H * 1000 * 100 * 5, abs=1e-6)


def test_capacity_credit_sized_unit():
    """Sized, Pmax 10, Emax 20, h = 4, capex 100/kW and 150/kWh (r = 0, L = 10), payment
    200/kW·year: a MW of credit needs 1 MW and 4 MWh, costing 1000·(100 + 4·150)/10 = 70 000
    a year and earning 200 000: Z = Pn = En/4 = 5 (Emax binds), Pn no larger."""
    H = 24 / 8760
    data = scenario(
        [
            {
                "name": "a",
                "storage": [
                    unit(
                        charge_efficiency=0.9,
                        discharge_efficiency=0.9,
                        capacity_payment_per_kw_year=200,
                        sizing={
                            "power_mw": {"max": 10},
                            "energy_mwh": {"max": 20},
                            "capex_per_kw": 100,
                            "capex_per_kwh": 150,
                            "lifetime_years": 10,
                        },
                    )
                ],
            }
        ],
        "2026-06-01 00:00",
        "2026-06-02 00:00",
        price=10.0,
    )
    run, _ = solve(data)
    f = run.figures
    assert f["sized_power_mw"]["bess"] == pytest.approx(5.0, abs=1e-7)
    assert f["sized_energy_mwh"]["bess"] == pytest.approx(20.0, abs=1e-7)
    assert f["capacity_revenue"] == pytest.approx(H * 1000 * 200 * 5, rel=1e-9)
    invest = H * 1000 * (100 * 5 + 150 * 20) / 10
    assert f["investment_cost"] == pytest.approx(invest, rel=1e-9)
    assert run.objective == pytest.approx(invest - H * 1000 * 200 * 5, abs=1e-6)


# --------------------------------------------------------------------------- routes, streams
def _random_case(seed: int, n_sites: int = 2, hours: int = 24) -> dict:
    rng = np.random.default_rng(seed)
    sites = []
    for s in range(n_sites):
        units = []
        for b in range(int(rng.integers(1, 3))):
            u = unit(
                name=f"u{s}{b}",
                charge_efficiency=float(rng.uniform(0.85, 0.98)),
                discharge_efficiency=float(rng.uniform(0.85, 0.98)),
                soc_initial=0.5,
                degradation_cost=float(rng.uniform(0, 20)),
                compensation_per_mwh_discharged=float(rng.choice([0, 50, 350])),
                capacity_payment_per_kw_year=float(rng.choice([0, 165])),
                capacity_reference_hours=float(rng.choice([2, 4, 6])),
            )
            if u["compensation_per_mwh_discharged"] > 0 and rng.random() < 0.5:
                u["compensated_cycles_per_year"] = float(rng.uniform(100, 400))
            if rng.random() < 0.5:
                u["sizing"] = {
                    "power_mw": {"min": 0, "max": float(rng.uniform(1, 10))},
                    "energy_mwh": {"min": 0, "max": float(rng.uniform(2, 40))},
                    "duration_h": {"min": 1, "max": 4},
                    "capex_per_kw": float(rng.uniform(100, 400)),
                    "capex_per_kwh": float(rng.uniform(300, 700)),
                    "fixed_om_per_kw_year": 8,
                    "lifetime_years": 15,
                    "discount_rate": 0.06,
                }
            else:
                u["power_mw"] = float(rng.uniform(1, 5))
                u["energy_mwh"] = float(rng.uniform(2, 10))
            units.append(u)
        sites.append(
            {
                "name": f"s{s}",
                "solar": {
                    "capacity_mw": float(rng.uniform(0, 20)),
                    "profile": {
                        "hourly": [0] * 6 + [0.2, 0.5, 0.8, 1, 1, 1, 1, 0.8, 0.5, 0.2] + [0] * 8
                    },
                },
                "load": {"hourly": [float(x) for x in rng.uniform(0, 8, 24)]},
                "grid": {
                    "export_limit_mw": float(rng.uniform(2, 10)),
                    "demand_charge_per_kw_month": float(rng.choice([0, 32])),
                },
                "storage": units,
            }
        )
    price = [float(x) for x in rng.uniform(50, 900, 24)]
    return scenario(
        sites,
        "2026-06-30 12:00",
        f"2026-07-0{1 + hours // 24} 12:00",
        price={"hourly": price},
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000))
def test_streams_sum_to_cash_savings(seed):
    run, base = solve(_random_case(seed))
    streams = revenue_streams(run, base)
    cash_savings = delta_figures(run.figures, base.figures)["cash_savings"]
    assert streams["total"]["cash_savings"] == pytest.approx(cash_savings, abs=1e-6)
    per_site = sum(v["cash_savings"] for v in streams["sites"].values())
    assert per_site == pytest.approx(cash_savings, abs=1e-6)
    per_unit = sum(v["cash_savings"] for v in streams["units"].values())
    assert per_unit == pytest.approx(cash_savings, abs=1e-6)  # every site has units here
    # total_cost = cash_cost + carbon_cost + unserved_cost is the objective
    f = run.figures
    assert f["cash_cost"] + f["carbon_cost"] + f["unserved_cost"] == pytest.approx(
        run.objective, abs=1e-6 * max(1.0, abs(run.objective))
    )


@pytest.mark.parametrize("seed", [1, 7, 42])
def test_per_site_equals_joint_with_sized_units(seed):
    inputs = prepare_inputs(scenario_from_dict(_random_case(seed, n_sites=3), HERE))
    split, stats = solve_dispatch(inputs, decompose=True)
    assert stats.route == "per-site"
    joint = solve_joint(inputs)
    assert split.objective == pytest.approx(
        joint.objective, abs=1e-6 * max(1, abs(joint.objective))
    )
    for key in ("cash_cost", "investment_cost", "demand_charge_cost", "capacity_revenue"):
        assert split.figures[key] == pytest.approx(
            joint.figures[key], abs=1e-5 * max(1, abs(joint.figures[key]))
        )


# --------------------------------------------------------------------------- end to end
FACTORY = HERE.parent / "scenarios" / "xian-ci-factory-demand-charge-week.yaml"


@pytest.mark.skipif(not FACTORY.exists(), reason="example scenario not present")
def test_run_writes_economics_figures_and_cashflows(tmp_path):
    outcome = run_scenario(FACTORY, tmp_path)
    summary = json.loads((outcome.folder / "summary.json").read_text())
    for key in (
        "cash_cost",
        "cash_savings",
        "demand_charge_cost",
        "investment_cost",
        "peak_import_mw",
    ):
        assert key in summary
    for key in ("cash_cost", "demand_charge_cost", "unserved_cost", "peak_import_mw"):
        assert key in summary["baseline"]
    assert "investment_cost" not in summary["baseline"]
    assert summary["revenue_streams"]["total"]["cash_savings"] == pytest.approx(
        summary["cash_savings"], abs=1e-6
    )
    assert (outcome.folder / "cashflows.csv").exists()
    assert summary["finance"]["warnings"]


# --------------------------------------------------------------------------- bad input
SIZED = {
    "power_mw": {"max": 5},
    "energy_mwh": {"max": 20},
    "capex_per_kw": 300,
    "capex_per_kwh": 500,
    "lifetime_years": 15,
}


def _bad(unit_keys: dict | None = None, grid: dict | None = None, **top) -> str:
    u = unit(**(unit_keys or {"power_mw": 1, "energy_mwh": 2}))
    site = {"name": "a", "storage": [u]}
    if grid is not None:
        site["grid"] = grid
    data = scenario([site], "2026-06-01 00:00", "2026-06-02 00:00", price=1.0, **top)
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, HERE, file="bad.yaml")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("bad.yaml: ")
    return msg


@pytest.mark.parametrize(
    ("keys", "expect"),
    [
        ({"power_mw": 1, "energy_mwh": 2, "sizing": SIZED}, "storage[0].power_mw: give power_mw"),
        ({"sizing": SIZED, "count": 2}, "storage[0].count: a sized unit is one unit"),
        ({"sizing": SIZED, "charge_power_mw": 2}, "storage[0].charge_power_mw"),
        ({"energy_mwh": 2}, "storage[0].power_mw: required"),
        (
            {"sizing": {**SIZED, "power_mw": {"min": 6, "max": 5}}},
            "sizing.power_mw.min: must be <= max",
        ),
        ({"sizing": {**SIZED, "energy_mwh": {"min": 30, "max": 20}}}, "sizing.energy_mwh.min"),
        ({"sizing": {**SIZED, "duration_h": {"min": 4, "max": 2}}}, "sizing.duration_h.min"),
        ({"sizing": {**SIZED, "capex_per_kw": -1}}, "sizing.capex_per_kw"),
        ({"sizing": {**SIZED, "capex_per_kwh": -1}}, "sizing.capex_per_kwh"),
        ({"sizing": {**SIZED, "fixed_om_per_kw_year": -1}}, "sizing.fixed_om_per_kw_year"),
        ({"sizing": {**SIZED, "lifetime_years": 0.5}}, "sizing.lifetime_years"),
        ({"sizing": {**SIZED, "discount_rate": 1.0}}, "sizing.discount_rate: must be in [0, 1)"),
        ({"sizing": {**SIZED, "discount_rate": -0.1}}, "sizing.discount_rate"),
        ({"sizing": {**SIZED, "discount_rate": 6}}, "looks like a percent"),
        ({"sizing": {**SIZED, "colour": 1}}, "sizing.colour"),
        (
            {"power_mw": 1, "energy_mwh": 2, "compensation_per_mwh_discharged": -5},
            "compensation_per_mwh_discharged",
        ),
        (
            {"power_mw": 1, "energy_mwh": 2, "compensated_cycles_per_year": 300},
            "compensated_cycles_per_year: caps",
        ),
        (
            {"power_mw": 1, "energy_mwh": 2, "capacity_payment_per_kw_year": -1},
            "capacity_payment_per_kw_year",
        ),
        (
            {"power_mw": 1, "energy_mwh": 2, "capacity_reference_hours": 0},
            "capacity_reference_hours",
        ),
    ],
)
def test_bad_unit_keys(keys, expect):
    assert expect in _bad(keys)


def test_bad_demand_charge():
    assert "grid.demand_charge_per_kw_month" in _bad(grid={"demand_charge_per_kw_month": -3})


@pytest.mark.parametrize(
    ("block", "expect"),
    [
        ({"lifetime_years": 0, "discount_rate": 0.05}, "economics.lifetime_years"),
        ({"lifetime_years": 10, "discount_rate": 1.2}, "economics.discount_rate"),
        (
            {"lifetime_years": 10, "discount_rate": 0.05, "capex_per_kwh": -1},
            "economics.capex_per_kwh",
        ),
        (
            {
                "lifetime_years": 10,
                "discount_rate": 0.05,
                "replacement": {"year": 12, "cost_per_kwh": 100},
            },
            "economics.replacement.year",
        ),
        (
            {"lifetime_years": 10, "discount_rate": 0.05, "calendar_fade_per_year": 2},
            "calendar_fade",
        ),
        ({"discount_rate": 0.05}, "economics.lifetime_years"),
    ],
)
def test_bad_economics_block(block, expect):
    assert expect in _bad(economics=block)


def test_cli_bad_sizing_exits_2_and_writes_nothing(tmp_path):
    import subprocess
    import sys

    import yaml

    data = scenario(
        [{"name": "a", "storage": [unit(power_mw=1, energy_mwh=2, sizing=SIZED)]}],
        "2026-06-01 00:00",
        "2026-06-02 00:00",
        price=1.0,
    )
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from essdispatch.cli import main; main()",
            "run",
            str(path),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    err = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(err) == 1 and "bad.yaml" in err[0] and "power_mw" in err[0]
    assert not (out / "econ-case" / "summary.json").exists()


@pytest.mark.parametrize("seed", [10, 12])  # sized, demand charge, capped compensation, capacity
def test_pyomo_view_compiles_to_the_same_lp_with_economics(seed):
    """The Pyomo model generated from the declarations (constraints 9–12 included)
    compiles to exactly the directly assembled LP and reaches the same optimum."""
    from essdispatch.model import build_model, compile_model, solve_model
    from essdispatch.model.lp import assemble_lp
    from essdispatch.testing import assert_lp_equal

    inputs = prepare_inputs(scenario_from_dict(_random_case(seed, n_sites=2), HERE))
    direct = assemble_lp(inputs)
    for name in ("pn", "en", "dem", "q", "z"):
        assert np.prod(direct.layout.shapes[name]) > 0
    for name in ("size_charge", "size_soc_min", "demand_peak", "compensation_energy"):
        assert name in direct.row_families
    model = build_model(inputs)
    compiled = compile_model(model)
    compiled = compiled[0] if isinstance(compiled, tuple) else compiled
    assert_lp_equal(compiled, direct, tol=1e-9)
    result, _ = solve_model(model)
    joint = solve_joint(inputs)
    assert result.objective == pytest.approx(
        joint.objective, abs=1e-6 * max(1, abs(joint.objective))
    )
    assert result.figures["cash_cost"] == pytest.approx(
        joint.figures["cash_cost"], abs=1e-5 * max(1, abs(joint.figures["cash_cost"]))
    )


def test_infeasible_sized_case_is_explained():
    """A sized unit with Emin = 10 MWh, self-discharge, no availability (it cannot charge)
    and a cyclic terminal rule cannot end where it began: infeasible. The explanation names
    the unit and does not invent soc-window trouble for the sized unit."""
    from essdispatch.base.exceptions import SolveError
    from essdispatch.solve.infeasibility import explain_infeasibility

    data = scenario(
        [
            {
                "name": "a",
                "storage": [
                    unit(
                        terminal="cyclic",
                        self_discharge_per_hour=0.01,
                        availability=0.0,
                        sizing={**SIZED, "energy_mwh": {"min": 10, "max": 20}},
                    )
                ],
            }
        ],
        "2026-06-01 00:00",
        "2026-06-01 04:00",
        price=10.0,
    )
    inputs = prepare_inputs(scenario_from_dict(data, HERE))
    with pytest.raises(SolveError):
        solve_joint(inputs)
    text = explain_infeasibility(inputs)
    assert "bess" in text
    assert "soc_min" not in text and "soc_max" not in text


# --------------------------------------------------------------------------- presets, docs
def test_economics_reference_values_carry_provenance():
    from essdispatch.scenario.econ_presets import economics_table, economics_value

    table = economics_table()
    found = table[table["confidence"] != "UNCONFIRMED"]
    assert (found["source"].str.len() > 40).all()
    assert (table.loc[table["confidence"] == "UNCONFIRMED", "source"] == "NOT FOUND").all()
    assert set(table["confidence"]) <= {"H", "M", "L-M", "L", "UNCONFIRMED"}
    assert economics_value("inner-mongolia-discharge-compensation-2025").value == 350
    assert "120号" in economics_value("inner-mongolia-discharge-compensation-2025").source
    assert "114号" in economics_value("cn-storage-capacity-price-rule-2026").source
    # not found: said so, and no number shipped
    for name in ("cn-capacity-leasing-price", "shaanxi-demand-charge"):
        v = economics_value(name)
        assert v.value is None and v.confidence == "UNCONFIRMED"
    # the derived split reproduces both tender averages it came from
    ce = economics_value("cn-lfp-energy-capex-2025").value
    cp = economics_value("cn-pcs-power-capex-2025").value
    assert ce + cp / 2 == pytest.approx(economics_value("cn-lfp-system-2h-2025").value)
    assert ce + cp / 4 == pytest.approx(economics_value("cn-lfp-system-4h-2025").value)
    with pytest.raises(KeyError):
        economics_value("nope")


def test_scenarios_md_economics_example_validates():
    """The example block of docs/SCENARIOS.md "Economics keys" is accepted as written."""
    import re

    import yaml

    text = (HERE.parent / "docs" / "SCENARIOS.md").read_text(encoding="utf-8")
    section = text[text.index("## Economics keys") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    sites = yaml.safe_load(block)["sites"]
    data = scenario(sites, "2026-06-01 00:00", "2026-06-02 00:00", price=500.0)
    inputs = prepare_inputs(scenario_from_dict(data, HERE))
    assert inputs.econ.sized.tolist() == [True]
    run, base = solve(data)
    assert_energy_balance(run)


def test_sized_unit_pinned_at_its_optimum_equals_the_fixed_unit():
    """Solve a sized unit; pin the bounds at the optimal (Pn, En): same objective; a fixed-size
    unit with those ratings: same objective less the investment term, same cash figures."""
    data = _random_case(12, n_sites=1)
    unit0 = data["sites"][0]["storage"][0]
    if "sizing" not in unit0:
        unit0.pop("power_mw"), unit0.pop("energy_mwh")
        unit0["sizing"] = dict(SIZED, duration_h={"min": 1, "max": 4})
    run, _ = solve(data)
    name = unit0["name"]
    p, e = run.figures["sized_power_mw"][name], run.figures["sized_energy_mwh"][name]
    assert p > 0.1 and e > 0.1
    pinned = copy.deepcopy(data)
    sz = pinned["sites"][0]["storage"][0]["sizing"]
    sz["power_mw"], sz["energy_mwh"] = {"min": p, "max": p}, {"min": e, "max": e}
    sz.pop("duration_h", None)
    run_pinned, _ = solve(pinned)
    assert run_pinned.objective == pytest.approx(run.objective, abs=1e-6 * abs(run.objective))
    fixed = copy.deepcopy(data)
    u = fixed["sites"][0]["storage"][0]
    u.pop("sizing")
    u["power_mw"], u["energy_mwh"] = p, e
    run_fixed, _ = solve(fixed)
    inv = run.figures["investment_cost"]
    assert run_fixed.objective == pytest.approx(run.objective - inv, abs=1e-6 * abs(run.objective))
    assert run_fixed.figures["cash_cost"] == pytest.approx(
        run.figures["cash_cost"] - inv, abs=1e-6 * abs(run.objective)
    )
    assert run_fixed.figures["investment_cost"] == 0.0


def test_rolling_operation_with_economics_keys_is_refused():
    from essdispatch.run import run_loaded

    data = scenario(
        [{"name": "a", "storage": [unit(sizing=SIZED)]}],
        "2026-06-01 00:00",
        "2026-06-03 00:00",
        price={"hourly": [10] * 12 + [90] * 12},
        operation={"mode": "rolling", "window": "24h", "lookahead": "0h"},
    )
    sc = scenario_from_dict(data, HERE, file="roll.yaml")
    with pytest.raises(ScenarioError, match="roll.yaml: operation: rolling operation does not"):
        run_loaded(sc, None)
    data["operation"] = {"mode": "perfect_foresight"}
    out = run_loaded(scenario_from_dict(data, HERE), None)
    assert out.summary["sized_energy_mwh"]["bess"] >= 0


@pytest.mark.skipif(not FACTORY.exists(), reason="example scenario not present")
def test_console_and_compare_show_cash_first(tmp_path):
    from click.testing import CliRunner

    from essdispatch.analysis.compare import compare_table
    from essdispatch.cli import cli

    result = CliRunner().invoke(cli, ["run", str(FACTORY), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("  ")]
    assert lines[0].lstrip().startswith("cash cost")
    assert "carbon cost" in lines[1] and "unserved cost" in lines[1]
    assert any(line.lstrip().startswith("finance: NPV") for line in lines)
    assert any(line.lstrip().startswith("assumptions:") for line in lines)
    folder = tmp_path / "xian-ci-factory-demand-charge-week"
    table = compare_table([folder, folder])
    figures = list(dict.fromkeys(table.index.get_level_values("figure")))
    assert figures[:4] == ["cash_cost", "cash_savings", "carbon_cost", "unserved_cost"]


@pytest.mark.parametrize("seed", [10, 12, 17])
def test_warm_started_joint_equals_cold_with_sized_units(seed):
    """A binding group tie forces the joint solve; it starts from the per-site bases (sized
    units, demand charges, compensation, capacity payment included) and reaches the cold
    optimum; the assembled basis has one basic column per row."""
    from essdispatch.model.lp import assemble_lp
    from essdispatch.solve.highs import SolverOptions, solve_lp
    from essdispatch.solve.warmstart import joint_basis, site_columns

    data = _random_case(seed, n_sites=3)
    data["groups"] = [{"name": "tie", "sites": ["s0", "s1", "s2"], "export_limit_mw": 3.0}]
    inputs = prepare_inputs(scenario_from_dict(data, HERE))
    warm, stats = solve_dispatch(inputs)
    cold = solve_joint(inputs, SolverOptions(warm_start=False))
    assert warm.objective == pytest.approx(cold.objective, rel=1e-7, abs=1e-6)
    assert warm.figures["cash_cost"] == pytest.approx(cold.figures["cash_cost"], rel=1e-6, abs=1e-4)
    assert "group limit binds" in " ".join(stats.notes) or stats.route.startswith("joint")
    lp = assemble_lp(inputs)
    solved = _solve_sites(inputs)
    parts = []
    for sites, _res, (basis, keys) in solved:
        units = np.flatnonzero(np.isin(inputs.unit_site, sites))
        sub = assemble_lp(inputs.subset_sites(sites)).layout
        parts.append((site_columns(lp.layout, sub, sites, units), basis, keys))
    start, why = joint_basis(lp, parts)
    assert why is None and start is not None and start.n_basic == lp.n_rows
    sol = solve_lp(lp, None, start=start)
    assert sol.objective == pytest.approx(cold.objective, rel=1e-7, abs=1e-6)


def _solve_sites(inputs):
    from essdispatch.solve.dispatch import SolveStats
    from essdispatch.solve.dispatch import _solve_sites as solve_sites

    return solve_sites(inputs, None, SolveStats(), 1, lambda _m: None, keep_basis=True)
