"""The field types every scenario model shares, and the horizon.

Validators of single values (names, fractions, efficiencies, date-times, the resolution,
the time zone), the sane upper bounds (``MAX_*``: beyond them a value is a unit mistake),
the annotated types built from them (:data:`Fraction`, :data:`PowerMW`, …), the base model
``_Model`` (frozen, unknown keys refused, no ``true`` for a number), and the
:class:`Horizon` with :func:`horizon_index` and :func:`period_hours`. The blocks of a
scenario file are in :mod:`essdispatch.scenario.spec`.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from pandas.tseries.frequencies import to_offset
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from essdispatch.scenario.series_base import refuse_bool_numbers, rule_error

_NAME = re.compile(r"[a-z0-9_-]+")  # full-match: a trailing newline is not a name
#: longest scenario (and sweep) name: folder names beside it (``.<name>.tmp-xxxxxxxx``)
#: must stay far below the 255-byte limit of file names
MAX_NAME_LENGTH = 100
_RESOLUTION_HINT = "use a fixed length such as 60min, 30min, 15min, 5min or 1h"


# --------------------------------------------------------------------------- field types
def _percent_hint(value: float) -> str:
    return f" (looks like a percent; write {value / 100:g})" if 1.0 < value <= 100.0 else ""


def _fraction(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be a fraction in [0, 1], got {value:g}{_percent_hint(value)}")
    return value


def _efficiency(value: float) -> float:
    if not 0.0 < value <= 1.0:
        raise ValueError(f"must be in (0, 1], got {value:g}{_percent_hint(value)}")
    return value


def _scenario_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(
            f"must use only a-z, 0-9, '_' and '-' (it names the results folder), got {value!r}"
        )
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(
            f"at most {MAX_NAME_LENGTH} characters (it names the results folder), got {len(value)}"
        )
    return value


def _to_datetime(value: Any) -> datetime:
    """A YAML date-time (str, date or datetime) -> datetime (naive = local time)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str) and value.strip()[:1].isdigit():
        try:
            ts = pd.Timestamp(value.strip())
        except (ValueError, TypeError):
            ts = pd.NaT
        if ts is not pd.NaT:
            return ts.to_pydatetime()
    raise ValueError(f"not a date-time: {value!r}; write e.g. 2026-06-01 00:00")


def _resolution(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"expected a pandas offset alias string, got {value!r}; {_RESOLUTION_HINT}"
        )
    try:
        offset = to_offset(value)
    except ValueError:
        raise ValueError(f"unknown resolution {value!r}; {_RESOLUTION_HINT}") from None
    # a calendar day is 23 or 25 h across a DST change (pandas < 3 counts Day as a Tick)
    if not isinstance(offset, pd.offsets.Tick) or isinstance(offset, pd.offsets.Day):
        raise ValueError(f"resolution {value!r} has no fixed length; {_RESOLUTION_HINT}")
    minutes = pd.Timedelta(offset) / pd.Timedelta(minutes=1)
    if minutes < 1 or not float(minutes).is_integer():
        raise ValueError(
            f"resolution {value!r} is not a whole number of minutes; {_RESOLUTION_HINT}"
        )
    return value


@functools.lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


#: names the tz database resolves to the machine's own zone or to no real place
_MACHINE_ZONES = ("localtime", "posixrules", "factory")


