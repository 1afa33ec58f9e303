"""Built-in China reference data with provenance: the ``{preset: NAME}`` series form.

Every number comes from a data file in ``essdispatch/data/`` that carries its ``source`` and
``confidence`` next to it (see ``essdispatch/data/README.md``):

- ``emission_factors.csv``: MEE/NBS average grid CO2 factors (national, residual mix,
  fossil-only, the seven regional grids, Shaanxi and Jiangxi), the ETS compliance factor and the
  CCER operating-margin (OM) factors used as *marginal proxies* [tCO2/MWh];
- ``coal_benchmark.csv``: coal-fired on-grid benchmark prices [CNY/kWh, resolved to CNY/MWh];
- ``tariffs.yaml``: Shaanxi and Jiangxi time-of-use (TOU) tariffs;
- ``spot.yaml``: Shaanxi day-ahead market statistics and the parameters of a *synthetic* hourly
  price shape calibrated to them.

No official hourly (or marginal) carbon-intensity series exists for China: the ``cn-grid-om/*``
factors and the fossil-only average are proxies for the marginal factor, not measurements.

Public API
----------
``resolve_preset(name, params)``
    A float (a constant series), a dict (a ``tou`` series spec) or a callable
    ``f(index, dt_h) -> ndarray`` (a generated series).
``list_presets()``, ``describe_preset(name)``, ``preset_info(name)``, ``presets_table_text(filter)``
    What is available, with sources (``essdispatch presets [FILTER]`` prints the last).
``tou_period_at(name, timestamp)``, ``tou_periods(name, index)``
    The TOU period name in force at a local wall-clock time.
``shaanxi_spot_synthetic(index, dt_h, seed, year)``
    The synthetic Shaanxi spot shape (its docstring documents the method).
``daylight_weight(index, dt_h)``
    The clear-sky-like daylight weight used to define the solar-weighted spot price.

Everything is loaded lazily on first use and cached; nothing is built at import time.
"""

from __future__ import annotations

import copy
import csv
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd

from essdispatch.base.weather import daily_weather, period_means

__all__ = [
    "CONFIDENCE_LEVELS",
    "PresetInfo",
    "daylight_weight",
    "describe_preset",
    "list_aliases",
    "list_presets",
    "preset_info",
    "presets_table_text",
    "resolve_preset",
    "shaanxi_spot_synthetic",
    "tou_period_at",
    "tou_periods",
]

SeriesFunction = Callable[[pd.DatetimeIndex, float], np.ndarray]
PresetValue = float | dict[str, Any] | SeriesFunction

CONFIDENCE_LEVELS: dict[str, str] = {
    "H": "high: official, or several independent sources",
    "M": "medium: one credible secondary source quoting the document (official text not retrieved)",
    "L-M": "low-medium: a few unofficial sources, or values derived from one",
    "L": "low: one unattributed source, marketing copy or a derived value",
    "UNCONFIRMED": "unconfirmed: not found in any source; do not rely on it",
}

KIND_EMISSION_FACTOR = "emission-factor"
KIND_MARGINAL_PROXY = "marginal-proxy"
KIND_ETS_FACTOR = "ets-factor"
KIND_PRICE_BENCHMARK = "price-benchmark"
KIND_TOU = "tou-tariff"
KIND_SPOT = "spot-synthetic"
KIND_MODELLED_AVERAGE = "modelled-hourly-average"
KIND_MODELLED_MARGINAL = "modelled-hourly-marginal"
KIND_MODELLED_CF_SHARE = "modelled-carbon-free-share"
#: modelled-signal preset stem -> (kind, grid_model signal)
_MODELLED_STEMS = {
    "cn-grid-hourly-average": (KIND_MODELLED_AVERAGE, "average"),
    "cn-grid-hourly-marginal": (KIND_MODELLED_MARGINAL, "marginal"),
    "cn-grid-carbon-free-share": (KIND_MODELLED_CF_SHARE, "carbon-free-share"),
}

_KWH_PER_MWH = 1000.0
_MINUTES_PER_DAY = 1440


