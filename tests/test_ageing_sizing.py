"""Issue 17, left open: ``ageing`` together with ``sizing`` (MODEL.md 9 and 13–14).

The segment widths ``(smax − smin)·En/J``, the initial fill ``f_k·(smax − smin)·En/J``, the
floor's self-discharge loss and the cycle limits' right-hand sides are linear in the sized
energy ``En``, so the problem stays an LP. Hand case with a known optimum; the segment
bounds bind at the sized energy; a size fixed by its bounds (min = max) is the unsized run.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ageing import SQUARE, TZ, arbitrage, inputs_of, unit

from essdispatch.model import build_model, compile_model
from essdispatch.model.lp import assemble_lp
from essdispatch.solve.dispatch import solve_dispatch
from essdispatch.testing import assert_lp_equal

HOURS_PER_YEAR = 8760.0


def sized(data: dict, energy: tuple[float, float], power: tuple[float, float], kappa: float):
    """Make the first unit sized; ``kappa`` is the investment cost per MWh of ``En`` over the
    horizon (``H·1000·CRF·capex_per_kwh`` with CRF = 1: one year, no discount)."""
    u = data["sites"][0]["storage"][0]
    u.pop("power_mw")
    u.pop("energy_mwh")
    hours = len(data["_hours"]) if "_hours" in data else 2
    u["sizing"] = {
        "power_mw": {"min": power[0], "max": power[1]},
        "energy_mwh": {"min": energy[0], "max": energy[1]},
        "capex_per_kw": 0,
        "capex_per_kwh": kappa * HOURS_PER_YEAR / (1000.0 * hours),
        "lifetime_years": 1,
    }
    data.pop("_hours", None)
    return data


@pytest.mark.parametrize(
    ("kappa", "energy", "objective"),
    [
        # buy at 10, sell at 100 (90 a MWh), P = 5 MW, costs 25, 75, 125, 175 per MWh by
        # depth quarter. Per MWh of En: κ. 5 MWh in segment 1 alone needs En = 20: profit
        # (90 − 25)·5 − 20κ; in segments 1 and 2 needs En = 10: (90 − 50)·5 − 10κ. κ = 5:
        # 225 against 150, so En = 20; κ = 15: 25 against 50, so En = 10
        (5.0, 20.0, -225.0),
        (15.0, 10.0, -50.0),
    ],
)
def test_sizing_with_segments_has_the_hand_optimum(kappa, energy, objective):
    data = sized(arbitrage(SQUARE, 2, [10.0, 100.0] + [0.0] * 22), (0, 100), (5, 5), kappa)
    r, _ = solve_dispatch(inputs_of(data))
    assert r.objective == pytest.approx(objective)
    assert r.inputs.energy[0] == pytest.approx(energy)
    # the segments used are full at the sized energy (En/4 each), far below Emax/4 = 25
    full = int(round(20.0 / energy))
    np.testing.assert_allclose(r.extra["seg_e"][:full, 1], energy / 4, atol=1e-7)
    np.testing.assert_allclose(r.extra["seg_e"][full:, 1], 0.0, atol=1e-7)
    # the cap rows of the used segments bind: a wider segment would be worth its saving
    dual = r.duals["seg_size_cap"]
    assert np.all(np.abs(dual[:full, 1]) > 1e-6)


def test_initial_energy_fills_the_sized_segments_by_fraction():
    # s0 = 0.6 of the window, no trade: segments 1 and 2 full, 3 at 40 %, whatever En is
    data = arbitrage(SQUARE, 2, [0.0] * 24)
    data["sites"][0]["storage"][0]["soc_initial"] = 0.6
    data = sized(data, (8, 8), (5, 5), 1.0)
    r, _ = solve_dispatch(inputs_of(data))
    np.testing.assert_allclose(r.extra["seg_e"][:, 0], [2.0, 2.0, 0.8, 0.0], atol=1e-9)


def random_case(seed: int, soc_min: float, soc_initial: float, sigma: float, limits: bool):
    rng = np.random.default_rng(seed)
    ageing = dict(SQUARE, segments=int(rng.integers(1, 6)))
    buy = rng.uniform(50, 900, 24)
    if limits:
        ageing.update(max_cycles_per_day=0.7, max_cycles_per_year=150.0)
    return {
        "name": "sized-ageing",
        "horizon": {
            "start": "2026-06-01",
            "end": "2026-06-02",
            "resolution": "60min",
            "timezone": TZ,
        },
        "signals": {
            "buy_price": {"hourly": [float(v) for v in buy]},
            "sell_price": {"hourly": [float(v) for v in buy * rng.uniform(0, 0.9, 24)]},
        },
        "sites": [
            {
                "name": "s",
                "load": {"hourly": [float(v) for v in rng.uniform(0, 4, 24)]},
                "solar": {"mw": {"hourly": [float(v) for v in rng.uniform(0, 5, 24)]}},
                "storage": [
                    unit(
                        ageing,
                        power_mw=4,
                        energy_mwh=9,
                        soc_min=soc_min,
                        soc_initial=soc_initial,
                        charge_efficiency=0.95,
                        discharge_efficiency=0.94,
                        self_discharge_per_hour=sigma,
                        terminal="at_least_initial",
                    )
                ],
            }
        ],
        "_hours": list(range(24)),
    }


@settings(
    max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(0, 10_000),
    soc_min=st.sampled_from([0.0, 0.1]),
    soc_initial=st.sampled_from([0.1, 0.45, 1.0]),
    sigma=st.sampled_from([0.0, 0.01]),
    limits=st.booleans(),
)
def test_a_size_fixed_by_its_bounds_is_the_unsized_run(seed, soc_min, soc_initial, sigma, limits):
    """min = max = the unsized ratings: the same optimum plus the (constant) investment
    cost, the same segment energies."""
    fixed = random_case(seed, soc_min, soc_initial, sigma, limits)
    fixed.pop("_hours")
    data = sized(random_case(seed, soc_min, soc_initial, sigma, limits), (9, 9), (4, 4), 3.0)
    r, _ = solve_dispatch(inputs_of(data))
    base, _ = solve_dispatch(inputs_of(fixed))
    assert r.objective == pytest.approx(base.objective + 3.0 * 9, rel=1e-7, abs=1e-5)
    np.testing.assert_allclose(r.extra["seg_e"][:, 0], base.extra["seg_e"][:, 0], atol=1e-7)


@pytest.mark.parametrize("sigma", [0.0, 0.01])
def test_sized_segments_compile_to_the_direct_lp_and_their_sizes_are_declared(sigma):
    """The Pyomo view of a sized depth-aware unit with cycle limits is the direct LP, and
    every family of MODEL.md 13–14 declares the rows and nonzeros it builds."""
    from essdispatch.model.families import FAMILIES, Counts

    data = sized(random_case(7, 0.1, 0.45, sigma, True), (0, 20), (1, 6), 3.0)
    inp = inputs_of(data)
    direct = assemble_lp(inp)
    assert_lp_equal(compile_model(build_model(inp)), direct)
    counts = Counts.of(inp)
    ours = {"seg_storage", "seg_charge", "seg_discharge", "seg_size_cap", "seg_size_initial"}
    ours |= {"cycles_day", "cycles_year", "throughput_year"}
    for fam in FAMILIES:
        if fam.name not in ours:
            continue
        rows = direct.row_families.get(fam.name, slice(0, 0))
        block = direct.A[rows.start : rows.stop]
        assert fam.size(counts) == (rows.stop - rows.start, block.nnz), fam.name
    assert direct.row_families["seg_size_cap"].stop > direct.row_families["seg_size_cap"].start


def test_sized_cycle_limit_scales_with_the_sized_energy():
    """``max_cycles_per_year`` of a sized unit: Σ dis ≤ n_y·H·(smax−smin)·En. Buy at 10, sell
    at 100, P = 5, κ = 1 per MWh of En, 2190 cycles/year = 0.5 cycles in 2 h: discharging
    x needs En ≥ 2x; x = 5 → En = 10, profit 450 − 10 (linear cost: one price)."""
    ageing = {
        "cost": "depth_aware",
        "segments": 2,
        "replacement_cost_per_kwh": 1e-3,
        "cycle_life": {"cycles_at_full_depth": 1e9, "exponent": 1},
        "max_cycles_per_year": 2190,
        "assess": False,
    }
    data = sized(arbitrage(ageing, 2, [10.0, 100.0] + [0.0] * 22), (0, 100), (5, 5), 1.0)
    r, _ = solve_dispatch(inputs_of(data))
    assert r.inputs.energy[0] == pytest.approx(10.0)
    assert r.objective == pytest.approx(-450.0 + 10.0, abs=1e-5)


def test_per_site_decomposition_equals_joint_with_a_sized_depth_aware_unit():
    import copy

    from essdispatch.solve.dispatch import SolveStats, solve_joint
    from essdispatch.solve.highs_options import SolverOptions

    data = sized(random_case(11, 0.1, 0.45, 0.01, True), (0, 20), (1, 6), 3.0)
    other = copy.deepcopy(data["sites"][0])
    other["name"] = "s2"
    other["storage"] = [dict(data["sites"][0]["storage"][0], name="fixed")]
    other["storage"][0].pop("sizing")
    other["storage"][0].update(power_mw=3, energy_mwh=7)
    data["sites"].append(other)
    inp = inputs_of(data)
    joint = solve_joint(inp, SolverOptions(), SolveStats())
    split, stats = solve_dispatch(inp, decompose=True, workers=1)
    assert "site" in stats.route
    assert split.objective == pytest.approx(joint.objective, rel=1e-8, abs=1e-6)
    # the split solution's segments hold its units' energy above the floor (sized: En)
    above = split.e - (split.inputs.soc_min * split.inputs.energy)[:, None]
    per_unit = np.zeros_like(above)
    np.add.at(per_unit, inp.ageing.segment_unit, split.extra["seg_e"])
    np.testing.assert_allclose(per_unit, above, atol=1e-6)


@pytest.mark.parametrize("duration", [None, {"min": 2.0}, {"max": 4.0}, {"min": 1.0, "max": 8.0}])
def test_every_family_of_a_sized_run_declares_what_it_builds(duration):
    """The pre-build size estimate counts the rows and nonzeros each family builds for a
    sized unit, with or without duration bounds (a duration row exists only where
    ``duration_h`` gives that bound)."""
    from essdispatch.model.families import FAMILIES, Counts

    data = sized(random_case(5, 0.1, 0.45, 0.0, True), (0, 20), (1, 6), 3.0)
    if duration is not None:
        data["sites"][0]["storage"][0]["sizing"]["duration_h"] = duration
    inp = inputs_of(data)
    direct = assemble_lp(inp)
    counts = Counts.of(inp)
    for fam in FAMILIES:
        rows = direct.row_families.get(fam.name, slice(0, 0))
        block = direct.A[rows.start : rows.stop]
        assert fam.size(counts) == (rows.stop - rows.start, block.nnz), fam.name
