"""The report's interactive time series (plotly): power flows, state of charge,
prices and carbon intensity over the whole horizon, zoom and pan; embedded inline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from essdispatch.analysis.plots import (
    power_frame,
    price_lines,
)
from essdispatch.analysis.report_html import FONT_STACK
from essdispatch.analysis.results_folder import Results, load_results
from essdispatch.results.summary import (
    PerUnit,
)

#: a longer horizon opens the interactive view on its first this many days (the slider pans)
MAX_DISPATCH_DAYS = 14


def _energy_mwh(unit: PerUnit | None) -> float:
    """A unit's energy [MWh] for weighting its state of charge (1 when unknown)."""
    return float(unit.energy_mwh) if unit is not None and unit.energy_mwh is not None else 1.0


def timeseries_figure(run: str | Path | Results, site: str | None = None) -> Any:
    """An interactive plotly figure of the whole horizon: power flows [MW], state of
    charge [%], prices [currency/MWh] and carbon intensity [tCO2/MWh], sharing one
    time axis with a range slider (zoom and pan)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    res = run if isinstance(run, Results) else load_results(run)
    flows = power_frame(res, site)
    t = flows.index.tz_localize(None)  # local wall-clock time on the axis
    cur = res.currency or "currency"
    fig = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=[0.42, 0.18, 0.22, 0.18],
    )
    stacks = [
        ("solar_used", "Solar used", "#f2b701", "sources"),
        ("discharge", "Storage discharge", "#2a9d8f", "sources"),
        ("import", "Grid import", "#6c757d", "sources"),
        ("unserved", "Unserved load", "#d62828", "sources"),
        ("curtailed", "Solar curtailed", "#e9c46a", "sources"),
        ("load", "Load + aux", "#8d5a3b", "sinks"),
        ("charge", "Storage charge", "#1d6fa5", "sinks"),
        ("export", "Grid export", "#7b4fa0", "sinks"),
    ]
    for key, name, colour, group in stacks:
        values = flows[key].to_numpy()
        if key == "unserved" and not np.any(values > 1e-9):
            continue
        sign = -1.0 if group == "sinks" else 1.0
        fig.add_trace(
            go.Scatter(
                x=t,
                y=sign * values,
                name=name,
                stackgroup=group,
                line={"width": 0, "shape": "hv", "color": colour},
                fillcolor=colour,
                hovertemplate="%{y:,.1f} MW",
                legendgroup="power",
            ),
            row=1,
            col=1,
        )
    units = [u for u, s in res.unit_sites.items() if site is None or s == site]
    soc = pd.DataFrame(
        {u: res.dispatch[f"{u}/soc"] for u in units if f"{u}/soc" in res.dispatch.columns}
    )
    if not soc.empty:
        energy = pd.Series(
            [_energy_mwh((res.summary.per_unit or {}).get(u)) for u in soc.columns],
            index=soc.columns,
        )
        fleet = (soc * energy).sum(axis=1) / energy.sum() if energy.sum() > 0 else soc.mean(axis=1)
        fig.add_trace(
            go.Scatter(
                x=t,
                y=100.0 * fleet.to_numpy(),
                name="State of charge, fleet"
                if len(soc.columns) > 1
                else f"State of charge, {soc.columns[0]}",
                line={"color": "#1d6fa5", "width": 2},
                hovertemplate="%{y:.1f} %",
            ),
            row=2,
            col=1,
        )
        if len(soc.columns) > 1:
            for unit in soc.columns:
                fig.add_trace(
                    go.Scatter(
                        x=t,
                        y=100.0 * soc[unit].to_numpy(),
                        name=f"SOC {unit}",
                        visible="legendonly",
                        line={"width": 1},
                        hovertemplate="%{y:.1f} %",
                    ),
                    row=2,
                    col=1,
                )
    for label, values, style in price_lines(res, site):
        fig.add_trace(
            go.Scatter(
                x=t,
                y=values.to_numpy(),
                name=label,
                line={
                    "shape": "hv",
                    "color": style.get("color", "black"),
                    "dash": "dash" if style.get("linestyle") == "--" else "solid",
                    "width": 1.5,
                },
                hovertemplate=f"%{{y:,.1f}} {cur}/MWh",
            ),
            row=3,
            col=1,
        )
    colours = {"average": "#2b9348", "marginal": "#bc4749"}
    for col in [c for c in flows.columns if c.startswith("carbon_")]:
        series = col.removeprefix("carbon_")
        fig.add_trace(
            go.Scatter(
                x=t,
                y=flows[col].to_numpy(),
                name=f"Carbon intensity, {series}",
                line={"shape": "hv", "color": colours.get(series, "#555555"), "width": 1.5},
                hovertemplate="%{y:.3f} tCO2/MWh",
            ),
            row=4,
            col=1,
        )
    fig.update_yaxes(title_text="Power [MW]", row=1, col=1)
    fig.update_yaxes(title_text="State of charge [%]", range=[0, 100], row=2, col=1)
    fig.update_yaxes(title_text=f"Price [{cur}/MWh]", row=3, col=1)
    fig.update_yaxes(title_text="Carbon [tCO2/MWh]", rangemode="tozero", row=4, col=1)
    fig.update_xaxes(title_text=f"Local time ({flows.index.tz})", row=4, col=1)
    fig.update_xaxes(rangeslider={"visible": True, "thickness": 0.05}, row=4, col=1)
    if len(t) and (t[-1] - t[0]) > pd.Timedelta(days=MAX_DISPATCH_DAYS):
        # a long horizon opens on its first two weeks; the slider and a double-click show all
        first = [t[0], t[0] + pd.Timedelta(days=MAX_DISPATCH_DAYS)]
        fig.update_xaxes(range=first)
        fig.update_xaxes(range=first, row=4, col=1)
    fig.update_layout(
        height=900,
        margin={"l": 70, "r": 20, "t": 30, "b": 40},
        hovermode="x unified",
        font={"family": FONT_STACK.replace('"', "'")},
        legend={"orientation": "v", "x": 1.01, "y": 1.0},
        template="plotly_white",
    )
    return fig


def _interactive_html(res: Results) -> str:
    fig = timeseries_figure(res)
    return fig.to_html(
        full_html=False,
        include_plotlyjs=True,
        div_id="timeseries",
        config={"displaylogo": False, "responsive": True},
    )
