"""Carbon in stored energy, the three-way split of emissions displaced, 24/7 matching.

Hand cases build the dispatch arrays directly (exact, no solver); the property and λ tests
solve real LPs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from essdispatch.results.extract import DispatchResult, delta_figures, figures
from essdispatch.results.stored_carbon import SPLIT_KEYS, carbon_accounting
from essdispatch.scenario.grid_model import grid_year
from essdispatch.solve.pair import solve_pair
from essdispatch.testing import make_inputs

EXACT = 1e-12


def _result(inputs, *, cur=None, imp=None, exp=None, ch=None, dis=None, e=None, units=True):
    T = inputs.n_periods
    z = np.zeros((1, T))
    B = inputs.n_units if units else 0

    def arr(x, rows):
        return np.zeros((rows, T)) if x is None else np.atleast_2d(np.asarray(x, float))

    r = DispatchResult(
        inputs=inputs,
        pv=inputs.pv,
        cur=arr(cur, 1),
        imp=arr(imp, 1),
        exp=arr(exp, 1),
        shed=z.copy(),
        ch=arr(ch, B),
        dis=arr(dis, B),
        e=np.zeros((B, T + 1)) if e is None else np.atleast_2d(np.asarray(e, float)),
        objective=0.0,
    )
    assert np.abs(r.balance_residual()).max() < 1e-12
    r.figures.update(figures(r))
    return r


def _pair(inputs, run_kw, base_kw):
    run = _result(inputs, **run_kw)
    base = _result(inputs.without_storage(), units=False, **base_kw)
    acc = carbon_accounting(run, base)
    total = delta_figures(run.figures, base.figures)["emissions_displaced_tco2"]
    return acc, total


def _unit(**kw):
    d = dict(
        power_mw=10,
        energy_mwh=10,
        charge_efficiency=1.0,
        discharge_efficiency=1.0,
        soc_initial=0.0,
        name="b",
    )
    d.update(kw)
    return d


def test_grid_charge_then_discharge_lossless() -> None:
    inp = make_inputs([0, 0], [100, 100], carbon=[0.2, 0.9], units=[_unit()])
    acc, total = _pair(inp, dict(imp=[1, 0], exp=[0, 1], ch=[1, 0], dis=[0, 1], e=[0, 1, 0]), {})
    split = acc["emissions_displaced_split_tco2"]["average"]
    assert total["average"] == pytest.approx(0.7, abs=EXACT)
    assert split["grid_energy_shifted"] == pytest.approx(0.7, abs=EXACT)
    assert split["curtailed_solar_delivered"] == pytest.approx(0.0, abs=EXACT)
    assert split["losses"] == pytest.approx(0.0, abs=EXACT)
    assert acc["discharge_intensity_tco2_per_mwh"]["average"]["b"] == pytest.approx(0.2, abs=EXACT)


def test_grid_charge_with_conversion_loss() -> None:
    inp = make_inputs([0, 0], [100, 100], carbon=[0.2, 0.9], units=[_unit(charge_efficiency=0.8)])
    acc, total = _pair(
        inp, dict(imp=[1, 0], exp=[0, 0.8], ch=[1, 0], dis=[0, 0.8], e=[0, 0.8, 0]), {}
    )
    split = acc["emissions_displaced_split_tco2"]["average"]
    assert total["average"] == pytest.approx(0.9 * 0.8 - 0.2, abs=EXACT)
    assert split["grid_energy_shifted"] == pytest.approx(0.7, abs=EXACT)
    assert split["losses"] == pytest.approx(-0.9 * 0.2, abs=EXACT)
    # the discharged energy carries the charge's carbon over fewer MWh: losses included
    assert acc["discharge_intensity_tco2_per_mwh"]["average"]["b"] == pytest.approx(0.25, abs=EXACT)
    assert abs(acc["split_check_tco2"]["average"]) < EXACT


def test_solar_only_charge_and_absorbed_curtailment() -> None:
    # exportable solar: the split charges its grid value at charge time
    inp = make_inputs([1, 0], [100, 100], carbon=[0.2, 0.9], units=[_unit(grid_charging=False)])
    acc, total = _pair(inp, dict(ch=[1, 0], dis=[0, 1], exp=[0, 1], e=[0, 1, 0]), dict(exp=[1, 0]))
    split = acc["emissions_displaced_split_tco2"]["average"]
    assert total["average"] == pytest.approx(0.7, abs=EXACT)
    assert split["curtailed_solar_delivered"] == pytest.approx(0.7, abs=EXACT)
    assert split["grid_energy_shifted"] == pytest.approx(0.0, abs=EXACT)
    assert acc["discharge_intensity_tco2_per_mwh"]["average"]["b"] == pytest.approx(0.0, abs=EXACT)
    # solar the baseline curtails: all of it is delivered at the discharge hours' intensity
    inp = make_inputs(
        [1.5, 0, 0],
        [100] * 3,
        carbon=[0.2, 0.9, 0.6],
        export_limit=0.5,
        units=[_unit(grid_charging=False)],
    )
    acc, total = _pair(
        inp,
        dict(ch=[1, 0, 0], dis=[0, 0.5, 0.5], exp=[0.5, 0.5, 0.5], e=[0, 1, 0.5, 0]),
        dict(exp=[0.5, 0, 0], cur=[1, 0, 0]),
    )
    split = acc["emissions_displaced_split_tco2"]["average"]
    assert total["average"] == pytest.approx(0.75, abs=EXACT)
    assert split["curtailed_solar_delivered"] == pytest.approx(0.75, abs=EXACT)
    assert split["losses"] == pytest.approx(0.0, abs=EXACT)


def test_mixed_charge() -> None:
    inp = make_inputs([1, 0], [100, 100], carbon=[0.4, 0.8], units=[_unit()])
    acc, total = _pair(
        inp, dict(imp=[1, 0], ch=[2, 0], dis=[0, 2], exp=[0, 2], e=[0, 2, 0]), dict(exp=[1, 0])
    )
    split = acc["emissions_displaced_split_tco2"]["average"]
    assert total["average"] == pytest.approx(0.8, abs=EXACT)
    assert split["grid_energy_shifted"] == pytest.approx(0.8 - 0.4, abs=EXACT)
    assert split["curtailed_solar_delivered"] == pytest.approx(0.8 - 0.4, abs=EXACT)
    assert acc["discharge_intensity_tco2_per_mwh"]["average"]["b"] == pytest.approx(0.2, abs=EXACT)


def test_self_discharge() -> None:
    inp = make_inputs(
        [0] * 3, [100] * 3, carbon=[0.5, 0.6, 0.7], units=[_unit(self_discharge_per_hour=0.1)]
    )
    acc, total = _pair(
        inp,
        dict(imp=[1, 0, 0], exp=[0, 0, 0.81], ch=[1, 0, 0], dis=[0, 0, 0.81], e=[0, 1, 0.9, 0]),
        {},
    )
    split = acc["emissions_displaced_split_tco2"]["average"]
    assert total["average"] == pytest.approx(0.7 * 0.81 - 0.5, abs=EXACT)
    assert split["grid_energy_shifted"] == pytest.approx(0.2, abs=EXACT)
    assert split["losses"] == pytest.approx(-0.7 * 0.19, abs=EXACT)
    assert acc["discharge_intensity_tco2_per_mwh"]["average"]["b"] == pytest.approx(
        0.5 / 0.81, abs=EXACT
    )


def test_initial_stock_at_the_horizon_mean_intensity() -> None:
    inp = make_inputs([0, 0], [100, 100], carbon=[0.9, 0.3], units=[_unit(soc_initial=0.1)])
    acc, total = _pair(inp, dict(exp=[1, 0], imp=[0, 1], dis=[1, 0], ch=[0, 1], e=[1, 0, 1]), {})
    split = acc["emissions_displaced_split_tco2"]["average"]
    assert total["average"] == pytest.approx(0.6, abs=EXACT)
    assert split["grid_energy_shifted"] == pytest.approx(0.6, abs=EXACT)
    assert acc["discharge_intensity_tco2_per_mwh"]["average"]["b"] == pytest.approx(0.6, abs=EXACT)


def test_initial_stock_of_a_solar_only_unit_is_solar() -> None:
    inp = make_inputs(
        [0, 1], [100, 100], carbon=[0.9, 0.3], units=[_unit(soc_initial=0.1, grid_charging=False)]
    )
    acc, total = _pair(inp, dict(exp=[1, 0], dis=[1, 0], ch=[0, 1], e=[1, 0, 1]), dict(exp=[0, 1]))
    split = acc["emissions_displaced_split_tco2"]["average"]
    assert total["average"] == pytest.approx(0.9 - 0.3, abs=EXACT)
    assert split["curtailed_solar_delivered"] == pytest.approx(0.6, abs=EXACT)
    assert split["grid_energy_shifted"] == pytest.approx(0.0, abs=EXACT)
    assert acc["discharge_intensity_tco2_per_mwh"]["average"]["b"] == pytest.approx(0.0, abs=EXACT)


def test_flat_intensity_shifts_nothing_in_time() -> None:
    """With a constant intensity, a cycle that starts and ends empty shifts no carbon."""
    inp = make_inputs([0, 0, 0], [100] * 3, carbon=0.6, units=[_unit(charge_efficiency=0.9)])
    acc, total = _pair(
        inp,
        dict(imp=[1, 0, 0], exp=[0, 0.5, 0.4], ch=[1, 0, 0], dis=[0, 0.5, 0.4], e=[0, 0.9, 0.4, 0]),
        {},
    )
    split = acc["emissions_displaced_split_tco2"]["average"]
    assert split["grid_energy_shifted"] == pytest.approx(0.0, abs=EXACT)
    assert split["losses"] == pytest.approx(total["average"], abs=EXACT)
    assert total["average"] == pytest.approx(-0.6 * 0.1, abs=EXACT)


def test_247_share_hand_case() -> None:
    inp = make_inputs([2, 0], [100, 100], load=1.0, units=[_unit()])
    inp = replace(inp, carbon_free_share=np.array([[0.1, 0.3]]))
    # solar: run stores the surplus and serves the evening; baseline exports it and imports
    acc, _ = _pair(inp, dict(ch=[1, 0], dis=[0, 1], e=[0, 1, 0]), dict(exp=[1, 0], imp=[0, 1]))
    assert acc["carbon_free_247"]["site"]["run"] == pytest.approx(1.0, abs=EXACT)
    assert acc["carbon_free_247"]["site"]["baseline"] == pytest.approx((1 + 0.3) / 2, abs=EXACT)
    assert acc["carbon_free_247_grid_basis"] == "series"
    # grid charge: the discharge is as clean as the grid was when it charged
    inp = make_inputs([0, 0], [100, 100], load=1.0, units=[_unit()])
    inp = replace(inp, carbon_free_share=np.array([[0.8, 0.2]]))
    acc, _ = _pair(inp, dict(imp=[2, 0], ch=[1, 0], dis=[0, 1], e=[0, 1, 0]), dict(imp=[1, 1]))
    assert acc["carbon_free_247"]["site"]["run"] == pytest.approx((0.8 + 0.8) / 2, abs=EXACT)
    assert acc["carbon_free_247"]["site"]["baseline"] == pytest.approx((0.8 + 0.2) / 2, abs=EXACT)


SOLVE = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SOLVE
@given(
    data=st.data(),
    T=st.integers(4, 12),
    eta=st.floats(0.8, 1.0),
    sigma=st.sampled_from([0.0, 0.01]),
    gc=st.booleans(),
    count=st.integers(1, 3),
)
def test_split_sums_and_matches_energy_basis(data, T, eta, sigma, gc, count) -> None:
    floats = st.floats(0.0, 1.0, allow_nan=False)
    pv = np.array(data.draw(st.lists(floats, min_size=T, max_size=T))) * 3
    price = np.array(data.draw(st.lists(st.floats(10, 500), min_size=T, max_size=T)))
    ci = np.array(data.draw(st.lists(floats, min_size=T, max_size=T)))
    unit = dict(
        power_mw=1.0,
        energy_mwh=2.0,
        charge_efficiency=eta,
        discharge_efficiency=eta,
        self_discharge_per_hour=sigma,
        grid_charging=gc,
        degradation_cost=1.0,
        soc_initial=0.5,
        terminal="free",  # at_least_initial is infeasible with self-discharge and no solar
        aux_mw=0.01,
        count=count,
        name="b",
    )
    inp = make_inputs(
        pv,
        price,
        price * 0.9,
        load=0.5,
        carbon=ci,
        carbon_price=200.0,
        export_limit=1.0,
        units=[unit],
    )
    inp = replace(inp, carbon_free_share=np.clip(1 - ci, 0, 1)[None, :])
    run, _, base, _ = solve_pair(inp)
    acc = carbon_accounting(run, base)
    total = delta_figures(run.figures, base.figures)["emissions_displaced_tco2"]["average"]
    split = acc["emissions_displaced_split_tco2"]["average"]
    assert sum(split[k] for k in SPLIT_KEYS) == pytest.approx(total, abs=1e-9)
    assert abs(acc["split_check_tco2"]["average"]) < 1e-5
    share = acc["carbon_free_247"]["site"]
    assert -1e-9 <= share["run"] <= 1 + 1e-9 and -1e-9 <= share["baseline"] <= 1 + 1e-9
    iota = acc["discharge_intensity_tco2_per_mwh"]["average"]["b"]
    if iota is not None and run.figures["discharge_mwh"] > 1e-6:
        assert iota >= -1e-9
    # invariance to count: the same fleet as one unit of count x size
    big = dict(unit, power_mw=count * 1.0, energy_mwh=count * 2.0, aux_mw=0.01 * count, count=1)
    inp1 = replace(
        make_inputs(
            pv,
            price,
            price * 0.9,
            load=0.5,
            carbon=ci,
            carbon_price=200.0,
            export_limit=1.0,
            units=[big],
        ),
        carbon_free_share=inp.carbon_free_share,
    )
    run1, _, base1, _ = solve_pair(inp1)
    acc1 = carbon_accounting(run1, base1)
    for k in SPLIT_KEYS:
        assert acc1["emissions_displaced_split_tco2"]["average"][k] == pytest.approx(
            split[k], abs=1e-6
        )


def _constructed_week() -> np.ndarray:
    """(7, 24) modelled Shaanxi marginal signal (seed 7, 2026): the first seven days whose midday
    has at least 3 curtailment hours (marginal 0) and whose night is coal (> 0.7 tCO2/MWh)."""
    m = grid_year("shaanxi", 7, 2026).marginal.reshape(-1, 24)
    good = np.flatnonzero(((m[:, 10:15] == 0.0).sum(axis=1) >= 3) & (m[:, :6].min(axis=1) > 0.7))
    assert good.size >= 7, "the modelled year must have days with a clean midday and coal at night"
    return m[good[:7]]


def test_carbon_price_moves_dispatch_on_modelled_signals() -> None:
    """A constructed week: prices favour charging at night, the modelled marginal signal at
    midday (curtailment hours); λ = 0 follows the price, λ = 300 the carbon signal, every day."""
    marginal = _constructed_week()
    hour = np.arange(24)
    # one evening peak a day; night is the cheapest charge, midday 20 CNY/MWh dearer
    day_price = np.where(hour < 6, 300.0, np.where((hour >= 10) & (hour < 15), 320.0, 330.0))
    day_price[18:24] = 900.0
    price = np.tile(day_price, 7)
    unit = dict(
        power_mw=1.0,
        energy_mwh=2.0,
        charge_efficiency=0.95,
        discharge_efficiency=0.95,
        soc_initial=0.0,
        terminal="at_least_initial",
        degradation_cost=5.0,
        name="b",
    )

    def solve(lam: float) -> DispatchResult:
        inp = make_inputs(
            np.zeros(7 * 24),
            price,
            price,
            carbon=0.6,
            marginal=marginal.ravel(),
            carbon_price=lam,
            steer_by="marginal",
            units=[unit],
        )
        run, *_ = solve_pair(inp)
        return run

    low, high = solve(0.0), solve(300.0)
    night, midday = hour < 6, (hour >= 10) & (hour < 15)
    ch_low, ch_high = low.ch[0].reshape(7, 24), high.ch[0].reshape(7, 24)
    full = 2.0 / 0.95  # MWh charged to fill the unit from empty
    np.testing.assert_allclose(ch_low[:, night].sum(axis=1), full, rtol=1e-6)
    np.testing.assert_allclose(ch_low[:, midday].sum(axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(ch_high[:, midday].sum(axis=1), full, rtol=1e-6)
    np.testing.assert_allclose(ch_high[:, night].sum(axis=1), 0.0, atol=1e-9)
    # ... into the hours the model curtails (marginal 0), every day
    assert ch_high[marginal > 0].sum() == pytest.approx(0.0, abs=1e-9)
    # and the marginal-basis emissions of the run fall by the carbon of a full charge per day
    drop = low.figures["emissions_tco2"]["marginal"] - high.figures["emissions_tco2"]["marginal"]
    assert drop > 7 * full * 0.7
