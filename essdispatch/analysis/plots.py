"""matplotlib figures from results folders (never from the model).

Every function takes a results folder (a path or a :class:`essdispatch.analysis.compare.Results`)
and returns a :class:`matplotlib.figure.Figure`; :func:`save_png` writes one. The
figures are built with the object-oriented API on the Agg canvas, without
``pyplot``: they need no display, leave the caller's backend alone (a notebook
still shows the returned Figure) and are freed when dropped.

- :func:`dispatch_figure`: stacked sources and sinks per period, state of
  charge per unit, price and carbon intensity, for a site or the fleet total.
- :func:`curtailment_figure`: curtailment of the baseline against the run.
- :func:`emissions_figure`: emissions displaced on each carbon basis (average,
  marginal), cumulative over the window and in total.
- :func:`sites_figure`: small multiples, one panel per site.
- :func:`compare_figure`: bar charts of the headline figures across runs.

The frames behind the figures (:func:`power_frame`, :func:`soc_frame`,
:func:`displaced_frame`) are public too.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from essdispatch.analysis.compare import Results, compare_table, load_results
from essdispatch.base.exceptions import ResultsError, ResultsInputError, close_names

#: default resolution of saved figures [dots per inch]
DPI = 150

#: (label, colour) of the power-flow categories, sources first, then sinks
SOURCES = {
    "solar_used": ("Solar used", "#f2b701"),
    "discharge": ("Storage discharge", "#2a9d8f"),
    "import": ("Grid import", "#6c757d"),
    "unserved": ("Unserved load", "#d62828"),
    "curtailed": ("Solar curtailed", "#fde68a"),
}
SINKS = {
    "load": ("Load + aux", "#8d5a3b"),
    "charge": ("Storage charge", "#1d6fa5"),
    "export": ("Grid export", "#7b4fa0"),
}
CARBON_COLOURS = {"average": "#2b9348", "marginal": "#bc4749"}
RUN_COLOUR, BASELINE_COLOUR = "#1d6fa5", "#f4a261"

_RC = {
    "font.size": 10,
    "axes.titlesize": 12,
    "figure.titlesize": 12,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.alpha": 0.3,
}


# --------------------------------------------------------------------------- helpers
def _results(run: str | Path | Results) -> Results:
    return run if isinstance(run, Results) else load_results(run)


def new_figure(figsize: tuple[float, float], dpi: float = DPI) -> Figure:
    """A Figure on its own Agg canvas with constrained layout (no pyplot)."""
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | Path, dpi: float | None = None) -> Path:
    """Write ``fig`` as PNG at its own size (width × height = figsize × dpi pixels)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=dpi or fig.dpi)
    except OSError as exc:
        raise ResultsError(f"{path}: cannot write figure: {exc.strerror or exc}") from exc
    return path


def figsize_px(width_px: int, height_px: int, dpi: float = DPI) -> tuple[float, float]:
    """Figure size in inches for an image of ``width_px × height_px`` pixels at ``dpi``."""
    return width_px / dpi, height_px / dpi


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


# --------------------------------------------------------------------------- axes helpers
def _edges(index: pd.DatetimeIndex, dt_h: float) -> pd.DatetimeIndex:
    """Period starts plus the end of the last period (for step plots)."""
    return index.append(pd.DatetimeIndex([index[-1] + pd.Timedelta(hours=dt_h)]))


def _step(values: pd.Series | np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return np.append(v, v[-1]) if len(v) else v


def _time_axis(ax: Axes, tz: Any) -> None:
    locator = AutoDateLocator(tz=tz, minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=tz))


def _legend_right(ax: Axes, handles: list | None = None, labels: list | None = None) -> None:
    kw: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False}
    if handles is not None:
        ax.legend(handles, labels, **kw)
    else:
        ax.legend(**kw)


def _where(res: Results, site: str | None) -> str:
    return f"site {site}" if site else ("fleet total" if len(res.sites) > 1 else res.sites[0])


