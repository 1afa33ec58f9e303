"""MODELLED hourly carbon signals of a Chinese provincial or regional grid.

China publishes annual average emission factors only (no hourly, no marginal series). This
module builds a transparent residual-load model of one grid for one calendar year, seeded, and
calibrates it to published annual figures. Its parameters, each with source and confidence,
are in ``essdispatch/data/grid_model.yaml``. The results feed three preset families:

- ``cn-grid-hourly-average/<region>``: hourly average intensity of the electricity supplied in
  the grid [tCO2/MWh];
- ``cn-grid-hourly-marginal/<region>``: hourly marginal intensity [tCO2/MWh]: 0 in the hours
  when the model curtails wind and solar, else the factor of the thermal unit class at the
  margin;
- ``cn-grid-carbon-free-share/<region>``: hourly carbon-free share of the supply [fraction].

Method (one calendar year, hourly, local wall clock; every step vectorised over the year):

1. **Weather.** The daily draw of :func:`essdispatch.base.weather.daily_weather` (stream 0 for
   Shaanxi and the Northwest, the stream of ``shaanxi-spot-synthetic``; stream 1 for Jiangxi
   and Central): a daily clearness ``c_d`` and a standard-normal wind anomaly ``z_d``.
2. **Solar.** pvlib clear-sky plane-of-array irradiance at the region's representative
   location (Ineichen, isotropic, south-facing at ``tilt``), per unit of 1000 W/m², times the
   daily clear-sky index ``k_d`` (linear in ``c_d``, ``shapes.solar_clearsky_index``), scaled
   (clip-aware, :func:`essdispatch.scenario.series_pvlib.full_load_scale`) to ``solar_full_load_hours`` of
   available energy on ``solar_gw``.
3. **Wind.** ``exp(s z_d - s²/2) × hour shape × month shape × hourly lognormal noise``,
   clipped to 0.95 per unit and scaled to ``wind_full_load_hours`` on ``wind_gw``. A windy day
   is the spot shape's cheap day (the same draw read the other way).
4. **Hydro.** Monthly shape, flat within the day, ``hydro_twh`` a year (must-take).
5. **Load.** Winter / summer hour-of-day shapes blended by month, a weekend factor and daily
   lognormal noise, ``consumption_twh`` a year. **Net exports** (negative: imports) follow the
   tie-line hour shape, ``net_export_twh`` a year.
6. **Balance.** Demand on the grid's own plants ``D = load + net export`` (imports are
   must-take supply). Thermal must run at least the floor ``F = f · thermal_gw · (1 + u in the
   heating months)``, capped at ``D - hydro``. Wind and solar are accepted up to
   ``D - hydro - F``; the rest is **curtailed**. Thermal output ``D - hydro - accepted``.
7. **Merit order.** Thermal output is stacked over the unit classes (``thermal_mix``, cheapest
   first); the class in which the output ends is the marginal class. Class factor
   ``EF_c = k · heat_rate_c · fuel factor``.
8. **Signals.** Average ``= (Σ_c EF_c g_c + ef_imp · imports) / (thermal + hydro + accepted +
   imports)`` (exports leave with the mix pro rata); marginal ``= 0`` where the model curtails,
   else ``EF`` of the marginal class; carbon-free share ``= (hydro + accepted + cf_imp ·
   imports) / supply``.
9. **Calibration** (for every seed and year): ``f`` by bisection so that the curtailed share of
   available wind + solar equals ``curtailment_target``; then ``k`` in closed form so that the
   energy-weighted annual mean of the average series equals ``average_target_tco2_per_mwh``.
   Both must land in plausible ranges (``floor_fraction_range``; ``k`` in [0.8, 1.2]) or the
   calibration raises.

The targets are 2022 figures; other calendar years reuse them with that year's weather and
calendar. A period ``[t, t + dt)`` takes the mean of the hourly values it covers (sub-hourly
periods take their hour's value), so a value depends only on (region, seed, timestamp).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd

from essdispatch.base.weather import daily_weather, days_in_year, period_means, wall_clock_span

__all__ = [
    "SIGNALS",
    "GridYear",
    "grid_regions",
    "grid_signal",
    "grid_year",
    "model_config",
]

#: signal name -> (GridYear attribute, unit)
SIGNALS: dict[str, tuple[str, str]] = {
    "average": ("average", "tCO2/MWh"),
    "marginal": ("marginal", "tCO2/MWh"),
    "carbon-free-share": ("carbon_free_share", "fraction"),
}
ACCOUNTING_SCALE_RANGE = (0.8, 1.2)
_WIND_CLIP = 0.95
_HOURS = np.arange(24)


@lru_cache(maxsize=1)
def model_config() -> dict[str, Any]:
    """The parsed ``data/grid_model.yaml`` (checked: every region has the keys it needs)."""
    from essdispatch.base.yamlio import load_yaml_text  # the one bounded, duplicate-refusing reader

    raw = load_yaml_text(
        (files("essdispatch") / "data" / "grid_model.yaml").read_text("utf-8"),
        "essdispatch/data/grid_model.yaml",
    )
    for name, region in raw["regions"].items():
        for key in (
            "average_target_tco2_per_mwh",
            "curtailment_target",
            "consumption_twh",
            "net_export_twh",
            "thermal_gw",
            "hydro_twh",
            "wind_gw",
            "wind_full_load_hours",
            "solar_gw",
            "solar_full_load_hours",
            "import_tco2_per_mwh",
            "import_carbon_free_share",
        ):
            entry = region[key]
            if not str(entry.get("source", "")).strip() or "confidence" not in entry:
                raise ValueError(
                    f"data/grid_model.yaml: regions.{name}.{key} needs source and confidence"
                )
        mix = region["thermal_mix"]
        if set(mix) - set(raw["unit_classes"]) or abs(sum(mix.values()) - 1.0) > 1e-9:
            raise ValueError(
                f"data/grid_model.yaml: regions.{name}.thermal_mix must sum to 1 over known classes"
            )
    return raw


def grid_regions() -> list[str]:
    """Names of the modelled grids (``shaanxi``, ``jiangxi``, ``northwest``, ``central``)."""
    return list(model_config()["regions"])


@dataclass(frozen=True, eq=False)
class GridYear:
    """One modelled calendar year of one grid, hourly (local wall clock). Power in MW.

    Attributes
    ----------
    region, year, seed : what was modelled
    hours : naive local ``DatetimeIndex`` of the year's hours
    load, net_export, hydro : [MW]; net_export < 0 is a net import
    solar_available, wind_available, solar, wind, curtailed : [MW]; solar/wind are accepted
    thermal, floor : thermal output and its must-run floor [MW]
    marginal_class : (hours,) index into ``class_names`` of the marginal thermal class
    class_names : unit classes in merit order; class_ef : their calibrated factors [tCO2/MWh]
    average, marginal : [tCO2/MWh]; carbon_free_share : [fraction]
    floor_fraction, accounting_scale : the calibrated parameters
    curtailment_share : curtailed / available wind + solar energy [fraction]
    average_annual : energy-weighted annual mean of ``average`` [tCO2/MWh]
    """

    region: str
    year: int
    seed: int
    hours: pd.DatetimeIndex
    load: np.ndarray
    net_export: np.ndarray
    hydro: np.ndarray
    solar_available: np.ndarray
    wind_available: np.ndarray
    solar: np.ndarray
    wind: np.ndarray
    curtailed: np.ndarray
    thermal: np.ndarray
    floor: np.ndarray
    marginal_class: np.ndarray
    class_names: tuple[str, ...]
    class_ef: np.ndarray
    average: np.ndarray
    marginal: np.ndarray
    carbon_free_share: np.ndarray
    floor_fraction: float
    accounting_scale: float
    curtailment_share: float
    average_annual: float

    @property
    def supply(self) -> np.ndarray:
        """Supply to the grid's consumers plus exports [MW]: thermal + hydro + accepted + imports."""
        return (
            self.thermal + self.hydro + self.solar + self.wind + np.maximum(-self.net_export, 0.0)
        )

    def calibration(self) -> dict[str, float]:
        """Modelled annual figures next to their targets."""
        region = model_config()["regions"][self.region]
        return {
            "average_annual_tco2_per_mwh": self.average_annual,
            "average_target_tco2_per_mwh": float(region["average_target_tco2_per_mwh"]["value"]),
            "average_simple_mean_tco2_per_mwh": float(self.average.mean()),
            "curtailment_share": self.curtailment_share,
            "curtailment_target": float(region["curtailment_target"]["value"]),
            "curtailed_hours": int(np.count_nonzero(self.curtailed > 0)),
            "floor_fraction": self.floor_fraction,
            "accounting_scale": self.accounting_scale,
            "marginal_mean_tco2_per_mwh": float(self.marginal.mean()),
            "carbon_free_share_energy_weighted": float(
                (self.carbon_free_share * self.supply).sum() / self.supply.sum()
            ),
            # the modelled generation mix [TWh], to set against the statistics
            "thermal_twh": float(self.thermal.sum() / 1e6),
            "hydro_twh": float(self.hydro.sum() / 1e6),
            "wind_twh": float(self.wind.sum() / 1e6),
            "solar_twh": float(self.solar.sum() / 1e6),
            "net_import_twh": float(-self.net_export.sum() / 1e6),
        }


