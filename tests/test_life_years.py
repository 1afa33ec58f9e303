"""Issue 17, left open: the multi-year state of health re-solved year by year
(``life: {redispatch_years: sequential}``, essdispatch.results.life_years.sequential_years).

Year k is solved at the capacity its units start it with; BLAST-Lite assesses ITS dispatch,
continuing each cell from the state reached at the end of year k−1; a unit below its
end-of-life SOH is augmented (a new cell). Year 1 is the single run; fade is monotone
between augmentations; augmentation restores capacity (and, the same dispatch again, the
same trajectory); a unit cycled harder fades faster; the faded years cycle less energy
than the year-1 profile repeated, so over the years they fade slower.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml
from test_life import needs_blast, scenario

from essdispatch.run import run_scenario

AGEING = {"cost": "depth_aware", "segments": 4, "replacement_cost_per_kwh": 450, "max_years": 25}


def run(tmp_path, data: dict, name: str = "life-case") -> dict:
    src = tmp_path / f"{name}.yaml"
    src.write_text(yaml.safe_dump(data), encoding="utf-8")
    return run_scenario(src, out=tmp_path / f"out-{name}").summary


def case(lifetime: int, mode, **ageing) -> dict:
    data = scenario(dict(AGEING, **ageing), economics=True)
    data["economics"]["lifetime_years"] = lifetime
    data["life"] = {"redispatch_years": mode}
    return data


@needs_blast
def test_year_one_is_the_single_run_and_augmentation_restores_capacity(tmp_path):
    summary = run(tmp_path, case(10, "sequential", end_of_life_soh=0.9))
    fin = summary["finance"]["with_assessed_fade"]
    assert fin["trajectory"] == "sequential" and fin["redispatched_years"]
    soh = np.asarray(fin["soh_by_year_by_unit"]["bess"])
    gross = np.asarray(fin["gross_value_by_year"])
    assessed = summary["life"]["bess"]["assessment"]["soh_by_year"]
    # year 1: the run itself, and the SOH it leaves is the single assessment's after a year
    assert soh[0] == 1.0
    assert soh[1] == pytest.approx(assessed[1], rel=1e-12)
    assert gross[0] == pytest.approx(summary["finance"]["annual_gross_value"], rel=1e-9)
    # augmented at the start of the first year that would begin below 0.9
    aug = fin["augmentation_years_by_unit"]["bess"]
    assert aug, "0.9 is reached within 10 years"
    first = aug[0]
    assert soh[first - 2] >= 0.9  # the year before started above the threshold
    before = soh[: first - 1]
    assert np.all(np.diff(before) < 0)  # monotone fade between augmentations
    assert fin["capacity_by_year"][first - 1] == 1.0 and soh[first - 1] == 1.0
    assert gross[first - 1] == pytest.approx(gross[0], rel=1e-12)  # as new: year 1 again
    assert np.all(np.diff(gross[: first - 1]) < 0)  # less energy, less value
    # the new cell runs the same dispatch as year 1's, so its first year fades the same
    assert soh[first] == pytest.approx(soh[1], rel=1e-12)
    # one solve per distinct capacity vector: the augmented year reuses year 1's, and the
    # new cell's years repeat the first cell's capacities exactly, so reuse their solves
    assert fin["redispatch_solves"] == first - 1
    assert fin["augmentation_cost"] > 0


@needs_blast
def test_a_unit_cycled_harder_fades_faster(tmp_path):
    data = case(4, "sequential")
    site = data["sites"][0]
    soft = copy.deepcopy(site)
    soft["name"] = "s2"
    soft["storage"][0]["name"] = "soft"
    soft["storage"][0]["ageing"]["max_cycles_per_day"] = 0.3
    data["sites"].append(soft)
    summary = run(tmp_path, data)
    fin = summary["finance"]["with_assessed_fade"]
    hard = np.asarray(fin["soh_by_year_by_unit"]["bess"])
    slow = np.asarray(fin["soh_by_year_by_unit"]["soft"])
    dis = fin["discharge_mwh_by_year_by_unit"]
    assert np.all(np.asarray(dis["bess"]) > np.asarray(dis["soft"]))
    assert np.all(hard[1:] < slow[1:])
    assert np.all(np.diff(hard) < 0) and np.all(np.diff(slow) < 0)


@needs_blast
def test_faded_years_cycle_less_and_fade_slower_than_year_one_repeated(tmp_path):
    """``redispatch_years: true`` fades capacity along the trajectory of year 1's profile
    repeated (BLAST conserves its energy: a faded cell cycles deeper); sequential re-solves
    each year, whose faded unit moves less energy, so from year 2 on it has faded less,
    more so every year."""
    seq = run(tmp_path, case(7, "sequential"), "seq")["finance"]["with_assessed_fade"]
    rep = run(tmp_path, case(7, True), "rep")["finance"]["with_assessed_fade"]
    assert rep["trajectory"] == "year-1 profile repeated"
    dis = np.asarray(seq["discharge_mwh_by_year_by_unit"]["bess"])
    assert np.all(np.diff(dis) < 0)  # faded years move less energy
    s = np.asarray(seq["soh_by_year_by_unit"]["bess"])
    r = np.asarray(rep["capacity_by_year"])
    assert s[0] == r[0] == 1.0 and s[1] == pytest.approx(r[1], rel=1e-12)
    assert np.all(s[2:7] > r[2:7])
    assert np.all(np.diff(s[1:7] - r[1:7]) > 0)  # the gap grows
    assert s[6] > r[6] + 1e-3  # SOH at the start of year 7
    assert seq["npv"] != rep["npv"] and seq["npv_year1_trajectory"] is not None


def test_a_faded_year_of_a_sized_unit_keeps_the_size_the_run_chose():
    """Re-solving a faded year pins each sized unit at the run's ratings (then fades the
    energy), instead of sizing again (essdispatch.results.life_years.pin_sizes)."""
    from test_ageing_sizing import SQUARE, arbitrage, inputs_of, sized

    from essdispatch.model.ageing import HealthTracker
    from essdispatch.results.life_years import pin_sizes
    from essdispatch.solve.dispatch import solve_dispatch

    data = sized(arbitrage(SQUARE, 2, [10.0, 100.0] + [0.0] * 22), (0, 100), (0, 8), 5.0)
    r, _ = solve_dispatch(inputs_of(data))
    assert r.inputs.energy[0] == pytest.approx(4 * r.inputs.power[0])  # hand case: En = 4x
    tracker = HealthTracker.of(r.inputs)
    tracker.soh = np.array([0.9])
    faded = pin_sizes(tracker.apply(r.inputs))
    again, _ = solve_dispatch(faded)
    assert again.inputs.energy[0] == pytest.approx(0.9 * r.inputs.energy[0])
    assert again.inputs.power[0] == pytest.approx(r.inputs.power[0])
    # the faded year's size bounds are the faded ratings: nothing left to size
    econ = faded.econ
    assert econ.e_min[0] == econ.e_max[0] == pytest.approx(0.9 * r.inputs.energy[0])
    assert econ.p_min[0] == econ.p_max[0] == pytest.approx(r.inputs.power[0])


def test_an_unknown_redispatch_mode_names_the_key():
    from test_life import HERE

    from essdispatch.base.exceptions import ScenarioError
    from essdispatch.scenario.load import scenario_from_dict

    data = case(3, "sometimes")
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, HERE)
    assert "life.redispatch_years" in str(err.value)
    assert scenario_from_dict(case(3, "sequential"), HERE).model.life.redispatch_years == (
        "sequential"
    )


@needs_blast
@pytest.mark.parametrize("mode", [True, "sequential"])
def test_a_unit_without_a_replacement_cost_fades_in_the_re_solved_years(tmp_path, mode):
    """Linear ageing cost, no ``replacement_cost_per_kwh``: the unit still has an assessed
    trajectory, and its re-solved years run at the faded energy (the rolling tracker leaves
    such a unit at SOH 1; essdispatch.results.life_years.faded_year does not)."""
    data = scenario({"max_years": 25}, economics=True)
    data["economics"]["lifetime_years"] = 4
    data["life"] = {"redispatch_years": mode}
    fin = run(tmp_path, data)["finance"]["with_assessed_fade"]
    gross = np.asarray(fin["gross_value_by_year"])
    cap = np.asarray(fin["capacity_by_year"])
    assert np.all(np.diff(cap) < 0) and np.all(np.diff(gross) < 0)
