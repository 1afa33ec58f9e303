"""Every ``<series>`` form of SCENARIOS.md, in one registry.

A series spec is validated into a small frozen pydantic model (a plain ``float``
for the constant form) and evaluated on the horizon into a float64 numpy array
of length T, one value per period ``[t, t+Δt)``. The unit of the values is the
unit of the key the series sits under (currency/MWh for a price, tCO2/MWh for a
carbon intensity, MW for a load, per-unit for a solar profile or availability).

=============  ==========================================================
form           evaluation
=============  ==========================================================
``number``     the constant, every period
``hourly``     24 values by local wall-clock hour, time-weighted over the period
``tou``        time-of-use periods by local wall-clock ranges (with seasons)
``csv``        a column of a CSV file: mean over ``[t, t+Δt)`` or forward-filled
``pvlib``      clear-sky plane-of-array irradiance / 1000 W/m², solar only
``preset``     a named built-in series (:func:`essdispatch.scenario.presets.resolve_preset`)
=============  ==========================================================

The forms live in :data:`SERIES_FORMS` (name -> :class:`SeriesForm`); the
pydantic type of a series is :data:`SeriesSpec`, a tagged union built from that
registry whose tags are ``"series=<form>"`` (:func:`loc_to_path` strips them
from error key paths). :func:`evaluate_series` evaluates a spec through the
registry, so there is no chain of ``if`` branches over the forms.
"""

from __future__ import annotations

import functools
import json
import os
import re
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic import FiniteFloat as _FiniteFloat
from pydantic_core import PydanticCustomError

from essdispatch.base.exceptions import ScenarioError

__all__ = [
    "DAILY_CLEARNESS_CONCENTRATION",
    "SERIES_FORMS",
    "TAG_PREFIX",
    "CsvSeries",
    "HourlySeries",
    "PresetSeries",
    "PvlibSeries",
    "PvlibSpec",
    "SeriesContext",
    "SeriesForm",
    "SeriesSpec",
    "TouSeason",
    "TouSeries",
    "TouSpec",
    "evaluate_series",
    "format_timestamp",
    "loc_to_path",
    "parse_series",
    "rule_error",
    "validation_problems",
]

TAG_PREFIX = "series="
"""Prefix of the union tags of :data:`SeriesSpec`; never part of a key path."""

MINUTES_PER_DAY = 1440
DAILY_CLEARNESS_CONCENTRATION = 8.0
"""κ of the seeded per-day clearness draw ``k_d ~ Beta(κ·c, κ·(1-c))`` (pvlib form)."""
MAX_PRESET_DEPTH = 5


# --------------------------------------------------------------------------- errors
def rule_error(problems: Sequence[tuple[str, str]]) -> PydanticCustomError:
    """A validation error carrying ``(sub_key, message)`` problems of one model.

    Raised from a ``model_validator``; :func:`validation_problems` appends each
    ``sub_key`` (e.g. ``"soc_min"``, ``"hours.peak[0]"``) to the model's key path.
    """
    problems = list(problems)
    summary = "; ".join(f"{k}: {m}" if k else m for k, m in problems)
    return PydanticCustomError(
        "essdispatch_rule", "{summary}", {"summary": summary, "problems": problems}
    )


def join_key(prefix: str, sub: str) -> str:
    """Join key-path pieces: ``join_key("a.b", "c[0]") == "a.b.c[0]"``."""
    if not sub:
        return prefix
    if not prefix:
        return sub
    return prefix + sub if sub.startswith("[") else f"{prefix}.{sub}"


