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

The page is assembled here (:func:`build_report`); its pieces live in report_headline.py
(the headline numbers), report_sections.py (the sections), report_chart.py (the interactive
time series) and report_html.py (style, escaping, tables).

Sections appear when their keys are in ``summary.json``: ``value_of_foresight`` (rolling
operation), ``emissions_displaced_split`` (the carbon split), ``cash_cost`` /
``cash_savings`` / ``revenue_by_stream`` (cash and revenue streams).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from essdispatch.analysis.plots import (
    curtailment_figure,
    emissions_figure,
    sites_figure,
)
from essdispatch.analysis.report_chart import (  # re-export
    MAX_DISPATCH_DAYS,
    _interactive_html,
    timeseries_figure,
)
from essdispatch.analysis.report_headline import (  # re-export: the headline numbers
    OWN_SECTION_FIGURES,
    PER_UNIT_FIGURES,
    _headline_html,
    headline,
    horizon_hours,
    storage_energy_mwh,
    summary_frame,
)
from essdispatch.analysis.report_html import (  # re-export
    _CSS,
    FONT_STACK,
    _esc,
    _img,
    _kv_table,
    _per_table,
    _rows_of,
    figure_to_base64,
)
from essdispatch.analysis.report_sections import (
    _caveats_html,
    _comparison_html,
    _limits_html,
    _optional_sections,
    _solver_html,
    _warnings_html,
)
from essdispatch.analysis.results_folder import Results, load_results
from essdispatch.analysis.scenario_diff import flatten_scenario
from essdispatch.base.exceptions import ResultsError
from essdispatch.results.extract import PER_SITE_UNITS, PER_UNIT_UNITS
from essdispatch.results.summary import (
    Operation,
)

__all__ = [
    "FONT_STACK",
    "MAX_DISPATCH_DAYS",
    "OWN_SECTION_FIGURES",
    "PAGE_SITE_COLUMNS",
    "PER_UNIT_FIGURES",
    "build_report",
    "figure_to_base64",
    "headline",
    "horizon_hours",
    "storage_energy_mwh",
    "summary_frame",
    "timeseries_figure",
    "write_report",
]

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
