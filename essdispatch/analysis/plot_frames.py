"""The data behind the figures, read from a results folder: a time window, the power flows,
state of charge, emissions displaced and the price lines to draw (pandas, no drawing)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from essdispatch.analysis.results_folder import Results, load_results
from essdispatch.base.exceptions import ResultsInputError, close_names


def _results(run: str | Path | Results) -> Results:
    return run if isinstance(run, Results) else load_results(run)


def window(
    frame: pd.DataFrame, start: Any = None, end: Any = None, *, folder: Any = ""
) -> pd.DataFrame:
    """Rows from ``start`` to ``end``, both inclusive as in pandas ``.loc`` slicing
    (a bare date such as ``2026-06-05`` includes that whole day; local time)."""
    if start is None and end is None:
        return frame
    try:
        out = frame.loc[start:end]
    except (ValueError, TypeError, KeyError) as exc:
        raise ResultsInputError(f"{folder}: bad window {start!r} to {end!r}: {exc}") from exc
    if out.empty:
        first, last = frame.index[0], frame.index[-1]
        raise ResultsInputError(
            f"{folder}: no periods between {start or 'start'} and {end or 'end'} "
            f"(the run's periods start from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M})"
        )
    return out


def _check_site(res: Results, site: str | None) -> None:
    if site is not None and site not in res.sites:
        raise ResultsInputError(
            f"{res.folder}: no site {site!r}{close_names(site, res.sites)} "
            f"(sites: {', '.join(res.sites) or 'none'})"
        )


def _units(res: Results, site: str | None, frame: pd.DataFrame) -> list[str]:
    units = [u for u, s in res.unit_sites.items() if site is None or s == site]
    return [u for u in units if f"{u}/soc" in frame.columns]


def _sum(frame: pd.DataFrame, cols: Sequence[str]) -> pd.Series:
    present = [c for c in cols if c in frame.columns]
    if not present:
        return pd.Series(0.0, index=frame.index)
    return frame[present].sum(axis=1)


def _sites(res: Results, site: str | None) -> list[str]:
    return res.sites if site is None else [site]


def carbon_series(res: Results) -> list[str]:
    """Names of the carbon-intensity series the run reports (average, marginal)."""
    names = list(res.summary.carbon_series or [])
    return names or list(res.summary.emissions_tco2 or {})


# --------------------------------------------------------------------------- frames
def power_frame(
    run: str | Path | Results,
    site: str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    baseline: bool = False,
) -> pd.DataFrame:
    """Power flows per period for one site or the fleet total (``site=None``) [MW].

    Columns: ``solar_available solar_used curtailed discharge import unserved``
    (sources), ``load charge export`` (sinks; load includes the storage aux),
    ``buy_price sell_price`` [currency/MWh] and ``carbon_<series>`` [tCO2/MWh]
    (for the fleet: the mean over sites). ``baseline=True`` reads the baseline.
    """
    res = _results(run)
    _check_site(res, site)
    frame = window(res.baseline if baseline else res.dispatch, start, end, folder=res.folder)
    sites = _sites(res, site)
    units = _units(res, site, frame)

    def col(var: str) -> pd.Series:
        return _sum(frame, [f"{s}/{var}" for s in sites])

    def mean(var: str) -> pd.Series:
        present = [f"{s}/{var}" for s in sites if f"{s}/{var}" in frame.columns]
        return frame[present].mean(axis=1) if present else pd.Series(np.nan, index=frame.index)

    out = pd.DataFrame(index=frame.index)
    out["solar_available"] = col("pv")
    out["curtailed"] = col("cur")
    out["solar_used"] = out["solar_available"] - out["curtailed"]
    out["discharge"] = _sum(frame, [f"{u}/dis" for u in units])
    out["import"] = col("imp")
    out["unserved"] = col("shed")
    out["load"] = col("load") + col("aux")
    out["charge"] = _sum(frame, [f"{u}/ch" for u in units])
    out["export"] = col("exp")
    out["buy_price"] = mean("buy_price")
    out["sell_price"] = mean("sell_price")
    for series in carbon_series(res):
        out[f"carbon_{series}"] = mean(f"carbon_{series}")
    return out.astype(float)


def soc_frame(
    run: str | Path | Results, site: str | None = None, start: Any = None, end: Any = None
) -> pd.DataFrame:
    """State of charge at the end of each period, one column per unit [fraction of E]."""
    res = _results(run)
    _check_site(res, site)
    frame = window(res.dispatch, start, end, folder=res.folder)
    units = _units(res, site, frame)
    return pd.DataFrame({u: frame[f"{u}/soc"] for u in units}, index=frame.index)


def displaced_frame(
    run: str | Path | Results, site: str | None = None, start: Any = None, end: Any = None
) -> pd.DataFrame:
    """Emissions displaced per period on each carbon basis [tCO2].

    ``Δt · Σ_s ci_r[s,t] · ((imp − exp)_baseline − (imp − exp)_run)``; summed over
    the whole horizon this is the summary's ``emissions_displaced_tco2``.
    """
    res = _results(run)
    _check_site(res, site)
    run_f = window(res.dispatch, start, end, folder=res.folder)
    base_f = window(res.baseline, start, end, folder=res.folder)
    out = pd.DataFrame(index=run_f.index)
    for series in carbon_series(res):
        total = pd.Series(0.0, index=run_f.index)
        for s in _sites(res, site):
            ci = run_f[f"{s}/carbon_{series}"]
            net_run = run_f[f"{s}/imp"] - run_f[f"{s}/exp"]
            net_base = base_f[f"{s}/imp"] - base_f[f"{s}/exp"]
            total = total + res.dt_h * ci * (net_base - net_run)
        out[series] = total
    return out


#: windows longer than this many days are drawn per day (curtailment) or day by day
#: (cumulative emissions) instead of per period
LONG_WINDOW_DAYS = 31


def _per_day(frame: pd.DataFrame, dt_h: float) -> pd.DataFrame:
    """Energy per local calendar day [MWh] of a power frame [MW]."""
    return frame.resample("1D").sum() * dt_h


#: the dispatch figure draws one state-of-charge line per unit up to this many units
MAX_SOC_LINES = 5
#: distinct price series drawn one by one; more are shown as a range
MAX_PRICE_LINES = 4
_PRICE_COLOURS = ["black", "#1d6fa5", "#bc4749", "#7b4fa0"]


def _unit_energy(res: Results, units: list[str]) -> pd.Series:
    """Energy capacity of each unit [MWh] (summary ``per_unit``; 1 each when absent)."""
    per_unit = res.summary.per_unit or {}
    energy = [getattr(per_unit.get(u), "energy_mwh", None) for u in units]
    return pd.Series([1.0 if e is None else float(e) for e in energy], index=units)


def price_lines(
    run: str | Path | Results, site: str | None = None, start: Any = None, end: Any = None
) -> list[tuple[str, pd.Series, dict[str, Any]]]:
    """The price series to draw [currency/MWh]: ``(label, values, line style)``.

    Sites whose buy (or sell) price is the same series share one line, labelled with
    how many sites use it (never an average of different tariffs). With more than
    :data:`MAX_PRICE_LINES` distinct series per side, the side is drawn as its lowest
    and highest price over the sites.
    """
    res = _results(run)
    frame = window(res.dispatch, start, end, folder=res.folder)
    sites = _sites(res, site)
    out: list[tuple[str, pd.Series, dict[str, Any]]] = []
    buy_groups = _distinct(frame, sites, "buy_price")
    sell_groups = _distinct(frame, sites, "sell_price")
    # a side identical to the other (one price for both directions) is drawn once
    same = len(buy_groups) == len(sell_groups) and all(
        np.allclose(b[1], s[1], equal_nan=True)
        for b, s in zip(buy_groups, sell_groups, strict=True)
    )
    sides = (
        [("Buy", buy_groups, "-")]
        if same
        else [("Buy", buy_groups, "-"), ("Sell", sell_groups, "--")]
    )
    for side, groups, dash in sides:
        name = "Price" if same else side
        if len(groups) > MAX_PRICE_LINES:
            cols = [f"{s}/{side.lower()}_price" for s in sites]
            out.append(
                (
                    f"{name}, lowest of {len(sites)} sites",
                    frame[cols].min(axis=1),
                    {"color": "#555555", "linestyle": dash, "linewidth": 1.0},
                )
            )
            out.append(
                (
                    f"{name}, highest of {len(sites)} sites",
                    frame[cols].max(axis=1),
                    {"color": "black", "linestyle": dash, "linewidth": 1.2},
                )
            )
            continue
        for i, (members, values) in enumerate(groups):
            who = members[0] if len(members) == 1 else f"{len(members)} sites"
            label = name if len(groups) == 1 and (site or len(sites) == 1) else f"{name}, {who}"
            style = {
                "color": _PRICE_COLOURS[i % len(_PRICE_COLOURS)],
                "linestyle": dash,
                "linewidth": 1.3,
            }
            out.append((label, values, style))
    return out


def _distinct(frame: pd.DataFrame, sites: list[str], var: str) -> list[tuple[list[str], pd.Series]]:
    """Sites grouped by identical ``var`` series, largest group first."""
    groups: list[tuple[list[str], pd.Series]] = []
    for s in sites:
        col = f"{s}/{var}"
        if col not in frame.columns:
            continue
        values = frame[col]
        for members, ref in groups:
            if np.allclose(values.to_numpy(), ref.to_numpy(), equal_nan=True):
                members.append(s)
                break
        else:
            groups.append(([s], values))
    return sorted(groups, key=lambda g: -len(g[0]))
