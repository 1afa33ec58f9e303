"""The preset registry: the data files of ``essdispatch/data/`` read, checked and indexed.

:class:`PresetInfo` (what a preset is, its source and confidence), the preset kinds, the
loaders of the constants CSVs, the TOU tariffs, the spot statistics and the modelled grid
signals, their aliases, and :func:`_registry` (built once, on first use);
:func:`preset_info` and :func:`list_aliases` read it. The series the presets give are made
in :mod:`essdispatch.scenario.presets_series`.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd

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


def preset_info(name: str) -> PresetInfo:
    """Provenance of one preset (aliases allowed); raises ``KeyError`` on unknown names."""
    return _registry().info(name)


def list_aliases() -> dict[str, str]:
    """Alias -> canonical preset name."""
    return dict(sorted(_registry().aliases.items()))
