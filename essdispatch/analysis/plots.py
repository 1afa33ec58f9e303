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
:func:`displaced_frame`) are public too. This module draws the figures of one run over
time; the frames are in :mod:`essdispatch.analysis.plot_frames`, the shared look (colours,
canvas, axes) in :mod:`essdispatch.analysis.plot_style`, and the figures of many panels
(:func:`compare_figure`, :func:`sites_figure`) in :mod:`essdispatch.analysis.plot_panels`;
all are importable from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from essdispatch.analysis.plot_frames import (
    LONG_WINDOW_DAYS,
    MAX_PRICE_LINES,
    MAX_SOC_LINES,
    _per_day,
    _results,
    _unit_energy,
    carbon_series,
    displaced_frame,
    power_frame,
    price_lines,
    soc_frame,
    window,
)
from essdispatch.analysis.plot_panels import compare_figure, headline_frame, sites_figure
from essdispatch.analysis.plot_style import (
    BASELINE_COLOUR,
    CARBON_COLOURS,
    DPI,
    RUN_COLOUR,
    SINKS,
    SOURCES,
    _edges,
    _legend_right,
    _rc,
    _span,
    _step,
    _thousands,
    _time_axis,
    _where,
    figsize_px,
    new_figure,
    save_png,
)
from essdispatch.analysis.results_folder import Results

__all__ = [
    "BASELINE_COLOUR",
    "CARBON_COLOURS",
    "DPI",
    "FIGURES",
    "LONG_WINDOW_DAYS",
    "MAX_PRICE_LINES",
    "MAX_SOC_LINES",
    "RUN_COLOUR",
    "SINKS",
    "SOURCES",
    "carbon_series",
    "compare_figure",
    "curtailment_figure",
    "dispatch_figure",
    "displaced_frame",
    "emissions_figure",
    "figsize_px",
    "headline_frame",
    "new_figure",
    "power_frame",
    "price_lines",
    "save_png",
    "sites_figure",
    "soc_frame",
    "window",
]


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


#: the ``essdispatch plot --kind`` registry
FIGURES = {
    "dispatch": dispatch_figure,
    "curtailment": curtailment_figure,
    "emissions": emissions_figure,
    "sites": sites_figure,
}