def loc_to_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """Render a pydantic error location as a key path, ``sites[2].storage[0].soc_min``.

    Union tags of :data:`SeriesSpec` (``"series=tou"``) are dropped.
    """
    path = prefix
    for seg in loc:
        if isinstance(seg, int):
            path += f"[{seg}]"
        elif isinstance(seg, str) and seg.startswith(TAG_PREFIX):
            continue
        else:
            path = join_key(path, str(seg))
    return path


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``Optional`` from a type."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
            continue
        if origin is Union or origin is types.UnionType:
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _model_at(root: Any, loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The pydantic model class found by walking ``loc`` from ``root`` (best effort)."""
    tp = root
    for seg in loc:
        tp = _unwrap(tp)
        if isinstance(seg, str) and seg.startswith(TAG_PREFIX):
            form = SERIES_FORMS.get(seg[len(TAG_PREFIX) :])
            if form is None:
                return None
            tp = form.model
            continue
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(str(seg))
            if info is None:
                return None
            tp = info.annotation
        elif get_origin(tp) in (list, tuple):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


_SHOW_INPUT = {
    "literal_error",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "float_parsing",
    "float_type",
    "int_parsing",
    "int_type",
    "string_type",
    "bool_parsing",
    "bool_type",
    "finite_number",
    "string_pattern_mismatch",
    "series_form",
    "dict_type",
    "list_type",
    "model_type",
    "tuple_type",
}


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validation_problems(
    exc: ValidationError, prefix: str = "", root: Any = None
) -> list[tuple[str, str]]:
    """Turn a pydantic ``ValidationError`` into ``(key_path, message)`` problems.

    ``prefix`` is the key path of the validated value; ``root`` its type, used to
    list the allowed keys when an unknown key is met.
    """
    out: list[tuple[str, str]] = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        kind = err.get("type", "")
        ctx = err.get("ctx") or {}
        if kind == "essdispatch_rule":
            base = loc_to_path(loc, prefix)
            out.extend((join_key(base, sub), msg) for sub, msg in ctx["problems"])
            continue
        key = loc_to_path(loc, prefix)
        msg = str(err.get("msg", "invalid"))
        for head in ("Value error, ", "Assertion failed, "):
            if msg.startswith(head):
                msg = msg[len(head) :]
        if kind == "missing":
            msg = "required key missing"
        elif kind == "extra_forbidden":
            msg = "unknown key"
            model = _model_at(root, loc[:-1]) if root is not None else None
            if model is not None:
                msg += f" (allowed here: {', '.join(model.model_fields)})"
        elif kind in _SHOW_INPUT and "input" in err:
            msg += f", got {_short_repr(err['input'])}"
        out.append((key, msg))
    return out


# --------------------------------------------------------------------------- context
@dataclass(frozen=True)
class SeriesContext:
    """What a series needs to be evaluated, and where it sits (for errors).

    Attributes
    ----------
    index : period starts, tz-aware ``DatetimeIndex`` of length T
    dt_h : period length Δt [h]
    base_dir : folder that relative CSV paths are relative to
    file : scenario file name used in error messages
    key : key path of the series, e.g. ``sites[0].solar.profile``
    lat, lon : site location [degrees north, degrees east]; ``None`` if not given
    solar : whether the series is a solar per-unit profile (``pvlib`` allowed)
    carbon : whether the series is a carbon intensity (a ``csv`` series may give ``unit:``)
    cache : shared by every series of one scenario (minute grid, parsed CSVs)
    depth : preset nesting depth
    memo : a :class:`SeriesMemo` shared by several scenarios (the cases of a sweep)
    """

    index: pd.DatetimeIndex
    dt_h: float
    base_dir: Path
    file: str | None = None
    key: str = ""
    lat: float | None = None
    lon: float | None = None
    solar: bool = False
    carbon: bool = False
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    depth: int = 0
    memo: SeriesMemo | None = field(default=None, compare=False, repr=False)

    @property
    def n(self) -> int:
        """Number of periods T."""
        return len(self.index)

    @property
    def tz(self) -> str:
        """The scenario time zone name."""
        return str(self.index.tz)

    def at(self, key: str, **changes: Any) -> SeriesContext:
        """The same context for the series at another key path (shares the cache)."""
        return replace(self, key=key, **changes)

    def error(self, message: str, sub: str = "") -> ScenarioError:
        """A one-problem :class:`ScenarioError` at ``key`` (+ ``sub``)."""
        return ScenarioError(self.file, [(join_key(self.key, sub), message)])


def format_timestamp(ts: pd.Timestamp) -> str:
    """``2026-06-01 14:00+08:00``: a period start as shown in messages."""
    text = ts.isoformat(sep=" ", timespec="minutes")
    return text


# --------------------------------------------------------------------------- base
def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(
            f"expected a number, got {str(value).lower()} (true/false is not a number)"
        )
    return value


FiniteFloat = Annotated[_FiniteFloat, BeforeValidator(_not_bool)]
"""A finite float that is not a YAML ``true``/``false`` (pydantic would read them as 1/0)."""


def _accepts_bool(annotation: Any) -> bool:
    if annotation is bool:
        return True
    return any(_accepts_bool(a) for a in get_args(annotation) if not isinstance(a, str))


def refuse_bool_numbers(model: type[BaseModel], name: str | None, value: Any) -> Any:
    """``true``/``false`` (or a list holding them) given for a field that takes no bool."""
    if name is None or name not in model.model_fields:
        return value
    annotation = model.model_fields[name].annotation
    if isinstance(value, bool) and not _accepts_bool(annotation):
        raise ValueError(
            f"expected a number, got {str(value).lower()} (true/false is not a number)"
        )
    if isinstance(value, list) and not _accepts_bool(annotation):
        for i, item in enumerate(value):
            if isinstance(item, bool):
                raise ValueError(
                    f"item {i}: expected a number, got {str(item).lower()}"
                    " (true/false is not a number)"
                )
    return value


class _Form(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


@dataclass(frozen=True)
class SeriesForm:
    """One entry of :data:`SERIES_FORMS`: the spec type, its evaluator and an example."""

    name: str
    model: Any
    evaluate: Callable[[Any, SeriesContext], np.ndarray]
    example: str


SERIES_FORMS: dict[str, SeriesForm] = {}
"""The registry of series forms, keyed by form name (also the spec's mapping key)."""


def _register(name: str, model: Any, example: str) -> Callable[[Callable], Callable]:
    def deco(fn: Callable[[Any, SeriesContext], np.ndarray]) -> Callable:
        SERIES_FORMS[name] = SeriesForm(name, model, fn, example)
        return fn

    return deco


# --------------------------------------------------------------------------- number
@_register("number", FiniteFloat, "3.5")
def _eval_number(spec: float, ctx: SeriesContext) -> np.ndarray:
    """Constant: ``x[t] = value``."""
    return np.full(ctx.n, float(spec))


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


# --------------------------------------------------------------------------- csv
class CsvSeries(_Form):
    """A column of a CSV file whose first column is a timestamp.

    Timestamps are ISO 8601 (``2026-06-01 00:00`` or ``2026-06-01T00:00+08:00``);
    without a UTC offset they are local time in the scenario's time zone. The
    value of period ``[t, t+Δt)`` is the mean of the rows stamped in it, or, when
    none is (data coarser than Δt), the last row stamped at or before ``t``.
    The file must cover the horizon: first stamp ≤ start, last stamp ≥ the last
    period start.
    """

    csv: str = Field(min_length=1, description="path of the file, relative to the scenario")
    column: str = Field(min_length=1, description="name of the value column")
    unit: Literal["tCO2/MWh", "kgCO2/MWh", "gCO2/kWh", "lbCO2/MWh"] | None = Field(
        None,
        description="unit of a carbon-intensity column (carbon series only; default tCO2/MWh);"
        " values are converted to tCO2/MWh",
    )


#: carbon-intensity unit -> factor to tCO2/MWh (1 lb = 0.45359237 kg, exact by definition)
CARBON_UNITS: dict[str, float] = {
    "tCO2/MWh": 1.0,
    "kgCO2/MWh": 1e-3,
    "gCO2/kWh": 1e-3,
    "lbCO2/MWh": 0.45359237e-3,
}


_OFFSET = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")


#: largest CSV read [bytes] (ten years of 1-minute rows with a few columns fit easily)
MAX_CSV_BYTES = 2**30


def _check_csv_file(path: Path, ctx: SeriesContext) -> None:
    """A regular text file of sane size: no FIFO (would hang), device, NUL-filled file."""
    import os
    import stat

    try:
        info = os.stat(path)
    except OSError as e:
        raise ctx.error(f"cannot read {path}: {e.strerror or e}", "csv") from None
    if not stat.S_ISREG(info.st_mode):
        raise ctx.error(f"{path} is not a regular file (a pipe, socket or device)", "csv")
    if info.st_size > MAX_CSV_BYTES:
        raise ctx.error(
            f"{path} is {info.st_size / 2**20:,.0f} MiB, more than the"
            f" {MAX_CSV_BYTES / 2**20:,.0f} MiB a CSV series may have",
            "csv",
        )
    try:
        with open(path, "rb") as fh:
            head = fh.read(2**20)
    except OSError as e:
        raise ctx.error(f"cannot read {path}: {e.strerror or e}", "csv") from None
    if b"\x00" in head:
        raise ctx.error(f"{path} contains NUL bytes: not a text CSV file", "csv")


def _check_header(path: Path, ctx: SeriesContext) -> None:
    """No column name given twice (pandas would rename the second one silently)."""
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh, skipinitialspace=True), [])
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        name = name.strip()
        if name in seen:
            raise ctx.error(
                f"{path}: column {name!r} appears twice in the header (columns"
                f" {seen[name] + 1} and {i + 1}); which one is meant cannot be told",
                "csv",
            )
        seen[name] = i