@dataclass(frozen=True)
class PresetInfo:
    """What a preset is and where its numbers come from.

    Attributes
    ----------
    name : canonical preset name
    kind : one of ``emission-factor``, ``marginal-proxy``, ``ets-factor``, ``price-benchmark``,
        ``tou-tariff``, ``spot-synthetic``
    value : the resolved constant in ``unit`` for constant presets, else ``None``
    description : one line: the basis of a constant, the title of a tariff or shape
    unit : unit of the resolved series (``tCO2/MWh`` or ``CNY/MWh``)
    year : data year (or edition year) when meaningful, else ``None``
    source : where the number comes from (document number, issuer, date, URL where known)
    confidence : ``H``, ``M``, ``L-M``, ``L`` or ``UNCONFIRMED`` (see ``CONFIDENCE_LEVELS``)
    note : caveats a user must see (always non-empty when confidence is below ``H``)
    """

    name: str
    kind: str
    value: float | None
    description: str
    unit: str
    year: int | None
    source: str
    confidence: str
    note: str


# --------------------------------------------------------------------------------------------
# Loading


def _load_data_yaml(name: str) -> Any:
    """A built-in YAML file through the one bounded, duplicate-refusing reader."""
    from essdispatch.base.yamlio import load_yaml_text

    return load_yaml_text(_data_text(name), f"essdispatch/data/{name}")


def _data_text(filename: str) -> str:
    return (files("essdispatch") / "data" / filename).read_text(encoding="utf-8")


def _low_confidence_note(confidence: str, note: str) -> str:
    """Make sure a below-H confidence is visible in the note users read."""
    if confidence == "H":
        return note
    prefix = f"confidence {confidence} ({CONFIDENCE_LEVELS[confidence].split(':')[0]})"
    return f"{prefix}: {note}" if note else prefix


def _check_confidence(confidence: str, where: str) -> None:
    if confidence not in CONFIDENCE_LEVELS:
        raise ValueError(
            f"{where}: confidence {confidence!r} is not one of {sorted(CONFIDENCE_LEVELS)}"
        )


def _kind_of_constant(name: str) -> str:
    if name.startswith("cn-grid-om/"):
        return KIND_MARGINAL_PROXY
    if name.startswith("cn-ets-compliance/"):
        return KIND_ETS_FACTOR
    if name.startswith("cn-coal-benchmark/"):
        return KIND_PRICE_BENCHMARK
    return KIND_EMISSION_FACTOR


def _load_constants(filename: str) -> dict[str, PresetInfo]:
    """Rows of a constants CSV (name, year, value, unit, basis, source, confidence, note)."""
    out: dict[str, PresetInfo] = {}
    reader = csv.DictReader(_data_text(filename).splitlines())
    for line_no, row in enumerate(reader, start=2):
        where = f"data/{filename} line {line_no}"
        name = row["name"].strip()
        confidence = row["confidence"].strip()
        _check_confidence(confidence, where)
        if not row["source"].strip():
            raise ValueError(f"{where}: {name} has no source")
        value = float(row["value"])
        unit = row["unit"].strip()
        if unit == "CNY/kWh":  # scenario prices are per MWh
            value, unit = value * _KWH_PER_MWH, "CNY/MWh"
        elif unit != "tCO2/MWh":
            raise ValueError(f"{where}: unexpected unit {unit!r}")
        if name in out:
            raise ValueError(f"{where}: duplicate preset name {name}")
        out[name] = PresetInfo(
            name=name,
            kind=_kind_of_constant(name),
            value=round(value, 6),
            description=row["basis"].strip(),
            unit=unit,
            year=int(row["year"]) if row["year"].strip() else None,
            source=row["source"].strip(),
            confidence=confidence,
            note=_low_confidence_note(confidence, row["note"].strip()),
        )
    return out


# ---- TOU schedules ---------------------------------------------------------------------------


def _bound_minutes(bound: Any, where: str) -> int:
    """A range bound (int hour 0..24 or ``"HH:MM"``) in minutes after local midnight."""
    if isinstance(bound, bool):
        raise ValueError(f"{where}: bad hour bound {bound!r}")
    if isinstance(bound, int) and 0 <= bound <= 24:
        return bound * 60
    if isinstance(bound, str):
        hh, sep, mm = bound.partition(":")
        if sep and hh.isdigit() and mm.isdigit() and len(mm) == 2:
            minutes = int(hh) * 60 + int(mm)
            if 0 <= minutes <= _MINUTES_PER_DAY and int(mm) < 60:
                return minutes
    raise ValueError(f"{where}: bad hour bound {bound!r} (int 0..24 or 'HH:MM')")


