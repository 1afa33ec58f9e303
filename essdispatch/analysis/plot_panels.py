"""Figures of many panels: the headline figures of several runs side by side
(:func:`compare_figure`) and one small panel per site of a run (:func:`sites_figure`)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from essdispatch.analysis.compare import compare_table
from essdispatch.analysis.plot_frames import _check_site, _results, _sites, power_frame
from essdispatch.analysis.plot_style import (
    BASELINE_COLOUR,
    CARBON_COLOURS,
    DPI,
    RUN_COLOUR,
    _edges,
    _rc,
    _span,
    _step,
    _thousands,
    _time_axis,
    new_figure,
)
from essdispatch.analysis.results_folder import Results


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