def _read_csv(path: Path, ctx: SeriesContext) -> tuple[pd.DataFrame, np.ndarray]:
    """Parse a CSV once per scenario: (raw text frame, UTC stamps [ns since epoch])."""
    key = ("csv", str(path.resolve()))
    if key in ctx.cache:
        return ctx.cache[key]
    _check_csv_file(path, ctx)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise ctx.error(f"cannot read {path}: {' '.join(str(e).split())}", "csv") from None
    except (MemoryError, ValueError, OverflowError) as e:
        raise ctx.error(f"cannot read {path}: {type(e).__name__}: {e}", "csv") from None
    _check_header(path, ctx)
    if frame.shape[1] < 2 or len(frame) == 0:
        raise ctx.error(
            f"{path} needs a timestamp column, a value column and at least one row", "csv"
        )
    raw = frame.iloc[:, 0].astype(str).str.strip()
    empty = (raw == "").to_numpy()
    if empty.any():
        raise ctx.error(f"{path}: missing timestamp at line {int(np.argmax(empty)) + 2}", "csv")
    has_offset = raw.str.contains(_OFFSET).to_numpy()
    if has_offset.any() and not has_offset.all():
        line_a = int(np.argmax(has_offset)) + 2
        line_b = int(np.argmax(~has_offset)) + 2
        raise ctx.error(
            f"{path}: line {line_a} has a UTC offset but line {line_b} has none; use one convention",
            "csv",
        )
    parsed = pd.to_datetime(raw, format="ISO8601", errors="coerce", utc=bool(has_offset.all()))
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise ctx.error(
            f"{path}: cannot read timestamp {raw.iloc[i]!r} at line {i + 2}"
            " (write ISO 8601, e.g. 2026-06-01 00:00 or 2026-06-01T00:00+08:00)",
            "csv",
        )
    stamps = pd.DatetimeIndex(parsed)
    if stamps.tz is None:
        local = stamps.tz_localize(ctx.tz, ambiguous="NaT", nonexistent="NaT")
        bad = local.isna()
        if bad.any():
            i = int(np.argmax(bad))
            raise ctx.error(
                f"{path}: local timestamp {raw.iloc[i]!r} at line {i + 2} is ambiguous or does"
                f" not exist in {ctx.tz} (daylight-saving change); write it with a UTC offset",
                "csv",
            )
        stamps = local
    ns = stamps.as_unit("ns").asi8
    step = np.diff(ns)
    if (step == 0).any():
        i = int(np.argmax(step == 0))
        raise ctx.error(f"{path}: duplicated timestamp {raw.iloc[i + 1]!r} at line {i + 3}", "csv")
    if (step < 0).any():
        i = int(np.argmax(step < 0))
        raise ctx.error(
            f"{path}: timestamps not in increasing order at line {i + 3} ({raw.iloc[i + 1]!r}"
            f" after {raw.iloc[i]!r})",
            "csv",
        )
    ctx.cache[key] = (frame, ns)
    return frame, ns


