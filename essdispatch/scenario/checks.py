"""The checks of a validated :class:`~essdispatch.scenario.spec.ScenarioSpec` that span
blocks: the problem size before any series is evaluated, unique names and group members,
every series evaluated once and range-checked (a preset's unit against the series it is
given for), and each site's resolved signals (prices with buy >= sell, carbon where
needed, a marginal series when it steers)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from essdispatch.base.exceptions import ScenarioError
from essdispatch.model.numerics import ProblemSize, estimate_size
from essdispatch.scenario.series import PresetSeries, SeriesMemo, evaluate_series
from essdispatch.scenario.series_base import SeriesContext, format_timestamp
from essdispatch.scenario.spec import ScenarioSpec, Signals, Site
from essdispatch.scenario.spec_base import (
    MAX_INTENSITY,
    MAX_POWER_MW,
    MAX_PRICE,
    _localize,
    _percent_hint,
    horizon_index,
    period_hours,
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
    from essdispatch.scenario.presets_data import preset_info

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