def _timezone(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected an IANA time zone name such as Asia/Shanghai, got {value!r}")
    if value.strip().lower() in _MACHINE_ZONES or (_known_zones() and value not in _known_zones()):
        raise ValueError(
            f"unknown time zone {value!r} (or one that depends on the machine); use an IANA"
            " name such as Asia/Shanghai or Europe/Berlin"
        )
    try:
        ZoneInfo(value)
        pd.Timestamp("2000-01-01").tz_localize(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError, KeyError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai or Europe/Berlin"
        ) from None
    return value


#: sane upper bounds: anything beyond is a unit mistake (kW for MW, ...) or garbage that
#: would wreck the solver's numerics
MAX_POWER_MW = 1e6
MAX_ENERGY_MWH = 1e7
MAX_PRICE = 1e6  # currency/MWh, also degradation cost
MAX_VOLL = 1e8  # currency/MWh
MAX_CARBON_PRICE = 1e6  # currency/tCO2
MAX_INTENSITY = 10.0  # tCO2/MWh (coal is about 1)
MAX_COUNT = 100_000
#: horizon years accepted: pandas' nanosecond stamps end in 2262, and a year later must
#: still exist for a reference year (pvlib rescaling)
MIN_YEAR, MAX_YEAR = 1900, 2200


def _at_most(limit: float, unit: str, hint: str = "") -> AfterValidator:
    def check(value: float) -> float:
        if value > limit:
            raise ValueError(f"{value:g} {unit} is beyond any sane value (at most {limit:g}){hint}")
        return value

    return AfterValidator(check)


Fraction = Annotated[float, AfterValidator(_fraction)]
Efficiency = Annotated[float, AfterValidator(_efficiency)]
PowerMW = Annotated[float, _at_most(MAX_POWER_MW, "MW", "; check the unit: MW, not kW")]
EnergyMWh = Annotated[float, _at_most(MAX_ENERGY_MWH, "MWh", "; check the unit: MWh, not kWh")]
Money = Annotated[float, _at_most(MAX_PRICE, "currency/MWh")]
LocalDateTime = Annotated[datetime, BeforeValidator(_to_datetime)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        return refuse_bool_numbers(cls, info.field_name, value)


# --------------------------------------------------------------------------- horizon
def _localize(value: datetime, tz: str) -> pd.Timestamp:
    """Local wall-clock (naive) or offset-aware date-time -> tz-aware Timestamp in ``tz``.

    Raises ``ValueError`` for a local time that does not exist or is ambiguous
    (daylight-saving change).
    """
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        return ts.tz_convert(tz)
    try:
        return ts.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    except ValueError:
        raise
    except Exception as exc:  # pandas < 3 raises pytz's NonExistent/AmbiguousTimeError
        raise ValueError(str(exc)) from None


class Horizon(_Model):
    """The periods ``[start, end)`` of length ``resolution``, in local time ``timezone``."""

    start: LocalDateTime = Field(description="first period start, inclusive, local time")
    end: LocalDateTime = Field(description="end of the last period, exclusive, local time")
    resolution: Annotated[str, BeforeValidator(_resolution)] = Field(
        description="period length Δt as a pandas offset alias: 60min, 30min, 15min, 5min, 1h"
    )
    timezone: Annotated[str, BeforeValidator(_timezone)] = Field(
        description="IANA time zone of the wall clock, e.g. Asia/Shanghai"
    )

    @model_validator(mode="after")
    def _check(self) -> Horizon:
        problems: list[tuple[str, str]] = []
        stamps: dict[str, pd.Timestamp] = {}
        for key in ("start", "end"):
            try:
                stamps[key] = _localize(getattr(self, key), self.timezone)
            except ValueError:
                problems.append(
                    (
                        key,
                        f"{getattr(self, key)} does not exist or is ambiguous in {self.timezone}"
                        " (daylight-saving change); pick another time",
                    )
                )
        start = stamps.get("start")  # (a far end is refused by the size check, with numbers)
        if start is not None and not MIN_YEAR <= start.year <= MAX_YEAR:
            problems.append(
                ("start", f"year {start.year} is outside {MIN_YEAR}..{MAX_YEAR} (a typo?)")
            )
        if len(stamps) == 2 and not problems:
            span = stamps["end"] - stamps["start"]
            step = pd.Timedelta(to_offset(self.resolution))
            if span <= pd.Timedelta(0):
                problems.append(("end", f"must be after start ({self.start}), got {self.end}"))
            elif span % step != pd.Timedelta(0):
                problems.append(
                    (
                        "end",
                        f"end - start ({span / pd.Timedelta(hours=1):g} h) is not a whole number"
                        f" of {self.resolution} periods",
                    )
                )
        if problems:
            raise rule_error(problems)
        return self


def horizon_index(horizon: Horizon) -> pd.DatetimeIndex:
    """Period starts: ``pandas.date_range(start, end, freq=resolution, inclusive="left", tz=timezone)``.

    Tz-aware; a daylight-saving day has 23 or 25 hourly periods.
    """
    return pd.date_range(
        _localize(horizon.start, horizon.timezone),
        _localize(horizon.end, horizon.timezone),
        freq=horizon.resolution,
        inclusive="left",
    )


def period_hours(horizon: Horizon) -> float:
    """Period length Δt [h] (0.25 for ``15min``)."""
    return float(pd.Timedelta(to_offset(horizon.resolution)) / pd.Timedelta(hours=1))
