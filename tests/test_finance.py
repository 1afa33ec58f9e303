"""Project finance against hand-computed cash-flow tables (docs/ECONOMICS.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from essdispatch.results.finance import (
    FinanceCase,
    cash_flow_table,
    evaluate,
    finance_case,
    horizon_warnings,
    irr,
    npv,
    payback_years,
)
from essdispatch.scenario.econ_keys import EconomicsBlock
from essdispatch.scenario.load import prepare_inputs, scenario_from_dict
from essdispatch.solve.dispatch import solve_dispatch

HERE = Path(__file__).resolve().parent


def test_flat_annuity_by_hand():
    """Capex 1000, net 300 − 50 = 250 a year for 5 years, r = 10 %.

    NPV = −1000 + 250·(1 − 1.1^−5)/0.1 = −52.303…; IRR solves 250·a(5, r) = 1000
    (r = 7.9308 %); cumulative −750, −500, −250, 0: simple payback exactly 4 years;
    the discounted cumulative never reaches 0; LCOS = (1000 + 50·a)/(100·a) with
    a = 3.790787 (100 MWh a year).
    """
    case = FinanceCase(
        capex=1000,
        annual_gross_value=300,
        annual_degradation_cost=0,
        annual_fixed_om=50,
        annual_discharge_mwh=100,
        annual_cycles=50,
        lifetime_years=5,
        discount_rate=0.1,
    )
    fig, table = evaluate(case)
    a = (1 - 1.1**-5) / 0.1
    assert table["net_cash_flow"].tolist() == pytest.approx([-1000, 250, 250, 250, 250, 250])
    assert fig["npv"] == pytest.approx(-1000 + 250 * a, abs=1e-9)
    assert fig["irr"] == pytest.approx(0.0793083, abs=1e-6)
    assert npv(fig["irr"], table["net_cash_flow"].to_numpy()) == pytest.approx(0.0, abs=1e-7)
    assert fig["simple_payback_years"] == pytest.approx(4.0, abs=1e-12)
    assert fig["discounted_payback_years"] is None
    assert fig["lcos_per_mwh"] == pytest.approx((1000 + 50 * a) / (100 * a), rel=1e-12)


def test_fade_replacement_escalation_by_hand():
    """L = 3, r = 5 %, fade 0.1 + 0.0005 × 100 cycles = 0.15 a year, replacement in year
    2 (200, restores capacity), value +2 %/year, O&M +3 %/year; gross 500, degradation 20,
    O&M 40, 1000 MWh, capex 1200.

    | y | cap  | gross             | degr. | O&M          | repl. | net      |
    | 0 |      |                   |       |              |       | −1200    |
    | 1 | 1    | 500               | 20    | 40           |       | 440      |
    | 2 | 0.85 | 500·0.85·1.02=433.5 | 17  | 41.2         | 200   | 175.3    |
    | 3 | 1    | 500·1.02²=520.2   | 20    | 40·1.03²=42.436 |    | 457.764  |
    """
    case = FinanceCase(
        capex=1200,
        annual_gross_value=500,
        annual_degradation_cost=20,
        annual_fixed_om=40,
        annual_discharge_mwh=1000,
        annual_cycles=100,
        lifetime_years=3,
        discount_rate=0.05,
        calendar_fade_per_year=0.1,
        cycle_fade_per_cycle=0.0005,
        replacement_year=2,
        replacement_cost=200,
        price_escalation_per_year=0.02,
        om_escalation_per_year=0.03,
    )
    table = cash_flow_table(case)
    assert table["capacity_factor"].tolist() == pytest.approx([0, 1, 0.85, 1])
    assert table["gross_value"].tolist() == pytest.approx([0, 500, 433.5, 520.2])
    assert table["degradation_cost"].tolist() == pytest.approx([0, 20, 17, 20])
    assert table["fixed_om"].tolist() == pytest.approx([0, 40, 41.2, 42.436])
    net = [-1200, 440, 175.3, 457.764]
    assert table["net_cash_flow"].tolist() == pytest.approx(net)
    assert table["discharge_mwh"].tolist() == pytest.approx([0, 1000, 850, 1000])
    fig, _ = evaluate(case)
    d = 1.05 ** -np.arange(4)
    assert fig["npv"] == pytest.approx(float(np.dot(net, d)), abs=1e-9)
    cost = np.array([1200, 60, 17 + 41.2 + 200, 62.436])
    assert fig["lcos_per_mwh"] == pytest.approx(
        float(np.dot(cost, d) / np.dot([0, 1000, 850, 1000], d)), rel=1e-12
    )
    # simple payback: cumulative −760, −584.7, −126.936 → never within 3 years
    assert fig["simple_payback_years"] is None
    assert fig["irr"] is not None and fig["irr"] < 0
    assert npv(fig["irr"], np.array(net)) == pytest.approx(0.0, abs=1e-7)


def test_payback_interpolates_within_the_year():
    flows = np.array([-100.0, 30, 30, 80])
    assert payback_years(np.cumsum(flows), flows) == pytest.approx(2 + 40 / 80)
    assert payback_years(np.array([5.0]), np.array([5.0])) == 0.0


def test_irr_none_without_sign_change():
    assert irr(np.array([-1.0, -2.0])) is None
    assert irr(np.array([1.0, 2.0])) is None


def test_finance_case_scales_the_horizon_to_a_year():
    """A one-day arbitrage run: annual values are the day's × 365 (H = 24/8760)."""
    data = {
        "name": "fin",
        "horizon": {
            "start": "2026-06-01 00:00",
            "end": "2026-06-02 00:00",
            "resolution": "60min",
            "timezone": "Asia/Shanghai",
        },
        "signals": {"price": {"hourly": [100] * 12 + [600] * 12}},
        "sites": [
            {
                "name": "a",
                "storage": [
                    {
                        "name": "b",
                        "power_mw": 2,
                        "energy_mwh": 4,
                        "charge_efficiency": 1,
                        "discharge_efficiency": 1,
                        "soc_initial": 0,
                        "terminal": "free",
                        "degradation_cost": 10,
                    }
                ],
            }
        ],
        "economics": {
            "lifetime_years": 10,
            "discount_rate": 0.06,
            "capex_per_kw": 100,
            "capex_per_kwh": 500,
            "fixed_om_per_kw_year": 20,
        },
    }
    sc = scenario_from_dict(data, HERE)
    inputs = prepare_inputs(sc)
    run, _ = solve_dispatch(inputs)
    base, _ = solve_dispatch(inputs.without_storage())
    case = finance_case(run, base, sc.economics)
    # the day: charge 4 MWh at 100, sell at 600, degradation 10/MWh: cash saving 1960
    assert case.annual_gross_value == pytest.approx(2000 * 365, rel=1e-9)
    assert case.annual_degradation_cost == pytest.approx(40 * 365, rel=1e-9)
    assert case.capex == pytest.approx(1000 * (100 * 2 + 500 * 4))
    assert case.annual_fixed_om == pytest.approx(1000 * 20 * 2)
    assert case.annual_discharge_mwh == pytest.approx(4 * 365)
    assert case.annual_cycles == pytest.approx(365)
    warnings = horizon_warnings(run)
    assert any("too short" in w for w in warnings) and any("only Jun" in w for w in warnings)
    assert isinstance(sc.economics, EconomicsBlock)
