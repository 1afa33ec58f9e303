"""Life assessment after the solve (essdispatch.results.life, NREL BLAST-Lite) and the multi-year
state of health: the assessment reproduces BLAST-Lite's own result for a fixed profile,
the fade over years is monotone, augmentation restores capacity, and a run writes the
``life`` block (with the finance recomputed on the assessed fade)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from essdispatch.base.exceptions import ScenarioError
from essdispatch.results.life import (
    assess_profile,
    blast_available,
    capacity_by_year,
    check_life_available,
    rainflow_summary,
)
from essdispatch.run import run_scenario
from essdispatch.scenario.load import prepare_inputs, scenario_from_dict

HERE = Path(__file__).resolve().parent
needs_blast = pytest.mark.skipif(not blast_available(), reason="BLAST-Lite not installed")


def daily_profile(days: int, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    """One full cycle a day, hourly boundaries (24·days + 1 values)."""
    day = np.concatenate(
        [
            np.linspace(0.5, high, 4, endpoint=False),
            np.full(6, high),
            np.linspace(high, low, 4, endpoint=False),
            np.full(6, low),
            np.linspace(low, 0.5, 4, endpoint=False),
        ]
    )
    return np.concatenate([np.tile(day, days), [0.5]])


@needs_blast
def test_assessment_reproduces_blast_lite_for_a_fixed_profile():
    from blast.models import Lfp_Gr_250AhPrismatic

    soc = daily_profile(7)
    ours = assess_profile(soc, 1.0, 30.0, 0.8, 3.0)
    # the library's own run of the same input (hourly SOC linear in 15-minute sub-steps,
    # essdispatch.results.life.blast_input), read at its own sample points
    cell = Lfp_Gr_250AhPrismatic()
    fine = np.interp(np.arange(4 * (soc.size - 1) + 1) / 4.0, np.arange(soc.size), soc)
    n = fine.size
    cell.simulate_battery_life(
        {
            "Time_s": np.arange(n) * 900.0,
            "SOC": fine,
            "Temperature_C": np.full(n, 30.0),
        },
        threshold_capacity=0.8,
        threshold_time=3.0,
    )
    t = np.asarray(cell.stressors["t_days"]) / 365.0
    q = np.asarray(cell.outputs["q"])
    assert ours["soh_after_one_year"] == pytest.approx(float(np.interp(1.0, t, q)), rel=1e-12)
    assert ours["soh_by_year"][-1] == pytest.approx(float(np.interp(3.0, t, q)), rel=1e-12)
    assert ours["simulated_years"] == pytest.approx(t[-1])
    # one full 0.05–0.95 cycle a day: about 0.9 × 365 EFC a year, a year's fade of a few %
    assert ours["equivalent_full_cycles_per_year"] == pytest.approx(0.9 * 365, rel=0.02)
    assert 0.005 < ours["fade_per_year"] < 0.1
    assert ours["calendar_fade_first_year"] + ours["cycle_fade_first_year"] == pytest.approx(
        ours["fade_per_year"], rel=1e-9
    )
    assert ours["rainflow_cycles"] == pytest.approx(7.5)  # 7 full + the 2 half cycles at the ends


@needs_blast
def test_the_assessment_does_not_depend_on_the_profile_resolution():
    """BLAST-Lite skips the step between two consecutive chunks of a profile, so the same
    physical profile at hourly and at 15-minute steps fades differently in the library;
    essdispatch.results.life.blast_input hands it 15-minute sub-steps (SOC linear within a period,
    exact at constant power), so the dispatch's resolution no longer matters."""
    from blast.models import Lfp_Gr_250AhPrismatic

    from essdispatch.results.life import blast_input

    soc = daily_profile(7)
    fine = np.interp(np.arange(4 * (soc.size - 1) + 1) / 4.0, np.arange(soc.size), soc)
    hourly = assess_profile(soc, 1.0, 25.0, 0.8, 2.0)
    quarter = assess_profile(fine, 0.25, 25.0, 0.8, 2.0)
    assert hourly["soh_by_year"] == pytest.approx(quarter["soh_by_year"], rel=1e-12)
    # the library itself on the raw hourly input: another year
    cell = Lfp_Gr_250AhPrismatic()
    raw = {"Time_s": np.arange(soc.size) * 3600.0, "SOC": soc, "Temperature_C": np.full(169, 25.0)}
    cell.simulate_battery_life(raw, threshold_time=1.0)
    t = np.asarray(cell.stressors["t_days"]) / 365.0
    raw_soh = float(np.interp(1.0, t, np.asarray(cell.outputs["q"])))
    assert abs(raw_soh - hourly["soh_by_year"][1]) > 1e-5
    assert blast_input(soc, 1.0, 25.0)["SOC"].size == 4 * (soc.size - 1) + 1
    assert blast_input(soc, 0.25, 25.0)["SOC"].size == soc.size  # already 15 min


