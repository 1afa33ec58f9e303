"""The daily weather draw shared by the synthetic spot price and the modelled grid signals.

One draw per (seed, calendar year, stream) gives, for every day of the year, a **clearness**
``c_d ~ U(lo, hi)`` (how much of the clear-sky sun reaches the ground, as the spot shape reads
it) and a **residual-demand level** ``L_d ~ lognormal(0, sigma)`` (a high level is a dear,
still day; the grid model reads ``-ln L_d / sigma``, a standard normal, as the day's wind
anomaly). Stream 0 is the Shaanxi stream: the draws come first from
``numpy.random.default_rng([seed, year])``, exactly as the ``shaanxi-spot-synthetic`` preset has
always drawn them, so with the same seed the spot price and the ``cn-grid-hourly-*/shaanxi``
(and ``/northwest``) presets see the same sunny and windy days: the cheap, curtailing hours of
the price are the clean-margin hours of the carbon signals. Other streams (Jiangxi, Central)
use ``default_rng([seed, year, stream])``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["DailyWeather", "daily_weather", "days_in_year", "period_means"]


def wall_clock_span(
    index: pd.DatetimeIndex, dt_h: float
) -> tuple[pd.DatetimeIndex, pd.Timestamp, list[int]] | None:
    """The periods of ``index`` as local wall-clock time, the end of the last period and
    the calendar years from the first period to that end (None for an empty index); the
    span an hourly series is read over before :func:`period_means`."""
    idx = pd.DatetimeIndex(index)
    if len(idx) == 0:
        return None
    if not dt_h > 0:
        raise ValueError(f"dt_h must be > 0, got {dt_h}")
    wall = idx.tz_localize(None) if idx.tz is not None else idx
    end = wall[-1] + pd.Timedelta(hours=dt_h)
    return wall, end, list(range(int(wall.year.min()), int(end.year) + 1))


def period_means(
    hourly: np.ndarray, first_year: int, wall: pd.DatetimeIndex, dt_h: float
) -> np.ndarray:
    """Mean of a piecewise-constant hourly series (hour 0 = 1 January ``first_year``, local
    wall-clock time) over each period ``[start, start + dt_h)`` of ``wall``, vectorised
    through the cumulative sum."""
    origin = pd.Timestamp(f"{first_year}-01-01")
    start_h = np.asarray((wall - origin) / pd.Timedelta(hours=1), dtype=float)
    integral = np.r_[0.0, np.cumsum(hourly)]

    def cum(x: np.ndarray) -> np.ndarray:
        i = np.minimum(np.floor(x).astype(np.int64), len(hourly) - 1)
        return integral[i] + (x - i) * hourly[i]

    return (cum(start_h + dt_h) - cum(start_h)) / dt_h


def days_in_year(year: int) -> int:
    """365 or 366."""
    return int(pd.Timestamp(year=year, month=12, day=31).day_of_year)


@dataclass(frozen=True, eq=False)
class DailyWeather:
    """One calendar year of daily weather draws.

    Attributes
    ----------
    clearness : (days,) daily clearness in ``[lo, hi]`` [-]
    level : (days,) daily lognormal residual-demand level (median 1) [-]
    wind_anomaly : (days,) standard-normal wind anomaly ``-ln(level) / sigma`` (windy = cheap) [-]
    rng : the generator after these draws (the spot shape continues drawing from it)
    """

    clearness: np.ndarray
    level: np.ndarray
    wind_anomaly: np.ndarray
    rng: np.random.Generator


def daily_weather(
    seed: int,
    year: int,
    clearness_range: tuple[float, float],
    level_sigma: float,
    stream: int = 0,
) -> DailyWeather:
    """The daily draw of one calendar year (see the module docstring).

    Parameters
    ----------
    seed : non-negative integer seed
    year : calendar year
    clearness_range : (lo, hi) of the uniform daily clearness [-]
    level_sigma : sigma of the daily lognormal level [-]
    stream : 0 for Shaanxi / Northwest (the spot preset's stream), else another region's stream
    """
    n_days = days_in_year(year)
    key = [int(seed), int(year)] if stream == 0 else [int(seed), int(year), int(stream)]
    rng = np.random.default_rng(key)
    lo, hi = clearness_range
    clearness = rng.uniform(lo, hi, n_days)
    level = rng.lognormal(0.0, level_sigma, n_days)
    wind = -np.log(level) / level_sigma if level_sigma > 0 else np.zeros(n_days)
    return DailyWeather(clearness=clearness, level=level, wind_anomaly=wind, rng=rng)
