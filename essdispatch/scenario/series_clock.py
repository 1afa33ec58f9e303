"""The wall-clock series forms: ``hourly`` (24 values by local hour) and ``tou`` (named
time-of-use periods by local ranges, with seasons), both time-weighted over each period
on the local minute grid of the horizon (daylight-saving changes followed exactly)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BeforeValidator, Field, PlainSerializer, model_validator

from essdispatch.scenario.series_base import (
    MINUTES_PER_DAY,
    FiniteFloat,
    SeriesContext,
    _Form,
    _register,
    join_key,
    rule_error,
)


# --------------------------------------------------------------------------- wall clock
def _minute_grid(ctx: SeriesContext) -> tuple[np.ndarray, np.ndarray]:
    """Local month (1..12) and minute of day (0..1439) of every minute of the horizon.

    Row-major (T, D) with D = Δt in minutes: period i covers absolute minutes
    ``i·D … i·D + D - 1`` after the first period start, read on the local wall clock
    (so a daylight-saving change inside the horizon is followed exactly).
    """
    D = ctx.dt_h * 60.0
    if abs(D - round(D)) > 1e-9 or round(D) < 1:
        raise ctx.error(f"needs a resolution of whole minutes, got {ctx.dt_h * 60:g} min")
    D = round(D)
    key = ("minute_grid", ctx.index[0], ctx.n, D)
    if key not in ctx.cache:
        grid = pd.date_range(ctx.index[0], periods=ctx.n * D, freq="min")
        minute = (grid.hour * 60 + grid.minute).to_numpy(dtype=np.int16)
        month = grid.month.to_numpy(dtype=np.int8)
        ctx.cache[key] = (month.reshape(ctx.n, D), minute.reshape(ctx.n, D))
    return ctx.cache[key]


def _wall_clock_mean(
    ctx: SeriesContext, table: np.ndarray, schedule_of_month: np.ndarray
) -> np.ndarray:
    """Time-weighted mean over each period of a minute-of-day table.

    ``x[t] = mean_{m ∈ [t, t+Δt)} table[schedule_of_month[month(m)], minute_of_day(m)]``
    with ``table`` (n_schedules, 1440) and ``schedule_of_month`` (13,) indexed by month.
    """
    month, minute = _minute_grid(ctx)
    return table[schedule_of_month[month], minute].mean(axis=1)


# --------------------------------------------------------------------------- hourly
class HourlySeries(_Form):
    """The same 24-hour shape every day, by local wall-clock hour.

    ``x[t]`` is the time-weighted mean of ``hourly[h]`` over the local hours the
    period covers (so 15-min periods take their hour's value and a 23-hour
    daylight-saving day skips one value).
    """

    hourly: list[FiniteFloat] = Field(
        min_length=24,
        max_length=24,
        description="24 values for local hours 0..23 [unit of the series]",
    )


@_register("hourly", HourlySeries, "{hourly: [24 numbers]}")
def _eval_hourly(spec: HourlySeries, ctx: SeriesContext) -> np.ndarray:
    table = np.repeat(np.asarray(spec.hourly, dtype=np.float64), 60)[None, :]
    return _wall_clock_mean(ctx, table, np.zeros(13, dtype=np.int64))


# --------------------------------------------------------------------------- tou
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")  # full match of the stripped text


def _parse_bound(value: Any) -> int:
    """A TOU range bound -> minutes after local midnight (0..1440).

    Accepts an hour ``0..24`` or a string ``"HH:MM"`` (up to ``"24:00"``).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected an hour 0..24 or 'HH:MM', got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if 0 <= value <= 24:
            return value * 60
        hint = ""
        if 24 < value < MINUTES_PER_DAY:
            hint = (
                f" (if you mean {value} minutes after midnight, write"
                f" {value // 60}:{value % 60:02d}; quote it: '{value // 60}:{value % 60:02d}')"
            )
        raise ValueError(f"hour must be in 0..24, got {value}{hint}")
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return _parse_bound(int(text))
        m = _HHMM.fullmatch(text)
        if m:
            hh, mm = int(m.group(1)), int(m.group(2))
            if mm < 60 and hh * 60 + mm <= MINUTES_PER_DAY:
                return hh * 60 + mm
    raise ValueError(f"expected an hour 0..24 or 'HH:MM', got {value!r}")


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


Bound = Annotated[int, BeforeValidator(_parse_bound), PlainSerializer(lambda m: _hhmm(m))]
HourRange = tuple[Bound, Bound]


def _range_mask(start: int, end: int) -> np.ndarray:
    """Minutes of the day in ``[start, end)``, wrapping past midnight when start > end."""
    minutes = np.arange(MINUTES_PER_DAY)
    if start == end:
        return np.zeros(MINUTES_PER_DAY, dtype=bool)
    if start < end:
        return (minutes >= start) & (minutes < end)
    return (minutes >= start) | (minutes < end)


