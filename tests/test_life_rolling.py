"""Issue 17, left open: SOC segment energies (MODEL.md 13) carried between rolling windows.

Each window starts its segments where the settled operation left them, so a discharge
split by a window boundary is priced as the one deep cycle it is (a fresh fill at every
window start would price it as two shallow ones). With perfect forecasts and a lookahead
reaching the end of the horizon, rolling then costs exactly what the single solve costs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ageing import TZ, inputs_of, island, unit

from essdispatch.model.ageing_carry import reconcile_segments
from essdispatch.operate.rolling import parse_operation, run_rolling
from essdispatch.solve.dispatch import solve_dispatch

#: the SQUARE law of test_ageing (c_j = 25·(2j − 1) CNY/MWh for J = 4, η = 1) with R and
#: N1 both 10⁴ times larger: the same segment costs, but a cycle uses 10⁻⁴ of the share
#: of life, so the state of health the rolling run tracks moves by < 10⁻⁸ (exactness)
TINY_FADE = {
    "cost": "depth_aware",
    "segments": 4,
    "replacement_cost_per_kwh": 1e6,
    "cycle_life": {"cycles_at_full_depth": 1e7, "exponent": 2},
    "assess": False,
}


def check_carry(inp, rolled, stats, window: int) -> None:
    """Every window's plan started from the settled segment energies, and the segment
    energies add up to the stored energy above the floor at every time."""
    seg_e = rolled.extra["seg_e"]
    starts = np.arange(0, inp.n_periods, window)
    assert len(stats.segment_starts) == starts.size
    for a, start in zip(starts, stats.segment_starts, strict=True):
        np.testing.assert_allclose(start, seg_e[:, a], atol=1e-6)
    above = rolled.e - (inp.soc_min * inp.energy)[:, None]
    per_unit = np.zeros_like(above)
    np.add.at(per_unit, inp.ageing.segment_unit, seg_e)
    np.testing.assert_allclose(per_unit, above, atol=1e-5)
    per_unit = np.zeros_like(rolled.dis)
    np.add.at(per_unit, inp.ageing.segment_unit, rolled.extra["seg_dis"])
    np.testing.assert_allclose(per_unit, rolled.dis, atol=1e-6)


def test_a_discharge_split_by_a_window_boundary_is_one_deep_cycle():
    # from full, 2.5 MWh in hour 0 and 2.5 MWh in hour 2, windows of 2 h: segment 1 then
    # segment 2 (25 + 75 per MWh) = 250, as the single solve; a fresh fill at hour 2 would
    # put the 7.5 MWh left back into segments 1–3 and price the second 2.5 MWh at 25 (125)
    inp = inputs_of(island([2.5, 0, 2.5, 0], [0, 0, 0, 0], TINY_FADE, 4))
    single, _ = solve_dispatch(inp)
    rolled, stats = run_rolling(
        inp, parse_operation({"mode": "rolling", "window": "2h", "lookahead": "2h"})
    )
    assert single.objective == pytest.approx(250.0)
    assert rolled.objective == pytest.approx(250.0, rel=1e-6)
    np.testing.assert_allclose(stats.segment_starts[1], [0.0, 2.5, 2.5, 2.5], atol=1e-6)
    check_carry(inp, rolled, stats, 2)


def test_a_fresh_fill_would_price_two_shallow_cycles():
    """The same case with the carried state replaced by a fresh fill (the window's own
    ``s0``): the cost falls to 125, what the carry prevents."""
    from dataclasses import replace

    inp = inputs_of(island([2.5, 0, 2.5, 0], [0, 0, 0, 0], TINY_FADE, 4))
    second = replace(inp, soc_initial=np.array([0.75]))  # the state at hour 2, fresh fill
    r, _ = solve_dispatch(
        replace(
            second,
            index=inp.index[2:],
            pv=inp.pv[:, 2:],
            load=inp.load[:, 2:],
            buy_price=inp.buy_price[:, 2:],
            sell_price=inp.sell_price[:, 2:],
            carbon={k: v[:, 2:] for k, v in inp.carbon.items()},
            availability=inp.availability[:, 2:],
        )
    )
    assert r.objective == pytest.approx(62.5)  # 2.5 MWh from segment 1 (62.5 + 62.5 = 125)


@settings(
    max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(0, 10_000),
    window=st.sampled_from([3, 4, 6, 8]),
    soc_min=st.sampled_from([0.0, 0.1]),
    eta=st.sampled_from([1.0, 0.93]),
    soc_initial=st.sampled_from([0.3, 1.0]),
)
def test_perfect_forecasts_roll_to_the_single_solve(seed, window, soc_min, eta, soc_initial):
    """Random prices, load and solar; a lookahead to the end of the horizon: the rolling
    run's settled cost equals the single solve's, windows start at the settled segment
    energies and the segments hold the unit's energy above the floor."""
    rng = np.random.default_rng(seed)
    hours = 24
    data = {
        "name": "carry",
        "horizon": {
            "start": "2026-06-01 00:00",
            "end": "2026-06-02 00:00",
            "resolution": "60min",
            "timezone": TZ,
        },
        "signals": {"price": {"hourly": [float(v) for v in rng.uniform(50, 400, hours)]}},
        "sites": [
            {
                "name": "s",
                "load": {"hourly": [float(v) for v in rng.uniform(0, 4, hours)]},
                "solar": {"mw": {"hourly": [float(v) for v in rng.uniform(0, 6, hours)]}},
                "storage": [
                    unit(
                        TINY_FADE,
                        power_mw=4,
                        soc_min=soc_min,
                        soc_initial=soc_initial,
                        charge_efficiency=eta,
                        discharge_efficiency=eta,
                    )
                ],
            }
        ],
    }
    inp = inputs_of(data)
    single, _ = solve_dispatch(inp)
    spec = parse_operation(
        {"mode": "rolling", "window": f"{window}h", "lookahead": f"{hours - window}h"}
    )
    rolled, stats = run_rolling(inp, spec)
    assert rolled.objective == pytest.approx(single.objective, rel=1e-6, abs=1e-4)
    check_carry(inp, rolled, stats, window)