def _span(index: pd.DatetimeIndex, dt_h: float) -> str:
    end = index[-1] + pd.Timedelta(hours=dt_h)
    same_day = end.normalize() == index[0].normalize()
    shown = f"{end:%H:%M}" if same_day else f"{end:%Y-%m-%d %H:%M}"
    return f"{index[0]:%Y-%m-%d %H:%M} – {shown} ({index.tz})"


_thousands = FuncFormatter(lambda v, _p: f"{v:,.0f}")


# --------------------------------------------------------------------------- figures
def dispatch_figure(
    run: str | Path | Results,
    site: str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    figsize: tuple[float, float] = (12.0, 8.0),
    dpi: float = DPI,
) -> Figure:
    """Dispatch of a window: power flows, state of charge, price and carbon intensity.

    Top: sources stacked above zero (solar used, storage discharge, grid import,
    unserved load, then the curtailed solar that was not used) and sinks stacked
    below (load + aux, storage charge, grid export) [MW]. Middle: state of
    charge [%]: one line per unit up to :data:`MAX_SOC_LINES` units, else the fleet's
    (energy-weighted) with the range over the units. Bottom: buy (and sell) price
    [currency/MWh], one line per distinct series (:func:`price_lines`), with the
    carbon intensity on a twin axis [tCO2/MWh]. ``site=None`` shows the fleet total.
    """
    res = _results(run)
    flows = power_frame(res, site, start, end)
    soc = soc_frame(res, site, start, end)
    dt = res.dt_h
    x = _edges(flows.index, dt)
    tz = flows.index.tz
    currency = res.currency or "currency"

    with _rc():
        fig = new_figure(figsize, dpi)
        ax_p, ax_s, ax_c = fig.subplots(
            3, 1, sharex=True, gridspec_kw={"height_ratios": [3.0, 1.3, 1.5]}
        )
        bottom = np.zeros(len(x))
        for key, (label, colour) in SOURCES.items():
            vals = _step(flows[key])
            if key in ("unserved",) and not np.any(vals > 1e-9):
                continue
            hatch = "///" if key == "curtailed" else None
            ax_p.fill_between(
                x,
                bottom,
                bottom + vals,
                step="post",
                facecolor=colour,
                edgecolor="#b08900" if hatch else "none",
                linewidth=0.0,
                hatch=hatch,
                label=label,
            )
            bottom = bottom + vals
        bottom = np.zeros(len(x))
        for key, (label, colour) in SINKS.items():
            vals = _step(flows[key])
            ax_p.fill_between(
                x, bottom, bottom - vals, step="post", color=colour, linewidth=0, label=label
            )
            bottom = bottom - vals
        ax_p.axhline(0.0, color="black", linewidth=0.8)
        ax_p.set_ylabel("Power [MW]\n← sinks | sources →")
        ax_p.yaxis.set_major_formatter(_thousands)
        fig.suptitle(f"{res.name}: dispatch, {_where(res, site)}\n{_span(flows.index, dt)}")
        _legend_right(ax_p)

        t_end = flows.index + pd.Timedelta(hours=dt)
        full = soc_frame(res, site)
        first = full.index.get_loc(soc.index[0]) if not soc.empty else 0
        if isinstance(first, int) and first > 0:  # the state at the window's start
            soc = pd.concat([full.iloc[[first - 1]], soc])
            t_end = t_end.insert(0, flows.index[0])
        if soc.empty:
            ax_s.text(0.5, 0.5, "no storage", ha="center", va="center", transform=ax_s.transAxes)
        elif len(soc.columns) <= MAX_SOC_LINES:
            for unit in soc.columns:
                ax_s.plot(t_end, 100.0 * soc[unit], linewidth=1.5, label=unit)
            _legend_right(ax_s)
        else:  # many units: the fleet's state of charge and the spread over the units
            energy = _unit_energy(res, list(soc.columns))
            fleet = (
                (soc * energy).sum(axis=1) / energy.sum() if energy.sum() > 0 else soc.mean(axis=1)
            )
            ax_s.fill_between(
                t_end,
                100.0 * soc.min(axis=1),
                100.0 * soc.max(axis=1),
                color="#1d6fa5",
                alpha=0.18,
                linewidth=0,
                label=f"Range over {len(soc.columns)} units",
            )
            ax_s.plot(
                t_end, 100.0 * fleet, color="#1d6fa5", linewidth=2, label="Fleet (energy-weighted)"
            )
            _legend_right(ax_s)
        ax_s.set_ylim(-2, 102)
        ax_s.set_ylabel("State of charge\n[% of energy]")

        for label, values, style in price_lines(res, site, start, end):
            ax_c.step(x, _step(values), where="post", label=label, **style)
        ax_c.set_ylabel(f"Price\n[{currency}/MWh]")
        ax_c.yaxis.set_major_formatter(_thousands)
        twin = ax_c.twinx()
        twin.grid(False)
        for series in carbon_series(res):
            twin.step(
                x,
                _step(flows[f"carbon_{series}"]),
                where="post",
                color=CARBON_COLOURS.get(series, "#555555"),
                linewidth=1.4,
                label=f"Carbon, {series}",
            )
        twin.set_ylabel("Carbon intensity\n[tCO2/MWh]")
        twin.set_ylim(bottom=0)
        h1, l1 = ax_c.get_legend_handles_labels()
        h2, l2 = twin.get_legend_handles_labels()
        ax_c.legend(  # above the panel: the twin axis' label takes the right margin
            h1 + h2,
            l1 + l2,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncol=min(4, len(h1) + len(h2)),
            frameon=False,
            borderaxespad=0.2,
        )
        ax_c.set_xlabel(f"Local time ({tz})")
        ax_c.set_xlim(x[0], x[-1])
        _time_axis(ax_c, tz)
    return fig


