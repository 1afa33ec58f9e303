"""Tests of essdispatch.scenario.presets: provenance, TOU hour tables, the synthetic spot shape."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from essdispatch.scenario.presets import (
    CONFIDENCE_LEVELS,
    daylight_weight,
    describe_preset,
    list_aliases,
    list_presets,
    preset_info,
    presets_table_text,
    resolve_preset,
    shaanxi_spot_synthetic,
    tou_period_at,
    tou_periods,
)

TZ = "Asia/Shanghai"

# --------------------------------------------------------------------------------------------
# Loading and provenance


def test_every_preset_has_source_and_confidence() -> None:
    table = list_presets()
    assert len(table) >= 40
    assert table["name"].is_unique
    assert (table["source"].str.len() > 10).all()
    assert table["confidence"].isin(list(CONFIDENCE_LEVELS)).all()
    below_h = table[table["confidence"] != "H"]
    assert below_h["note"].str.startswith("confidence ").all()  # users see the low confidence
    for name in table["name"]:
        assert preset_info(name).source in describe_preset(name)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("cn-grid-average/national/2021", 0.5568),
        ("cn-grid-average/national/2022", 0.5366),
        ("cn-grid-average/national/2023", 0.5306),
        ("cn-grid-average/national-residual/2023", 0.6096),
        ("cn-grid-average/fossil-only/2022", 0.8325),
        ("cn-grid-average/north/2021", 0.7120),
        ("cn-grid-average/northwest/2022", 0.5857),
        ("cn-grid-average/central/2023", 0.5271),
        ("cn-grid-average/south/2022", 0.3869),
        ("cn-grid-average/southwest/2023", 0.2472),
        ("cn-grid-average/shaanxi/2022", 0.6558),
        ("cn-grid-average/jiangxi/2021", 0.5835),
        ("cn-ets-compliance/2022", 0.5703),
        ("cn-grid-om/northwest", 0.8922),
        ("cn-grid-om/northeast", 1.0826),
        ("cn-coal-benchmark/shaanxi", 354.5),  # CNY/kWh 0.3545 -> CNY/MWh
        ("cn-coal-benchmark/jiangxi", 414.3),
        ("CN-Grid-Average/Northwest/Latest", 0.5543),  # alias, case-insensitive
        ("cn-grid-marginal-proxy/central", 0.8587),
    ],
)
def test_constant_presets(name: str, value: float) -> None:
    resolved = resolve_preset(name, {})
    assert isinstance(resolved, float)
    assert resolved == pytest.approx(value, abs=1e-9)


def test_confidence_labels() -> None:
    assert preset_info("cn-grid-average/northwest/2022").confidence == "H"
    assert preset_info("cn-grid-average/northwest/2021").confidence == "M"
    assert preset_info("cn-grid-average/shaanxi/2021").confidence == "M"
    om = preset_info("cn-grid-om/central")
    assert om.confidence == "L-M"
    assert om.kind == "marginal-proxy"
    assert "PROXY" in om.note
    assert "no official hourly" in describe_preset("cn-grid-om/central")
    assert "NOT the MEE/NBS statistical series" in preset_info("cn-ets-compliance/2022").description


def test_unknown_name_suggests_close_names() -> None:
    with pytest.raises(KeyError, match="cn-grid-average/northwest/2022"):
        resolve_preset("cn-grid-average/nortwest/2022", {})
    with pytest.raises(KeyError, match="shaanxi-tou-2025"):
        resolve_preset("shaanxi-tou-2024", {})


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("cn-grid-average/national/2022", {"scale": 2.0}),
        ("shaanxi-tou-2025", {"floating": -1.0}),
        ("shaanxi-tou-2025", {"peak": 1.0}),
        ("shaanxi-tou-2025", {"multiplier_only": 2}),
        ("shaanxi-tou-2025", {"multiplier_only": 1, "adder": 3.0}),
        ("shaanxi-tou-2025", {"floating": "cheap"}),
        ("shaanxi-spot-synthetic", {"seed": 1.5}),
        ("shaanxi-spot-synthetic", {"year": 2024}),
        ("shaanxi-spot-synthetic", {"seed": float("nan")}),
    ],
)
def test_bad_params(name: str, params: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        resolve_preset(name, params)


def test_table_text() -> None:
    text = presets_table_text()
    for name in list_presets()["name"]:
        assert name in text
    assert "Sources:" in text
    one = presets_table_text("cn-grid-average/northwest/2022")
    assert "0.5857 tCO2/MWh" in one
    assert "daydaynews" in one  # the source of that number, in one command
    assert "carbon: {average: {preset: cn-grid-average/northwest/2022}}" in one
    some = presets_table_text("om/")
    assert "cn-grid-om/south" in some
    assert "cn-grid-average" not in some
    with pytest.raises(KeyError, match="no preset matches 'zzz-nothing'"):
        presets_table_text("zzz-nothing")
    assert all(target in set(list_presets()["name"]) for target in list_aliases().values())


# --------------------------------------------------------------------------------------------
# TOU presets: every hour of sample days against the tables of the two documents


def _slots(spec: str) -> dict[int, str]:
    """'peak:16-23 valley:0-6,11:30-12' -> {half-hour slot 0..47: period} for listed slots."""

    def slot(bound: str) -> int:
        hh, _, mm = bound.partition(":")
        return int(hh) * 2 + (int(mm) // 30 if mm else 0)

    out: dict[int, str] = {}
    for part in spec.split():
        period, ranges = part.split("=")
        for rng in ranges.split(","):
            a, b = (slot(x) for x in rng.split("-"))
            for k in range(a, b):
                out[k] = period
    return out


# Expected periods transcribed from the documents (unlisted = flat).
SHAANXI_VALLEY = "valley=0-6,11-14"
SHAANXI = {  # 陕发改价格〔2025〕1034号
    4: _slots(f"peak=16-23 {SHAANXI_VALLEY}"),
    10: _slots(f"peak=16-23 {SHAANXI_VALLEY}"),
    7: _slots(f"peak=16-19,21-23 sharp=19-21 {SHAANXI_VALLEY}"),
    8: _slots(f"peak=16-19,21-23 sharp=19-21 {SHAANXI_VALLEY}"),
    12: _slots(f"peak=16-18,20-23 sharp=18-20 {SHAANXI_VALLEY}"),
    1: _slots(f"peak=16-18,20-23 sharp=18-20 {SHAANXI_VALLEY}"),
}
JIANGXI_VALLEY = "valley=1-5,11:30-12,14-14:30 deep_valley=12-14"
JIANGXI = {  # 赣发改价管〔2025〕463号
    1: _slots("peak=9-12,20-21 sharp=18-20 valley=0-6"),
    12: _slots("peak=9-12,20-21 sharp=18-20 valley=0-6"),
    2: _slots("peak=16-22 valley=0-6"),
    3: _slots(f"peak=16-22 {JIANGXI_VALLEY}"),
    6: _slots(f"peak=16-22 {JIANGXI_VALLEY}"),
    10: _slots(f"peak=16-22 {JIANGXI_VALLEY}"),
    11: _slots(f"peak=16-22 {JIANGXI_VALLEY}"),
    7: _slots(f"peak=17-20:30,22:30-23 sharp=20:30-22:30 {JIANGXI_VALLEY}"),
    8: _slots(f"peak=17-20:30,22:30-23 sharp=20:30-22:30 {JIANGXI_VALLEY}"),
    9: _slots(f"peak=17-23 {JIANGXI_VALLEY}"),
}


def _check_day(name: str, month: int, expected: dict[int, str]) -> None:
    # every half-hour of a sample day, at the start of the slot and 15 minutes in
    starts = pd.date_range(f"2025-{month:02d}-15", periods=48, freq="30min", tz=TZ)
    for offset in (pd.Timedelta(0), pd.Timedelta(minutes=15)):
        got = tou_periods(name, starts + offset)
        want = [expected.get(k, "flat") for k in range(48)]
        assert list(got) == want, (name, month, offset)
        assert tou_period_at(name, starts[0] + offset) == want[0]


@pytest.mark.parametrize("month", sorted(SHAANXI))
def test_shaanxi_tou_hours(month: int) -> None:
    _check_day("shaanxi-tou-2025", month, SHAANXI[month])


@pytest.mark.parametrize("month", sorted(JIANGXI))
def test_jiangxi_tou_hours(month: int) -> None:
    _check_day("jiangxi-tou-2025", month, JIANGXI[month])


@pytest.mark.parametrize(
    ("when", "period"),
    [
        ("2025-04-15 11:29", "flat"),
        ("2025-04-15 11:30", "valley"),
        ("2025-04-15 11:59", "valley"),
        ("2025-04-15 12:00", "deep_valley"),
        ("2025-04-15 13:59", "deep_valley"),
        ("2025-04-15 14:00", "valley"),
        ("2025-04-15 14:29", "valley"),
        ("2025-04-15 14:30", "flat"),
        ("2025-07-15 20:29", "peak"),
        ("2025-07-15 20:30", "sharp"),
        ("2025-07-15 22:29", "sharp"),
        ("2025-07-15 22:30", "peak"),
        ("2025-07-15 23:00", "flat"),
        ("2025-09-15 21:00", "peak"),  # no sharp in September
        ("2025-01-15 05:59", "valley"),
        ("2025-01-15 06:00", "flat"),
    ],
)
def test_jiangxi_half_hours(when: str, period: str) -> None:
    assert tou_period_at("jiangxi-tou-2025", when) == period


def test_tou_periods_vectorised_matches_scalar() -> None:
    index = pd.date_range("2025-01-01", "2026-01-01", freq="90min", inclusive="left", tz=TZ)
    periods = tou_periods("jiangxi-tou-2025", index)
    picks = [0, 17, 1000, 2500, len(index) - 1]
    assert [periods[i] for i in picks] == [tou_period_at("jiangxi-tou", index[i]) for i in picks]
    assert set(periods) == {"peak", "flat", "valley", "deep_valley", "sharp"}


def test_tou_prices() -> None:
    spec = resolve_preset("shaanxi-tou-2025", {})
    assert isinstance(spec, dict)
    prices = spec["tou"]["periods"]
    assert prices["flat"] == pytest.approx(607.8, abs=0.05)
    assert prices["valley"] == pytest.approx(371.5, abs=0.05)  # 0.3715 CNY/kWh
    assert prices["peak"] == pytest.approx(844.1, abs=0.05)  # 0.8441 CNY/kWh
    assert prices["sharp"] == pytest.approx(911.6, abs=0.05)
    jx = resolve_preset("jiangxi-tou-2025", {})["tou"]["periods"]  # type: ignore[index]
    assert jx["flat"] == pytest.approx(646.7, abs=0.05)
    assert jx["deep_valley"] == pytest.approx(359.6, abs=0.05)
    assert jx["valley"] == pytest.approx(400.6, abs=0.05)
    assert jx["peak"] == pytest.approx(892.8, abs=0.05)
    custom = resolve_preset("shaanxi-tou", {"floating": 100.0, "adder": 0.0})
    assert custom["tou"]["periods"] == pytest.approx(  # type: ignore[index]
        {"peak": 170.0, "flat": 100.0, "valley": 30.0, "sharp": 190.0}
    )
    bare = resolve_preset("jiangxi-tou-2025", {"multiplier_only": 1})
    assert bare["tou"]["periods"] == {  # type: ignore[index]
        "peak": 1.6,
        "flat": 1.0,
        "valley": 0.4,
        "deep_valley": 0.3,
        "sharp": 1.8,
    }
    # the spec is a fresh copy: mutating it does not change the preset
    bare["tou"]["hours"]["peak"].append([0, 1])  # type: ignore[index]
    assert resolve_preset("jiangxi-tou-2025", {})["tou"]["hours"]["peak"] == [[16, 22]]  # type: ignore[index]


def test_tou_spec_form() -> None:
    spec = resolve_preset("shaanxi-tou-2025", {})["tou"]  # type: ignore[index]
    assert spec["default"] == "flat"
    assert spec["hours"] == {"peak": [[16, 23]], "valley": [[0, 6], [11, 14]]}
    summer = next(s for s in spec["seasons"] if 7 in s["months"])
    assert summer["months"] == [7, 8]
    assert summer["hours"]["sharp"] == [[19, 21]]
    assert summer["hours"]["peak"] == [[16, 19], [21, 23]]


# --------------------------------------------------------------------------------------------
# Synthetic spot shape: documented statistics within stated tolerances

MONTHLY_2025 = np.array([330, 300, 280, 220, 216, 238, 252, 298, 144, 257, 187, 272], dtype=float)


@pytest.fixture(scope="module")
def year_2025() -> pd.DatetimeIndex:
    return pd.date_range("2025-01-01", "2026-01-01", freq="60min", inclusive="left", tz=TZ)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_spot_statistics(year_2025: pd.DatetimeIndex, seed: int) -> None:
    spot = resolve_preset("shaanxi-spot-synthetic", {"seed": seed, "year": 2025})
    assert callable(spot)
    price = spot(year_2025, 1.0)
    assert isinstance(price, np.ndarray)
    assert price.shape == (len(year_2025),)
    series = pd.Series(price, index=year_2025)
    # annual mean 250 within 3 %; monthly means within 3 %
    assert price.mean() == pytest.approx(250.0, rel=0.03)
    monthly = series.groupby(year_2025.month).mean().to_numpy()
    np.testing.assert_allclose(monthly, MONTHLY_2025, rtol=0.03)
    # floor and cap
    assert price.min() >= 40.0
    assert price.max() <= 1000.0
    # solar-weighted mean / mean = 0.38 +- 0.05 with the documented daylight weight
    w = daylight_weight(year_2025, 1.0)
    assert (w * price).sum() / w.sum() / price.mean() == pytest.approx(0.38, abs=0.05)
    # share of days reaching the cap: 125/269 = 46 % +- 10 points
    day_max = series.groupby(year_2025.date).max()
    assert (day_max >= 1000.0 - 1e-6).mean() == pytest.approx(125 / 269, abs=0.10)


def test_spot_seeded_and_horizon_independent(year_2025: pd.DatetimeIndex) -> None:
    full = shaanxi_spot_synthetic(year_2025, 1.0, seed=3)
    np.testing.assert_array_equal(full, shaanxi_spot_synthetic(year_2025, 1.0, seed=3))
    assert not np.allclose(full, shaanxi_spot_synthetic(year_2025, 1.0, seed=4))
    week = pd.date_range("2025-06-03", "2025-06-10", freq="60min", inclusive="left", tz=TZ)
    cut = pd.Series(full, index=year_2025).loc[week].to_numpy()
    np.testing.assert_allclose(shaanxi_spot_synthetic(week, 1.0, seed=3), cut)
    # 15-minute periods take their hour's value; 2-hour periods average their hours
    quarter = pd.date_range("2025-06-03", "2025-06-04", freq="15min", inclusive="left", tz=TZ)
    np.testing.assert_allclose(
        shaanxi_spot_synthetic(quarter, 0.25, seed=3), np.repeat(cut[:24], 4), rtol=1e-9
    )
    two = pd.date_range("2025-06-03", "2025-06-04", freq="120min", inclusive="left", tz=TZ)
    np.testing.assert_allclose(
        shaanxi_spot_synthetic(two, 2.0, seed=3), cut[:24].reshape(12, 2).mean(axis=1), rtol=1e-9
    )


def test_spot_floor_2026() -> None:
    index = pd.date_range("2026-04-01", "2026-05-01", freq="60min", inclusive="left", tz=TZ)
    default = resolve_preset("shaanxi-spot-synthetic", {})(index, 1.0)  # type: ignore[operator]
    assert default.min() >= 0.0
    assert default.min() < 40.0  # floor 0 from 2026 when following the calendar
    forced = resolve_preset("shaanxi-spot", {"year": 2025})(index, 1.0)  # type: ignore[operator]
    assert forced.min() >= 40.0
    assert forced.mean() == pytest.approx(220.0, rel=1e-6)  # April mean of the 2025 table


# --------------------------------------------------------------------------------------------
# End to end through the series layer (skipped until essdispatch.scenario.series exists)


def _series_module():  # type: ignore[no-untyped-def]
    if importlib.util.find_spec("essdispatch.scenario.series") is None:
        pytest.skip("essdispatch.scenario.series not available yet")
    return pytest.importorskip("essdispatch.scenario.series")


def _evaluate(raw: object, index: pd.DatetimeIndex, dt_h: float) -> np.ndarray:
    series = _series_module()
    ctx = series.SeriesContext(index=index, dt_h=dt_h, base_dir=Path("."), key="signals.price")
    return series.evaluate_series(series.parse_series(raw, ctx), ctx)


def test_tou_preset_through_series_layer() -> None:
    index = pd.date_range("2025-07-15", "2025-07-17", freq="60min", inclusive="left", tz=TZ)
    values = _evaluate({"preset": "shaanxi-tou-2025"}, index, 1.0)
    expected = {"peak": 844.12, "flat": 607.8, "valley": 371.48, "sharp": 911.64}
    want = [expected[p] for p in tou_periods("shaanxi-tou-2025", index)]
    np.testing.assert_allclose(values, want, rtol=1e-9)
    assert values[19] == pytest.approx(911.64)  # July 19:00 is sharp
    # Jiangxi at 30 min: the half-hour boundaries are honoured exactly
    index = pd.date_range("2025-04-15", "2025-04-16", freq="30min", inclusive="left", tz=TZ)
    raw = {"preset": "jiangxi-tou-2025", "params": {"multiplier_only": 1}}
    values = _evaluate(raw, index, 0.5)
    mult = {"peak": 1.6, "flat": 1.0, "valley": 0.4, "deep_valley": 0.3, "sharp": 1.8}
    np.testing.assert_allclose(values, [mult[p] for p in tou_periods("jiangxi-tou", index)])


def test_other_presets_through_series_layer() -> None:
    index = pd.date_range("2025-06-01", "2025-06-08", freq="60min", inclusive="left", tz=TZ)
    carbon = _evaluate({"preset": "cn-grid-average/northwest/2022"}, index, 1.0)
    np.testing.assert_allclose(carbon, 0.5857)
    spot = _evaluate({"preset": "shaanxi-spot-synthetic", "params": {"seed": 2}}, index, 1.0)
    np.testing.assert_allclose(spot, shaanxi_spot_synthetic(index, 1.0, seed=2))
    with pytest.raises(ValueError, match="cn-grid-om/northwest"):  # ScenarioError is a ValueError
        _evaluate({"preset": "cn-grid-om/nortwest"}, index, 1.0)
