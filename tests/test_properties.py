"""Property tests over random fleets and prices (hypothesis, derandomized)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from essdispatch.base.inputs import Inputs, default_voll
from essdispatch.model import build_model, solve_model
from essdispatch.solve.dispatch import solve_dispatch, solve_joint
from essdispatch.solve.highs import SolverOptions
from essdispatch.testing import assert_valid_result

PROPS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def random_fleet(
    seed: int,
    n_sites: int,
    units_per_site: int,
    T: int,
    *,
    dt_h: float = 1.0,
    group_export: float | None = None,
    aux: bool = False,
    self_discharge: bool = False,
    exclusive: bool = False,
) -> Inputs:
    """A random but well-posed fleet: prices with buy ≥ sell, PV, load, limits, units."""
    rng = np.random.default_rng(seed)
    S = n_sites
    hours = np.arange(T) * dt_h
    shape = np.clip(np.sin((hours % 24 - 6) / 12 * np.pi), 0, None)
    pv = rng.uniform(0, 30, (S, 1)) * shape[None, :] * rng.uniform(0.5, 1.0, (S, T))
    load = rng.uniform(0, 8, (S, T)) * (rng.uniform(size=(S, 1)) < 0.6)
    sell = rng.uniform(-20, 120, (S, T))
    buy = sell + rng.uniform(0, 40, (S, T))
    avg = rng.uniform(0.3, 0.8, (S, T))
    marg = rng.uniform(0.6, 1.1, (S, T))
    B = S * units_per_site
    unit_site = np.repeat(np.arange(S), units_per_site)
    energy = rng.uniform(1, 40, B)
    power = energy / rng.choice([1, 2, 4], B)
    soc_min = rng.uniform(0, 0.2, B)
    soc_max = rng.uniform(0.8, 1.0, B)
    soc_init = soc_min + (soc_max - soc_min) * rng.uniform(0, 1, B)
    index = pd.date_range(
        "2026-06-01", periods=T, freq=pd.Timedelta(hours=dt_h), tz="Asia/Shanghai"
    )
    groups = ()
    if group_export is not None and S > 1:
        groups = (np.arange(S),)
    return Inputs(
        name="prop",
        index=index,
        dt_h=dt_h,
        currency="CNY",
        carbon_price=float(rng.choice([0, 50, 200])),
        steer_by=str(rng.choice(["average", "marginal"])),
        exclusive=exclusive,
        voll=default_voll(buy),
        site_names=tuple(f"s{i}" for i in range(S)),
        pv=pv,
        load=load,
        buy_price=buy,
        sell_price=sell,
        carbon={"average": avg, "marginal": marg},
        export_limit=rng.uniform(5, 25, S),
        import_limit=np.where(rng.uniform(size=S) < 0.5, np.inf, rng.uniform(10, 20, S)),
        unit_names=tuple(f"u{i}" for i in range(B)),
        unit_site=unit_site,
        count=np.ones(B, dtype=np.int64),
        power=power,
        charge_power=power * rng.uniform(0.5, 1.0, B),
        energy=energy,
        eta_charge=rng.uniform(0.85, 1.0, B),
        eta_discharge=rng.uniform(0.85, 1.0, B),
        self_discharge=rng.uniform(0, 0.01, B) if self_discharge else np.zeros(B),
        soc_min=soc_min,
        soc_max=soc_max,
        soc_initial=soc_init,
        availability=np.where(rng.uniform(size=(B, T)) < 0.1, 0.5, 1.0),
        degradation_cost=rng.uniform(0, 80, B),
        # a self-discharging unit must be able to top up at night to meet its terminal rule
        grid_charging=(rng.uniform(size=B) < 0.6) | self_discharge,
        aux=rng.uniform(0, 0.2, B) if aux else np.zeros(B),
        terminal=tuple(rng.choice(["at_least_initial", "cyclic", "free"], B).tolist()),
        group_names=("all",) if groups else (),
        group_sites=groups,
        group_export_limit=np.array([group_export]) if groups else np.zeros(0),
        group_import_limit=np.array([np.inf]) if groups else np.zeros(0),
    )


@PROPS
@given(seed=st.integers(0, 10_000), S=st.integers(1, 3), U=st.integers(0, 2), T=st.integers(2, 30))
def test_random_fleets_solve_balance_and_never_lose_to_baseline(seed, S, U, T):
    inp = random_fleet(seed, S, U, T)
    run, _ = solve_dispatch(inp)
    base, _ = solve_dispatch(inp.without_storage())
    assert_valid_result(run)
    assert_valid_result(base)
    # without aux or self-discharge the units can always idle, so storage never costs
    assert run.objective <= base.objective + 1e-6 * max(1.0, abs(base.objective))


@PROPS
@given(seed=st.integers(0, 10_000), S=st.integers(1, 3), U=st.integers(1, 2), T=st.integers(2, 24))
def test_with_aux_and_self_discharge_balance_still_closes(seed, S, U, T):
    inp = random_fleet(seed, S, U, T, aux=True, self_discharge=True)
    run, _ = solve_dispatch(inp)
    assert_valid_result(run)
    # total cost is exactly the sum of its parts (voll·shed included)
    f = run.figures
    parts = f["energy_cost"] + f["carbon_cost"] + f["degradation_cost"]
    parts += inp.voll * f["unserved_mwh"]
    assert parts == pytest.approx(run.objective, rel=1e-6, abs=1e-6)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), S=st.integers(1, 2), T=st.integers(2, 12))
def test_direct_route_equals_pyomo_route(seed, S, T):
    inp = random_fleet(seed, S, 1, T, aux=True, self_discharge=True)
    direct = solve_joint(inp)
    pyomo_result, _ = solve_model(build_model(inp))
    assert pyomo_result.objective == pytest.approx(direct.objective, rel=1e-7, abs=1e-6)


@PROPS
@given(
    seed=st.integers(0, 10_000), S=st.integers(2, 4), T=st.integers(4, 24), binding=st.booleans()
)
def test_decomposed_equals_joint_with_and_without_binding_group(seed, S, T, binding):
    group = 3.0 if binding else 1e4
    inp = random_fleet(seed, S, 1, T, group_export=group)
    dec, stats = solve_dispatch(inp, decompose=True)
    joint = solve_joint(inp)
    assert dec.objective == pytest.approx(joint.objective, rel=1e-7, abs=1e-6)
    assert_valid_result(dec)
    assert (dec.exp.sum(axis=0) <= group + 1e-6).all()
    if not binding:
        assert stats.route == "per-site"
    for key in ("total_cost",):
        assert dec.figures[key] == pytest.approx(joint.figures[key], rel=1e-7, abs=1e-6)


def test_binding_group_falls_back_to_joint_solve():
    # two PV sites of 10 MW each, site limits 10, group limit 12: the per-site solution
    # exports 20 > 12, so the joint problem is solved and 8 MW are curtailed.
    inp = random_fleet(1, 2, 0, 1, group_export=12.0)
    inp = replace(
        inp,
        pv=np.full((2, 1), 10.0),
        load=np.zeros((2, 1)),
        sell_price=np.full((2, 1), 50.0),
        buy_price=np.full((2, 1), 60.0),
        export_limit=np.array([10.0, 10.0]),
        carbon_price=0.0,
    )
    r, stats = solve_dispatch(inp)
    assert stats.route == "closed form (no storage)"
    assert r.figures["curtailed_mwh"] == pytest.approx(8.0, abs=1e-9)
    assert r.objective == pytest.approx(-600.0, abs=1e-9)
    # the same without warm starts (the option concerns storage fleets only)
    r, stats = solve_dispatch(inp, SolverOptions(warm_start=False))
    assert stats.route == "closed form (no storage)"
    assert r.objective == pytest.approx(-600.0, abs=1e-9)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), k=st.integers(2, 4), T=st.integers(2, 24))
def test_count_k_equals_k_separate_units(seed, k, T):
    one = random_fleet(seed, 1, 1, T, aux=True, self_discharge=True)
    scaled = replace(
        one,
        count=np.array([k]),
        power=one.power * k,
        charge_power=one.charge_power * k,
        energy=one.energy * k,
        aux=one.aux * k,
    )

    def rep(a):
        return np.repeat(a, k, axis=0)

    split = replace(
        one,
        unit_names=tuple(f"u{i}" for i in range(k)),
        unit_site=rep(one.unit_site),
        count=rep(one.count),
        power=rep(one.power),
        charge_power=rep(one.charge_power),
        energy=rep(one.energy),
        eta_charge=rep(one.eta_charge),
        eta_discharge=rep(one.eta_discharge),
        self_discharge=rep(one.self_discharge),
        soc_min=rep(one.soc_min),
        soc_max=rep(one.soc_max),
        soc_initial=rep(one.soc_initial),
        availability=rep(one.availability),
        degradation_cost=rep(one.degradation_cost),
        grid_charging=rep(one.grid_charging),
        aux=rep(one.aux),
        terminal=one.terminal * k,
    )
    a, _ = solve_dispatch(scaled)
    b, _ = solve_dispatch(split)
    # only the objective is unique (MODEL.md, alternative optima): the split copies may
    # share the work in any proportion
    assert a.objective == pytest.approx(b.objective, rel=1e-7, abs=1e-6)
    assert_valid_result(b)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), S=st.integers(1, 2), T=st.integers(2, 24))
def test_half_hour_repeat_equals_hourly(seed, S, T):
    # Exact for σ = 0: averaging each hour's two half-hour decisions maps a 30-min optimum
    # onto an hourly feasible point of equal cost (all constraints are linear with
    # parameters constant within the hour) and the hourly optimum, held for both halves,
    # is feasible at 30 min. With σ > 0 energy charged in the first half-hour decays for
    # the second, so the two discretisations legitimately differ.
    hourly = random_fleet(seed, S, 1, T, aux=True)

    def twice(a):
        return np.repeat(a, 2, axis=-1)

    half = replace(
        hourly,
        index=pd.date_range(hourly.index[0], periods=2 * T, freq="30min"),
        dt_h=0.5,
        pv=twice(hourly.pv),
        load=twice(hourly.load),
        buy_price=twice(hourly.buy_price),
        sell_price=twice(hourly.sell_price),
        carbon={k: twice(v) for k, v in hourly.carbon.items()},
        availability=twice(hourly.availability),
    )
    a, _ = solve_dispatch(hourly)
    b, _ = solve_dispatch(half)
    assert b.objective == pytest.approx(a.objective, rel=1e-7, abs=1e-6)


def test_parallel_per_site_solves_equal_sequential():
    inp = random_fleet(11, 4, 1, 48)
    seq, s1 = solve_dispatch(inp, workers=1)
    par, s2 = solve_dispatch(inp, workers=2)
    assert s1.route == s2.route == "per-site"
    assert par.objective == pytest.approx(seq.objective, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(par.e, seq.e, atol=1e-7)
    np.testing.assert_allclose(par.duals["balance"], seq.duals["balance"], atol=1e-7)


def test_group_that_binds_only_with_storage_is_caught_after_per_site_solve():
    # Noon PV 5 MW per site (10 in total) fits the group limit of 12 without storage. Each
    # unit starts with 10 MWh (free terminal) and can discharge 8 MW into the evening price
    # of 100: per site that is optimal, together 16 > 12, so the joint problem is solved.
    # Joint optimum: the group limit caps both periods at 12 MW; at noon 10 MW of PV plus
    # 2 MW of stored energy (worthless at the end: free terminal), 12 MW in the evening
    # from the 20 MWh stored: cost = −(10·12 + 100·12) = −1320.
    inp = random_fleet(2, 2, 1, 2, group_export=12.0)
    inp = replace(
        inp,
        pv=np.array([[5.0, 0.0], [5.0, 0.0]]),
        load=np.zeros((2, 2)),
        sell_price=np.array([[10.0, 100.0]] * 2),
        buy_price=np.array([[10.0, 100.0]] * 2),
        carbon_price=0.0,
        export_limit=np.array([10.0, 10.0]),
        import_limit=np.zeros(2),
        power=np.array([8.0, 8.0]),
        charge_power=np.array([8.0, 8.0]),
        energy=np.array([20.0, 20.0]),
        eta_charge=np.ones(2),
        eta_discharge=np.ones(2),
        soc_min=np.zeros(2),
        soc_max=np.ones(2),
        soc_initial=np.full(2, 0.5),
        availability=np.ones((2, 2)),
        degradation_cost=np.zeros(2),
        grid_charging=np.array([True, True]),
        terminal=("free", "free"),
    )
    r, stats = solve_dispatch(inp)
    assert stats.route == "joint, warm-started from the per-site bases (group limit binds)"
    assert (r.exp.sum(axis=0) <= 12 + 1e-6).all()
    assert r.objective == pytest.approx(-1320.0, abs=1e-6)
    # 6 MWh stay unused, so one more MW of tie is worth the price of that period:
    # the group export duals are −10 (noon) and −100 (evening) per MW
    assert r.duals["group_export"][0] == pytest.approx([-10.0, -100.0], abs=1e-6)


def test_storage_free_problem_in_time_blocks_equals_joint():
    from essdispatch.solve import dispatch

    inp = random_fleet(7, 3, 0, 400, group_export=15.0).without_storage()
    # a negative effective buy price somewhere: the closed form does not apply
    buy = inp.buy_price.copy()
    buy[0, 5] = -1000.0
    inp = replace(inp, buy_price=buy, sell_price=np.minimum(inp.sell_price, buy))
    blocks, stats = solve_dispatch(inp)
    assert stats.route.startswith("time blocks") and stats.subproblems == 3
    joint = solve_joint(inp)
    assert blocks.objective == pytest.approx(joint.objective, rel=1e-9, abs=1e-6)
    assert_valid_result(blocks)
    assert blocks.duals["balance"].shape == (3, 400)
    assert inp.n_periods > dispatch.TIME_BLOCK_PERIODS