def curtailment_figure(
    run: str | Path | Results,
    site: str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    figsize: tuple[float, float] = (12.0, 6.5),
    dpi: float = DPI,
) -> Figure:
    """Curtailment of the no-storage baseline against the run.

    Top: curtailed power per period [MW] with the available solar for context.
    Bottom: cumulative curtailed energy [MWh]; the gap between the two curves is
    the curtailment the storage absorbed.
    """
    res = _results(run)
    runf = power_frame(res, site, start, end)
    basef = power_frame(res, site, start, end, baseline=True)
    dt = res.dt_h
    x = _edges(runf.index, dt)
    tz = runf.index.tz
    # a long window: energy per day [MWh] (per-period power would be a solid block)
    daily = len(runf) * dt > 24 * LONG_WINDOW_DAYS
    top_run, top_base = runf, basef
    x_top = x
    if daily:
        top_run = _per_day(runf[["solar_available", "curtailed"]], dt)
        top_base = _per_day(basef[["solar_available", "curtailed"]], dt)
        x_top = top_run.index.append(pd.DatetimeIndex([x[-1]]))
    with _rc():
        fig = new_figure(figsize, dpi)
        ax_p, ax_e = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.6, 1.0]})
        runf, basef, x_cum, x = top_run, top_base, x, x_top
        ax_p.step(
            x,
            _step(runf["solar_available"]),
            where="post",
            color="#b08900",
            linewidth=0.9,
            alpha=0.8,
            label="Solar available",
        )
        ax_p.fill_between(
            x,
            0,
            _step(basef["curtailed"]),
            step="post",
            color=BASELINE_COLOUR,
            alpha=0.6,
            linewidth=0,
            label="Curtailed, baseline (no storage)",
        )
        ax_p.step(x, _step(basef["curtailed"]), where="post", color="#d9822b", linewidth=1.0)
        ax_p.fill_between(
            x,
            0,
            _step(runf["curtailed"]),
            step="post",
            color=RUN_COLOUR,
            alpha=0.85,
            linewidth=0,
            label="Curtailed, run (with storage)",
        )
        ax_p.set_ylabel("Energy per day [MWh]" if daily else "Power [MW]")
        ax_p.set_ylim(bottom=0)
        ax_p.yaxis.set_major_formatter(_thousands)
        runf = power_frame(res, site, start, end)
        basef = power_frame(res, site, start, end, baseline=True)
        x = x_cum
        base_total = dt * float(basef["curtailed"].sum())
        run_total = dt * float(runf["curtailed"].sum())
        fig.suptitle(f"{res.name}: curtailment, {_where(res, site)}\n{_span(runf.index, dt)}")
        ax_p.set_title(
            f"Storage absorbed {base_total - run_total:,.1f} MWh of the baseline's "
            f"{base_total:,.1f} MWh",
            fontsize=10,
        )
        _legend_right(ax_p)

        t_end = x
        cum_base = pd.Series(np.concatenate([[0.0], dt * basef["curtailed"].cumsum()]))
        cum_run = pd.Series(np.concatenate([[0.0], dt * runf["curtailed"].cumsum()]))
        ax_e.plot(t_end, cum_base, color=BASELINE_COLOUR, linewidth=2, label="Baseline")
        ax_e.plot(t_end, cum_run, color=RUN_COLOUR, linewidth=2, label="Run")
        ax_e.fill_between(
            t_end,
            cum_run,
            cum_base,
            where=(cum_base >= cum_run).to_numpy(),
            color="#2a9d8f",
            alpha=0.25,
            linewidth=0,
            label="Absorbed by storage",
        )
        ax_e.set_ylabel("Cumulative\ncurtailment [MWh]")
        ax_e.set_ylim(bottom=0)
        ax_e.yaxis.set_major_formatter(_thousands)
        _legend_right(ax_e)
        ax_e.set_xlabel(f"Local time ({tz})")
        ax_e.set_xlim(x[0], x[-1])
        _time_axis(ax_e, tz)
    return fig