# --------------------------------------------------------------------------------------------
# Shapes


_SOLAR_MEMO: dict[str, np.ndarray] = {}  # clear-sky profiles of this process, by cache key
_SOLAR_CODE_VERSION = 1  # in the cache key: raise it whenever _solar_clearsky_compute changes


def _solar_clearsky(region: Mapping[str, Any], hours: pd.DatetimeIndex) -> np.ndarray:
    """Per-unit clear-sky plane-of-array irradiance at the hour midpoints (pvlib), cached in
    memory and on disk with the PV profiles, keyed by every input (read back bit for bit,
    without importing pvlib: :func:`essdispatch.scenario.series_pvlib.cached_profile`)."""
    from essdispatch.scenario.series_pvlib import _pvlib_version, cached_profile, profile_key

    loc = region["location"]
    parts = {"what": "grid_model.solar_clearsky", "v": _SOLAR_CODE_VERSION, "azimuth": 180.0}
    parts.update(pvlib=_pvlib_version(), tz="Asia/Shanghai", tilt=float(loc["tilt"]))
    key = profile_key({**parts, "lat": float(loc["lat"]), "lon": float(loc["lon"])}, hours)
    compute = lambda: _solar_clearsky_compute(region, hours)  # noqa: E731
    return cached_profile(key, len(hours), compute, _SOLAR_MEMO)


