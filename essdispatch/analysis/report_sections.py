"""The report's sections below the headline: data caveats, warnings, run against
baseline, the carbon split, revenue streams, battery life and finance, binding limits with
shadow prices, and the solver facts."""

from __future__ import annotations

from typing import Any

from essdispatch.analysis.compare_format import (
    figure_label,
)
from essdispatch.analysis.report_headline import (
    OWN_SECTION_FIGURES,
    PER_UNIT_FIGURES,
    summary_frame,
)
from essdispatch.analysis.report_html import _esc, _num, _or0, _per_table, _plain, _show, _table
from essdispatch.analysis.results_folder import Results
from essdispatch.results.summary import (
    CarbonAccounting,
    Caveat,
    Diagnostics,
    RevenueStreams,
    Summary,
)
from essdispatch.results.summary_features import Assessment, BindingLimits, ShadowPrices


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