def _schedule_codes(
    hours: Mapping[str, Any], default: str, periods: list[str], where: str
) -> np.ndarray:
    """Minute-of-day -> period code (index into ``periods``); raises on overlapping ranges."""
    codes = np.full(_MINUTES_PER_DAY, periods.index(default), dtype=np.int16)
    claimed = np.zeros(_MINUTES_PER_DAY, dtype=bool)
    for period, ranges in hours.items():
        if period not in periods:
            raise ValueError(f"{where}: period {period!r} has no multiplier")
        for pair in ranges:
            start = _bound_minutes(pair[0], where)
            end = _bound_minutes(pair[1], where)
            minutes = (
                np.arange(start, end)
                if start < end
                else np.r_[np.arange(start, _MINUTES_PER_DAY), np.arange(0, end)]
            )
            if claimed[minutes].any():
                raise ValueError(f"{where}: range {pair} of {period!r} overlaps another range")
            claimed[minutes] = True
            codes[minutes] = periods.index(period)
    return codes


@dataclass(frozen=True)
class _Tariff:
    info: PresetInfo
    raw: dict[str, Any]
    periods: tuple[str, ...]
    codes: np.ndarray  # (n_schedules, 1440) period codes; schedule 0 is the base
    month_schedule: np.ndarray  # (12,) schedule index for months 1..12
    floating_cny_per_mwh: float
    adder_cny_per_mwh: float


def _load_tariffs() -> dict[str, _Tariff]:
    out: dict[str, _Tariff] = {}
    for name, raw in _load_data_yaml("tariffs.yaml").items():
        where = f"data/tariffs.yaml: {name}"
        _check_confidence(raw["confidence"], where)
        levels = raw["levels"]
        _check_confidence(levels["confidence"], f"{where}.levels")
        periods = list(raw["multipliers"])
        schedules = [(raw["hours"], raw["default"])] + [
            (season["hours"], season["default"]) for season in raw.get("seasons", [])
        ]
        codes = np.stack(
            [
                _schedule_codes(hours, default, periods, f"{where} schedule {i}")
                for i, (hours, default) in enumerate(schedules)
            ]
        )
        month_schedule = np.zeros(12, dtype=np.int16)
        for i, season in enumerate(raw.get("seasons", []), start=1):
            for month in season["months"]:
                if month_schedule[month - 1]:
                    raise ValueError(f"{where}: month {month} is in two seasons")
                month_schedule[month - 1] = i
        note = " ".join(
            [
                _low_confidence_note(raw["confidence"], raw["note"].strip()),
                "Default price levels:",
                _low_confidence_note(levels["confidence"], levels["note"].strip()),
            ]
        )
        info = PresetInfo(
            name=name,
            kind=KIND_TOU,
            value=None,
            description=f"{raw['title']}, {raw['document']}, effective {raw['effective']}",
            unit="CNY/MWh",
            year=int(str(raw["effective"])[:4]),
            source=f"{raw['source'].strip()}. Price levels: {levels['source'].strip()}",
            confidence=raw["confidence"],
            note=note,
        )
        out[name] = _Tariff(
            info=info,
            raw=raw,
            periods=tuple(periods),
            codes=codes,
            month_schedule=month_schedule,
            floating_cny_per_mwh=float(levels["floating_cny_per_mwh"]),
            adder_cny_per_mwh=float(levels["adder_cny_per_mwh"]),
        )
    return out


# ---- spot shape --------------------------------------------------------------------------------


def _load_spot() -> dict[str, tuple[PresetInfo, dict[str, Any]]]:
    out: dict[str, tuple[PresetInfo, dict[str, Any]]] = {}
    for name, raw in _load_data_yaml("spot.yaml").items():
        _check_confidence(raw["confidence"], f"data/spot.yaml: {name}")
        stats = raw["statistics"]
        info = PresetInfo(
            name=name,
            kind=KIND_SPOT,
            value=None,
            description=raw["title"],
            unit=raw["unit"],
            year=int(stats["year"]),
            source=raw["source"].strip(),
            confidence=raw["confidence"],
            note=_low_confidence_note(raw["confidence"], raw["note"].strip()),
        )
        out[name] = (info, raw)
    return out