def _schedule(
    hours: Mapping[str, Sequence[tuple[int, int]]],
    default: str | None,
    periods: Mapping[str, float],
    where: str,
    problems: list[tuple[str, str]],
) -> np.ndarray:
    """Value per minute of the day (1440,) of one schedule; problems appended."""
    values = np.full(MINUTES_PER_DAY, np.nan)
    owner = np.full(MINUTES_PER_DAY, -1)
    labels: list[str] = []
    for name, ranges in hours.items():
        if name not in periods:
            problems.append(
                (
                    join_key(where, f"hours.{name}"),
                    f"period {name!r} is not in periods ({', '.join(periods)})",
                )
            )
        for i, (start, end) in enumerate(ranges):
            label = f"hours.{name}[{i}] [{_hhmm(start)}, {_hhmm(end)})"
            mask = _range_mask(start, end)
            if not mask.any():
                problems.append(
                    (join_key(where, f"hours.{name}[{i}]"), "empty range (from equals to)")
                )
                continue
            clash = np.unique(owner[mask & (owner >= 0)])
            for other in clash:
                problems.append(
                    (
                        join_key(where, "hours"),
                        f"{label} overlaps {labels[other]}",
                    )
                )
            owner[mask & (owner < 0)] = len(labels)
            labels.append(label)
            values[mask] = periods.get(name, np.nan)
    if default is not None:
        if default not in periods:
            problems.append(
                (
                    join_key(where, "default"),
                    f"period {default!r} is not in periods ({', '.join(periods)})",
                )
            )
        else:
            values[owner < 0] = periods[default]
    elif (owner < 0).any():
        first = int(np.flatnonzero(owner < 0)[0])
        problems.append(
            (
                join_key(where, "default"),
                f"local time {_hhmm(first)} is in no hour range; give a default period",
            )
        )
    return values


class TouSeason(_Form):
    """Hours that replace the base hours in the listed months."""

    months: list[Annotated[int, Field(ge=1, le=12)]] = Field(
        min_length=1, description="calendar months 1..12 of the season"
    )
    hours: dict[str, list[HourRange]] = Field(
        default_factory=dict,
        description="period name -> local ranges [from, to) (hour 0..24 or 'HH:MM')",
    )
    default: str | None = Field(
        None, description="period of the hours in no range; default: the base default"
    )


class TouSpec(_Form):
    """Time-of-use: named period values and the local wall-clock hours they apply.

    Ranges are ``[from, to)`` in local time, wrap past midnight when from > to, and
    must not overlap within a schedule; hours in no range take ``default``. In the
    months a season lists, its ``hours`` (and ``default`` if given) replace the
    base ones entirely. A period straddling a range boundary takes the
    time-weighted mean.
    """

    periods: dict[str, FiniteFloat] = Field(
        min_length=1, description="period name -> value [unit of the series]"
    )
    hours: dict[str, list[HourRange]] = Field(
        default_factory=dict,
        description="period name -> local ranges [from, to) (hour 0..24 or 'HH:MM')",
    )
    default: str | None = Field(None, description="period of the hours in no range")
    seasons: list[TouSeason] = Field(
        default_factory=list, description="month-specific hours replacing the base hours"
    )

    @model_validator(mode="after")
    def _check(self) -> TouSpec:
        problems: list[tuple[str, str]] = []
        self._build(problems)
        if problems:
            raise rule_error(problems)
        return self

    def _build(self, problems: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        tables = [_schedule(self.hours, self.default, self.periods, "", problems)]
        schedule_of_month = np.zeros(13, dtype=np.int64)
        season_of_month: dict[int, int] = {}
        for j, season in enumerate(self.seasons):
            where = f"seasons[{j}]"
            default = season.default if season.default is not None else self.default
            tables.append(_schedule(season.hours, default, self.periods, where, problems))
            for month in season.months:
                if month in season_of_month and season_of_month[month] != j:
                    problems.append(
                        (
                            f"{where}.months",
                            f"month {month} is also in seasons[{season_of_month[month]}]",
                        )
                    )
                season_of_month.setdefault(month, j)
                schedule_of_month[month] = season_of_month[month] + 1
        return np.vstack(tables), schedule_of_month

    def tables(self) -> tuple[np.ndarray, np.ndarray]:
        """``(table, schedule_of_month)``: (1 + n_seasons, 1440) values, (13,) row per month."""
        return self._build([])


class TouSeries(_Form):
    """Time-of-use series: ``{tou: {periods, hours, default, seasons}}``."""

    tou: TouSpec


@_register(
    "tou",
    TouSeries,
    "{tou: {periods: {peak: 1.2, valley: 0.3}, hours: {peak: [[8, 11]]}, default: valley}}",
)
def _eval_tou(spec: TouSeries, ctx: SeriesContext) -> np.ndarray:
    table, schedule_of_month = spec.tou.tables()
    return _wall_clock_mean(ctx, table, schedule_of_month)
