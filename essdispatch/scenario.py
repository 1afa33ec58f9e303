"""Scenario files: YAML -> validated, frozen pydantic models -> :class:`~essdispatch.inputs.Inputs`.

The format is docs/SCENARIOS.md. :func:`load_scenario` reads a file with
:func:`essdispatch.yamlio.read_yaml_file` (bounded, duplicate keys refused), validates it once (unknown keys are errors), checks every
cross-field rule and evaluates every series on the horizon, and raises one
:class:`~essdispatch.exceptions.ScenarioError` listing every problem found, each
with its key path (``sites[2].storage[0].soc_min: must be <= soc_initial (0.5),
got 0.7``). :func:`prepare_inputs` turns the validated scenario into the arrays
the model builders read.

Units: power [MW], energy [MWh], money [currency, default CNY], prices
[currency/MWh], carbon intensity [tCO2/MWh], carbon price [currency/tCO2],
fractions [-] (0.95, never 95).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import yaml
from pandas.tseries.frequencies import to_offset
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from essdispatch.ageing import build_ageing
from essdispatch.ageing_keys import AgeingSpec, LifeBlock
from essdispatch.econ import build_economics
from essdispatch.econ_keys import CostPerKW, EconomicsBlock, Hours, Sizing, sizing_problems
from essdispatch.exceptions import ScenarioError
from essdispatch.inputs import Inputs, default_voll
from essdispatch.numerics import ProblemSize, estimate_size, size_problems
from essdispatch.series import (
    PresetSeries,
    SeriesContext,
    SeriesMemo,
    SeriesSpec,
    evaluate_series,
    format_timestamp,
    refuse_bool_numbers,
    rule_error,
    validation_problems,
)

#: libyaml's safe loader when PyYAML was built with it (several times faster), else PyYAML's

__all__ = [
    "CarbonSignals",
    "Grid",
    "Group",
    "Horizon",
    "Location",
    "Objective",
    "Scenario",
    "ScenarioSpec",
    "Signals",
    "Site",
    "Solar",
    "SolverSettings",
    "Storage",
    "horizon_index",
    "load_scenario",
    "period_hours",
    "prepare_inputs",
    "scenario_from_dict",
]

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


# --------------------------------------------------------------------------- blocks
class Objective(_Model):
    """Weights of the grid-carbon-weighted cost (MODEL.md, Objective)."""

    carbon_price: Annotated[float, _at_most(MAX_CARBON_PRICE, "currency/tCO2")] = Field(
        0.0, ge=0, description="λ, weight on grid carbon [currency/tCO2]"
    )
    steer_by: Literal["average", "marginal"] | None = Field(
        None,
        description="carbon series in the objective; default marginal if one is given, else average",
    )
    exclusive_charge_discharge: bool = Field(
        False, description="forbid charging and discharging in the same period (MILP)"
    )
    voll: Annotated[float, _at_most(MAX_VOLL, "currency/MWh")] | None = Field(
        None,
        gt=0,
        description="value of lost load [currency/MWh]; default max(10000, 10 × highest buy price)",
    )


class CarbonSignals(_Model):
    """Grid carbon intensity series [tCO2/MWh]."""

    average: SeriesSpec | None = Field(None, description="average intensity [tCO2/MWh]")
    marginal: SeriesSpec | None = Field(None, description="marginal intensity [tCO2/MWh]")
    carbon_free_share: SeriesSpec | None = Field(
        None,
        description="hourly carbon-free share of grid imports [fraction 0..1]; for the 24/7"
        " carbon-free matching figure (docs/MODEL.md, extensions)",
    )


class Signals(_Model):
    """Grid signals: ``price`` (buy = sell) or ``buy_price`` and ``sell_price``, and carbon."""

    price: SeriesSpec | None = Field(None, description="buy and sell price [currency/MWh]")
    buy_price: SeriesSpec | None = Field(None, description="price to import [currency/MWh]")
    sell_price: SeriesSpec | None = Field(None, description="price paid for export [currency/MWh]")
    carbon: CarbonSignals | None = Field(None, description="carbon intensity [tCO2/MWh]")

    @model_validator(mode="after")
    def _check(self) -> Signals:
        problems: list[tuple[str, str]] = []
        buy, sell = self.buy_price is not None, self.sell_price is not None
        if self.price is not None and (buy or sell):
            problems.append(("price", "give price, or buy_price and sell_price, not both"))
        elif buy != sell:
            missing = "sell_price" if buy else "buy_price"
            problems.append((missing, f"required with {'buy_price' if buy else 'sell_price'}"))
        if problems:
            raise rule_error(problems)
        return self


class Location(_Model):
    """Site location (for the pvlib series form)."""

    lat: float = Field(ge=-90, le=90, description="latitude [degrees north]")
    lon: float = Field(ge=-180, le=180, description="longitude [degrees east]")


class Solar(_Model):
    """The site's solar plant: ``profile`` (per-unit of ``capacity_mw``) or ``mw``."""

    capacity_mw: PowerMW | None = Field(None, ge=0, description="AC-side peak available [MW]")
    profile: SeriesSpec | None = Field(None, description="available power per unit (0..1) [-]")
    mw: SeriesSpec | None = Field(None, description="available power [MW]")

    @model_validator(mode="after")
    def _check(self) -> Solar:
        problems: list[tuple[str, str]] = []
        if self.profile is not None and self.mw is not None:
            problems.append(("", "give profile or mw, not both"))
        elif self.profile is None and self.mw is None:
            problems.append(("", "give profile (per-unit, with capacity_mw) or mw (MW)"))
        elif self.profile is not None and self.capacity_mw is None:
            problems.append(("capacity_mw", "required with profile"))
        if problems:
            raise rule_error(problems)
        return self