def emissions_figure(
    run: str | Path | Results,
    site: str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    figsize: tuple[float, float] = (12.0, 5.5),
    dpi: float = DPI,
) -> Figure:
    """Emissions displaced by storage on each carbon basis (average, marginal).

    Left: cumulative displaced emissions over the window [tCO2]. Right: the
    window totals per basis [tCO2] (for the whole horizon, the summary's
    ``emissions_displaced_tco2``).
    """
    res = _results(run)
    disp = displaced_frame(res, site, start, end)
    dt = res.dt_h
    tz = disp.index.tz
    t_edges = _edges(disp.index, dt)
    with _rc():
        fig = new_figure(figsize, dpi)
        ax_t, ax_b = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3.2, 1.0]})
        cumulative = pd.DataFrame(
            np.vstack([np.zeros(len(disp.columns)), disp.cumsum().to_numpy()]),
            index=t_edges,
            columns=disp.columns,
        )
        if len(disp) * dt > 24 * LONG_WINDOW_DAYS:  # a long window: the running total each day
            cumulative = cumulative[cumulative.index.hour == cumulative.index[0].hour]
        for series in disp.columns:
            ax_t.plot(
                cumulative.index,
                cumulative[series].to_numpy(),
                color=CARBON_COLOURS.get(series, "#555555"),
                linewidth=2,
                label=f"{series.capitalize()} intensity",
            )
        ax_t.axhline(0.0, color="black", linewidth=0.8)
        ax_t.set_ylabel("Cumulative emissions displaced [tCO2]")
        ax_t.set_xlabel(f"Local time ({tz})")
        ax_t.set_xlim(t_edges[0], t_edges[-1])
        ax_t.yaxis.set_major_formatter(_thousands)
        _time_axis(ax_t, tz)
        ax_t.legend(loc="upper left", frameon=False)
        lowest = float(disp.cumsum().min().min()) if len(disp) else 0.0
        if lowest < 0.0:
            ax_t.annotate(
                "Below zero: the storage first took energy (solar that would have been\n"
                "exported, or grid imports) that its discharge gave back later; the\n"
                "value at the end of the window is what counts.",
                xy=(0.99, 0.02),
                xycoords="axes fraction",
                ha="right",
                va="bottom",
                fontsize=8.5,
                color="#444444",
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#cccccc"},
            )
        fig.suptitle(
            f"{res.name}: emissions displaced by storage, {_where(res, site)}\n"
            f"{_span(disp.index, dt)}"
        )
        ax_t.set_title("Baseline minus run (> 0: avoided)", fontsize=10)
        totals = disp.sum()
        bars = ax_b.bar(
            [s.capitalize() for s in totals.index],
            totals.to_numpy(),
            color=[CARBON_COLOURS.get(s, "#555555") for s in totals.index],
            width=0.6,
        )
        ax_b.bar_label(bars, labels=[f"{v:,.1f}" for v in totals], padding=3)
        ax_b.axhline(0.0, color="black", linewidth=0.8)
        ax_b.set_ylabel("Total displaced [tCO2]")
        ax_b.set_xlabel("Carbon basis")
        ax_b.margins(y=0.15)
        ax_b.grid(axis="x", visible=False)
        ax_b.set_title("Window total")
    return fig


