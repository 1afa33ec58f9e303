"""The series the non-constant presets give: a TOU tariff as a ``tou`` spec (and the period
in force at a local time), the synthetic Shaanxi spot shape and its daylight weight, and
the modelled hourly grid signals (:mod:`essdispatch.scenario.grid_model`, imported on use);
the parameters of each checked."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from essdispatch.base.weather import daily_weather, period_means, wall_clock_span
from essdispatch.scenario.presets_data import SeriesFunction, _registry, _Tariff

# --------------------------------------------------------------------------------------------
# Parameters


def _check_params(
    name: str, params: Mapping[str, Any] | None, allowed: set[str]
) -> dict[str, float]:
    params = dict(params or {})
    unknown = sorted(set(params) - allowed)
    if unknown:
        takes = f"takes {', '.join(sorted(allowed))}" if allowed else "takes no parameters"
        raise ValueError(f"preset {name} {takes}; got {', '.join(unknown)}")
    out: dict[str, float] = {}
    for key, raw in params.items():
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(
                f"preset {name}: parameter {key} must be a number, got {raw!r}"
            ) from None
        if not math.isfinite(value):
            raise ValueError(f"preset {name}: parameter {key} must be finite, got {raw!r}")
        out[key] = value
    return out


# --------------------------------------------------------------------------------------------
# TOU


def _tou_spec(tariff: _Tariff, name: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    p = _check_params(name, params, {"floating", "adder", "multiplier_only"})
    multipliers: dict[str, float] = {k: float(v) for k, v in tariff.raw["multipliers"].items()}
    multiplier_only = p.get("multiplier_only", 0.0)
    if multiplier_only not in (0.0, 1.0):
        raise ValueError(f"preset {name}: multiplier_only must be 0 or 1")
    if multiplier_only:
        if "floating" in p or "adder" in p:
            raise ValueError(f"preset {name}: multiplier_only excludes floating and adder")
        values = multipliers
    else:
        floating = p.get("floating", tariff.floating_cny_per_mwh)
        adder = p.get("adder", tariff.adder_cny_per_mwh)
        if floating < 0:
            raise ValueError(f"preset {name}: floating must be >= 0 CNY/MWh, got {floating}")
        values = {k: round(adder + floating * m, 6) for k, m in multipliers.items()}
    raw = tariff.raw
    return {
        "tou": {
            "periods": values,
            "hours": copy.deepcopy(raw["hours"]),
            "default": raw["default"],
            "seasons": [
                {
                    "months": list(s["months"]),
                    "hours": copy.deepcopy(s["hours"]),
                    "default": s["default"],
                }
                for s in raw.get("seasons", [])
            ],
        }
    }


def _tariff(name: str) -> _Tariff:
    reg = _registry()
    key = reg.canonical(name)
    if key not in reg.tariffs:
        raise ValueError(
            f"preset {key} is not a TOU tariff (TOU presets: {', '.join(reg.tariffs)})"
        )
    return reg.tariffs[key]


def tou_periods(name: str, index: pd.DatetimeIndex) -> np.ndarray:
    """TOU period names in force at each timestamp of ``index`` (local wall-clock time).

    Parameters
    ----------
    name : a TOU preset name (e.g. ``shaanxi-tou-2025``)
    index : timestamps; tz-aware ones are read in their own time zone's wall clock

    Returns
    -------
    ndarray of str, one period name per timestamp
    """
    tariff = _tariff(name)
    idx = pd.DatetimeIndex(index)
    minute = idx.hour.to_numpy() * 60 + idx.minute.to_numpy()
    schedule = tariff.month_schedule[idx.month.to_numpy() - 1]
    return np.asarray(tariff.periods, dtype=object)[tariff.codes[schedule, minute]]


def tou_period_at(name: str, timestamp: pd.Timestamp | str) -> str:
    """The TOU period name (``peak``, ``flat``, ``valley``, ...) in force at one local time."""
    return str(tou_periods(name, pd.DatetimeIndex([pd.Timestamp(timestamp)]))[0])


# --------------------------------------------------------------------------------------------
# Synthetic spot shape


def _daylight_weight_at(
    day_of_year: np.ndarray, hour_local: np.ndarray, cfg: Mapping[str, Any]
) -> np.ndarray:
    """w = max(0, sin(pi (h - sunrise) / D)), D = D0 + A sin(2 pi (doy - 80) / 365.25)."""
    syn = cfg["synthetic"]
    length_h = syn["day_length_mean_h"] + syn["day_length_amplitude_h"] * np.sin(
        2.0 * np.pi * (day_of_year - 80.0) / 365.25
    )
    sunrise_h = syn["solar_noon_h"] - length_h / 2.0
    phase = (hour_local - sunrise_h) / length_h
    return np.where((phase > 0.0) & (phase < 1.0), np.sin(np.pi * phase), 0.0)


def daylight_weight(index: pd.DatetimeIndex, dt_h: float = 1.0) -> np.ndarray:
    """Clear-sky-like daylight weight (0..1) at each period's midpoint, local wall clock.

    ``w = sin(pi (h - sunrise) / D)`` between sunrise and sunset, else 0, with solar noon at
    12.7 h local clock (Shaanxi, ~109.7 E, UTC+8) and day length
    ``D = 12 + 2.4 sin(2 pi (doy - 80) / 365.25)`` [h]. This is the weight that defines the
    "solar-weighted" price of ``shaanxi-spot-synthetic`` (``sum(w p) / sum(w)``).
    """
    idx = pd.DatetimeIndex(index)
    hour = idx.hour.to_numpy() + idx.minute.to_numpy() / 60.0 + dt_h / 2.0
    doy = idx.day_of_year.to_numpy().astype(float)
    cfg = _registry().spot["shaanxi-spot-synthetic"][1]
    return _daylight_weight_at(doy, hour, cfg)


def _spot_year_matrix(
    cfg: Mapping[str, Any], calendar_year: int, seed: int, floor: float
) -> np.ndarray:
    """(days, 24) hourly prices [CNY/MWh] for one calendar year; see :func:`shaanxi_spot_synthetic`."""
    stats, syn = cfg["statistics"], cfg["synthetic"]
    targets = np.asarray(stats["monthly_mean_cny_per_mwh"], dtype=float)
    cap = float(stats["cap_cny_per_mwh"])
    n_year_days = pd.Timestamp(year=calendar_year, month=12, day=31).day_of_year
    days = pd.date_range(f"{calendar_year}-01-01", periods=n_year_days, freq="D")
    n_days = len(days)
    month0 = days.month.to_numpy() - 1
    doy = days.day_of_year.to_numpy().astype(float)
    hour = np.arange(24, dtype=float)

    # the weather draw shared with the modelled grid signals (essdispatch.base.weather, stream 0)
    weather = daily_weather(
        seed, calendar_year, tuple(syn["clearness_range"]), syn["day_level_sigma"]
    )
    rng, clearness, level = weather.rng, weather.clearness, weather.level
    noise = rng.lognormal(0.0, syn["hour_noise_sigma"], (n_days, 24))
    q_month = np.minimum(0.9, stats["cap_hit_day_share"] * targets / targets.mean())
    spike_day = rng.uniform(size=n_days) < q_month[month0]
    l_min, l_max = syn["spike_length_h"]
    spike_len = rng.integers(l_min, l_max + 1, n_days)

    w = _daylight_weight_at(doy[:, None], hour[None, :] + 0.5, cfg)
    shape = np.asarray(syn["excess_shape"], dtype=float)
    excess = (
        shape[None, :]
        * (1.0 - clearness[:, None] * w) ** syn["solar_suppression_exponent"]
        * level[:, None]
        * noise
    )
    winter = np.isin(month0 + 1, [11, 12, 1, 2])
    start = np.where(winter, syn["spike_start_h"]["winter"], syn["spike_start_h"]["default"])
    at_cap = (
        spike_day[:, None]
        & (hour[None, :] >= start[:, None])
        & (hour[None, :] < (start + spike_len)[:, None])
    )

    # Monthly scale k_m by bisection (vectorised over the 12 months): mean over the month = target.
    month_of_hour = np.repeat(month0, 24)
    hours_in_month = np.bincount(month0, minlength=12) * 24.0
    k_lo, k_hi = np.zeros(12), np.full(12, 50.0 * cap)

    def prices(k: np.ndarray) -> np.ndarray:
        return np.where(at_cap, cap, np.clip(floor + k[month0][:, None] * excess, floor, cap))

    for _ in range(60):
        k = 0.5 * (k_lo + k_hi)
        mean = np.bincount(month_of_hour, prices(k).ravel(), minlength=12) / hours_in_month
        too_high = mean > targets
        k_hi = np.where(too_high, k, k_hi)
        k_lo = np.where(too_high, k_lo, k)
    return prices(0.5 * (k_lo + k_hi))


def shaanxi_spot_synthetic(
    index: pd.DatetimeIndex, dt_h: float, seed: int = 0, year: int | None = None
) -> np.ndarray:
    """Synthetic hourly day-ahead price for Shaanxi [CNY/MWh]: the ``shaanxi-spot-synthetic`` preset.

    SYNTHETIC: no hourly clearing curves are public. The series is generated so that it
    reproduces the published 2025 statistics in ``data/spot.yaml`` (monthly day-ahead means, the
    40 CNY/MWh floor (0 from 2026) and 1000 CNY/MWh cap, a solar-weighted mean of about 0.38 x
    the mean, and about 46 % of days reaching the cap). Method, for each calendar year touched by
    ``index`` (local wall clock of the index's time zone), on an hourly (day, hour) grid:

    1. Daylight weight ``w(d, h)`` at the hour midpoint, see :func:`daylight_weight`.
    2. Excess over the floor ``x = s(h) (1 - c_d w)^beta L_d e_dh``: ``s`` a fixed 24-hour shape
       with a morning shoulder and an evening peak (``synthetic.excess_shape``), ``c_d`` a daily
       clearness ~ U(0.6, 1.0), ``beta`` = 2 (the midday solar trough falls to the floor on
       clear days), ``L_d`` a daily lognormal level (sigma 0.25) and ``e_dh`` hourly lognormal
       noise (sigma 0.10).
    3. Cap days: each day reaches the cap with probability
       ``q_m = min(0.9, 0.465 * mean_m / mean(monthly means))`` (more often in dear months);
       on those days 1-3 evening hours from 19:00 (18:00 in Nov-Feb) are set to the cap.
    4. Monthly scaling: ``p = clip(floor + k_m x, floor, cap)`` outside cap hours, with ``k_m``
       found by bisection (vectorised over the 12 months) so that each calendar month's mean
       equals the table exactly; so the annual mean is the day-weighted mean of the table
       (249.7 CNY/MWh for 2025).
    5. For ``index``: the mean of the hourly series over each period ``[t, t + dt_h)``
       (sub-hourly periods take their hour's value).

    Random draws come from ``numpy.random.default_rng([seed, calendar_year])``, so a value
    depends only on (seed, timestamp), never on the horizon: a week cut from a year-long run
    is identical to a week-long run. The daily clearness and level come first, from
    :func:`essdispatch.base.weather.daily_weather`: the modelled grid signals
    (``cn-grid-hourly-*/shaanxi``, ``/northwest``, :mod:`essdispatch.scenario.grid_model`) read the same
    draw, so with the same seed the cheap, clear middays are their clean-margin hours. The monthly means of the 2025 table are used for every
    calendar year; ``year`` selects the floor (2025: 40, 2026: 0 CNY/MWh); by default the floor
    follows each timestamp's calendar year (<= 2025: 40, >= 2026: 0).

    Parameters
    ----------
    index : period starts (tz-aware or naive; read as local wall-clock time)
    dt_h : period length [h]
    seed : random seed (non-negative int)
    year : 2025 or 2026 (floor edition), or ``None`` to follow the calendar

    Returns
    -------
    ndarray of float, one price per period [CNY/MWh]
    """
    cfg = _registry().spot["shaanxi-spot-synthetic"][1]
    return _spot_function(cfg, seed, year)(index, dt_h)


def _spot_function(cfg: Mapping[str, Any], seed: int, edition_year: int | None) -> SeriesFunction:
    floors = {int(y): float(v) for y, v in cfg["statistics"]["floor_cny_per_mwh"].items()}
    cap = float(cfg["statistics"]["cap_cny_per_mwh"])

    def floor_for(calendar_year: int) -> float:
        year = edition_year if edition_year is not None else calendar_year
        return floors[min(max(year, min(floors)), max(floors))]

    def spot(index: pd.DatetimeIndex, dt_h: float) -> np.ndarray:
        span = wall_clock_span(index, dt_h)
        if span is None:
            return np.zeros(0)
        wall, _end, years = span
        hourly = np.concatenate(
            [_spot_year_matrix(cfg, y, seed, floor_for(y)).ravel() for y in years]
        )
        # mean of the piecewise-constant hourly series over [start, start + dt_h)
        mean = period_means(hourly, years[0], wall, dt_h)
        # differencing the cumulative sum leaves ~1e-10 rounding: keep within [floor, cap]
        return np.clip(mean, min(floor_for(y) for y in years), cap)

    return spot


def _spot(name: str, cfg: Mapping[str, Any], params: Mapping[str, Any] | None) -> SeriesFunction:
    p = _check_params(name, params, {"seed", "year"})
    seed = p.get("seed", 0.0)
    if seed < 0 or seed != int(seed):
        raise ValueError(f"preset {name}: seed must be a non-negative integer, got {seed}")
    year: int | None = None
    if "year" in p:
        floors = sorted(int(y) for y in cfg["statistics"]["floor_cny_per_mwh"])
        if p["year"] not in floors:
            raise ValueError(f"preset {name}: year must be one of {floors}, got {p['year']}")
        year = int(p["year"])
    return _spot_function(cfg, int(seed), year)


def _modelled(
    name: str, region: str, signal: str, params: Mapping[str, Any] | None
) -> SeriesFunction:
    from essdispatch.scenario.grid_model import grid_signal

    p = _check_params(name, params, {"seed"})
    seed = p.get("seed", 0.0)
    if seed < 0 or seed != int(seed):
        raise ValueError(f"preset {name}: seed must be a non-negative integer, got {seed}")

    def series(index: pd.DatetimeIndex, dt_h: float) -> np.ndarray:
        return grid_signal(region, signal, index, dt_h, seed=int(seed))

    return series