@_register("csv", CsvSeries, "{csv: data/prices.csv, column: price}")
def _eval_csv(spec: CsvSeries, ctx: SeriesContext) -> np.ndarray:
    if spec.unit is not None and not ctx.carbon:
        raise ctx.error(
            "unit: is for carbon-intensity series only (tCO2/MWh, kgCO2/MWh, gCO2/kWh,"
            " lbCO2/MWh); other series are in the unit of their key",
            "unit",
        )
    factor = CARBON_UNITS[spec.unit] if spec.unit is not None else 1.0
    return factor * _csv_values(spec, ctx)


def _csv_values(spec: CsvSeries, ctx: SeriesContext) -> np.ndarray:
    path = Path(spec.csv).expanduser()
    if not path.is_absolute():
        path = ctx.base_dir / path
    if not path.exists():
        import errno
        import os

        try:
            os.stat(path)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise ctx.error(
                    f"{path}: symbolic link loop (it resolves to itself)", "csv"
                ) from None
        raise ctx.error(f"file not found: {path}", "csv")
    if path.is_dir():
        raise ctx.error(f"{path} is a directory, not a CSV file", "csv")
    frame, ns = _read_csv(path, ctx)
    if spec.column not in frame.columns[1:]:
        raise ctx.error(
            f"no column {spec.column!r} in {path}; value columns: {', '.join(frame.columns[1:])}",
            "column",
        )
    text = frame[spec.column].astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        cell = text.iloc[i]
        what = "empty cell" if cell == "" else f"value {cell!r} is not a finite number"
        raise ctx.error(f"{path}: {what} at line {i + 2}, column {spec.column!r}", "column")
    starts = ctx.index.as_unit("ns").asi8
    dt_ns = round(ctx.dt_h * 3600e9)
    # each row stands for [its stamp, the next stamp); the last row for one more step of
    # the file's own spacing, so an hourly file ending at 23:00 covers a day at 15 min
    covered_until = ns[-1] + (ns[-1] - ns[-2] if len(ns) > 1 else 0)
    if ns[0] > starts[0] or covered_until < starts[-1] + dt_ns:
        tz = ctx.index.tz
        first, until = (pd.Timestamp(x, tz="UTC").tz_convert(tz) for x in (ns[0], covered_until))
        end = ctx.index[-1] + pd.Timedelta(dt_ns, unit="ns")
        have = _stamps(first, until)
        need = _stamps(ctx.index[0], end)
        if have == need:  # differ below the minute
            have, need = _stamps(first, until, "seconds"), _stamps(ctx.index[0], end, "seconds")
        raise ctx.error(f"{path} covers {have} but the horizon needs {need}", "csv")
    _check_gaps(path, ctx, ns, raw_times=frame.iloc[:, 0], until=starts[-1] + dt_ns)
    # time-weighted mean of the step function over each period [start, start + Δt)
    t0 = ns[0]
    edges = np.append(ns, covered_until) - t0  # row k holds on [edges[k], edges[k+1])
    hours = edges / 3600e9
    area = np.concatenate(([0.0], np.cumsum(values * np.diff(hours))))

    def integral(x_ns: np.ndarray) -> np.ndarray:
        x = (x_ns - t0) / 3600e9
        k = np.clip(np.searchsorted(hours, x, side="right") - 1, 0, len(values) - 1)
        return area[k] + values[k] * (x - hours[k])

    return (integral(starts + dt_ns) - integral(starts)) / ctx.dt_h


def _stamps(a: pd.Timestamp, b: pd.Timestamp, spec: str = "minutes") -> str:
    return f"{a.isoformat(sep=' ', timespec=spec)} to {b.isoformat(sep=' ', timespec=spec)}"