class Grid(_Model):
    """The site's grid connection; an absent limit is unlimited."""

    export_limit_mw: PowerMW | None = Field(None, ge=0, description="export limit X[s] [MW]")
    import_limit_mw: PowerMW | None = Field(None, ge=0, description="import limit M[s] [MW]")
    demand_charge_per_kw_month: CostPerKW = Field(
        0.0, description="d, demand charge on the monthly peak import [currency/kW·month] (10)"
    )


class Storage(_Model):
    """One storage unit (or ``count`` identical units acting together)."""

    name: str = Field(min_length=1, description="unit name, unique in the scenario")
    power_mw: PowerMW | None = Field(
        None, ge=0, description="discharge rating P per unit [MW]; required unless sizing"
    )
    energy_mwh: EnergyMWh | None = Field(
        None, ge=0, description="energy capacity E per unit [MWh]; required unless sizing"
    )
    count: int = Field(1, ge=1, le=MAX_COUNT, description="number of identical units [-]")
    charge_power_mw: PowerMW | None = Field(
        None, ge=0, description="charge rating Pc per unit [MW]; default power_mw"
    )
    charge_efficiency: Efficiency = Field(description="ηc, fraction in (0, 1] [-]")
    discharge_efficiency: Efficiency = Field(description="ηd, fraction in (0, 1] [-]")
    soc_min: Fraction = Field(0.0, description="lowest state of charge, fraction of E [-]")
    soc_max: Fraction = Field(1.0, description="highest state of charge, fraction of E [-]")
    soc_initial: Fraction = Field(0.5, description="state of charge at start, fraction of E [-]")
    terminal: Literal["at_least_initial", "cyclic", "free"] = Field(
        "at_least_initial", description="end-of-horizon energy: >= initial, = initial, or free"
    )
    self_discharge_per_hour: Fraction = Field(
        0.0, description="σ, fraction of stored energy lost per hour [1/h]"
    )
    aux_mw: PowerMW = Field(0.0, ge=0, description="constant auxiliary consumption per unit [MW]")
    degradation_cost: Money = Field(0.0, ge=0, description="cdeg [currency/MWh discharged]")
    grid_charging: bool = Field(True, description="may charge from the grid")
    availability: SeriesSpec | None = Field(
        None, description="fraction 0..1 of both power ratings available; default 1 [-]"
    )
    # economics extensions (MODEL.md 9, 11, 12; essdispatch.econ_keys)
    sizing: Sizing | None = Field(None, description="decide power and energy (constraint 9)")
    compensation_per_mwh_discharged: Money = Field(
        0.0, ge=0, description="q, discharge compensation [currency/MWh] (constraint 11)"
    )
    compensated_cycles_per_year: Annotated[float, Field(gt=0), _at_most(1e5, "cycles")] | None = (
        Field(None, description="n, compensated full cycles per year (constraint 11)")
    )
    capacity_payment_per_kw_year: CostPerKW = Field(
        0.0, description="c, capacity payment [currency/kW·year] (constraint 12)"
    )
    capacity_reference_hours: Hours = Field(
        4.0, description="h, hours of discharge for full capacity credit (constraint 12)"
    )
    # battery life (MODEL.md 13–14; essdispatch.ageing, essdispatch.life)
    ageing: AgeingSpec | None = Field(
        None, description="depth-aware ageing cost, cycle limits, life assessment"
    )

    @model_validator(mode="after")
    def _check(self) -> Storage:
        problems: list[tuple[str, str]] = sizing_problems(self)
        if self.soc_min > self.soc_max:
            problems.append(
                (
                    "soc_max",
                    f"must be >= soc_min ({self.soc_min:g}), got {self.soc_max:g}"
                    " (the state-of-charge bounds are crossed)",
                )
            )
        elif self.soc_min > self.soc_initial:
            problems.append(
                ("soc_min", f"must be <= soc_initial ({self.soc_initial:g}), got {self.soc_min:g}")
            )
        elif self.soc_initial > self.soc_max:
            problems.append(
                ("soc_initial", f"must be <= soc_max ({self.soc_max:g}), got {self.soc_initial:g}")
            )
        for key, per_unit, limit, unit in (
            ("power_mw", self.power_mw or 0.0, MAX_POWER_MW, "MW"),
            ("charge_power_mw", self.charge_power_mw or 0.0, MAX_POWER_MW, "MW"),
            ("energy_mwh", self.energy_mwh or 0.0, MAX_ENERGY_MWH, "MWh"),
        ):
            if per_unit * self.count > limit:
                problems.append(
                    (
                        "count",
                        f"count {self.count} × {key} {per_unit:g} = {per_unit * self.count:g}"
                        f" {unit} is beyond any sane value (at most {limit:g})",
                    )
                )
        if problems:
            raise rule_error(problems)
        return self


