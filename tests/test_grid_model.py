"""The modelled hourly grid signals: calibration, seeding, the shared weather draw, presets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from essdispatch.base.weather import daily_weather
from essdispatch.scenario.grid_model import grid_regions, grid_signal, grid_year, model_config
from essdispatch.scenario.presets import describe_preset, list_presets, preset_info, resolve_preset

REGIONS = ["shaanxi", "jiangxi", "northwest", "central"]


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("seed", [0, 7])
def test_calibration_targets(region: str, seed: int) -> None:
    g = grid_year(region, seed, 2022)
    cfg = model_config()["regions"][region]
    target = cfg["average_target_tco2_per_mwh"]["value"]
    # annual (energy-weighted) mean within 2 % of the MEE/NBS factor; the simple mean too
    assert g.average_annual == pytest.approx(target, rel=0.02)
    assert g.average.mean() == pytest.approx(target, rel=0.02)
    # curtailed share within 1 percentage point of its target
    assert abs(g.curtailment_share - cfg["curtailment_target"]["value"]) < 0.01
    lo, hi = cfg["floor_fraction_range"]
    assert lo <= g.floor_fraction <= hi
    assert 0.8 <= g.accounting_scale <= 1.2
    # available wind and solar energy = capacity x full-load hours of the data file
    for tech in ("wind", "solar"):
        hours = getattr(g, f"{tech}_available").sum() / (cfg[f"{tech}_gw"]["value"] * 1e3)
        assert hours == pytest.approx(cfg[f"{tech}_full_load_hours"]["value"], rel=1e-6)
    assert g.wind_available.max() <= 0.95 * cfg["wind_gw"]["value"] * 1e3 * (1 + 1e-12)
    # energy balance of the model closes every hour
    supply = g.thermal + g.hydro + g.solar + g.wind - g.net_export
    np.testing.assert_allclose(supply, g.load, rtol=1e-9, atol=1e-6)
    assert (g.thermal >= g.floor - 1e-6).all()


@pytest.mark.parametrize("region", REGIONS)
def test_marginal_zero_exactly_in_curtailment_hours(region: str) -> None:
    g = grid_year(region, 3, 2025)
    curtailing = g.curtailed > 1e-6 * (g.solar_available + g.wind_available).max()
    assert curtailing.any()
    assert (g.marginal[curtailing] == 0.0).all()
    others = g.marginal[~curtailing]
    assert others.min() >= g.class_ef.min() - 1e-12
    assert others.max() <= g.class_ef.max() + 1e-12
    # the class factors are coal and gas classes from heat rates: within physical bounds
    assert 0.3 < g.class_ef.min() < 0.7 and 0.75 < g.class_ef.max() < 1.1
    # intensities and shares are in range
    assert ((g.average > 0) & (g.average < 1.1)).all()
    assert ((g.carbon_free_share >= 0) & (g.carbon_free_share <= 1)).all()
    # the curtailment hours are clean hours: the carbon-free share is higher there
    assert g.carbon_free_share[curtailing].mean() > g.carbon_free_share[~curtailing].mean()


def test_seeds_identical_or_different_weather_same_targets() -> None:
    a, b, c = (
        grid_year("shaanxi", 5, 2026),
        grid_year("shaanxi", 5, 2026),
        grid_year("shaanxi", 6, 2026),
    )
    assert a is b or np.array_equal(a.average, b.average)
    np.testing.assert_array_equal(
        grid_signal("shaanxi", "marginal", a.hours, 1.0, seed=5), a.marginal
    )
    assert not np.allclose(a.solar_available, c.solar_available)
    assert not np.allclose(a.average, c.average)
    assert a.average_annual == pytest.approx(c.average_annual, rel=1e-9)
    assert a.curtailment_share == pytest.approx(c.curtailment_share, abs=1e-6)


def test_shared_weather_with_spot_preset() -> None:
    """Same seed: the spot's cheap, clear days are the grid model's high-solar, curtailing days."""
    spot = resolve_preset("shaanxi-spot-synthetic", {"seed": 7, "year": 2025})
    hours = pd.date_range("2025-01-01", periods=8760, freq="h", tz="Asia/Shanghai")
    price = spot(hours, 1.0)  # type: ignore[operator]
    g = grid_year("shaanxi", 7, 2025)
    w = daily_weather(7, 2025, (0.6, 1.0), 0.25)
    # the model's daily solar follows the spot's clearness draw
    solar_day = g.solar_available.reshape(-1, 24).sum(axis=1)
    clear_rank = np.corrcoef(w.clearness, solar_day / solar_day.mean())[0, 1]
    assert clear_rank > 0.5
    # midday (11-14 h) price and marginal intensity move together across days
    midday = np.zeros(24, dtype=bool)
    midday[11:15] = True
    p_mid = price.reshape(-1, 24)[:, midday].mean(axis=1)
    m_mid = g.marginal.reshape(-1, 24)[:, midday].mean(axis=1)
    assert np.corrcoef(p_mid, m_mid)[0, 1] > 0.3
    # another seed breaks the link
    g2 = grid_year("shaanxi", 8, 2025)
    m2 = g2.marginal.reshape(-1, 24)[:, midday].mean(axis=1)
    assert np.corrcoef(p_mid, m2)[0, 1] < np.corrcoef(p_mid, m_mid)[0, 1]


def test_periods_average_hours_and_cross_years() -> None:
    g = grid_year("jiangxi", 1, 2026)
    idx = pd.date_range("2026-03-01", periods=48, freq="h", tz="Asia/Shanghai")
    hourly = grid_signal("jiangxi", "average", idx, 1.0, seed=1)
    two = pd.date_range("2026-03-01", periods=24, freq="2h", tz="Asia/Shanghai")
    np.testing.assert_allclose(
        grid_signal("jiangxi", "average", two, 2.0, seed=1), hourly.reshape(24, 2).mean(axis=1)
    )
    quarter = pd.date_range("2026-03-01", periods=8, freq="15min", tz="Asia/Shanghai")
    np.testing.assert_allclose(
        grid_signal("jiangxi", "average", quarter, 0.25, seed=1), np.repeat(hourly[:2], 4)
    )
    start = (pd.Timestamp("2026-03-01") - pd.Timestamp("2026-01-01")) // pd.Timedelta(hours=1)
    np.testing.assert_array_equal(hourly, g.average[start : start + 48])
    newyear = pd.date_range("2026-12-31 22:00", periods=4, freq="h", tz="Asia/Shanghai")
    vals = grid_signal("jiangxi", "carbon-free-share", newyear, 1.0, seed=1)
    assert vals[-1] == grid_year("jiangxi", 1, 2027).carbon_free_share[1]


def test_presets_registered_with_provenance() -> None:
    table = list_presets()
    for region in grid_regions():
        for stem in (
            "cn-grid-hourly-average",
            "cn-grid-hourly-marginal",
            "cn-grid-carbon-free-share",
        ):
            info = preset_info(f"{stem}/{region}")
            assert info.source and info.confidence == "L" and "MODELLED" in info.note
            assert f"{stem}/{region}" in set(table["name"])
    text = describe_preset("cn-grid-hourly-average/shaanxi")
    assert "calibration" in text and "0.6558" in text and "UNCONFIRMED" in text
    f = resolve_preset("cn-grid-hourly-marginal/shaanxi", {"seed": 2})
    idx = pd.date_range("2026-07-01", periods=24, freq="h", tz="Asia/Shanghai")
    np.testing.assert_array_equal(f(idx, 1.0), grid_signal("shaanxi", "marginal", idx, 1.0, 2))  # type: ignore[operator]
    with pytest.raises(ValueError, match="seed"):
        resolve_preset("cn-grid-hourly-average/jiangxi", {"seed": 1.5})
    with pytest.raises(ValueError, match="takes seed"):
        resolve_preset("cn-grid-hourly-average/jiangxi", {"year": 2022})


def test_every_region_parameter_has_source_and_confidence() -> None:
    cfg = model_config()
    for region in cfg["regions"].values():
        for key, value in region.items():
            if isinstance(value, dict) and "value" in value:
                assert value["source"].strip() and value["confidence"] in {
                    "H",
                    "M",
                    "L-M",
                    "L",
                    "UNCONFIRMED",
                }, key
    for cls in cfg["unit_classes"].values():
        assert cls["source"] and cls["confidence"]


def test_modelled_mix_against_published_statistics() -> None:
    """Cross-checks against figures not used as calibration targets (data/grid_model.yaml)."""
    jx = grid_year("jiangxi", 0, 2022).calibration()
    # State Grid Jiangxi 2022: solar generation 10.269 TWh; 21.0 TWh brought in
    assert jx["solar_twh"] == pytest.approx(10.269, rel=0.02)
    assert jx["net_import_twh"] == pytest.approx(21.0, rel=1e-9)
    # clean generation 39.224 TWh includes biomass (not modelled): hydro + wind + solar below it
    assert 25.0 < jx["hydro_twh"] + jx["wind_twh"] + jx["solar_twh"] < 39.224
    sx = grid_year("shaanxi", 0, 2022).calibration()
    # Shaanxi DRC: renewables "about 45 TWh a year, about one sixth of generation" (rough)
    generation = sx["thermal_twh"] + sx["hydro_twh"] + sx["wind_twh"] + sx["solar_twh"]
    assert 220 < generation < 320
    assert 35 < sx["hydro_twh"] + sx["wind_twh"] + sx["solar_twh"] < 60