#: a step longer than this many times the file's typical (median) spacing is a gap
GAP_FACTOR = 1.5


def _check_gaps(
    path: Path, ctx: SeriesContext, ns: np.ndarray, raw_times: pd.Series, until: int
) -> None:
    """Refuse a gap inside the horizon: a step longer than :data:`GAP_FACTOR` × the file's
    own spacing (a missing 6 h in an hourly file would otherwise hold the last value for
    6 h without a word). A file has a spacing of its own when more than half its steps
    are equal (the median); a file of irregular change points is held row to row."""
    if len(ns) < 3:
        return
    step = np.diff(ns)
    typical = float(np.median(step))
    if np.count_nonzero(step == typical) * 2 <= len(step):
        return  # no regular spacing of its own: a file of change points, held until the next
    start = ctx.index.as_unit("ns").asi8[0]
    inside = (ns[1:] > start) & (ns[:-1] < until)  # the rows' intervals that meet the horizon
    gap = inside & (step > GAP_FACTOR * typical)
    if not gap.any():
        return
    i = int(np.argmax(gap))
    span = pd.Timedelta(int(step[i]), unit="ns")
    raise ctx.error(
        f"{path}: no rows between {raw_times.iloc[i].strip()!r} (line {i + 2}) and"
        f" {raw_times.iloc[i + 1].strip()!r} (line {i + 3}): a gap of {span} in a series"
        f" stepped {pd.Timedelta(int(typical), unit='ns')}; fill the missing rows",
        "csv",
    )


# --------------------------------------------------------------------------- pvlib
class PvlibSpec(_Form):
    """Clear-sky per-unit solar profile computed with pvlib.

    ``p[t] = clip(POA(t_mid) / 1000 W/m², 0, 1) · k(t)``: POA is the plane-of-array
    irradiance at the period midpoint from ``Location(lat, lon, tz).get_clearsky``
    (Ineichen, Linke turbidity climatology) transposed by
    ``irradiance.get_total_irradiance(model="isotropic")`` (albedo 0.25).
    ``k = clearness`` without a seed; with a seed, each local calendar day d has
    ``k_d ~ Beta(κ·c, κ·(1-c))`` (κ = 8, mean c = clearness, drawn with
    ``numpy.random.default_rng([seed, year])`` for the 366 days of each year, so
    a date always gets the same factor). With ``annual_full_load_hours`` H the
    profile is multiplied by the scale s solving
    ``Σ_year clip(s·p_year, 0, 1)·Δt = H`` over the calendar year of the horizon
    start (same settings; sampled hourly when Δt < 1 h), found by Newton steps
    since clipping bends the sum.
    """

    tilt: float = Field(ge=0, le=90, description="panel tilt from horizontal [degrees]")
    azimuth: float = Field(
        ge=0, le=360, description="panel azimuth, clockwise from north (180 = south) [degrees]"
    )
    model: Literal["clearsky"] = Field("clearsky", description="irradiance model")
    clearness: float = Field(
        1.0, ge=0, le=1, description="mean fraction of clear-sky irradiance reaching the panel [-]"
    )
    seed: int | None = Field(None, ge=0, description="seed of the day-to-day clearness draw")
    annual_full_load_hours: float | None = Field(
        None, gt=0, lt=8784, description="rescale to this many full-load hours per year [h]"
    )


class PvlibSeries(_Form):
    """``{pvlib: {tilt, azimuth, model, clearness, seed, annual_full_load_hours}}``."""

    pvlib: PvlibSpec


def _daily_factor(spec: PvlibSpec, times: pd.DatetimeIndex) -> np.ndarray:
    """Clearness factor k per time (see :class:`PvlibSpec`)."""
    c = spec.clearness
    if spec.seed is None or c in (0.0, 1.0):
        return np.full(len(times), c)
    years = times.year.to_numpy()
    day = times.day_of_year.to_numpy() - 1
    out = np.empty(len(times))
    kappa = DAILY_CLEARNESS_CONCENTRATION
    for year in np.unique(years):  # one draw per calendar year, not per period
        draw = np.random.default_rng([spec.seed, int(year)]).beta(kappa * c, kappa * (1 - c), 366)
        sel = years == year
        out[sel] = draw[day[sel]]
    return out


#: clear-sky profiles computed in this process, by cache key (see :func:`_clearsky_per_unit`)
_CLEARSKY_MEMO: dict[str, np.ndarray] = {}
#: at most this many profiles are kept in memory
_CLEARSKY_MEMO_MAX = 256


def pvlib_cache_dir() -> Path | None:
    """Folder of the on-disk cache of clear-sky profiles (None: no disk cache).

    ``$ESSDISPATCH_CACHE_DIR/pvlib`` if set (an empty value turns the disk cache off),
    else ``$XDG_CACHE_HOME/essdispatch/pvlib``, else ``~/.cache/essdispatch/pvlib``.
    """
    env = os.environ.get("ESSDISPATCH_CACHE_DIR")
    if env is not None:
        return Path(env) / "pvlib" if env.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "essdispatch" / "pvlib"