def _load_modelled() -> dict[str, tuple[PresetInfo, str, str]]:
    """The modelled hourly grid signals (essdispatch.scenario.grid_model): name -> (info, region, signal)."""
    from essdispatch.scenario.grid_model import SIGNALS, model_config

    cfg = model_config()
    out: dict[str, tuple[PresetInfo, str, str]] = {}
    for region, raw in cfg["regions"].items():
        target = raw["average_target_tco2_per_mwh"]
        curtail = raw["curtailment_target"]
        unconfirmed = sorted(
            k
            for k, v in raw.items()
            if isinstance(v, dict) and v.get("confidence") == "UNCONFIRMED"
        )
        source = (
            f"MODELLED (essdispatch/data/grid_model.yaml, regions.{region}): calibrated to the"
            f" annual average {target['value']} tCO2/MWh ({target['source']}) and a curtailed share"
            f" of wind + solar of {curtail['value']:g} ({curtail['source']})"
        )
        for stem, (kind, signal) in _MODELLED_STEMS.items():
            name = f"{stem}/{region}"
            what = {
                "average": "hourly average intensity of the grid's supply",
                "marginal": "hourly marginal intensity (0 in modelled curtailment hours, else the"
                " marginal coal/gas class from heat rates)",
                "carbon-free-share": "hourly carbon-free share of the grid's supply",
            }[signal]
            note = (
                "MODELLED, not measured: China publishes no hourly or marginal factor. A seeded"
                " residual-load model of the grid (pvlib solar, wind, hydro, load, net exports, coal"
                " must-run floor, curtailment, merit order by heat rate), calibrated per seed and"
                " year; the same seed as shaanxi-spot-synthetic gives the same weather. Inputs"
                f" not found in public sources (UNCONFIRMED): {', '.join(unconfirmed) or 'none'}."
            )
            out[name] = (
                PresetInfo(
                    name=name,
                    kind=kind,
                    value=None,
                    description=f"{raw['title']}: {what}",
                    unit=SIGNALS[signal][1],
                    year=2022,
                    source=source,
                    confidence="L",
                    note=_low_confidence_note("L", note),
                ),
                region,
                signal,
            )
    return out