class Site(_Model):
    """A site: at most one solar plant, one grid connection, a load, storage units."""

    name: str = Field(min_length=1, description="site name, unique in the scenario")
    location: Location | None = Field(None, description="latitude/longitude (pvlib)")
    solar: Solar | None = Field(None, description="the solar plant")
    grid: Grid | None = Field(None, description="grid connection limits; absent = unlimited")
    load: SeriesSpec | None = Field(None, description="site load [MW]; default 0")
    storage: list[Storage] = Field(default_factory=list, description="storage units")
    signals: Signals | None = Field(
        None, description="this site's signals, overriding leaf by leaf"
    )


class Group(_Model):
    """Sites sharing an export and/or import limit (a substation, a tie)."""

    name: str = Field(min_length=1, description="group name, unique in the scenario")
    sites: list[str] = Field(min_length=1, description="names of the member sites")
    export_limit_mw: PowerMW | None = Field(None, ge=0, description="group export limit X[g] [MW]")
    import_limit_mw: PowerMW | None = Field(None, ge=0, description="group import limit M[g] [MW]")


def _number_or_text(item: Any) -> Any:
    """YAML 1.1 reads ``1e-6`` as text: turn numeric text into a number."""
    if isinstance(item, str):
        for kind in (int, float):
            try:
                return kind(item)
            except ValueError:
                pass
    return item


def _solver_options(value: Any) -> Any:
    if isinstance(value, Mapping):
        value = {key: _number_or_text(item) for key, item in value.items()}
        for key, item in value.items():
            ok = isinstance(item, (str, int, float, bool)) and not (
                isinstance(item, float) and not np.isfinite(item)
            )
            if not ok:
                raise ValueError(
                    f"option {key!r} must be a string, number or true/false, got {item!r}"
                )
    return value


class SolverSettings(_Model):
    """Solver settings (HiGHS)."""

    time_limit_s: float | None = Field(None, gt=0, description="wall-clock limit per solve [s]")
    threads: int | None = Field(None, ge=1, description="solver threads [-]")
    options: Annotated[dict[str, str | int | float | bool], BeforeValidator(_solver_options)] = (
        Field(default_factory=dict, description="HiGHS options passed through, name -> value")
    )
    allow_loose_gap: bool = Field(
        False,
        description="accept mip_rel_gap/mip_abs_gap looser than 1e-6 (results then carry"
        " their achieved gap)",
    )


class ScenarioSpec(_Model):
    """A whole scenario file (SCENARIOS.md)."""

    name: Annotated[str, AfterValidator(_scenario_name)] = Field(
        description="[a-z0-9_-]+, names the results folder"
    )
    description: str | None = Field(None, description="free text")
    currency: str = Field("CNY", min_length=1, description="currency of all money figures")
    horizon: Horizon
    objective: Objective = Field(default_factory=Objective)
    signals: Signals | None = Field(None, description="grid signals shared by all sites")
    sites: list[Site] = Field(min_length=1, description="the sites")
    groups: list[Group] = Field(default_factory=list, description="shared grid limits")
    operation: dict[str, Any] | None = Field(
        None, description="operation settings (free-form, read by other modules)"
    )
    solver: SolverSettings | None = Field(None, description="solver settings")
    economics: EconomicsBlock | None = Field(
        None, description="project finance: life, discount rate, capex, fade (docs/ECONOMICS.md)"
    )
    life: LifeBlock | None = Field(
        None, description="life assessment settings (docs/MODEL.md battery-life extensions)"
    )