@functools.lru_cache(maxsize=1)
def _pvlib_version() -> str:
    """pvlib's version without importing it (its import takes over a second)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pvlib")
    except PackageNotFoundError:  # the computation fails later with its own message
        return "?"


def _clearsky_key(
    spec: PvlibSpec, lat: float, lon: float, index: pd.DatetimeIndex, dt_h: float
) -> str:
    parts = {"v": 1, "pvlib": _pvlib_version(), "tilt": spec.tilt, "azimuth": spec.azimuth}
    parts.update(model=spec.model, lat=lat, lon=lon, tz=str(index.tz), dt_h=dt_h)
    return profile_key(parts, index)


def profile_key(parts: Mapping[str, Any], index: pd.DatetimeIndex) -> str:
    """Cache key of a profile over ``index`` computed from ``parts`` (JSON-able inputs)."""
    import hashlib

    # every timestamp (not only the first and the step): a DST zone's index is irregular
    stamps = hashlib.sha256(index.asi8.tobytes()).hexdigest()
    text = json.dumps({**parts, "n": len(index), "index": stamps}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _clearsky_per_unit(
    spec: PvlibSpec, lat: float, lon: float, index: pd.DatetimeIndex, dt_h: float
) -> np.ndarray:
    """``clip(POA / 1000 W/m², 0, 1)`` at the period midpoints, cached.

    pvlib's solar position and clear-sky model cost about 0.1 s per site-year and pvlib's
    import over a second; the result depends only on the key of :func:`_clearsky_key`, so it
    is kept in memory and in :func:`pvlib_cache_dir` (see :func:`cached_profile`).
    """
    return cached_profile(
        _clearsky_key(spec, lat, lon, index, dt_h),
        len(index),
        lambda: _clearsky_compute(spec, lat, lon, index, dt_h),
        _CLEARSKY_MEMO,
    )


def cached_profile(
    key: str, n: int, compute: Callable[[], np.ndarray], memo: dict[str, np.ndarray]
) -> np.ndarray:
    """The read-only float array of ``n`` values cached under ``key``, else ``compute()``.

    Looked up in ``memo`` (this process), then in :func:`pvlib_cache_dir` (a ``.npy`` per
    key, written atomically; a file that cannot be read, has another shape or a non-finite
    value, or a folder that cannot be written, is ignored). ``key`` must change with every
    input of ``compute`` and with its code (callers hash a version number into it). The
    ``.npy`` round trip is exact, so a cached value equals the computed one bit for bit.
    """
    hit = memo.get(key)
    if hit is not None:
        return hit
    folder = pvlib_cache_dir()
    path = folder / f"{key}.npy" if folder is not None else None
    if path is not None and path.is_file():
        try:
            arr = np.load(path, allow_pickle=False)
            if arr.shape == (n,) and arr.dtype == np.float64 and np.isfinite(arr).all():
                arr.setflags(write=False)
                _remember(memo, key, arr)
                return arr
        except (OSError, ValueError):
            pass
    arr = np.asarray(compute(), dtype=np.float64)
    arr.setflags(write=False)
    _remember(memo, key, arr)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
            np.save(tmp, arr, allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            pass
    return arr


def _remember(memo: dict[str, np.ndarray], key: str, arr: np.ndarray) -> None:
    if len(memo) >= _CLEARSKY_MEMO_MAX:
        memo.pop(next(iter(memo)))
    memo[key] = arr


def _clearsky_compute(
    spec: PvlibSpec, lat: float, lon: float, index: pd.DatetimeIndex, dt_h: float
) -> np.ndarray:
    import pvlib  # heavy import, only when a pvlib series is computed

    mid = index + pd.Timedelta(hours=dt_h / 2)
    loc = pvlib.location.Location(lat, lon, tz=str(index.tz))
    with warnings.catch_warnings():  # pvlib 0.16 still calls DatetimeIndex.dayofyear
        warnings.filterwarnings("ignore", message=".*dayofyear is deprecated.*")
        sun = loc.get_solarposition(mid)
        sky = loc.get_clearsky(mid, model="ineichen", solar_position=sun)
    poa = pvlib.irradiance.get_total_irradiance(
        spec.tilt,
        spec.azimuth,
        sun["apparent_zenith"],
        sun["azimuth"],
        sky["dni"],
        sky["ghi"],
        sky["dhi"],
        model="isotropic",
    )["poa_global"].to_numpy(dtype=np.float64)
    return np.clip(np.nan_to_num(poa / 1000.0), 0.0, 1.0)


def _pvlib_profile(
    spec: PvlibSpec, lat: float, lon: float, index: pd.DatetimeIndex, dt_h: float
) -> np.ndarray:
    """Per-unit clear-sky plane-of-array profile at the period midpoints (no scaling)."""
    mid = index + pd.Timedelta(hours=dt_h / 2)
    return _clearsky_per_unit(spec, lat, lon, index, dt_h) * _daily_factor(spec, mid)


def full_load_scale(profile: np.ndarray, dt_h: float, target_h: float) -> float:
    """Scale s with ``Σ clip(s·profile, 0, 1)·Δt = target_h`` [h].

    Newton's method on the concave, piecewise-linear left side, started from the
    unclipped solution below the root, so it rises monotonically to the root.
    Raises ``ValueError`` when the target exceeds the hours with any sun.
    """
    reachable = float(np.count_nonzero(profile > 0)) * dt_h
    if target_h >= reachable:
        raise ValueError(
            f"annual_full_load_hours {target_h:g} h is not reachable: at most"
            f" {reachable:g} h of the year have any sun"
        )
    scale = target_h / (float(profile.sum()) * dt_h)
    for _ in range(100):
        scaled = scale * profile
        got = float(np.clip(scaled, 0.0, 1.0).sum()) * dt_h
        if abs(got - target_h) <= 1e-9 * target_h:
            break
        slope = float(profile[scaled < 1.0].sum()) * dt_h
        scale += (target_h - got) / slope
    return scale


@_register("pvlib", PvlibSeries, "{pvlib: {tilt: 30, azimuth: 180, clearness: 0.75, seed: 1}}")
def _eval_pvlib(spec: PvlibSeries, ctx: SeriesContext) -> np.ndarray:
    if not ctx.solar:
        raise ctx.error("the pvlib form is only for a solar profile (solar.profile)")
    if ctx.lat is None or ctx.lon is None:
        raise ctx.error("the pvlib form needs the site's location: {lat, lon}")
    p = spec.pvlib
    profile = _pvlib_profile(p, ctx.lat, ctx.lon, ctx.index, ctx.dt_h)
    if p.annual_full_load_hours is not None:
        year = ctx.index[0].year
        ref_dt_h = max(ctx.dt_h, 1.0)  # sub-hourly: an hourly reference year, for speed
        try:
            year_index = pd.date_range(
                pd.Timestamp(year, 1, 1),
                pd.Timestamp(year + 1, 1, 1),
                freq=pd.Timedelta(hours=ref_dt_h),
                inclusive="left",
                tz=ctx.index.tz,
            )
        except (ValueError, OverflowError) as e:  # pandas' OutOfBoundsDatetime is a ValueError
            raise ctx.error(
                f"no reference year {year} for the rescaling: {e}", "pvlib.annual_full_load_hours"
            ) from None
        if year_index.equals(ctx.index):
            reference = profile
        else:
            reference = _pvlib_profile(p, ctx.lat, ctx.lon, year_index, ref_dt_h)
        try:
            scale = full_load_scale(reference, ref_dt_h, p.annual_full_load_hours)
        except ValueError as e:
            raise ctx.error(str(e), "pvlib.annual_full_load_hours") from None
        profile = np.clip(profile * scale, 0.0, 1.0)
    return profile


# --------------------------------------------------------------------------- preset
class PresetSeries(_Form):
    """A named built-in series: ``{preset: NAME, params: {key: number}}``.

    :func:`essdispatch.scenario.presets.resolve_preset` returns a number or a series
    mapping (evaluated through this registry) or a callable
    ``(index, dt_h) -> array`` of length T.
    """

    preset: str = Field(min_length=1, description="preset name")
    params: dict[str, FiniteFloat] = Field(
        default_factory=dict, description="preset parameters [units per preset]"
    )


def _exc_text(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


@_register("preset", PresetSeries, "{preset: NAME, params: {key: number}}")
def _eval_preset(spec: PresetSeries, ctx: SeriesContext) -> np.ndarray:
    if ctx.depth >= MAX_PRESET_DEPTH:
        raise ctx.error(f"preset {spec.preset!r}: presets nested too deeply")
    try:
        from essdispatch.scenario.presets import resolve_preset
    except ImportError as e:
        raise ctx.error(f"presets are not available: {e}") from None
    name = spec.preset
    try:
        result = resolve_preset(name, dict(spec.params))
    except ScenarioError as e:
        raise ctx.error(f"preset {name!r}: {'; '.join(m for _, m in e.problems)}") from None
    except (ValueError, KeyError) as e:
        raise ctx.error(f"preset {name!r}: {_exc_text(e)}") from None
    if isinstance(result, bool):
        raise ctx.error(f"preset {name!r} returned {result!r}, not a series")
    if isinstance(result, (int, float, np.number)):
        return _eval_number(float(result), ctx)
    if isinstance(result, Mapping):
        inner = ctx.at(ctx.key, depth=ctx.depth + 1)
        try:
            parsed = parse_series(result, inner)
        except ScenarioError as e:
            detail = "; ".join(f"{k}: {m}" if k else m for k, m in e.problems)
            raise ctx.error(f"preset {name!r} returned an invalid series: {detail}") from None
        return evaluate_series(parsed, inner)
    if callable(result):
        try:
            values = result(ctx.index, ctx.dt_h)
            return np.asarray(values, dtype=np.float64)
        except (ValueError, KeyError, TypeError, ArithmeticError) as e:
            raise ctx.error(f"preset {name!r}: {_exc_text(e)}") from None
    raise ctx.error(f"preset {name!r} returned {type(result).__name__}, not a series")


# --------------------------------------------------------------------------- union
def _form_tag(value: Any) -> str | None:
    """Union tag of a raw or parsed series value; ``None`` when no form matches."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return TAG_PREFIX + "number"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return None
        return TAG_PREFIX + "number"
    if isinstance(value, Mapping):
        names = [name for name in SERIES_FORMS if name in value]
        return TAG_PREFIX + names[0] if len(names) == 1 else None
    for name, form in SERIES_FORMS.items():
        if isinstance(form.model, type) and isinstance(value, form.model):
            return TAG_PREFIX + name
    return None


