"""MODEL.md 13–14: depth-aware ageing cost (Xu et al. 2018 SOC segments) and cycle limits.

Hand-solved cases: a shallow cycle costs less than a deep one of the same energy; the
segments fill in order; one price for every segment is the linear cost; cycle and
throughput limits bind with the expected shadow price; per-site decomposition equals the
joint solve; the Pyomo view is the direct LP.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from essdispatch.base.exceptions import ScenarioError
from essdispatch.model.ageing import curve_presets, nrel_cycle_phi, segment_costs
from essdispatch.model.lp import assemble_lp
from essdispatch.model.numerics import inputs_size
from essdispatch.model.pyomo_view import build_model, compile_model
from essdispatch.results.diagnostics import shadow_prices
from essdispatch.scenario.load import prepare_inputs, scenario_from_dict
from essdispatch.solve.dispatch import SolveStats, solve_dispatch, solve_joint
from essdispatch.solve.highs import SolverOptions
from essdispatch.testing import assert_lp_equal

HERE = Path(__file__).resolve().parent
TZ = "Asia/Shanghai"
#: power law N(δ) = 1000·δ^-2, R = 100 CNY/kWh, J = 4, η = 1, window 0..1:
#: c_j = R·J·(Φ(j/4) − Φ((j−1)/4)) = 25·(2j − 1) CNY/MWh
SQUARE = {
    "cost": "depth_aware",
    "segments": 4,
    "replacement_cost_per_kwh": 100,
    "cycle_life": {"cycles_at_full_depth": 1000, "exponent": 2},
    "assess": False,
}


def pad(values: list[float]) -> dict:
    return {"hourly": list(values) + [0.0] * (24 - len(values))}


def unit(ageing: dict | None = None, **kw) -> dict:
    out = {
        "name": "bess",
        "power_mw": 10,
        "energy_mwh": 10,
        "charge_efficiency": 1.0,
        "discharge_efficiency": 1.0,
        "soc_min": 0.0,
        "soc_initial": 1.0,
        "terminal": "free",
    }
    if ageing is not None:
        out["ageing"] = ageing
    out.update(kw)
    return out


def island(load: list[float], pv: list[float], ageing: dict, hours: int, **kw) -> dict:
    """One site that can neither import nor export: only the battery serves the load."""
    return {
        "name": "ageing-case",
        "horizon": {
            "start": "2026-06-01 00:00",
            "end": f"2026-06-01 {hours:02d}:00",
            "resolution": "60min",
            "timezone": TZ,
        },
        "signals": {"price": 0.0},
        "sites": [
            {
                "name": "s",
                "load": pad(load),
                "solar": {"mw": pad(pv)},
                "grid": {"import_limit_mw": 0, "export_limit_mw": 0},
                "storage": [unit(ageing, **kw)],
            }
        ],
    }


def inputs_of(data: dict):
    return prepare_inputs(scenario_from_dict(data, HERE))


def test_segment_costs_of_a_square_law():
    inp = inputs_of(island([5], [0], SQUARE, 3))
    np.testing.assert_allclose(inp.ageing.segment_cost, [25, 75, 125, 175])


def test_shallow_cycles_cost_less_than_a_deep_one_of_the_same_energy():
    # two 2.5 MWh cycles (refilled in between) vs one 5 MWh cycle, from full
    shallow, _ = solve_dispatch(inputs_of(island([2.5, 0, 2.5], [0, 2.5, 0], SQUARE, 3)))
    deep, _ = solve_dispatch(inputs_of(island([5, 0, 0], [0, 0, 0], SQUARE, 3)))
    assert shallow.figures["discharge_mwh"] == pytest.approx(5.0)
    assert deep.figures["discharge_mwh"] == pytest.approx(5.0)
    assert shallow.objective == pytest.approx(2 * 2.5 * 25)  # segment 1 twice
    assert deep.objective == pytest.approx(2.5 * 25 + 2.5 * 75)  # segments 1 and 2
    assert shallow.figures["degradation_cost"] == pytest.approx(shallow.objective)
    assert deep.figures["degradation_cost"] == pytest.approx(deep.objective)


def test_segments_fill_and_empty_in_order():
    # from empty: 7.5 MWh of solar, then 7.5 MWh of load: segments 1–3 fill and empty
    data = island([0, 7.5], [7.5, 0], SQUARE, 2, soc_initial=0.0)
    r, _ = solve_dispatch(inputs_of(data))
    assert r.objective == pytest.approx(2.5 * (25 + 75 + 125))
    np.testing.assert_allclose(r.extra["seg_dis"].sum(axis=1), [2.5, 2.5, 2.5, 0.0], atol=1e-9)
    # the initial energy sits in the shallowest segments: at 60 % of the window, 1 and 2 are
    # full and 3 is 40 % full
    r, _ = solve_dispatch(inputs_of(island([0], [0], SQUARE, 1, soc_initial=0.6)))
    np.testing.assert_allclose(r.extra["seg_e"][:, 0], [2.5, 2.5, 1.0, 0.0])


@settings(
    max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(0, 10_000),
    segments=st.integers(1, 6),
    eta=st.floats(0.8, 1.0),
    soc_min=st.sampled_from([0.0, 0.05, 0.2]),
)
def test_one_price_for_every_segment_is_the_linear_cost(seed, segments, eta, soc_min):
    """Φ linear (exponent 1): c_j = R/(ηd·(smax−smin)·N1) for all j, and the optimum equals
    the linear model with that degradation cost, for any prices (self-discharge only with
    smin = 0: above a floor its loss is shared equally by the segments, MODEL.md 13)."""
    rng = np.random.default_rng(seed)
    prices = [float(v) for v in rng.uniform(0, 400, 24)]
    n1, R = 2000.0, 300.0
    ageing = {
        "cost": "depth_aware",
        "segments": segments,
        "replacement_cost_per_kwh": R,
        "cycle_life": {"cycles_at_full_depth": n1, "exponent": 1},
        "assess": False,
    }
    c = 1000 * R / (eta * (0.95 - soc_min) * n1)

    def case(ag, cdeg):
        return {
            "name": "linear-eq",
            "horizon": {
                "start": "2026-06-01",
                "end": "2026-06-02",
                "resolution": "60min",
                "timezone": TZ,
            },
            "signals": {"price": {"hourly": prices}},
            "sites": [
                {
                    "name": "s",
                    "load": 3.0,
                    "storage": [
                        unit(
                            ag,
                            soc_min=soc_min,
                            soc_max=0.95,
                            soc_initial=0.5,
                            terminal="at_least_initial",
                            charge_efficiency=eta,
                            discharge_efficiency=eta,
                            degradation_cost=cdeg,
                            self_discharge_per_hour=0.002 if soc_min == 0 else 0.0,
                        )
                    ],
                }
            ],
        }

    inp = inputs_of(case(ageing, 0.0))
    np.testing.assert_allclose(inp.ageing.segment_cost, c, rtol=1e-12)
    seg, _ = solve_dispatch(inp)
    lin, _ = solve_dispatch(inputs_of(case(None, c)))
    assert seg.objective == pytest.approx(lin.objective, rel=1e-7, abs=1e-6)


def test_convex_curve_gives_rising_costs_and_the_preset_matches_blast():
    preset = curve_presets()["lfp_nrel_250ah"]
    params = {k: float(v) for k, v in preset["params"].items()}
    phi = lambda d: nrel_cycle_phi(d, params, 25.0, None, 0.2)  # noqa: E731
    c = segment_costs(phi, 10, 465_000.0, 0.945, 0.9)
    assert np.all(np.diff(c) > 0)
    blast = pytest.importorskip("essdispatch.results.life").blast_model
    try:
        cell = blast()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"BLAST-Lite not installed: {exc}")
    assert cell._params_life | params == cell._params_life  # same numbers as the library


# --------------------------------------------------------------------------- 14 limits
def arbitrage(ageing: dict, hours: int, prices: list[float], **kw) -> dict:
    return {
        "name": "cycle-limit",
        "horizon": {
            "start": "2026-06-01 00:00",
            "end": "2026-06-03 00:00" if hours == 48 else f"2026-06-01 {hours:02d}:00",
            "resolution": "60min",
            "timezone": TZ,
        },
        "signals": {"price": {"hourly": prices}},
        "sites": [{"name": "s", "storage": [unit(ageing, soc_initial=0.0, **kw)]}],
    }


def test_cycles_per_year_binds_with_the_expected_shadow_price():
    # buy at 10, sell at 100; the horizon's share of 2190 cycles/year is 2190·2/8760 = 0.5
    # cycles = 5 MWh: profit 5·90 = 450; one more cycle (10 MWh) is worth 900
    prices = [10.0, 100.0] + [0.0] * 22
    data = arbitrage({"max_cycles_per_year": 2190, "assess": False}, 2, prices)
    r, _ = solve_dispatch(inputs_of(data))
    assert r.objective == pytest.approx(-450.0)
    info = shadow_prices(r)["cycle_limits"]["bess"]["cycles_per_year"]
    assert info["binding"] and info["cycles"] == pytest.approx(0.5)
    assert info["value_per_cycle"] == pytest.approx(900.0)


def test_throughput_per_year_binds_with_the_expected_shadow_price():
    prices = [10.0, 100.0] + [0.0] * 22
    data = arbitrage({"max_throughput_mwh_per_year": 4380 * 3, "assess": False}, 2, prices)
    r, _ = solve_dispatch(inputs_of(data))  # 3 MWh in 2 hours
    assert r.objective == pytest.approx(-3 * 90.0)
    info = shadow_prices(r)["cycle_limits"]["bess"]["throughput_per_year"]
    assert info["value_per_mwh"] == pytest.approx(90.0)


def test_cycles_per_day_bind_day_by_day():
    # two days, each: buy at 10 (hour 2), sell at 100 (hour 20), 50 otherwise; half a cycle
    # a day (5 MWh) binds each day, and one more cycle (10 MWh) on a day is worth 10·90
    day = [50.0] * 24
    day[2], day[20] = 10.0, 100.0
    data = arbitrage({"max_cycles_per_day": 0.5, "assess": False}, 48, day)
    r, _ = solve_dispatch(inputs_of(data))
    assert r.objective == pytest.approx(-2 * 5 * 90.0)
    info = shadow_prices(r)["cycle_limits"]["bess"]["cycles_per_day"]
    assert info["days"] == 2 and info["days_binding"] == 2
    assert info["max_cycles_in_a_day"] == pytest.approx(0.5)
    assert info["value_per_cycle_max"] == pytest.approx(900.0)
    assert info["value_per_cycle_total"] == pytest.approx(1800.0)
    assert r.duals["cycles_day"].shape == (1, 2)


# --------------------------------------------------------------------------- structure
def fleet(ageing: dict) -> dict:
    rng = np.random.default_rng(3)
    sites = []
    for s in range(3):
        sites.append(
            {
                "name": f"s{s}",
                "load": {"hourly": [float(v) for v in rng.uniform(1, 5, 24)]},
                "solar": {"mw": {"hourly": [float(v) for v in rng.uniform(0, 6, 24)]}},
                "storage": [
                    unit(
                        ageing,
                        name=f"b{s}",
                        soc_initial=0.5,
                        soc_min=0.1,
                        charge_efficiency=0.95,
                        discharge_efficiency=0.93,
                        terminal="at_least_initial",
                        degradation_cost=5.0 * s,
                    )
                ],
            }
        )
    return {
        "name": "ageing-fleet",
        "horizon": {
            "start": "2026-06-01",
            "end": "2026-06-03",
            "resolution": "60min",
            "timezone": TZ,
        },
        "signals": {
            "buy_price": {"hourly": [float(v) for v in rng.uniform(200, 900, 24)]},
            "sell_price": 150.0,
        },
        "sites": sites,
    }


AGEING = {
    "cost": "depth_aware",
    "segments": 5,
    "replacement_cost_per_kwh": 500,
    "max_cycles_per_day": 0.8,
    "max_cycles_per_year": 250,
    "assess": False,
}


def test_per_site_decomposition_equals_joint():
    inp = inputs_of(fleet(AGEING))
    joint = solve_joint(inp, SolverOptions(), SolveStats())
    split, stats = solve_dispatch(inp, decompose=True, workers=1)
    assert "site" in stats.route
    assert split.objective == pytest.approx(joint.objective, rel=1e-8)
    assert split.figures["degradation_cost"] == pytest.approx(
        joint.figures["degradation_cost"], rel=1e-6
    )
    np.testing.assert_allclose(split.extra["seg_dis"].sum(axis=0), split.dis.sum(axis=0), atol=1e-7)


def test_pyomo_view_is_the_direct_lp_and_sizes_are_declared():
    inp = inputs_of(fleet(AGEING))
    direct = assemble_lp(inp)
    assert_lp_equal(compile_model(build_model(inp)), direct)
    size = inputs_size(inp)
    assert size.rows == direct.n_rows
    assert size.columns == direct.n_cols
    assert size.nonzeros == direct.A.nnz


@pytest.mark.parametrize(
    ("ageing", "extra", "key"),
    [
        ({"cost": "depth_aware"}, {}, "replacement_cost_per_kwh"),
        ({"curve": "nmc_unknown"}, {}, "curve"),
        ({"cycle_life": {"depth": [0.5, 1.0], "cycles": [1000]}}, {}, "cycle_life.cycles"),
        ({"max_cycles_per_day": -1}, {}, "max_cycles_per_day"),
    ],
)
def test_bad_ageing_keys_name_the_key(ageing, extra, key):
    data = island([1], [0], ageing, 2)
    data["sites"][0]["storage"][0].update(extra)
    if extra:
        for k in ("power_mw", "energy_mwh"):
            data["sites"][0]["storage"][0].pop(k)
    with pytest.raises(ScenarioError) as err:
        inputs_of(data)
    assert key in str(err.value)


def test_rolling_operation_keeps_the_segment_cost_and_the_limits():
    """Perfect forecasts, 24 h windows: the settled result carries the segments' discharge
    (summing to the unit's), the depth-aware cost in its degradation cost and objective, and
    the daily limit holds day by day."""
    from essdispatch.model.ageing import day_structure
    from essdispatch.model.ageing_figures import depth_ageing_cost
    from essdispatch.operate.rolling import parse_operation, run_rolling
    from essdispatch.results.extract import recomputed_objective

    inp = inputs_of(fleet(AGEING))
    rolled, _ = run_rolling(inp, parse_operation({"mode": "rolling", "window": "24h"}))
    perfect, _ = solve_dispatch(inp)
    seg = rolled.extra["seg_dis"]
    a = inp.ageing
    per_unit = np.zeros_like(rolled.dis)
    np.add.at(per_unit, a.segment_unit, seg)
    np.testing.assert_allclose(per_unit, rolled.dis, atol=1e-6)
    assert depth_ageing_cost(rolled) > 0
    linear = inp.dt_h * float((inp.degradation_cost[:, None] * rolled.dis).sum())
    assert rolled.figures["degradation_cost"] == pytest.approx(linear + depth_ageing_cost(rolled))
    assert rolled.objective == pytest.approx(recomputed_objective(rolled))
    assert rolled.objective >= perfect.objective - 1e-6  # foresight is worth ≥ 0
    codes, days = day_structure(inp.index)
    W = (inp.soc_max - inp.soc_min) * inp.energy
    for b in range(inp.n_units):
        per_day = np.bincount(codes, weights=inp.dt_h * rolled.dis[b], minlength=days.size)
        assert np.all(per_day <= 0.8 * W[b] + 1e-6)


def test_rolling_fades_usable_energy_and_raises_the_segment_costs_between_windows():
    """A curve of 10 full cycles to 80 % SOH: each day's realised cycling visibly fades the
    unit; the next window plans with E·SOH and costs c_j/SOH, so it stores less."""
    from essdispatch.operate.rolling import parse_operation, run_rolling

    prices = [100.0] * 6 + [900.0] * 6 + [100.0] * 6 + [900.0] * 6
    ageing = {
        "cost": "depth_aware",
        "segments": 4,
        "replacement_cost_per_kwh": 1,
        "cycle_life": {"cycles_at_full_depth": 10, "exponent": 1.5},
        "assess": False,
    }
    data = {
        "name": "fade",
        "horizon": {
            "start": "2026-06-01",
            "end": "2026-06-04",
            "resolution": "60min",
            "timezone": TZ,
        },
        "signals": {"price": {"hourly": prices}},
        "sites": [
            {
                "name": "s",
                "load": 20.0,
                "storage": [
                    unit(
                        ageing,
                        soc_initial=0.5,
                        terminal="free",
                        power_mw=5,
                        charge_efficiency=0.95,
                        discharge_efficiency=0.95,
                    )
                ],
            }
        ],
    }
    inp = inputs_of(data)
    rolled, stats = run_rolling(
        inp, parse_operation({"mode": "rolling", "window": "24h", "lookahead": "0h"})
    )
    soh = stats.state_of_health["by_window"]["bess"]
    assert len(soh) == 3 and 1.0 > soh[0] > soh[1] > soh[2] > 0.8
    # usable energy of day 3 is E·SOH after day 2
    day3 = rolled.e[0, 48:]
    assert day3.max() <= 10 * soh[1] + 1e-6
    assert stats.summary()["state_of_health"]["by_window"]["bess"] == soh


@settings(
    max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(0, 10_000),
    segments=st.integers(1, 5),
    depth=st.lists(st.booleans(), min_size=3, max_size=3),
    day=st.sampled_from([None, 0.7, 2.0]),
    year=st.sampled_from([None, 200.0]),
    throughput=st.sampled_from([None, 900.0]),
    sigma=st.sampled_from([0.0, 0.01]),
    terminal=st.sampled_from(["at_least_initial", "cyclic", "free"]),
)
def test_declared_families_compile_to_the_direct_lp(
    seed, segments, depth, day, year, throughput, sigma, terminal
):
    """Random fleets with ageing: the Pyomo view compiles to exactly the direct LP, the
    declared sizes are what is built, and the per-site route equals the joint solve."""
    data = fleet(AGEING)
    for s, site in enumerate(data["sites"]):
        u = site["storage"][0]
        u["terminal"] = terminal
        u["self_discharge_per_hour"] = sigma
        ag = {"assess": False, "replacement_cost_per_kwh": 100 + seed % 400}
        if depth[s]:
            ag.update(cost="depth_aware", segments=segments)
        for key, value in (
            ("max_cycles_per_day", day),
            ("max_cycles_per_year", year),
            ("max_throughput_mwh_per_year", throughput),
        ):
            if value is not None and (seed + s) % 2 == 0:
                ag[key] = value
        u["ageing"] = ag
    inp = inputs_of(data)
    direct = assemble_lp(inp)
    assert_lp_equal(compile_model(build_model(inp)), direct)
    size = inputs_size(inp)
    assert (size.rows, size.columns, size.nonzeros) == (direct.n_rows, direct.n_cols, direct.A.nnz)
    split, _ = solve_dispatch(inp, decompose=True, workers=1)
    joint, _ = solve_dispatch(inp, decompose=False)
    assert split.objective == pytest.approx(joint.objective, rel=1e-7, abs=1e-6)


def test_warm_started_joint_equals_cold_with_segments_and_limits():
    """A binding group tie forces the joint solve; it starts from the per-site bases (SOC
    segments and cycle limits included) and reaches the cold optimum."""
    from essdispatch.solve.dispatch import _solve_sites
    from essdispatch.solve.highs import solve_lp
    from essdispatch.solve.warmstart import joint_basis, site_columns

    data = fleet(AGEING)
    for site in data["sites"]:
        site["solar"] = {"mw": 8.0}
        site["load"] = 0.5
    data["signals"] = {
        "buy_price": 1000.0,
        "sell_price": {"hourly": [100.0 + 10 * h for h in range(24)]},
    }
    data["groups"] = [{"name": "tie", "sites": ["s0", "s1", "s2"], "export_limit_mw": 4.0}]
    inputs = inputs_of(data)
    warm, stats = solve_dispatch(inputs)
    cold = solve_joint(inputs, SolverOptions(warm_start=False))
    assert warm.objective == pytest.approx(cold.objective, rel=1e-7, abs=1e-6)
    assert "warm-started" in stats.route, stats.notes
    lp = assemble_lp(inputs)
    solved = _solve_sites(inputs, None, SolveStats(), 1, lambda _m: None, keep_basis=True)
    parts = []
    for sites, _res, (basis, keys) in solved:
        units = np.flatnonzero(np.isin(inputs.unit_site, sites))
        sub = assemble_lp(inputs.subset_sites(sites)).layout
        parts.append((site_columns(lp.layout, sub, sites, units), basis, keys))
    start, why = joint_basis(lp, parts)
    assert why is None and start is not None and start.n_basic == lp.n_rows
    sol = solve_lp(lp, None, start=start)
    assert sol.objective == pytest.approx(cold.objective, rel=1e-7, abs=1e-6)