@dataclass(frozen=True)
class _Registry:
    constants: dict[str, PresetInfo]
    tariffs: dict[str, _Tariff]
    spot: dict[str, tuple[PresetInfo, dict[str, Any]]]
    aliases: dict[str, str]
    modelled: dict[str, tuple[PresetInfo, str, str]] = field(default_factory=dict)

    def canonical(self, name: str) -> str:
        key = name.strip().lower()
        key = self.aliases.get(key, key)
        if key in self.constants or key in self.tariffs or key in self.spot or key in self.modelled:
            return key
        known = sorted([*self.constants, *self.tariffs, *self.spot, *self.modelled, *self.aliases])
        close = difflib.get_close_matches(key, known, n=4, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(
            f"unknown preset {name!r}{hint} (run `essdispatch presets` to list them all)"
        )

    def info(self, name: str) -> PresetInfo:
        key = self.canonical(name)
        if key in self.constants:
            return self.constants[key]
        if key in self.tariffs:
            return self.tariffs[key].info
        if key in self.modelled:
            return self.modelled[key][0]
        return self.spot[key][0]


def _make_aliases(constants: Mapping[str, PresetInfo]) -> dict[str, str]:
    aliases = {
        "shaanxi-tou": "shaanxi-tou-2025",
        "jiangxi-tou": "jiangxi-tou-2025",
        "shaanxi-spot": "shaanxi-spot-synthetic",
        "cn-ets-compliance": "cn-ets-compliance/2022",
    }
    latest: dict[str, tuple[int, str]] = {}
    for name, info in constants.items():
        if info.kind == KIND_EMISSION_FACTOR and info.year is not None:
            stem = name.rsplit("/", 1)[0]
            if info.year > latest.get(stem, (0, ""))[0]:
                latest[stem] = (info.year, name)
        if info.kind == KIND_MARGINAL_PROXY:
            aliases["cn-grid-marginal-proxy/" + name.rsplit("/", 1)[1]] = name
    for stem, (_, name) in latest.items():
        aliases[f"{stem}/latest"] = name
    aliases["cn-grid-marginal-proxy/fossil-only"] = latest["cn-grid-average/fossil-only"][1]
    return aliases


@lru_cache(maxsize=1)
def _registry() -> _Registry:
    constants = {**_load_constants("emission_factors.csv"), **_load_constants("coal_benchmark.csv")}
    return _Registry(
        constants=constants,
        tariffs=_load_tariffs(),
        spot=_load_spot(),
        aliases=_make_aliases(constants),
        modelled=_load_modelled(),
    )


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
        idx = pd.DatetimeIndex(index)
        if len(idx) == 0:
            return np.zeros(0)
        if not dt_h > 0:
            raise ValueError(f"dt_h must be > 0, got {dt_h}")
        wall = idx.tz_localize(None) if idx.tz is not None else idx
        end = wall[-1] + pd.Timedelta(hours=dt_h)
        years = list(range(int(wall.year.min()), int(end.year) + 1))
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


# --------------------------------------------------------------------------------------------
# Public API


def resolve_preset(name: str, params: Mapping[str, float] | None = None) -> PresetValue:
    """Resolve ``{preset: NAME, ...params}`` to something the series layer can evaluate.

    Parameters
    ----------
    name : preset name or alias (case-insensitive); see ``list_presets()``
    params : preset parameters (all numbers):

        - emission factors, OM proxies, coal benchmarks: none;
        - TOU tariffs: ``floating`` [CNY/MWh] (the floating energy component, default the
          illustrative level in ``tariffs.yaml``), ``adder`` [CNY/MWh] (non-floating components:
          T&D, funds, system-operation fee, line loss), ``multiplier_only`` (0/1: return the bare
          multipliers instead of prices);
        - ``shaanxi-spot-synthetic``: ``seed`` (int >= 0, default 0), ``year`` (2025: floor 40;
          2026: floor 0 CNY/MWh; default: follow the calendar year of each timestamp).

    Returns
    -------
    float
        A constant: tCO2/MWh for emission factors, CNY/MWh for prices (coal benchmarks are
        published in CNY/kWh and converted).
    dict
        ``{"tou": {"periods": {period: CNY/MWh}, "hours": ..., "default": ..., "seasons": [...]}}``
        with prices ``adder + floating * multiplier``.
    callable
        ``f(index, dt_h) -> ndarray`` [CNY/MWh] for the synthetic spot shape; ``index`` holds
        period starts (tz-aware), ``dt_h`` the period length [h].

    Raises
    ------
    KeyError
        Unknown name (the message suggests close names).
    ValueError
        Bad or unknown parameters.
    """
    reg = _registry()
    key = reg.canonical(name)
    if key in reg.constants:
        _check_params(key, params, set())
        return float(reg.constants[key].value or 0.0)
    if key in reg.tariffs:
        return _tou_spec(reg.tariffs[key], key, params)
    if key in reg.modelled:
        return _modelled(key, reg.modelled[key][1], reg.modelled[key][2], params)
    return _spot(key, reg.spot[key][1], params)


def preset_info(name: str) -> PresetInfo:
    """Provenance of one preset (aliases allowed); raises ``KeyError`` on unknown names."""
    return _registry().info(name)


def list_aliases() -> dict[str, str]:
    """Alias -> canonical preset name."""
    return dict(sorted(_registry().aliases.items()))


def list_presets() -> pd.DataFrame:
    """All presets, one row each, with their sources.

    Columns: name, kind, value (float, NaN unless constant), description, unit, year (Int64),
    source, confidence, note.
    """
    reg = _registry()
    infos = [
        *reg.constants.values(),
        *(t.info for t in reg.tariffs.values()),
        *(s[0] for s in reg.spot.values()),
        *(m[0] for m in reg.modelled.values()),
    ]
    frame = pd.DataFrame(
        {
            "name": [i.name for i in infos],
            "kind": [i.kind for i in infos],
            "value": [np.nan if i.value is None else i.value for i in infos],
            "description": [i.description for i in infos],
            "unit": [i.unit for i in infos],
            "year": pd.array([i.year for i in infos], dtype="Int64"),
            "source": [i.source for i in infos],
            "confidence": [i.confidence for i in infos],
            "note": [i.note for i in infos],
        }
    )
    return frame.sort_values("name", kind="stable", ignore_index=True)


def _fmt_range(pair: list[Any]) -> str:
    def fmt(b: Any) -> str:
        return f"{b:02d}:00" if isinstance(b, int) else str(b)

    return f"{fmt(pair[0])}-{fmt(pair[1])}"


def _fmt_schedule(hours: Mapping[str, Any], default: str) -> str:
    parts = [f"{p} {', '.join(_fmt_range(r) for r in ranges)}" for p, ranges in hours.items()]
    return "; ".join(parts) + f"; otherwise {default}"


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _usage(info: PresetInfo) -> str:
    if info.kind in (KIND_MODELLED_AVERAGE, KIND_MODELLED_MARGINAL, KIND_MODELLED_CF_SHARE):
        leaf = {
            KIND_MODELLED_AVERAGE: "average",
            KIND_MODELLED_MARGINAL: "marginal",
            KIND_MODELLED_CF_SHARE: "carbon_free_share",
        }[info.kind]
        return f"carbon: {{{leaf}: {{preset: {info.name}, params: {{seed: 7}}}}}}"
    if info.kind in (KIND_EMISSION_FACTOR, KIND_MARGINAL_PROXY, KIND_ETS_FACTOR):
        which = "marginal" if info.kind == KIND_MARGINAL_PROXY else "average"
        return f"carbon: {{{which}: {{preset: {info.name}}}}}"
    return f"price: {{preset: {info.name}}}"


def describe_preset(name: str) -> str:
    """Multi-line description of one preset: value or schedule, source, confidence, notes."""
    reg = _registry()
    info = reg.info(name)
    lines = [f"{info.name}  [{info.kind}]"]
    if name.strip().lower() != info.name:
        lines.append(f"  alias:       {name.strip().lower()} -> {info.name}")
    if info.value is not None:
        lines.append(f"  value:       {info.value:g} {info.unit}")
    lines.append(f"  description: {info.description}")
    if info.year is not None:
        lines.append(f"  year:        {info.year}")
    if info.kind == KIND_TOU:
        tariff = reg.tariffs[info.name]
        spec = _tou_spec(tariff, info.name, None)["tou"]
        mult = ", ".join(f"{k} x{v:g}" for k, v in tariff.raw["multipliers"].items())
        prices = ", ".join(f"{k} {v:.1f}" for k, v in spec["periods"].items())
        lines += [
            f"  multipliers: {mult} (on the floating energy component only)",
            f"  default:     floating {tariff.floating_cny_per_mwh:g} + adder "
            f"{tariff.adder_cny_per_mwh:g} CNY/MWh -> {prices} CNY/MWh",
            "  params:      floating, adder [CNY/MWh]; multiplier_only: 1 for bare multipliers",
        ]
        season_months = {m for s in tariff.raw.get("seasons", []) for m in s["months"]}
        base_months = [_MONTHS[m - 1] for m in range(1, 13) if m not in season_months]
        lines.append(
            f"  hours {'/'.join(base_months)}: {_fmt_schedule(tariff.raw['hours'], tariff.raw['default'])}"
        )
        for season in tariff.raw.get("seasons", []):
            months = "/".join(_MONTHS[m - 1] for m in season["months"])
            lines.append(f"  hours {months}: {_fmt_schedule(season['hours'], season['default'])}")
    if info.kind == KIND_SPOT:
        stats = reg.spot[info.name][1]["statistics"]
        monthly = ", ".join(
            f"{m} {v:g}" for m, v in zip(_MONTHS, stats["monthly_mean_cny_per_mwh"], strict=True)
        )
        floors = ", ".join(f"{y}: {v:g}" for y, v in stats["floor_cny_per_mwh"].items())
        lines += [
            f"  statistics:  {stats['year']} day-ahead mean {stats['annual_mean_cny_per_mwh']:g} CNY/MWh; "
            f"monthly means {monthly}",
            f"               floor {floors} CNY/MWh; cap {stats['cap_cny_per_mwh']:g}; solar-weighted / mean "
            f"{stats['solar_weighted_ratio']:g}; share of days at the cap {stats['cap_hit_day_share']:g}",
            "  params:      seed (int, default 0); year (2025 or 2026: selects the floor; "
            "default follows the calendar)",
            "  method:      SYNTHETIC, seeded; see help(essdispatch.scenario.presets.shaanxi_spot_synthetic) and data/spot.yaml",
        ]
    if info.name in reg.modelled:
        from essdispatch.scenario.grid_model import grid_year

        region = reg.modelled[info.name][1]
        cal = grid_year(region, 0, 2022).calibration()
        lines += [
            "  params:      seed (int, default 0; the same seed as shaanxi-spot-synthetic shares"
            " its weather)",
            f"  calibration: seed 0, 2022: annual average {cal['average_annual_tco2_per_mwh']:.4f}"
            f" (target {cal['average_target_tco2_per_mwh']:.4f}) tCO2/MWh; curtailed share"
            f" {cal['curtailment_share']:.4f} (target {cal['curtailment_target']:.4f}) in"
            f" {cal['curtailed_hours']} h; must-run floor {cal['floor_fraction']:.3f} of thermal"
            f" capacity; accounting scale {cal['accounting_scale']:.3f}; carbon-free share"
            f" {cal['carbon_free_share_energy_weighted']:.3f}",
            f"  mix:         modelled generation thermal {cal['thermal_twh']:.1f}, hydro"
            f" {cal['hydro_twh']:.1f}, wind {cal['wind_twh']:.1f}, solar {cal['solar_twh']:.1f} TWh;"
            f" net import {cal['net_import_twh']:.1f} TWh",
            "  method:      MODELLED, seeded; see help(essdispatch.scenario.grid_model) and data/grid_model.yaml",
        ]
    lines += [
        f"  unit:        {info.unit}",
        f"  source:      {info.source}",
        f"  confidence:  {info.confidence} ({CONFIDENCE_LEVELS[info.confidence]})",
    ]
    if info.note:
        lines.append(f"  note:        {info.note}")
    aliases = [a for a, target in reg.aliases.items() if target == info.name]
    if aliases:
        lines.append(f"  aliases:     {', '.join(sorted(aliases))}")
    lines.append(f"  scenario:    {_usage(info)}")
    if info.kind in (KIND_EMISSION_FACTOR, KIND_MARGINAL_PROXY):
        lines.append(
            "  caveat:      China publishes no official hourly or marginal emission factor; "
            "annual averages are constant series, and OM / fossil-only factors are proxies."
        )
    return "\n".join(lines)


def presets_table_text(filter: str | None = None) -> str:  # noqa: A002 - the CLI argument name
    """Text for ``essdispatch presets [FILTER]``.

    With no filter: every preset as a table with numbered source footnotes. A filter that names
    one preset (or alias) exactly prints its full description; otherwise presets whose name or
    kind contains the filter (case-insensitive) are listed. Raises ``KeyError`` (with a
    suggestion when a name is close) when nothing matches.
    """
    reg = _registry()
    if filter:
        try:
            return describe_preset(filter)
        except KeyError:
            pass
    table = list_presets()
    if filter:
        needle = filter.strip().lower()
        mask = table["name"].str.contains(needle, regex=False) | table["kind"].str.contains(
            needle, regex=False
        )
        table = table[mask]
        if table.empty:
            known = sorted([*list_presets()["name"], *reg.aliases])
            close = difflib.get_close_matches(needle, known, n=4, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"no preset matches {filter!r}{hint}")
    sources: dict[str, int] = {}
    rows = [("name", "value", "unit", "year", "conf", "src")]
    for r in table.itertuples(index=False):
        src = sources.setdefault(str(r.source), len(sources) + 1)
        value = (
            "(tou)" if r.kind == KIND_TOU else "(series)" if pd.isna(r.value) else f"{r.value:g}"
        )
        year = "" if pd.isna(r.year) else str(r.year)
        rows.append((str(r.name), value, str(r.unit), year, str(r.confidence), f"[{src}]"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    out.append("")
    out.append("Sources:")
    out += [f"  [{n}] {s}" for s, n in sources.items()]
    out.append("")
    out.append(
        "Confidence: "
        + "; ".join(f"{k} = {v.split(':')[0]}" for k, v in CONFIDENCE_LEVELS.items())
        + ". Values below H carry a note: `essdispatch presets NAME` shows it."
    )
    out.append(
        "No official hourly or marginal emission factor exists for China: cn-grid-om/* and the "
        "fossil-only factor are proxies. shaanxi-spot-synthetic is a synthetic shape; the"
        " cn-grid-hourly-* and cn-grid-carbon-free-share/* series are MODELLED (grid_model)."
    )
    if not filter:
        out.append("Aliases: " + ", ".join(f"{a} -> {t}" for a, t in list_aliases().items()))
    return "\n".join(out)