_ACCEPTED = ", ".join(n for n in SERIES_FORMS if n != "number")

SeriesSpec = Annotated[
    Union[tuple(Annotated[f.model, Tag(TAG_PREFIX + n)] for n, f in SERIES_FORMS.items())],  # type: ignore[valid-type]  # noqa: UP007
    Discriminator(
        _form_tag,
        custom_error_type="series_form",
        custom_error_message=(
            f"not a series: expected a number or a mapping with exactly one of the keys {_ACCEPTED}"
        ),
    ),
]
"""The pydantic type of a ``<series>``: one of the registered forms."""

_ADAPTER: TypeAdapter[Any] = TypeAdapter(SeriesSpec)
_FORM_BY_TYPE: dict[Any, SeriesForm] = {f.model: f for f in SERIES_FORMS.values()}
_FORM_BY_TYPE[float] = SERIES_FORMS["number"]


def parse_series(value: Any, ctx: SeriesContext) -> Any:
    """Validate a raw ``<series>`` value; ScenarioError with key paths under ``ctx.key``."""
    try:
        return _ADAPTER.validate_python(value)
    except ValidationError as e:
        raise ScenarioError(ctx.file, validation_problems(e, ctx.key, SeriesSpec)) from None


def evaluate_series(spec: Any, ctx: SeriesContext) -> np.ndarray:
    """Evaluate a parsed series spec: float64 array of length T, every value finite.

    Dispatches through :data:`SERIES_FORMS`; raises :class:`ScenarioError` at
    ``ctx.key`` for any problem with the data the spec points to.
    """
    if ctx.memo is not None:
        return ctx.memo.evaluate(spec, replace(ctx, memo=None))
    form = _FORM_BY_TYPE.get(type(spec))
    if form is None:
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            form = SERIES_FORMS["number"]
        else:
            raise TypeError(f"not a parsed series spec: {spec!r}")
    values = np.asarray(form.evaluate(spec, ctx), dtype=np.float64)
    if values.shape != (ctx.n,):
        raise ctx.error(f"series has shape {values.shape}, expected ({ctx.n},) (one per period)")
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise ctx.error(f"value {values[i]} is not finite at {format_timestamp(ctx.index[i])}")
    return values