@needs_blast
def test_deeper_and_hotter_cycling_fades_faster_and_fade_is_monotone():
    shallow = assess_profile(daily_profile(7, 0.3, 0.7), 1.0, 25.0, 0.8, 25.0)
    deep = assess_profile(daily_profile(7), 1.0, 25.0, 0.8, 25.0)
    hot = assess_profile(daily_profile(7), 1.0, 40.0, 0.8, 25.0)
    assert shallow["fade_per_year"] < deep["fade_per_year"] < hot["fade_per_year"]
    assert deep["end_of_life_year"] is not None
    assert (
        shallow["end_of_life_year"] is None
        or deep["end_of_life_year"] < shallow["end_of_life_year"]
    )
    for case in (shallow, deep, hot):
        soh = np.asarray(case["soh_by_year"])
        assert soh[0] == 1.0 and np.all(np.diff(soh) < 0)  # multi-year fade is monotone
        if case["end_of_life_year"] is not None:
            k = int(np.floor(case["end_of_life_year"]))
            assert soh[k] >= 0.8 - 1e-12


def test_rainflow_of_a_hand_profile():
    out = rainflow_summary(np.array([0.5, 1.0, 0.0, 1.0, 0.5]))
    # half cycles 0.5→1 and 1→0.5 (depth 0.5) and a full cycle 1→0→1 (depth 1)
    assert out["cycles"] == pytest.approx(2.0)
    assert out["mean_depth"] == pytest.approx((0.5 * 0.5 + 0.5 * 0.5 + 1.0 * 1.0) / 2.0)


def test_augmentation_restores_capacity():
    traj = [1.0, 0.95, 0.91, 0.87, 0.84, 0.81, 0.78]
    cap, years = capacity_by_year(traj, 12, 0.8)
    assert cap[0] == 1.0
    assert years == [7]  # year 7 would start at 0.78 < 0.8: augmented back to 1.0
    assert cap[6] == 1.0
    np.testing.assert_allclose(cap[:6], traj[:6])
    np.testing.assert_allclose(cap[7:12], traj[1:6])
    assert np.all(np.diff(cap[:6]) < 0) and np.all(np.diff(cap[7:]) < 0)
    # a trajectory shorter than the project: its last year's fade continues
    cap, years = capacity_by_year([1.0, 0.9], 4, 0.75)
    np.testing.assert_allclose(cap, [1.0, 0.9, 0.8, 1.0])
    assert years == [4]


def scenario(ageing: dict, economics: bool = False) -> dict:
    prices = [300.0] * 24
    for h in (1, 2, 3):
        prices[h] = 100.0
    for h in (18, 19, 20):
        prices[h] = 900.0
    data = {
        "name": "life-case",
        "horizon": {
            "start": "2026-06-01",
            "end": "2026-06-08",
            "resolution": "60min",
            "timezone": "Asia/Shanghai",
        },
        "signals": {"price": {"hourly": prices}},
        "sites": [
            {
                "name": "s",
                "load": 10.0,
                "storage": [
                    {
                        "name": "bess",
                        "power_mw": 5,
                        "energy_mwh": 10,
                        "charge_efficiency": 0.95,
                        "discharge_efficiency": 0.95,
                        "soc_min": 0.05,
                        "soc_max": 0.95,
                        "ageing": ageing,
                    }
                ],
            }
        ],
    }
    if economics:
        data["economics"] = {
            "lifetime_years": 15,
            "discount_rate": 0.06,
            "capex_per_kwh": 450,
            "calendar_fade_per_year": 0.01,
        }
    return data