def _solar_clearsky_compute(region: Mapping[str, Any], hours: pd.DatetimeIndex) -> np.ndarray:
    """:func:`_solar_clearsky` computed with pvlib (no cache), facing south."""
    from essdispatch.scenario.series_pvlib import clearsky_poa

    loc = region["location"]
    mid = (hours + pd.Timedelta(minutes=30)).tz_localize("Asia/Shanghai")
    return clearsky_poa(loc["lat"], loc["lon"], loc["tilt"], 180.0, mid)


def _scaled(per_unit: np.ndarray, full_load_hours: float) -> np.ndarray:
    from essdispatch.scenario.series_pvlib import full_load_scale

    return np.clip(per_unit * full_load_scale(per_unit, 1.0, full_load_hours), 0.0, 1.0)


def _shapes(region_name: str, seed: int, year: int) -> dict[str, np.ndarray]:
    """Hourly load, net export, hydro and available wind/solar [MW] of one year."""
    cfg = model_config()
    region = cfg["regions"][region_name]
    shp = cfg["shapes"]
    from essdispatch.scenario.presets_data import _registry  # the spot preset's weather parameters

    syn = _registry().spot["shaanxi-spot-synthetic"][1]["synthetic"]
    c_lo, c_hi = syn["clearness_range"]
    weather = daily_weather(
        seed, year, (c_lo, c_hi), syn["day_level_sigma"], stream=int(region["weather_stream"])
    )
    n_days = days_in_year(year)
    hours = pd.date_range(f"{year}-01-01", periods=24 * n_days, freq="h")
    month0 = hours.month.to_numpy() - 1
    day = np.repeat(np.arange(n_days), 24)
    hour = np.tile(_HOURS, n_days)
    rng = np.random.default_rng([int(seed), int(year), int(region["weather_stream"]), 7919])

    # solar: clear-sky x daily clear-sky index from the shared clearness
    k_lo, k_hi = shp["solar_clearsky_index"]
    k_day = k_lo + (k_hi - k_lo) * (weather.clearness - c_lo) / (c_hi - c_lo)
    solar_pu = _scaled(
        _solar_clearsky(region, hours) * k_day[day], float(region["solar_full_load_hours"]["value"])
    )
    # wind: daily lognormal on the shared anomaly x hour and month shapes x hourly noise
    s = float(shp["wind_daily_sigma"])
    wind_day = np.exp(s * weather.wind_anomaly - 0.5 * s * s)
    noise = rng.lognormal(0.0, float(shp["wind_hour_sigma"]), n_days * 24)
    wind_raw = (
        wind_day[day]
        * np.asarray(shp["wind_hour"])[hour]
        * np.asarray(region["wind_month"])[month0]
        * noise
    )
    # clipped at _WIND_CLIP per unit: scale to H / clip in units of the clip, then back
    wind_pu = _WIND_CLIP * _scaled(
        wind_raw / wind_raw.mean(), float(region["wind_full_load_hours"]["value"]) / _WIND_CLIP
    )
    # hydro: monthly, flat in the day
    hydro_shape = np.asarray(region["hydro_month"], dtype=float)[month0]
    hydro = hydro_shape / hydro_shape.sum() * float(region["hydro_twh"]["value"]) * 1e6
    # load: winter/summer blend by month, weekend factor, daily noise
    summer_w = 0.5 - 0.5 * np.cos(2.0 * np.pi * (hours.month.to_numpy() - 1.0) / 12.0)
    hour_shape = (1.0 - summer_w) * np.asarray(shp["load_hour_winter"])[
        hour
    ] + summer_w * np.asarray(shp["load_hour_summer"])[hour]
    weekend = np.where(hours.day_of_week.to_numpy() >= 5, float(shp["load_weekend_factor"]), 1.0)
    daily = rng.lognormal(0.0, float(shp["load_daily_sigma"]), n_days)[day]
    load_raw = (
        hour_shape * weekend * daily * (1.0 + 0.08 * np.cos(2.0 * np.pi * (month0 - 0.5) / 6.0))
    )
    load = load_raw / load_raw.sum() * float(region["consumption_twh"]["value"]) * 1e6
    export_shape = np.asarray(shp["export_hour"], dtype=float)[hour]
    net_export = export_shape / export_shape.sum() * float(region["net_export_twh"]["value"]) * 1e6
    return {
        "hours": hours,
        "load": load,
        "net_export": net_export,
        "hydro": hydro,
        "solar_available": solar_pu * float(region["solar_gw"]["value"]) * 1e3,
        "wind_available": wind_pu * float(region["wind_gw"]["value"]) * 1e3,
    }