def headline_frame(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The headline figures of a :func:`compare_table` result, per panel.

    Returns ``{"cost": runs × (run, baseline), "absorbed": runs × [MWh],
    "displaced": runs × series, "cycles": runs × units}``.
    """
    labels: list[str] = table.attrs.get("labels") or [
        c for c in table.columns if c != "unit" and not c.startswith(("diff:", "rel:"))
    ]

    def pick(fig: str, basis: str) -> pd.DataFrame:
        try:
            rows = table.xs((fig, basis), level=("figure", "basis"))
        except KeyError:
            return pd.DataFrame(index=labels)
        return rows[labels].T

    cost = pd.DataFrame(
        {
            "run": pick("total_cost", "run").iloc[:, 0] if len(labels) else [],
            "baseline": pick("total_cost", "baseline").iloc[:, 0] if len(labels) else [],
        }
    )
    absorbed = pick("curtailment_absorbed_mwh", "delta")
    absorbed.columns = ["curtailment_absorbed_mwh"][: len(absorbed.columns)]
    return {
        "cost": cost,
        "absorbed": absorbed,
        "displaced": pick("emissions_displaced_tco2", "delta"),
        "cycles": pick("equivalent_full_cycles", "run"),
    }


def _grouped_bars(
    ax: Axes, frame: pd.DataFrame, colours: dict[str, str] | None = None, fmt: str = "{:,.1f}"
) -> None:
    n_groups, n_bars = frame.shape
    if n_bars == 0:
        ax.text(0.5, 0.5, "not reported", ha="center", va="center", transform=ax.transAxes)
        return
    width = 0.8 / n_bars
    x = np.arange(n_groups)
    palette = ["#1d6fa5", "#f4a261", "#2a9d8f", "#bc4749", "#7b4fa0", "#6c757d"]
    for i, column in enumerate(frame.columns):
        colour = (colours or {}).get(column, palette[i % len(palette)])
        bars = ax.bar(
            x + (i - (n_bars - 1) / 2) * width,
            frame[column].to_numpy(dtype=float),
            width=width * 0.95,
            color=colour,
            label=str(column),
        )
        if n_groups * n_bars <= 16:
            ax.bar_label(bars, fmt=fmt, padding=2, fontsize=8)
    # long run names (scenario names) wrap at their hyphens instead of overlapping
    ticks = [textwrap.fill(str(i), 18, break_long_words=False) for i in frame.index]
    ax.set_xticks(x, ticks, rotation=20 if n_groups > 3 else 0, fontsize=9)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.grid(axis="x", visible=False)
    ax.margins(y=0.15)


def compare_figure(
    runs: Sequence[str | Path | Results] | pd.DataFrame,
    *,
    force: bool = False,
    figsize: tuple[float, float] = (12.0, 8.0),
    dpi: float = DPI,
) -> Figure:
    """Bar charts of the headline figures across runs: total cost (run and
    baseline) [currency], curtailment absorbed [MWh], emissions displaced on each
    basis [tCO2] and equivalent full cycles per unit.

    ``runs`` is a list of results folders or a :func:`compare_table` result.
    """
    table = runs if isinstance(runs, pd.DataFrame) else compare_table(runs, force=force)
    panels = headline_frame(table)
    units = table["unit"]
    money = units[table.index.get_level_values("figure") == "total_cost"]
    currency = str(money.iloc[0]) if len(money) else "currency"
    with _rc():
        fig = new_figure(figsize, dpi)
        (a_cost, a_abs), (a_em, a_cyc) = fig.subplots(2, 2)
        cost = panels["cost"].rename(
            columns={"run": "Run (with storage)", "baseline": "Baseline (no storage)"}
        )
        _grouped_bars(
            a_cost,
            cost,
            {"Run (with storage)": RUN_COLOUR, "Baseline (no storage)": BASELINE_COLOUR},
            fmt="{:,.0f}",
        )
        a_cost.set_title("Total cost (objective; lower is better)")
        a_cost.set_ylabel(f"Total cost [{currency}]")
        a_cost.yaxis.set_major_formatter(_thousands)
        a_cost.legend(frameon=False)
        _grouped_bars(a_abs, panels["absorbed"], {"curtailment_absorbed_mwh": "#2a9d8f"})
        a_abs.set_title("Curtailment absorbed")
        a_abs.set_ylabel("Curtailment absorbed [MWh]")
        a_abs.yaxis.set_major_formatter(_thousands)
        _grouped_bars(a_em, panels["displaced"], CARBON_COLOURS)
        a_em.set_title("Emissions displaced (baseline − run)")
        a_em.set_ylabel("Emissions displaced [tCO2]")
        a_em.yaxis.set_major_formatter(_thousands)
        if panels["displaced"].shape[1]:
            a_em.legend(title="Carbon basis", frameon=False, ncol=2, loc="upper left")
            a_em.set_ylim(top=a_em.get_ylim()[1] * 1.2)
        cycles = panels["cycles"]
        if cycles.shape[1] <= 4:
            _grouped_bars(a_cyc, cycles, fmt="{:.2f}")
            if cycles.shape[1]:
                a_cyc.legend(title="Storage unit", frameon=False)
        else:  # many units: the mean over the units, whiskers from the least to the most used
            mean = cycles.mean(axis=1)
            _grouped_bars(a_cyc, mean.to_frame(f"Mean over {cycles.shape[1]} units"), fmt="{:.2f}")
            x = np.arange(len(mean))
            a_cyc.errorbar(
                x,
                mean.to_numpy(dtype=float),
                yerr=[
                    (mean - cycles.min(axis=1)).to_numpy(dtype=float),
                    (cycles.max(axis=1) - mean).to_numpy(dtype=float),
                ],
                fmt="none",
                ecolor="black",
                capsize=5,
                label="Least to most used unit",
            )
            a_cyc.legend(frameon=False, loc="upper left", ncol=2)
            a_cyc.set_ylim(top=float(cycles.max().max()) * 1.3)
        a_cyc.set_title("Equivalent full cycles")
        a_cyc.set_ylabel("Equivalent full cycles [cycles]")
        for ax in (a_cost, a_abs, a_em, a_cyc):
            ax.set_xlabel("Run")
        notices = table.attrs.get("notices") or []
        title = "Headline figures across runs"
        if notices:
            title += "\n" + textwrap.fill("note: " + "; ".join(notices), 150)
        fig.suptitle(title, fontsize=12 if not notices else 10)
    return fig


def sites_figure(
    run: str | Path | Results,
    site: str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    figsize: tuple[float, float] | None = None,
    dpi: float = DPI,
) -> Figure:
    """Small multiples: one panel per site (``site``: that site only) [MW].

    Each panel: solar available, grid export (above zero) and import (below), and the
    storage's net power (discharge above zero, charge below), with the site's export limit
    dashed; its title gives the site's savings and curtailment absorbed (summary
    ``per_site``). Panels have their own power scale: sites differ in size.
    """
    res = _results(run)
    _check_site(res, site)
    names = _sites(res, site)
    per_site = res.summary.per_site or {}
    diagnostics = res.summary.diagnostics
    binding = diagnostics.binding_limits if diagnostics is not None else None
    limits = (binding.sites if binding is not None else None) or {}
    n = len(names)
    cols = 1 if n == 1 else 2 if n <= 4 else 3 if n <= 9 else 4
    rows = int(np.ceil(n / cols))
    currency = res.currency or "currency"
    with _rc():
        fig = new_figure(figsize or (4.2 * cols + 1.5, 2.5 * rows + 1.2), dpi)
        axes = fig.subplots(rows, cols, squeeze=False, sharex=True).ravel()
        handles: list[Any] = []
        for ax, name in zip(axes, names, strict=False):
            flows = power_frame(res, name, start, end)
            x = _edges(flows.index, res.dt_h)
            net_storage = flows["discharge"] - flows["charge"]
            h_solar = ax.step(
                x,
                _step(flows["solar_available"]),
                where="post",
                color="#d4a200",
                linewidth=1.0,
                label="Solar available",
            )[0]
            h_exp = ax.step(
                x,
                _step(flows["export"] - flows["import"]),
                where="post",
                color="#7b4fa0",
                linewidth=1.0,
                label="Grid export (> 0) / import (< 0)",
            )[0]
            h_sto = ax.fill_between(
                x,
                0,
                _step(net_storage),
                step="post",
                color="#2a9d8f",
                alpha=0.55,
                linewidth=0,
                label="Storage discharge (> 0) / charge (< 0)",
            )
            export_limit = (limits.get(name) or {}).get("export")
            limit = export_limit.limit_mw if export_limit is not None else None
            if limit:
                h_lim = ax.axhline(
                    limit, color="#bc4749", linestyle="--", linewidth=1.0, label="Export limit"
                )
                if len(handles) < 4:
                    handles = [h_solar, h_exp, h_sto, h_lim]
            elif not handles:
                handles = [h_solar, h_exp, h_sto]
            ax.axhline(0.0, color="black", linewidth=0.6)
            figs = per_site.get(name)
            title = name
            if figs is not None and figs.model_fields_set:
                title += (
                    f"\nsaves {figs.savings or 0:,.0f} {currency}, absorbs "
                    f"{figs.curtailment_absorbed_mwh or 0:,.0f} MWh"
                )
            ax.set_title(title, fontsize=9)
            ax.set_ylabel("[MW]", fontsize=8)
            ax.yaxis.set_major_formatter(_thousands)
            ax.tick_params(labelsize=8)
            _time_axis(ax, flows.index.tz)
        for ax in axes[n:]:
            ax.set_axis_off()
        fig.legend(
            handles,
            [h.get_label() for h in handles],
            loc="outside lower center",
            ncol=len(handles),
            frameon=False,
        )
        first = power_frame(res, names[0], start, end).index
        note = (
            "; titles: savings and curtailment absorbed over the whole run"
            if (start is not None or end is not None) and per_site
            else ""
        )
        fig.suptitle(f"{res.name}: the sites one by one\n{_span(first, res.dt_h)}{note}")
    return fig


class _rc:
    """Apply the figure style for the duration of a block (restores the caller's)."""

    def __enter__(self) -> None:
        import matplotlib

        self._ctx = matplotlib.rc_context(_RC)
        self._ctx.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)


#: the ``essdispatch plot --kind`` registry
FIGURES = {
    "dispatch": dispatch_figure,
    "curtailment": curtailment_figure,
    "emissions": emissions_figure,
    "sites": sites_figure,
}