# --------------------------------------------------------------------------- scenario
@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario: the parsed model plus where it came from.

    Attributes
    ----------
    model : the validated :class:`ScenarioSpec` (attributes are also reachable on
        the scenario itself: ``scenario.name`` is ``scenario.model.name``)
    path : the scenario file, ``None`` for :func:`scenario_from_dict`
    base_dir : folder relative data paths are resolved against
    sha256 : hex digest of the file bytes (of ``raw_text`` for a dict)
    raw_text : exact file text, for copying into results
    file : name used in error messages
    series : every resolved series, key path -> (T,) array (read-only)
    """

    model: ScenarioSpec
    path: Path | None
    base_dir: Path
    sha256: str
    raw_text: str
    file: str
    series: Mapping[str, np.ndarray] = field(repr=False)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def to_dict(self) -> dict[str, Any]:
        """The keys the scenario set, as plain data: edit and pass to :func:`scenario_from_dict`."""
        return self.model.model_dump(mode="json", exclude_unset=True)


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and check a scenario file.

    Raises
    ------
    ScenarioError
        Listing every problem found (file name and key path in one line): malformed
        YAML, YAML tags, unknown keys, bad values, broken cross-field rules, and
        series that cannot be evaluated or break their ranges.
    """
    from essdispatch.yamlio import read_yaml_file

    path = Path(path)
    file = str(path)
    data, text, data_bytes = read_yaml_file(path, file)  # bounded; refuses duplicate keys
    if data is None:
        raise ScenarioError(file, [("", "the file is empty")])
    if not isinstance(data, dict):
        raise ScenarioError(
            file,
            [("", f"expected a mapping (name:, horizon:, sites: ...), got {type(data).__name__}")],
        )
    return _build(
        data,
        base_dir=path.resolve().parent,
        file=file,
        path=path,
        sha256=hashlib.sha256(data_bytes).hexdigest(),
        raw_text=text,
        extra_problems=[],
    )