# --------------------------------------------------------------------------------------------
# Balance, merit order, calibration


def _balance(sh: Mapping[str, Any], region: Mapping[str, Any], f: float) -> dict[str, np.ndarray]:
    thermal_mw = float(region["thermal_gw"]["value"]) * 1e3
    heating = np.isin(sh["hours"].month.to_numpy(), region.get("heating_months", []))
    floor = f * thermal_mw * np.where(heating, 1.0 + float(region["heating_floor_uplift"]), 1.0)
    demand = sh["load"] + sh["net_export"]
    room_total = np.maximum(demand - sh["hydro"], 0.0)
    floor = np.minimum(floor, room_total)
    available = sh["solar_available"] + sh["wind_available"]
    accepted = np.minimum(available, room_total - floor)
    with np.errstate(invalid="ignore", divide="ignore"):
        take = np.where(available > 0, accepted / available, 1.0)
    return {
        "floor": floor,
        "solar": sh["solar_available"] * take,
        "wind": sh["wind_available"] * take,
        "curtailed": available - accepted,
        "thermal": room_total - accepted,
        "available": available,
    }


def _curtailment_share(b: Mapping[str, np.ndarray]) -> float:
    return float(b["curtailed"].sum() / b["available"].sum())


def grid_year(region_name: str, seed: int, year: int) -> GridYear:
    """The calibrated model of one grid for one calendar year (cached).

    Raises ``ValueError`` for an unknown region or when the calibration leaves its plausible
    range (the data file is then inconsistent).
    """
    if region_name not in model_config()["regions"]:
        raise ValueError(f"unknown grid {region_name!r} (modelled: {', '.join(grid_regions())})")
    return _grid_year(region_name, int(seed), int(year))