@needs_blast
def test_run_writes_the_life_block_and_the_assessed_finance(tmp_path):
    src = tmp_path / "life-case.yaml"
    import yaml

    data = scenario(
        {
            "cost": "depth_aware",
            "segments": 5,
            "replacement_cost_per_kwh": 450,
            "max_cycles_per_day": 1.5,
            "max_years": 25,
        },
        economics=True,
    )
    src.write_text(yaml.safe_dump(data), encoding="utf-8")
    outcome = run_scenario(src, out=tmp_path / "out")
    summary = json.loads((outcome.folder / "summary.json").read_text(encoding="utf-8"))
    life = summary["life"]["bess"]
    a = life["assessment"]
    assert a["model"].startswith("BLAST-Lite")
    assert 0 < a["fade_per_year"] < 0.2 and a["soh_end_of_horizon"] < 1.0
    assert a["end_of_life_year"] is None or a["end_of_life_year"] > 1
    assert life["depth_aware_ageing_cost"] > 0
    assert life["lp_vs_assessed_cycle_fade"] > 0
    assert summary["degradation_cost"] == pytest.approx(life["depth_aware_ageing_cost"])
    fin = summary["finance"]["with_assessed_fade"]
    assert fin["available"] and len(fin["capacity_by_year"]) == 15
    assert np.all(
        np.diff(fin["capacity_by_year"][: (fin["augmentation_years"] or [16])[0] - 1]) <= 0
    )
    assert "cycle_limits" in summary["diagnostics"]["shadow_prices"]
    assert summary["timings"]["life_seconds"] > 0


def test_missing_blast_is_a_one_line_error_naming_the_key(monkeypatch):
    import essdispatch.results.life as life

    monkeypatch.setattr(life, "blast_available", lambda: False)
    inputs = prepare_inputs(scenario_from_dict(scenario({}), HERE))
    with pytest.raises(ScenarioError) as err:
        check_life_available(inputs, "life-case.yaml")
    assert "ageing.assess" in str(err.value) and "essdispatch[life]" in str(err.value)
    # assess: false needs no library
    inputs = prepare_inputs(scenario_from_dict(scenario({"assess": False}), HERE))
    check_life_available(inputs, "life-case.yaml")


@needs_blast
def test_redispatched_years_fade_the_value_and_augmentation_restores_it(tmp_path):
    """``life: {redispatch_years: true}``: every project year is re-solved at the energy
    the assessment leaves; the value falls as the unit fades and is back to year 1's after
    the augmentation."""
    import yaml

    data = scenario(
        {"cost": "depth_aware", "segments": 4, "replacement_cost_per_kwh": 450, "max_years": 25},
        economics=True,
    )
    data["economics"]["lifetime_years"] = 22
    data["life"] = {"redispatch_years": True}
    src = tmp_path / "life-case.yaml"
    src.write_text(yaml.safe_dump(data), encoding="utf-8")
    summary = run_scenario(src, out=tmp_path / "out").summary
    fin = summary["finance"]["with_assessed_fade"]
    assert fin["redispatched_years"] and fin["redispatch_solves"] > 2
    aug = fin["augmentation_years_by_unit"]["bess"]
    assert aug, "the unit should reach end of life within 22 years"
    first = aug[0]
    gross = np.asarray(fin["gross_value_by_year"])
    cap = np.asarray(fin["capacity_by_year"])
    assert cap[0] == 1.0 and cap[first - 1] == 1.0
    assert np.all(np.diff(cap[: first - 1]) < 0)
    assert np.all(np.diff(gross[: first - 1]) <= 1e-6 * gross[0])  # less energy, less value
    assert gross[first - 2] < gross[0]
    assert gross[first - 1] == pytest.approx(gross[0], rel=1e-9)  # augmented: as new
    # year 1 at full capacity is the economics block's own operating value
    assert gross[0] == pytest.approx(summary["finance"]["annual_gross_value"], rel=1e-9)