def scenario_from_dict(
    data: dict, base_dir: Path, file: str = "<dict>", *, memo: SeriesMemo | None = None
) -> Scenario:
    """Validate a scenario given as plain data (sweeps, tests); same checks as a file.

    ``raw_text`` is the YAML dump of the keys the validated scenario set and
    ``sha256`` its digest. ``memo`` (:class:`essdispatch.series.SeriesMemo`) shares
    series evaluations between scenarios, e.g. the cases of a sweep.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError(file, [("", f"expected a mapping, got {type(data).__name__}")])
    return _build(
        dict(data),
        base_dir=Path(base_dir),
        file=file,
        path=None,
        sha256=None,
        raw_text=None,
        extra_problems=[],
        memo=memo,
    )


def _build(
    data: dict,
    *,
    base_dir: Path,
    file: str,
    path: Path | None,
    sha256: str | None,
    raw_text: str | None,
    extra_problems: list[tuple[str, str]],
    memo: SeriesMemo | None = None,
) -> Scenario:
    problems = list(extra_problems)
    try:
        model = ScenarioSpec.model_validate(data)
    except ValidationError as e:
        problems = validation_problems(e, "", ScenarioSpec) + problems + _name_problems(data)
        raise ScenarioError(file, problems) from None
    problems += _name_problems(data)
    problems += size_problems(_scenario_size(model))
    if problems:  # an enormous horizon: evaluate no series of that length
        raise ScenarioError(file, problems)
    series, more = _resolve_series(model, base_dir, file, memo)
    problems += more + _signal_problems(model, series)
    if problems:
        raise ScenarioError(file, problems)
    if raw_text is None:
        dumped = model.model_dump(mode="json", exclude_unset=True)
        try:
            dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when available
            raw_text = yaml.dump(dumped, Dumper=dumper, sort_keys=False, allow_unicode=True)
        except yaml.YAMLError:
            raw_text = json.dumps(dumped, indent=2, default=str)
        sha256 = hashlib.sha256(raw_text.encode("utf-8")).hexdigest()
    for values in series.values():
        values.setflags(write=False)
    return Scenario(
        model=model,
        path=path,
        base_dir=base_dir,
        sha256=str(sha256),
        raw_text=raw_text,
        file=file,
        series=series,
    )


# --------------------------------------------------------------------------- checks
def _scenario_size(model: ScenarioSpec) -> ProblemSize:
    """The LP size of a validated scenario, from its counts alone (no series evaluated)."""
    h = model.horizon
    span = _localize(h.end, h.timezone) - _localize(h.start, h.timezone)
    step = pd.Timedelta(to_offset(h.resolution))
    units = [u for site in model.sites for u in site.storage]
    members = sum(
        len(g.sites) * ((g.export_limit_mw is not None) + (g.import_limit_mw is not None))
        for g in model.groups
    )
    ngc_sites = sum(any(not u.grid_charging for u in site.storage) for site in model.sites)
    return estimate_size(
        len(model.sites),
        len(units),
        int(span // step),
        group_members=members,
        group_rows=sum(
            (g.export_limit_mw is not None) + (g.import_limit_mw is not None) for g in model.groups
        ),
        no_grid_charge_sites=ngc_sites,
        no_grid_charge_units=sum(not u.grid_charging for u in units),
        exclusive=model.objective.exclusive_charge_discharge,
        period_minutes=step / pd.Timedelta(minutes=1),
    )


def _claim(
    name: Any, where: str, kind: str, seen: dict[str, str], problems: list[tuple[str, str]]
) -> None:
    """Record ``name`` as used at ``where``; a second use is a problem naming the first."""
    if not isinstance(name, str):
        return
    if name in seen:
        problems.append((f"{where}.name", f"duplicate {kind} name {name!r} (also {seen[name]})"))
    seen.setdefault(name, where)


def _name_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Unique site, unit and group names; groups name existing sites (raw data, defensive)."""
    problems: list[tuple[str, str]] = []
    sites = data.get("sites") if isinstance(data.get("sites"), list) else []
    site_at: dict[str, str] = {}
    unit_at: dict[str, str] = {}
    for i, site in enumerate(sites):
        if not isinstance(site, Mapping):
            continue
        _claim(site.get("name"), f"sites[{i}]", "site", site_at, problems)
        units = site.get("storage") if isinstance(site.get("storage"), list) else []
        for j, unit in enumerate(units):
            uname = unit.get("name") if isinstance(unit, Mapping) else None
            _claim(uname, f"sites[{i}].storage[{j}]", "unit", unit_at, problems)
    groups = data.get("groups") if isinstance(data.get("groups"), list) else []
    group_at: dict[str, str] = {}
    for k, group in enumerate(groups):
        if not isinstance(group, Mapping):
            continue
        _claim(group.get("name"), f"groups[{k}]", "group", group_at, problems)
        members = group.get("sites") if isinstance(group.get("sites"), list) else []
        seen: set[str] = set()
        for m, member in enumerate(members):
            if not isinstance(member, str):
                continue
            if member not in site_at:
                known = ", ".join(site_at) or "none"
                problems.append(
                    (f"groups[{k}].sites[{m}]", f"unknown site {member!r} (sites: {known})")
                )
            elif member in seen:
                problems.append((f"groups[{k}].sites[{m}]", f"site {member!r} listed twice"))
            seen.add(member)
    return problems


_PRICE_LEAVES = ("price", "buy_price", "sell_price")
_CARBON_LEAVES = ("average", "marginal")


def _series_items(model: ScenarioSpec) -> Iterator[tuple[str, Any, str, Site | None]]:
    """Every series of the scenario: (key path, spec, kind, site)."""

    def block(prefix: str, signals: Signals | None, site: Site | None) -> Iterator[Any]:
        if signals is None:
            return
        for leaf in _PRICE_LEAVES:
            spec = getattr(signals, leaf)
            if spec is not None:
                yield f"{prefix}.{leaf}", spec, "price", site
        if signals.carbon is not None:
            for leaf in _CARBON_LEAVES:
                spec = getattr(signals.carbon, leaf)
                if spec is not None:
                    yield f"{prefix}.carbon.{leaf}", spec, "carbon", site
            if signals.carbon.carbon_free_share is not None:
                yield (
                    f"{prefix}.carbon.carbon_free_share",
                    signals.carbon.carbon_free_share,
                    "share",
                    site,
                )

    yield from block("signals", model.signals, None)
    for i, site in enumerate(model.sites):
        where = f"sites[{i}]"
        if site.solar is not None:
            if site.solar.profile is not None:
                yield f"{where}.solar.profile", site.solar.profile, "profile", site
            if site.solar.mw is not None:
                yield f"{where}.solar.mw", site.solar.mw, "mw", site
        if site.load is not None:
            yield f"{where}.load", site.load, "load", site
        for j, unit in enumerate(site.storage):
            if unit.availability is not None:
                yield f"{where}.storage[{j}].availability", unit.availability, "availability", site
        yield from block(f"{where}.signals", site.signals, site)