class SeriesMemo:
    """Evaluate each distinct series once across several scenarios (the cases of a sweep).

    Cases usually change numbers, not series, yet every case is validated in full; a
    pvlib profile costs ~0.2 s per site. Pass one memo to
    :func:`essdispatch.scenario.load.scenario_from_dict` for every case. The key is the
    spec and everything the value depends on: the horizon (first period, length,
    frequency, time zone) and every field of the :class:`SeriesContext` but the
    per-scenario cache and the file name (so a field added to the context is part of
    the key). Errors are not memoised, so each case reports its own.
    """

    _SKIP = frozenset({"index", "cache", "memo", "file"})

    def __init__(self) -> None:
        self.values: dict[tuple[Any, ...], np.ndarray] = {}
        self.hits = 0

    def key(self, spec: Any, ctx: SeriesContext) -> tuple[Any, ...] | None:
        """The memo key of ``spec`` at ``ctx``; None when it cannot be formed."""
        import json
        from dataclasses import fields

        try:
            plain = spec.model_dump(mode="json") if hasattr(spec, "model_dump") else spec
            text = json.dumps(plain, sort_keys=True, separators=(",", ":"), default=str)
            index = ctx.index
            where = (
                str(index[0]) if len(index) else "",
                len(index),
                index.freqstr,
                str(index.tz),
            )
            rest = tuple(
                (f.name, str(getattr(ctx, f.name))) for f in fields(ctx) if f.name not in self._SKIP
            )
        except (TypeError, ValueError, AttributeError):
            return None
        return (type(spec).__name__, text, where, rest)

    def evaluate(self, spec: Any, ctx: SeriesContext) -> np.ndarray:
        """:func:`evaluate_series`, from the memo when this series was evaluated before."""
        key = self.key(spec, ctx)
        if key is None:
            return evaluate_series(spec, ctx)
        if key in self.values:
            self.hits += 1
        else:
            self.values[key] = evaluate_series(spec, ctx)
        return self.values[key]
