"""The sweep's shared series evaluation is an explicit object (series.SeriesMemo), not a
monkeypatch of scenario.evaluate_series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from essdispatch.scenario import checks as scenario_module
from essdispatch.scenario import series_base, series_pvlib
from essdispatch.scenario.load import load_scenario, scenario_from_dict
from essdispatch.scenario.series import SeriesMemo
from essdispatch.sweeps.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[1]


def test_memo_evaluates_each_distinct_series_once(monkeypatch):
    base = load_scenario(ROOT / "scenarios" / "two-sites-shared-tie-day.yaml")
    data = base.to_dict()
    calls: list[int] = []
    original = series_pvlib._pvlib_profile

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(series_pvlib, "_pvlib_profile", counting)
    memo = SeriesMemo()
    first = scenario_from_dict(data, base.base_dir, memo=memo)
    n = len(calls)
    assert n == 2  # two sites with a pvlib profile
    # a second case that changes a number, not a series: no pvlib evaluation at all
    data["sites"][0]["grid"]["export_limit_mw"] = 80
    second = scenario_from_dict(data, base.base_dir, memo=memo)
    assert len(calls) == n and memo.hits >= 2
    for key in first.series:
        np.testing.assert_array_equal(first.series[key], second.series[key])
    # another location is another series
    data["sites"][0]["location"]["lat"] = 30.0
    scenario_from_dict(data, base.base_dir, memo=memo)
    assert len(calls) == n + 1
    # without a memo every scenario evaluates its own
    scenario_from_dict(data, base.base_dir)
    assert len(calls) == n + 3  # both sites again


def test_load_sweep_leaves_the_scenario_module_alone(monkeypatch):
    before = scenario_module.evaluate_series
    seen: list[object] = []
    real = scenario_from_dict

    def spy(*args, **kwargs):
        seen.append(kwargs.get("memo"))
        assert scenario_module.evaluate_series is before
        return real(*args, **kwargs)

    import essdispatch.sweeps.sweep_file as sweep_file

    monkeypatch.setattr(sweep_file, "scenario_from_dict", spy)
    sweep = load_sweep(ROOT / "sweeps" / "shaanxi-fleet-carbon-duration.yaml")
    assert sweep.cases and len(seen) == len(sweep.cases)
    assert all(isinstance(m, SeriesMemo) for m in seen) and len({id(m) for m in seen}) == 1
    assert scenario_module.evaluate_series is before


def test_memo_key_covers_every_context_field():
    ctx = series_base.SeriesContext(
        index=__import__("pandas").date_range("2026-06-01", periods=3, freq="h", tz="UTC"),
        dt_h=1.0,
        base_dir=ROOT,
    )
    memo = SeriesMemo()
    spec = 3.0
    a = memo.key(spec, ctx.at("sites[0].load"))
    assert a == memo.key(spec, ctx.at("sites[0].load", file="other.yaml"))
    assert a != memo.key(spec, ctx.at("sites[1].load"))
    assert a != memo.key(spec, ctx.at("sites[0].load", lat=10.0))
    assert memo.evaluate(spec, ctx.at("x")) == pytest.approx([3.0, 3.0, 3.0])