# kind -> (lowest, highest, what)
_RANGES: dict[str, tuple[float, float, str]] = {
    "profile": (0.0, 1.0, "must be in [0, 1] (per-unit of capacity_mw)"),
    "availability": (0.0, 1.0, "must be in [0, 1] (fraction available)"),
    "share": (0.0, 1.0, "must be in [0, 1] (fraction of the grid's supply that is carbon-free)"),
    "mw": (0.0, np.inf, "must be >= 0 MW"),
    "load": (0.0, np.inf, "must be >= 0 MW"),
    "price": (
        -MAX_PRICE,
        MAX_PRICE,
        f"must be within ±{MAX_PRICE:g} currency/MWh (beyond any sane price; check the unit)",
    ),
    "carbon": (
        -MAX_INTENSITY,
        MAX_INTENSITY,
        f"must be within ±{MAX_INTENSITY:g} tCO2/MWh (coal is about 1; check the unit:"
        " tCO2/MWh, not g/kWh; a csv series in another unit takes unit: kgCO2/MWh, gCO2/kWh"
        " or lbCO2/MWh)",
    ),
}
_PER_UNIT_KINDS = ("profile", "availability")


#: what each kind of series is measured in (presets must match it)
_KIND_UNITS = {
    "profile": "per-unit of capacity_mw",
    "availability": "per-unit (fraction available)",
    "mw": "MW",
    "load": "MW",
    "carbon": "tCO2/MWh",
    "share": "fraction",
}


def _preset_kind_problem(spec: Any, kind: str, currency: str) -> str | None:
    """A ``{preset: NAME}`` whose unit does not fit the series it is given for (an
    emission factor as a load in MW, a tariff as a carbon intensity)."""
    if not isinstance(spec, PresetSeries):
        return None
    from essdispatch.presets import preset_info

    try:
        info = preset_info(spec.preset)
    except (KeyError, ValueError):
        return None  # unknown: the evaluation says so, with the names it knows
    want = f"{currency}/MWh" if kind == "price" else _KIND_UNITS.get(kind, kind)
    if info.unit == want:
        return None
    return f"preset {spec.preset!r} is a {info.kind} in {info.unit}; this series is in {want}" + (
        " and no preset is in that unit" if kind not in ("price", "carbon") else ""
    )


def _resolve_series(
    model: ScenarioSpec, base_dir: Path, file: str, memo: SeriesMemo | None = None
) -> tuple[dict[str, np.ndarray], list[tuple[str, str]]]:
    """Evaluate every series once; range-check it. Returns (key -> array, problems)."""
    index = horizon_index(model.horizon)
    root = SeriesContext(
        index=index, dt_h=period_hours(model.horizon), base_dir=base_dir, file=file, memo=memo
    )
    out: dict[str, np.ndarray] = {}
    problems: list[tuple[str, str]] = []
    for key, spec, kind, site in _series_items(model):
        loc = site.location if site is not None else None
        ctx = root.at(
            key,
            lat=loc.lat if loc else None,
            lon=loc.lon if loc else None,
            solar=kind == "profile",
            carbon=kind == "carbon",
        )
        wrong = _preset_kind_problem(spec, kind, model.currency)
        if wrong:
            problems.append((key, wrong))
            continue
        try:
            values = evaluate_series(spec, ctx)
        except ScenarioError as e:
            problems.extend(e.problems)
            continue
        if kind in _RANGES:
            low, high, what = _RANGES[kind]
            if kind == "mw" and site is not None and site.solar.capacity_mw is not None:
                high = site.solar.capacity_mw
                what = f"must be in [0, capacity_mw = {high:g}] MW"
            bad = (values < low) | (values > high)
            if bad.any():
                i = int(np.argmax(bad))
                hint = ""
                if kind in _PER_UNIT_KINDS and values[i] >= 5:
                    hint = _percent_hint(float(values[i]))
                problems.append(
                    (key, f"{what}, got {values[i]:g}{hint} at {format_timestamp(index[i])}")
                )
            elif kind in ("mw", "load") and values.max() > MAX_POWER_MW:
                i = int(np.argmax(values))
                problems.append(
                    (
                        key,
                        f"{values[i]:g} MW at {format_timestamp(index[i])} is beyond any sane value"
                        f" (at most {MAX_POWER_MW:g}); check the unit: MW, not kW",
                    )
                )
        out[key] = values
    return out, problems


@dataclass(frozen=True)
class _SiteSignals:
    """Key paths of the series a site uses (``None``: not given anywhere)."""

    buy: str | None
    sell: str | None
    average: str | None
    marginal: str | None
    carbon_free_share: str | None = None