@lru_cache(maxsize=16)
def _grid_year(region_name: str, seed: int, year: int) -> GridYear:
    cfg = model_config()
    region = cfg["regions"][region_name]
    sh = _shapes(region_name, seed, year)
    target_cur = float(region["curtailment_target"]["value"])
    lo, hi = (float(x) for x in region["floor_fraction_range"])
    if (
        not _curtailment_share(_balance(sh, region, lo))
        <= target_cur
        <= _curtailment_share(_balance(sh, region, hi))
    ):
        raise ValueError(
            f"grid model {region_name}: curtailment target {target_cur:g} is not reachable with a"
            f" must-run floor in [{lo:g}, {hi:g}] of thermal capacity (check data/grid_model.yaml)"
        )
    for _ in range(60):  # curtailment rises monotonically with the floor
        mid = 0.5 * (lo + hi)
        if _curtailment_share(_balance(sh, region, mid)) > target_cur:
            hi = mid
        else:
            lo = mid
    f = 0.5 * (lo + hi)
    b = _balance(sh, region, f)
    thermal_mw = float(region["thermal_gw"]["value"]) * 1e3
    if (b["thermal"] > thermal_mw * (1 + 1e-9)).any():
        raise ValueError(f"grid model {region_name}: demand exceeds thermal capacity in some hours")

    # merit order: stack the thermal output over the classes
    classes = cfg["unit_classes"]
    fuels = cfg["fuels"]
    names = tuple(region["thermal_mix"])
    shares = np.array([float(region["thermal_mix"][c]) for c in names])
    ef0 = np.array(
        [
            classes[c]["heat_rate"]
            * (
                fuels["coal_tco2_per_tce"]["value"]
                if classes[c]["fuel"] == "coal"
                else fuels["gas_tco2_per_gj"]["value"]
            )
            for c in names
        ]
    )
    cap_hi = np.cumsum(shares) * thermal_mw
    cap_lo = cap_hi - shares * thermal_mw
    gen = np.clip(b["thermal"][None, :] - cap_lo[:, None], 0.0, (shares * thermal_mw)[:, None])
    marginal_class = np.minimum(
        np.searchsorted(cap_hi, b["thermal"] * (1 - 1e-12), side="left"), len(names) - 1
    )
    imports = np.maximum(-sh["net_export"], 0.0)
    supply = b["thermal"] + sh["hydro"] + b["solar"] + b["wind"] + imports
    ef_imp = float(region["import_tco2_per_mwh"]["value"])
    fossil0 = (ef0[:, None] * gen).sum(axis=0)
    # accounting scale k: energy-weighted annual mean of the average = target (closed form)
    target = float(region["average_target_tco2_per_mwh"]["value"])
    k = (target * supply.sum() - ef_imp * imports.sum()) / fossil0.sum()
    if not ACCOUNTING_SCALE_RANGE[0] <= k <= ACCOUNTING_SCALE_RANGE[1]:
        raise ValueError(
            f"grid model {region_name}: accounting scale {k:.3f} outside {ACCOUNTING_SCALE_RANGE}"
            " (the mix in data/grid_model.yaml does not fit the average target)"
        )
    class_ef = k * ef0
    average = (k * fossil0 + ef_imp * imports) / supply
    curtailing = b["curtailed"] > 1e-6 * b["available"].max()
    marginal = np.where(curtailing, 0.0, class_ef[marginal_class])
    cf_imp = float(region["import_carbon_free_share"]["value"])
    cfs = (sh["hydro"] + b["solar"] + b["wind"] + cf_imp * imports) / supply
    return GridYear(
        region=region_name,
        year=year,
        seed=seed,
        hours=sh["hours"],
        load=sh["load"],
        net_export=sh["net_export"],
        hydro=sh["hydro"],
        solar_available=sh["solar_available"],
        wind_available=sh["wind_available"],
        solar=b["solar"],
        wind=b["wind"],
        curtailed=b["curtailed"],
        thermal=b["thermal"],
        floor=b["floor"],
        marginal_class=marginal_class,
        class_names=names,
        class_ef=class_ef,
        average=average,
        marginal=marginal,
        carbon_free_share=cfs,
        floor_fraction=f,
        accounting_scale=float(k),
        curtailment_share=_curtailment_share(b),
        average_annual=float((average * supply).sum() / supply.sum()),
    )


# --------------------------------------------------------------------------------------------
# Series for a horizon


def grid_signal(
    region_name: str, signal: str, index: pd.DatetimeIndex, dt_h: float, seed: int = 0
) -> np.ndarray:
    """One modelled signal for the periods of ``index`` (see the module docstring).

    Parameters
    ----------
    region_name : ``shaanxi``, ``jiangxi``, ``northwest`` or ``central``
    signal : ``average`` or ``marginal`` [tCO2/MWh], ``carbon-free-share`` [fraction]
    index : period starts (tz-aware or naive; read as local wall-clock time)
    dt_h : period length [h]
    seed : weather seed (non-negative int; the same seed as ``shaanxi-spot-synthetic`` gives
        the same weather)

    Returns
    -------
    ndarray, one value per period: the mean of the hourly values over ``[t, t + dt_h)``
    """
    attr = SIGNALS[signal][0]
    span = wall_clock_span(index, dt_h)
    if span is None:
        return np.zeros(0)
    wall, end, years = span
    if end == pd.Timestamp(f"{years[-1]}-01-01") and len(years) > 1:
        years = years[:-1]
    hourly = np.concatenate([getattr(grid_year(region_name, seed, y), attr) for y in years])
    mean = period_means(hourly, years[0], wall, dt_h)
    origin = pd.Timestamp(f"{years[0]}-01-01")
    start_h = np.asarray((wall - origin) / pd.Timedelta(hours=1), dtype=float)
    exact = dt_h == 1.0 and np.all(start_h == np.floor(start_h))
    if exact:  # hourly periods on the hour: the values themselves (exact zeros stay zero)
        mean = hourly[start_h.astype(np.int64)]
    return np.clip(mean, 0.0, None)