def test_reconcile_keeps_the_depth_memory_and_absorbs_a_fade():
    unit_of = np.array([0, 0, 0, 0, 1, 1])
    start = np.array([0.0, 2.5, 2.5, 1.0, 0.0, 3.0])
    width = np.array([2.5, 2.5, 2.5, 2.5, 3.0, 3.0])
    # nothing to reconcile: the settled state is kept as it is
    np.testing.assert_allclose(
        reconcile_segments(start, unit_of, width, np.array([6.0, 3.0])), start
    )
    # the window shrank to 2.4 per segment while 6 MWh stayed stored: clipped to 2.4, the
    # 0.2 MWh clipped off goes in as a charge would, to the shallowest segment with room
    out = reconcile_segments(start, unit_of, np.array([2.4] * 4 + [3.0] * 2), np.array([6.0, 3.0]))
    np.testing.assert_allclose(out, [0.2, 2.4, 2.4, 1.0, 0.0, 3.0])
    # less energy than the segments hold: taken as a discharge would, shallowest first
    out = reconcile_segments(start, unit_of, width, np.array([3.0, 2.0]))
    np.testing.assert_allclose(out, [0.0, 0.0, 2.0, 1.0, 0.0, 2.0])


@pytest.mark.parametrize("solar_bias", [0.6, 1.4])
def test_the_carry_holds_when_forecasts_miss(solar_bias):
    """Solar forecast 40 % low or high on a fleet of three depth-aware units, 6-hour windows:
    settlements deviate from the plans where the actual solar cannot carry them, yet every
    window starts from the settled segment energies and the segments hold each unit's
    energy above the floor throughout."""
    from dataclasses import replace

    from test_ageing import AGEING, fleet

    ageing = dict(AGEING, replacement_cost_per_kwh=1e6)  # the fleet's limits, TINY_FADE's law
    ageing["cycle_life"] = TINY_FADE["cycle_life"]
    inp = inputs_of(fleet(ageing))
    forecasts = replace(inp, pv=inp.pv * solar_bias)
    spec = parse_operation({"mode": "rolling", "window": "6h", "lookahead": "12h"})
    rolled, stats = run_rolling(inp, spec, forecasts=forecasts)
    check_carry(inp, rolled, stats, 6)
    assert stats.summary()["deviation_mwh"] > 1.0  # the settlements did deviate
    perfect, _ = run_rolling(inp, spec)
    assert rolled.objective > perfect.objective  # missed forecasts cost money