def _site_signals(model: ScenarioSpec) -> list[_SiteSignals]:
    """Resolve each site's signals: the site's block overrides the top level leaf by leaf.

    A block's ``price`` sets both buy and sell; ``carbon.average`` and
    ``carbon.marginal`` are separate leaves.
    """
    out = []
    for i, site in enumerate(model.sites):
        blocks = [(f"sites[{i}].signals", site.signals), ("signals", model.signals)]
        buy = sell = None
        for prefix, sig in blocks:
            if sig is None:
                continue
            if sig.price is not None:
                buy = sell = f"{prefix}.price"
                break
            if sig.buy_price is not None:
                buy, sell = f"{prefix}.buy_price", f"{prefix}.sell_price"
                break
        carbon: dict[str, str | None] = {}
        for leaf in (*_CARBON_LEAVES, "carbon_free_share"):
            carbon[leaf] = next(
                (
                    f"{prefix}.carbon.{leaf}"
                    for prefix, sig in blocks
                    if sig is not None
                    and sig.carbon is not None
                    and getattr(sig.carbon, leaf) is not None
                ),
                None,
            )
        out.append(
            _SiteSignals(
                buy, sell, carbon["average"], carbon["marginal"], carbon["carbon_free_share"]
            )
        )
    return out


def _steer_by(model: ScenarioSpec, sources: list[_SiteSignals]) -> str:
    """``objective.steer_by``, default marginal when any marginal series is given."""
    if model.objective.steer_by is not None:
        return model.objective.steer_by
    return "marginal" if any(s.marginal for s in sources) else "average"


def _signal_problems(
    model: ScenarioSpec, series: Mapping[str, np.ndarray]
) -> list[tuple[str, str]]:
    """Every site has prices with buy >= sell, carbon where needed, marginal if it steers."""
    problems: list[tuple[str, str]] = []
    sources = _site_signals(model)
    any_carbon = any(s.average or s.marginal for s in sources)
    steer = _steer_by(model, sources)
    checked: set[str] = set()
    index = horizon_index(model.horizon)
    for i, (site, src) in enumerate(zip(model.sites, sources, strict=True)):
        where = f"sites[{i}]"
        if src.buy is None or src.sell is None:
            problems.append(
                (
                    f"{where}.signals",
                    f"site {site.name!r} has no price: give signals.price (or buy_price and"
                    " sell_price) at the top level or for this site",
                )
            )
        elif src.buy != src.sell and src.buy not in checked and {src.buy, src.sell} <= set(series):
            checked.add(src.buy)
            buy, sell = series[src.buy], series[src.sell]
            bad = buy < sell
            if bad.any():
                t = int(np.argmax(bad))
                problems.append(
                    (
                        src.sell,
                        f"buy price must be >= sell price in every period; at"
                        f" {format_timestamp(index[t])} buy {buy[t]:g} < sell {sell[t]:g}",
                    )
                )
        if any_carbon and src.average is None:
            problems.append(
                (
                    f"{where}.signals.carbon.average",
                    f"site {site.name!r} has no average carbon intensity while other series are"
                    " given; give signals.carbon.average (top level or for this site)",
                )
            )
        if steer == "marginal" and src.marginal is None:
            problems.append(
                (
                    f"{where}.signals.carbon.marginal",
                    f"objective.steer_by is marginal but site {site.name!r} has no marginal"
                    " carbon series",
                )
            )
    return problems


