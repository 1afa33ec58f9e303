"""One self-contained HTML page per run: the page a planner forwards to a colleague.

Order of the page: a headline block (savings, curtailment absorbed, emissions displaced on
both carbon bases, the energy bill and the carbon value beside each other), the data the
result rests on when it is synthetic or of low confidence, run against baseline with
human labels and units, per-site and per-unit tables, binding limits with their hours and
shadow prices, warnings, an interactive time series (plotly: zoom and pan over the whole
horizon of dispatch, state of charge, prices and carbon intensity), two static figures,
and at the end, collapsed, the solver facts and the scenario file.

The page carries plotly.js, its style and its figures inline, so it opens from disk in any
browser without a server or network. Every piece of text from the results folder is
HTML-escaped. Every headline number is an element with ``data-key`` (its key path in
``summary.json``) and ``data-value`` (the exact value), so that a test (or a script) can
check the page against the summary.

Sections appear when their keys are in ``summary.json``: ``value_of_foresight`` (rolling
operation), ``emissions_displaced_split`` (the carbon split), ``cash_cost`` /
``cash_savings`` / ``revenue_by_stream`` (cash and revenue streams).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from essdispatch.analysis.compare import compare_table
from essdispatch.analysis.compare_format import (
    BASIS_BASELINE,
    BASIS_DELTA,
    BASIS_RUN,
    figure_label,
    format_number,
)
from essdispatch.analysis.plots import (
    curtailment_figure,
    emissions_figure,
    power_frame,
    price_lines,
    sites_figure,
)
from essdispatch.analysis.results_folder import Results, load_results
from essdispatch.analysis.scenario_diff import flatten_scenario
from essdispatch.base.exceptions import ResultsError
from essdispatch.results.extract import PER_SITE_UNITS, PER_UNIT_UNITS
from essdispatch.results.summary import (
    Block,
    CarbonAccounting,
    Caveat,
    Diagnostics,
    Operation,
    PerUnit,
    RevenueStreams,
    Summary,
    as_summary,
)
from essdispatch.results.summary_features import Assessment, BindingLimits, ShadowPrices

#: per-unit figures shown in the per-unit table rather than in run-against-baseline
PER_UNIT_FIGURES = ("equivalent_full_cycles",)
#: figures keyed by site or unit, or with their own section: not rows of the main table
OWN_SECTION_FIGURES = (
    "peak_import_mw",
    "sized_power_mw",
    "sized_energy_mwh",
    "emissions_displaced_split_tco2",
    "discharge_intensity_tco2_per_mwh",
    "carbon_free_247",
    "carbon_free_247_share",
)

#: the per-site columns of the page (all of them are in summary.json and --xlsx)
PAGE_SITE_COLUMNS = (
    "solar_available_mwh",
    "curtailment_absorbed_mwh",
    "import_mwh",
    "export_mwh",
    "unserved_mwh",
    "emissions_displaced_tco2",
    "energy_cost",
    "carbon_cost",
    "degradation_cost",
    "total_cost",
    "savings",
)

#: a longer horizon opens the interactive view on its first this many days (the slider pans)
MAX_DISPATCH_DAYS = 14

#: a font stack that renders Chinese, Japanese and Korean names on every common system
FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", '
    '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", '
    '"Microsoft YaHei", "WenQuanYi Micro Hei", "Noto Sans CJK JP", "Noto Sans CJK KR", '
    "sans-serif"
)

_CSS = """
body { font-family: %FONTS%; margin: 1.5em auto; max-width: 1250px; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.1em; } .sub { color: #555; margin-top: 0.2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e3e3e3; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #f4f4f4; }
.scroll td { white-space: nowrap; }
.scroll { overflow-x: auto; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.85em; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; margin: 1em 0; }
.card { flex: 1 1 210px; border: 1px solid #dde3ea; border-radius: 8px; padding: 0.7em 0.9em;
        background: #fafcff; }
.card .label { color: #555; font-size: 0.88em; }
.card .value { font-size: 1.55em; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .unit { color: #555; font-size: 0.9em; margin-left: 0.2em; }
.card .more { color: #555; font-size: 0.82em; margin-top: 0.2em; }
.caution { border-left: 4px solid #d08700; background: #fff8e6; padding: 0.6em 1em;
           margin: 1em 0; }
.warn { border-left: 4px solid #c0392b; background: #fdf0ee; padding: 0.6em 1em; margin: 1em 0; }
.muted { color: #666; font-size: 0.9em; }
details { margin: 1em 0; } summary { cursor: pointer; font-weight: 600; }
""".replace("%FONTS%", FONT_STACK)


# --------------------------------------------------------------------------- helpers
def figure_to_base64(fig: Figure, dpi: float | None = None) -> str:
    """PNG bytes of ``fig`` as base64 text (for ``<img src="data:image/png;base64,...">``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _img(fig: Figure, caption: str) -> str:
    data = figure_to_base64(fig)
    return (
        f'<figure><img alt="{_esc(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )


def _num(value: Any, unit: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return format_number(float(value), unit)


def _unit(unit: str, currency: str) -> str:
    return unit.replace("currency", currency) if unit else ""


def _table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    """An HTML table; cells are already escaped HTML; columns from ``numeric_from`` right."""
    head = "".join(
        f'<th class="num">{h}</th>' if i >= numeric_from else f"<th>{h}</th>"
        for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{c}</td>' if i >= numeric_from else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def _value_span(key: str, value: float, text: str) -> str:
    return f'<span class="value" data-key="{_esc(key)}" data-value="{value!r}">{_esc(text)}</span>'


def _card(label: str, key: str, value: float | None, unit: str, more: str = "") -> str:
    if value is None:
        return ""
    text = format_number(float(value), unit)
    return (
        f'<div class="card"><div class="label">{_esc(label)}</div>'
        f"{_value_span(key, float(value), text)}"
        f'<span class="unit">{_esc(unit)}</span>'
        + (f'<div class="more">{more}</div>' if more else "")
        + "</div>"
    )


# --------------------------------------------------------------------------- the figures
def summary_frame(run: str | Path | Results) -> pd.DataFrame:
    """The run's figures as a table: one row per figure (and key), columns
    ``unit run baseline delta`` (``delta`` = baseline − run, MODEL.md's Δ figures
    shown on the row of the figure they are the difference of)."""
    res = run if isinstance(run, Results) else load_results(run)
    table = compare_table([res])
    label = table.attrs["labels"][0]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    delta_of = {"curtailment_absorbed_mwh": "curtailed_mwh", "savings": "total_cost"}
    delta_of["emissions_displaced_tco2"] = "emissions_tco2"
    for (fig, key, basis), rec in table.iterrows():
        target = delta_of.get(fig, fig) if basis == BASIS_DELTA else fig
        row = rows.setdefault((target, key), {"unit": rec["unit"]})
        col = {BASIS_RUN: "run", BASIS_BASELINE: "baseline", BASIS_DELTA: "delta"}[basis]
        row[col] = rec[label]
        if basis == BASIS_DELTA:
            row["delta_name"] = fig
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["figure", "key"])
    for col in ("run", "baseline", "delta", "delta_name"):
        if col not in frame.columns:
            frame[col] = math.nan
    return frame[["unit", "run", "baseline", "delta", "delta_name"]]


def storage_energy_mwh(summary: Summary | dict) -> float:
    """Installed storage energy of the run [MWh] (from ``per_unit``; 0 when absent)."""
    per_unit = as_summary(summary).per_unit or {}
    return float(sum(u.energy_mwh if u.energy_mwh is not None else 0.0 for u in per_unit.values()))


def horizon_hours(summary: Summary | dict) -> float:
    """Length of the horizon [h]."""
    h = as_summary(summary).horizon
    return float(h.periods or 0) * float(h.dt_h or 0)


def headline(summary: Summary | dict) -> dict[str, Any]:
    """The headline numbers of a run (each also in ``summary.json`` or derived from it).

    ``energy_bill_savings`` = baseline − run ``energy_cost``; ``carbon_value`` = baseline
    − run ``carbon_cost`` (what the displaced emissions are worth at the scenario's carbon
    price on the steering basis); ``savings`` = both minus the run's degradation (and
    unserved) cost. ``savings_per_kwh_year``: savings per kWh of installed storage, scaled
    from the horizon to 8760 h (None when the run has no storage).
    """
    summary = as_summary(summary)
    base = summary.baseline
    out: dict[str, Any] = {
        "savings": summary.savings,
        "curtailment_absorbed_mwh": summary.curtailment_absorbed_mwh,
        "baseline_curtailed_mwh": base.curtailed_mwh,
        "emissions_displaced_tco2": dict(summary.emissions_displaced_tco2 or {}),
        "energy_bill_savings": (base.energy_cost or 0.0) - (summary.energy_cost or 0.0),
        "carbon_value": (base.carbon_cost or 0.0) - (summary.carbon_cost or 0.0),
        "degradation_cost": summary.degradation_cost,
    }
    energy = storage_energy_mwh(summary)
    hours = horizon_hours(summary)
    out["savings_per_kwh_year"] = (
        summary.savings / (energy * 1000.0) * (8760.0 / hours)
        if energy > 0 and hours > 0 and summary.savings is not None
        else None
    )
    return out


# --------------------------------------------------------------------------- sections
def _headline_html(res: Results) -> str:
    s = res.summary
    cur = res.currency
    h = headline(s)
    cards = []
    per_kwh = h["savings_per_kwh_year"]
    more = ""
    if per_kwh is not None:
        more = (
            f"≈ {per_kwh:,.1f} {_esc(cur)} per kWh of storage a year "
            f"({storage_energy_mwh(s):,.0f} MWh installed; scaled from "
            f"{horizon_hours(s) / 24:,.3g} days)"
        )
    if s.cash_savings is not None:  # cash first (docs/ECONOMICS.md)
        cards.append(
            _card("Cash savings (money that changes hands)", "cash_savings", s.cash_savings, cur)
        )
    cards.append(_card("Savings against no storage", "savings", h["savings"], cur, more))
    base_cur = h["baseline_curtailed_mwh"] or 0.0
    share = (
        f"{h['curtailment_absorbed_mwh'] / base_cur:.0%} of the baseline's "
        f"{base_cur:,.0f} MWh curtailed"
        if base_cur > 0
        else "the baseline curtails nothing"
    )
    cards.append(
        _card(
            "Curtailment absorbed",
            "curtailment_absorbed_mwh",
            h["curtailment_absorbed_mwh"],
            "MWh",
            _esc(share),
        )
    )
    for series, value in h["emissions_displaced_tco2"].items():
        steer = " (steers dispatch)" if series == s.steer_by else ""
        cards.append(
            _card(
                f"Emissions displaced, {series} basis{steer}",
                f"emissions_displaced_tco2.{series}",
                value,
                "tCO2",
            )
        )
    if s.cash_savings is None:
        cards.append(
            _card(
                "Energy bill savings",
                "energy_bill_savings",
                h["energy_bill_savings"],
                cur,
                "baseline − run energy cost (imports paid − exports earned)",
            )
        )
    cards.append(
        _card(
            "Carbon value",
            "carbon_value",
            h["carbon_value"],
            cur,
            _esc(
                f"at {s.carbon_price if s.carbon_price is not None else 0:,g} {cur}/tCO2 on the "
                f"{s.steer_by if s.steer_by is not None else ''} basis: baseline − run carbon cost"
            ),
        )
    )
    if s.value_of_foresight is not None:
        cards.append(
            _card(
                "Value of foresight",
                "value_of_foresight",
                s.value_of_foresight,
                cur,
                "rolling-horizon minus perfect-foresight total cost",
            )
        )
    return '<div class="cards" id="headline">' + "".join(c for c in cards if c) + "</div>"


def _caveats_html(s: Summary, scenario_text: str = "") -> str:
    if "data_caveats" in s.model_fields_set:
        caveats = s.data_caveats or []
    else:  # a folder written before summary.json carried them: read the scenario
        from essdispatch.scenario.caveats import data_caveats

        caveats = [Caveat.model_validate(c) for c in data_caveats(scenario_text)]
    if not caveats:
        return ""
    items = "".join(
        f"<li><b>{_esc(c.preset)}</b> ({_esc(c.kind)}, confidence {_esc(c.confidence)}"
        f"; {_esc(c.reason)}) used by <code>{_esc(', '.join(c.keys or []))}</code>"
        + (f". {_esc(c.note)}" if c.note else "")
        + "</li>"
        for c in caveats
    )
    return (
        '<div class="caution" id="caveats"><b>This result rests on synthetic or '
        f"low-confidence data:</b><ul>{items}</ul>"
        "Run <code>essdispatch presets NAME</code> for the sources and the method.</div>"
    )


def _warnings_html(s: Summary) -> str:
    warnings = s.warnings or []
    if not warnings:
        return '<p class="muted" id="warnings">No warnings.</p>'
    items = "".join(f"<li>{_esc(w)}</li>" for w in warnings)
    return f'<div class="warn" id="warnings"><b>Warnings</b><ul>{items}</ul></div>'


def _comparison_html(res: Results) -> str:
    frame = summary_frame(res)
    cur = res.currency
    rows = []
    for (fig, key), rec in frame.iterrows():
        if fig in PER_UNIT_FIGURES or fig in OWN_SECTION_FIGURES or "/" in str(key):
            continue  # in the per-unit or per-site table, or in its own section
        unit = str(rec["unit"])
        label = figure_label(fig, key, unit)
        delta = ""
        if isinstance(rec["delta_name"], str):
            dname = figure_label(rec["delta_name"], "")
            delta = f"{_esc(_num(rec['delta'], unit))} <small>({_esc(dname)})</small>"
        rows.append(
            [
                _esc(label),
                _esc(_num(rec["run"], unit)),
                _esc(_num(rec["baseline"], unit)),
                delta,
            ]
        )
    return (
        _table(
            ["figure [unit]", "run (with storage)", "baseline (no storage)", "Δ baseline − run"],
            rows,
        )
        + f'<p class="muted">Money in {_esc(cur)}; a negative cost is a net income.</p>'
    )


def _dict_rows(data: dict, unit: str, cur: str) -> list[list[str]]:
    """Rows ``[name, value]`` of a flat or nested dict of numbers."""
    rows = []
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                if isinstance(v, int | float):
                    rows.append([_esc(f"{key} / {sub}"), _esc(_num(v, unit))])
        elif isinstance(value, int | float):
            rows.append([_esc(key), _esc(_num(value, unit))])
    return rows


def _optional_sections(s: Summary, cur: str) -> str:
    """Carbon split (``carbon_accounting``, docs/MODEL.md) and revenue streams
    (``revenue_streams``, docs/ECONOMICS.md), when the summary carries them."""
    parts = []
    acc = s.carbon_accounting or CarbonAccounting()
    split = acc.emissions_displaced_split_tco2
    if split:
        parts.append('<h2 id="carbon-split">Emissions displaced, by cause</h2>')
        causes = ("curtailed_solar_delivered", "grid_energy_shifted", "losses")
        rows = []
        for series, parts_of in split.items():
            total = (s.emissions_displaced_tco2 or {}).get(series)
            rows.append(
                [_esc(series)]
                + [_esc(_num(getattr(parts_of, c), "tCO2")) for c in causes]
                + [_esc(_num(total, "tCO2"))]
            )
        header = ["carbon basis", "curtailed solar delivered [tCO2]"]
        header += ["grid energy shifted in time [tCO2]", "losses [tCO2]", "total [tCO2]"]
        parts.append(_table(header, rows))
        intensity = acc.discharge_intensity_tco2_per_mwh or {}
        if intensity:
            parts.append("<h3>Carbon in stored energy: intensity of discharged energy</h3>")
            series = list(intensity)
            units = list(dict.fromkeys(u for k in series for u in intensity[k]))

            def _tco2(v: Any) -> str:
                return "—" if not isinstance(v, int | float) else f"{v:.3f}"

            rows = [[_esc(u)] + [_esc(_tco2(intensity[k].get(u))) for k in series] for u in units]
            parts.append(_table(["unit"] + [f"{_esc(k)} [tCO2/MWh]" for k in series], rows))
        share = acc.carbon_free_247 or {}
        if share:
            rows = [
                [
                    _esc(site),
                    _esc(f"{100 * (v.run if v.run is not None else 0):.1f} %"),
                    _esc(f"{100 * (v.baseline if v.baseline is not None else 0):.1f} %"),
                ]
                for site, v in share.items()
            ]
            parts.append("<h3>24/7 carbon-free share of load (hourly matched)</h3>")
            parts.append(_table(["site", "run", "baseline"], rows))
    revenue = s.revenue_streams or RevenueStreams()
    streams = _plain(revenue.total) if revenue.total is not None else {}
    if streams:
        parts.append('<h2 id="revenue">Cash savings by revenue stream</h2>')
        rows = [
            [_esc(k.replace("_", " ")), _esc(_num(v, "currency"))]
            for k, v in streams.items()
            if isinstance(v, int | float)
        ]
        parts.append(_table(["stream", f"{_esc(cur)}"], rows))
        per_site = {name: _plain(row) for name, row in (revenue.sites or {}).items()}
        if per_site:
            parts.append("<h3>By site</h3>")
            first = next(iter(per_site.values()))
            parts.append(_per_table(per_site, dict.fromkeys(first, "currency"), cur, "site"))
    life = s.life
    if life:
        parts.append('<h2 id="life">Battery life (docs/MODEL.md, battery-life extensions)</h2>')
        rows = []
        for unit, fig in life.items():
            a = fig.assessment or Assessment()
            fade = a.fade_per_year
            eol = a.end_of_life_year
            ratio = fig.lp_vs_assessed_cycle_fade
            rows.append(
                [
                    _esc(unit),
                    _esc(_num((s.equivalent_full_cycles or {}).get(unit), "")),
                    _esc("—" if fade is None else f"{100 * fade:.2f} %"),
                    _esc(
                        "—"
                        if a.soh_end_of_horizon is None
                        else f"{100 * a.soh_end_of_horizon:.2f} %"
                    ),
                    _esc("—" if eol is None else f"{eol:.1f}"),
                    _esc("—" if ratio is None else f"{ratio:.2f}"),
                ]
            )
        header = [
            "unit",
            "equivalent full cycles",
            "assessed fade [%/year]",
            "state of health, end of horizon",
            "end-of-life year",
            "LP ÷ assessed cycle fade",
        ]
        parts.append(_table(header, rows))
        parts.append(
            '<p class="muted">Assessed with NREL BLAST-Lite (LFP, calendar and cycle fade with '
            "rainflow counting) on the unit's state-of-charge profile; the horizon is repeated "
            "to a year. Full figures: summary.json <code>life</code>.</p>"
        )
    fin = s.finance
    if fin is not None and fin.model_fields_set:
        parts.append('<h2 id="finance">Project finance</h2>')
        keys = ("npv", "irr", "simple_payback_years", "discounted_payback_years", "lcos_per_mwh")
        rows = []
        for k in keys:  # figures by name
            if k not in fin.model_fields_set:
                continue
            v = getattr(fin, k)
            text = f"{100 * v:.1f} %" if k == "irr" and v is not None else _num(v, "")
            rows.append([_esc(k.replace("_", " ")), _esc(text)])
        parts.append(_table(["figure", "value"], rows))
    return "\n".join(parts)


def _plain(block: Block) -> dict[str, Any]:
    """A block as written (for the generic tables that iterate its keys)."""
    return block.model_dump(mode="json", exclude_unset=True)


def _rows_of(table: dict[str, Block] | None) -> dict[str, dict[str, Any]]:
    """Per-site / per-unit blocks as written, by name (the generic table's rows)."""
    return {name: _plain(row) for name, row in (table or {}).items()}


def _energy_mwh(unit: PerUnit | None) -> float:
    """A unit's energy [MWh] for weighting its state of charge (1 when unknown)."""
    return float(unit.energy_mwh) if unit is not None and unit.energy_mwh is not None else 1.0


def _per_table(
    table: dict[str, dict],
    units: dict[str, str],
    cur: str,
    first: str,
    only: tuple[str, ...] | None = None,
) -> str:
    if not table:
        return '<p class="muted">Not in this results folder (written by an older version).</p>'
    columns: list[tuple[str, str]] = []
    for row in table.values():
        for fig, value in row.items():
            if only is not None and fig not in only:
                continue
            if fig == "unserved_mwh" and not any(r.get(fig) for r in table.values()):
                continue
            keys = [(fig, k) for k in value] if isinstance(value, dict) else [(fig, "")]
            for col in keys:
                if col not in columns:
                    columns.append(col)
    header = [first]
    for fig, key in columns:
        unit = _unit(units.get(fig, ""), cur)
        label = fig
        for suffix in ("_mwh", "_tco2", "_mw", "_h"):
            label = label.removesuffix(suffix)
        label = label.replace("_", " ")
        label += f" ({key})" if key else ""
        header.append(_esc(label) + (f" [{_esc(unit)}]" if unit else ""))
    rows = []
    for name, row in table.items():
        cells = [_esc(name)]
        for fig, key in columns:
            value = row.get(fig)
            value = value.get(key) if key and isinstance(value, dict) else value
            unit = units.get(fig, "")
            if isinstance(value, int | float) and not isinstance(value, bool):
                cells.append(_esc(_cell(value, unit)))
            else:
                cells.append(_esc("—" if value is None else value))
        rows.append(cells)
    return _table(header, rows)


def _cell(value: float, unit: str) -> str:
    """A per-site / per-unit value: MW to 0.1, hours and counts as given, fractions to 0.001."""
    if not math.isfinite(value):
        return "—"
    if unit == "MW":
        return f"{value:,.1f}"
    if unit in ("h", ""):
        return f"{value:,.4g}"
    if unit == "fraction":
        return f"{value:.3f}"
    return _num(value, unit)


def _or0(value: Any) -> Any:
    return 0 if value is None else value


def _limits_html(s: Summary) -> str:
    diag = s.diagnostics or Diagnostics()
    limits = diag.binding_limits or BindingLimits()
    shadow = diag.shadow_prices or ShadowPrices()
    prices = shadow.groups or {}
    cur = s.currency if s.currency is not None else ""
    rows = []
    closed: dict[str, list[str]] = {}
    for kind in ("groups", "sites"):
        for name, sides in (getattr(limits, kind) or {}).items():
            for side, info in (sides or {}).items():
                if not info.periods:
                    continue
                if kind == "sites" and not info.limit_mw:
                    closed.setdefault(side, []).append(name)  # no flow allowed at all
                    continue
                sp = (prices.get(name) or {}).get(side) if kind == "groups" else None
                value = mean = ""
                if sp is not None:
                    value = _num(sp.value_per_mw_horizon, "currency")
                    mean = f"{_or0(sp.mean):,.2f} / {_or0(sp.max):,.2f}"
                first = (info.first or [""])[0][:16].replace("T", " ")
                rows.append(
                    [
                        _esc(f"{kind[:-1]} {name}"),
                        _esc(f"{side} limit"),
                        _esc(f"{_or0(info.limit_mw):,.4g}"),
                        _esc(f"{_or0(info.hours):,.4g}"),
                        _esc(first),
                        _esc(value),
                        _esc(mean),
                    ]
                )
    units_rows = []
    for unit, info in (diag.soc_bounds or {}).items():
        sp = (shadow.storage_energy or {}).get(unit)
        units_rows.append(
            [
                _esc(unit),
                _esc(f"{_or0(info.at_min.hours if info.at_min else None):,.4g}"),
                _esc(f"{_or0(info.at_max.hours if info.at_max else None):,.4g}"),
                _esc(_num(sp.mean, "currency") if sp is not None else "—"),
            ]
        )
    out = []
    if rows:
        out.append(
            _table(
                [
                    "where",
                    "limit",
                    "limit [MW]",
                    "binding [h]",
                    "first binding",
                    f"1 MW more is worth [{_esc(cur)}]",
                    f"shadow price mean / max [{_esc(cur)}/MWh]",
                ],
                rows,
                numeric_from=2,
            )
        )
        if shadow.available is False:
            out.append('<p class="muted">Shadow prices: not available for this solve.</p>')
    else:
        out.append('<p class="muted">No grid limit binds.</p>')
    for side, names in closed.items():
        out.append(
            f'<p class="muted">No {_esc(side)} allowed (a 0 MW limit) at: '
            f"{_esc(', '.join(names))}.</p>"
        )
    if rows:
        out.append(
            '<p class="muted">"1 MW more is worth": the change in total cost over the horizon '
            "if the limit were 1 MW higher (LP duals; for group limits).</p>"
        )
    if units_rows:
        out.append(
            _table(
                [
                    "storage unit",
                    "at minimum state of charge [h]",
                    "at maximum state of charge [h]",
                    f"stored energy worth, mean [{_esc(cur)}/MWh]",
                ],
                units_rows,
            )
        )
    return "\n".join(out)


def _solver_html(summary: Summary) -> str:
    # a generic key/value table: the blocks as written
    solver = _plain(summary.solver) if summary.solver is not None else {}
    base = solver.get("baseline", {}) if isinstance(solver.get("baseline"), dict) else {}
    keys = [
        "status",
        "termination",
        "route",
        "variables",
        "constraints",
        "subproblems",
        "mip_gap",
        "build_seconds",
        "transfer_seconds",
        "solve_seconds",
        "extract_seconds",
        "notes",
    ]
    head = "<tr><th>solver</th><th>run</th><th>baseline</th></tr>"
    rows = "".join(
        f"<tr><th>{_esc(k)}</th><td>{_esc(_show(solver.get(k, '—')))}</td>"
        f"<td>{_esc(_show(base.get(k, '—')))}</td></tr>"
        for k in keys
        if k in solver or k in base
    )
    checks = _plain(summary.checks) if summary.checks is not None else {}
    check_rows = "".join(
        f"<tr><th>{_esc(k)}</th><td colspan=2>{_esc(_show(v))}</td></tr>" for k, v in checks.items()
    )
    return f"<table>{head}{rows}{check_rows}</table>"


def _show(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1 else f"{v:,.3f}".rstrip("0").rstrip(".")
    if isinstance(v, list):
        return ", ".join(map(str, v)) or "—"
    return str(v)


def _kv_table(items: list[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(_show(v))}</td></tr>" for k, v in items)
    return f"<table>{rows}</table>"


# --------------------------------------------------------------------------- interactive
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


# --------------------------------------------------------------------------- the page
def build_report(
    run: str | Path | Results,
    *,
    max_dispatch_days: float = MAX_DISPATCH_DAYS,  # noqa: ARG001 - kept for callers
) -> str:
    """The HTML page of one run (a string; see :func:`write_report`)."""
    res = run if isinstance(run, Results) else load_results(run)
    s = res.summary
    cur = res.currency
    horizon = s.horizon
    try:
        description = flatten_scenario(res.scenario_text).get("description")
    except ResultsError:
        description = None
    operation = s.operation or Operation()
    mode = (
        f"rolling horizon (window {operation.window}, lookahead {operation.lookahead})"
        if operation.mode == "rolling"
        else "perfect foresight"
    )
    run_facts = [
        ("horizon", f"{horizon.start} to {horizon.end} ({horizon.timezone})"),
        ("periods", f"{horizon.periods} × {res.dt_h:g} h"),
        ("operation", mode),
        ("sites", f"{len(res.sites)}: {', '.join(res.sites)}"),
        ("storage", f"{len(res.unit_sites)} units, {storage_energy_mwh(s):,.0f} MWh"),
        (
            "carbon price",
            f"{s.carbon_price} {cur}/tCO2 (steers on the {s.steer_by} basis)",
        ),
        ("scenario file", s.scenario.file),
        ("scenario sha256", s.scenario.sha256),
        ("essdispatch version", s.essdispatch_version),
        ("results folder", str(res.folder)),
    ]
    static = [
        _img(curtailment_figure(res), "Curtailment: baseline (no storage) against the run"),
        _img(emissions_figure(res), "Emissions displaced by storage on each carbon basis"),
    ]
    if len(res.sites) > 1:
        window_end = None
        if len(res.dispatch) * res.dt_h > 24 * MAX_DISPATCH_DAYS:
            window_end = res.dispatch.index[0] + pd.Timedelta(
                days=MAX_DISPATCH_DAYS, hours=-res.dt_h
            )
        static.append(
            _img(
                sites_figure(res, end=window_end, dpi=100),
                "The sites one by one"
                + (f" (first {MAX_DISPATCH_DAYS} days)" if window_end is not None else ""),
            )
        )
    title = f"essdispatch report: {res.name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(res.name)}</h1>",
        f'<p class="sub">{_esc(description)}</p>' if description else "",
        f'<p class="muted">{_esc(horizon.start or "")[:10]} to '
        f"{_esc(horizon.end or '')[:10]} · {len(res.sites)} sites · "
        f"{len(res.unit_sites)} storage units · {_esc(mode)}</p>",
        _headline_html(res),
        _caveats_html(s, res.scenario_text),
        _warnings_html(s),
        '<h2 id="run-vs-baseline">Run against the no-storage baseline</h2>',
        _comparison_html(res),
        _optional_sections(s, cur),
        '<h2 id="per-site">Per site</h2>',
        _per_table(_rows_of(s.per_site), PER_SITE_UNITS, cur, "site", PAGE_SITE_COLUMNS),
        '<p class="muted">Costs are each site\'s share of the objective; they add up to the '
        "fleet's. All per-site figures: summary.json <code>per_site</code> or "
        "<code>essdispatch run --xlsx</code>.</p>",
        '<h2 id="per-unit">Per storage unit</h2>',
        _per_table(_rows_of(s.per_unit), PER_UNIT_UNITS, cur, "unit"),
        '<h2 id="limits">Binding limits and shadow prices</h2>',
        _limits_html(s),
        '<h2 id="time-series">Dispatch over the horizon (interactive: drag to zoom, '
        "double-click to reset, the slider pans)</h2>",
        _interactive_html(res),
        '<h2 id="figures">Curtailment, emissions and the sites one by one</h2>',
        *static,
        '<h2 id="about">About this run</h2>',
        _kv_table(run_facts),
        "<details><summary>Solver</summary>",
        _solver_html(s),
        "</details>",
        "<details><summary>Scenario file</summary>",
        f"<pre>{_esc(res.scenario_text or '(scenario.yaml missing)')}</pre>",
        "</details>",
        f'<script type="application/json" id="summary-headline">'
        f"{json.dumps(headline(s), ensure_ascii=False).replace('</', '<' + chr(92) + '/')}"
        "</script>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def write_report(run: str | Path | Results, out: str | Path | None = None) -> Path:
    """Write the report of a run to ``out`` (default ``<folder>/report.html``)."""
    res = run if isinstance(run, Results) else load_results(run)
    target = Path(out) if out is not None else res.folder / "report.html"
    text = build_report(res)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        raise ResultsError(f"{target}: cannot write report: {exc.strerror or exc}") from exc
    return target