# --------------------------------------------------------------------------- inputs
def prepare_inputs(scenario: Scenario) -> Inputs:
    """The arrays of the dispatch problem (MODEL.md parameters), vectorised.

    Units with ``count: k`` are scaled to k× power, charge power, energy and aux
    (``count`` kept); absent grid and group limits are ``inf``; ``voll`` defaults
    to :func:`essdispatch.inputs.default_voll` over every site's buy price. The
    carbon dict has ``"average"`` (zeros when no carbon series is given anywhere)
    and, when any marginal series is given, ``"marginal"`` (a site without one
    reports its average there; it cannot steer then).
    """
    model = scenario.model
    series = scenario.series
    index = horizon_index(model.horizon)
    n_t = len(index)
    problems = _signal_problems(model, series)
    if problems:
        raise ScenarioError(scenario.file, problems)
    sources = _site_signals(model)
    zeros = np.zeros(n_t)

    def get(key: str | None, default: np.ndarray = zeros) -> np.ndarray:
        return series[key] if key is not None else default

    pv_rows, load_rows = [], []
    for i, site in enumerate(model.sites):
        solar = site.solar
        if solar is None:
            pv_rows.append(zeros)
        elif solar.profile is not None:
            pv_rows.append(series[f"sites[{i}].solar.profile"] * float(solar.capacity_mw or 0.0))
        else:
            pv_rows.append(series[f"sites[{i}].solar.mw"])
        load_rows.append(get(f"sites[{i}].load" if site.load is not None else None))
    buy = np.vstack([series[s.buy] for s in sources])
    sell = np.vstack([series[s.sell] for s in sources])
    average = np.vstack([get(s.average) for s in sources])
    carbon = {"average": average}
    if any(s.marginal for s in sources):
        carbon["marginal"] = np.vstack([get(s.marginal, average[i]) for i, s in enumerate(sources)])
    carbon_free_share = (
        np.vstack([get(s.carbon_free_share) for s in sources])
        if any(s.carbon_free_share for s in sources)
        else None
    )

    def limit(value: float | None) -> float:
        return np.inf if value is None else float(value)

    grids = [site.grid or Grid() for site in model.sites]
    units = [
        (i, j, unit) for i, site in enumerate(model.sites) for j, unit in enumerate(site.storage)
    ]
    count = np.array([u.count for _, _, u in units], dtype=np.int64)

    def per_unit(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64).reshape(len(units))

    # a sized unit enters with its maximum ratings (essdispatch.econ)
    power = per_unit([_rating(u, "power_mw") for _, _, u in units])
    charge = per_unit(
        [
            _rating(u, "power_mw") if u.charge_power_mw is None else u.charge_power_mw
            for _, _, u in units
        ]
    )
    availability = (
        np.vstack(
            [
                get(
                    f"sites[{i}].storage[{j}].availability" if u.availability is not None else None,
                    np.ones(n_t),
                )
                for i, j, u in units
            ]
        )
        if units
        else np.zeros((0, n_t))
    )
    site_of = {site.name: i for i, site in enumerate(model.sites)}
    return Inputs(
        name=model.name,
        index=index,
        dt_h=period_hours(model.horizon),
        currency=model.currency,
        carbon_price=float(model.objective.carbon_price),
        steer_by=_steer_by(model, sources),
        exclusive=bool(model.objective.exclusive_charge_discharge),
        voll=float(model.objective.voll) if model.objective.voll is not None else default_voll(buy),
        site_names=tuple(site.name for site in model.sites),
        pv=np.vstack(pv_rows),
        load=np.vstack(load_rows),
        buy_price=buy,
        sell_price=sell,
        carbon=carbon,
        carbon_free_share=carbon_free_share,
        export_limit=np.array([limit(g.export_limit_mw) for g in grids]),
        import_limit=np.array([limit(g.import_limit_mw) for g in grids]),
        unit_names=tuple(u.name for _, _, u in units),
        unit_site=np.array([i for i, _, _ in units], dtype=np.int64),
        count=count,
        power=power * count,
        charge_power=charge * count,
        energy=per_unit([_rating(u, "energy_mwh") for _, _, u in units]) * count,
        eta_charge=per_unit([u.charge_efficiency for _, _, u in units]),
        eta_discharge=per_unit([u.discharge_efficiency for _, _, u in units]),
        self_discharge=per_unit([u.self_discharge_per_hour for _, _, u in units]),
        soc_min=per_unit([u.soc_min for _, _, u in units]),
        soc_max=per_unit([u.soc_max for _, _, u in units]),
        soc_initial=per_unit([u.soc_initial for _, _, u in units]),
        availability=availability,
        degradation_cost=per_unit([u.degradation_cost for _, _, u in units]),
        grid_charging=np.array([u.grid_charging for _, _, u in units], dtype=bool),
        aux=per_unit([u.aux_mw for _, _, u in units]) * count,
        terminal=tuple(u.terminal for _, _, u in units),
        group_names=tuple(g.name for g in model.groups),
        group_sites=tuple(
            np.array([site_of[s] for s in g.sites], dtype=np.int64) for g in model.groups
        ),
        group_export_limit=np.array([limit(g.export_limit_mw) for g in model.groups]),
        group_import_limit=np.array([limit(g.import_limit_mw) for g in model.groups]),
        econ=build_economics(model, index, period_hours(model.horizon)),
        ageing=build_ageing(
            model,
            per_unit([u.discharge_efficiency for _, _, u in units]),
            per_unit([u.soc_min for _, _, u in units]),
            per_unit([u.soc_max for _, _, u in units]),
        ),
    )


def _rating(unit: Storage, key: str) -> float:
    """``power_mw`` or ``energy_mwh`` of a unit; a sized unit's maximum."""
    if unit.sizing is not None:
        return float(getattr(unit.sizing, key).max)
    return float(getattr(unit, key))
