"""One self-contained HTML page per run: figures, summary table, solver facts, scenario.

The page embeds its figures as base64 PNGs and its style inline, so it opens
from disk in any browser without a server or network. Every piece of text from
the results folder is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from essdispatch.compare import (
    BASIS_BASELINE,
    BASIS_DELTA,
    BASIS_RUN,
    Results,
    compare_table,
    flatten_scenario,
    format_number,
    load_results,
)
from essdispatch.exceptions import ResultsError
from essdispatch.plots import curtailment_figure, dispatch_figure, emissions_figure

#: the dispatch figure of the report shows at most this many days (from the start)
MAX_DISPATCH_DAYS = 14

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1250px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } .sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.92em; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #e3e3e3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.85em; }
.note { color: #8a5300; }
"""


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


def _summary_html(frame: pd.DataFrame) -> str:
    out = [
        "<table><tr><th>figure</th><th>unit</th><th>run</th><th>baseline</th>"
        "<th>Δ (baseline − run)</th></tr>"
    ]
    for (fig, key), rec in frame.iterrows():
        name = fig + (f"[{key}]" if key else "")
        delta = ""
        if isinstance(rec["delta_name"], str):
            delta = f"{format_number(rec['delta'], rec['unit'])} <small>({_esc(rec['delta_name'])})</small>"
        cells = [
            f"<td><code>{_esc(name)}</code></td>",
            f"<td>{_esc(rec['unit'])}</td>",
            f'<td class="num">{_esc(format_number(rec["run"], rec["unit"]))}</td>',
            f'<td class="num">{_esc(format_number(rec["baseline"], rec["unit"]))}</td>',
            f'<td class="num">{delta}</td>',
        ]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _kv_table(items: list[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(_show(v))}</td></tr>" for k, v in items)
    return f"<table>{rows}</table>"


def _show(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1 else f"{v:,.3f}".rstrip("0").rstrip(".")
    if isinstance(v, list):
        return ", ".join(map(str, v)) or "—"
    return str(v)


def _solver_html(summary: dict) -> str:
    solver = summary.get("solver", {})
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
    checks = summary.get("checks", {})
    check_rows = "".join(
        f"<tr><th>{_esc(k)}</th><td colspan=2>{_esc(_show(v))}</td></tr>" for k, v in checks.items()
    )
    return f"<table>{head}{rows}{check_rows}</table>"


def _warnings_html(summary: dict) -> str:
    """The run's warnings (unserved energy, a broken terminal rule, ...) at the top."""
    items = [w for w in summary.get("warnings") or [] if isinstance(w, str)]
    if not items:
        return ""
    rows = "".join(f"<li>{_esc(w)}</li>" for w in items)
    return f'<h2>Warnings</h2><ul class="warnings">{rows}</ul>'


def build_report(
    run: str | Path | Results,
    *,
    max_dispatch_days: float = MAX_DISPATCH_DAYS,
) -> str:
    """The HTML page of one run (a string; see :func:`write_report`)."""
    res = run if isinstance(run, Results) else load_results(run)
    s = res.summary
    horizon = s.get("horizon", {})
    try:
        description = flatten_scenario(res.scenario_text).get("description")
    except ResultsError:
        description = None

    index = res.dispatch.index
    end = None
    note = ""
    span_days = len(index) * res.dt_h / 24.0
    if span_days > max_dispatch_days:
        end = index[0] + pd.Timedelta(days=max_dispatch_days) - pd.Timedelta(hours=res.dt_h)
        note = (
            f"first {max_dispatch_days:g} days of {span_days:.0f}; "
            "use `essdispatch plot --from … --to …` for another window"
        )
    figures = [
        _img(
            dispatch_figure(res, end=end),
            "Dispatch, fleet total" + (f" ({note})" if note else ""),
        ),
        _img(curtailment_figure(res), "Curtailment: baseline (no storage) against the run"),
        _img(emissions_figure(res), "Emissions displaced by storage on each carbon basis"),
    ]
    run_facts = [
        ("scenario", s.get("scenario", {}).get("name")),
        ("scenario file", s.get("scenario", {}).get("file")),
        ("scenario sha256", s.get("scenario", {}).get("sha256")),
        ("horizon", f"{horizon.get('start')} to {horizon.get('end')} ({horizon.get('timezone')})"),
        ("periods", f"{horizon.get('periods')} × {res.dt_h:g} h"),
        ("currency", s.get("currency")),
        ("carbon price", f"{s.get('carbon_price')} {res.currency}/tCO2"),
        ("steered by", s.get("steer_by")),
        ("sites", s.get("sites")),
        ("storage units", ", ".join(f"{u} ({site})" for u, site in res.unit_sites.items())),
        ("essdispatch version", s.get("essdispatch_version")),
        ("results folder", str(res.folder)),
    ]
    title = f"essdispatch report: {res.name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(res.name)}</h1>",
        f'<p class="sub">{_esc(description)}</p>' if description else "",
        _warnings_html(s),
        "<h2>Run</h2>",
        _kv_table(run_facts),
        "<h2>Summary</h2>",
        _summary_html(summary_frame(res)),
        "<h2>Plots</h2>",
        *figures,
        "<h2>Solver</h2>",
        _solver_html(s),
        "<h2>Scenario</h2>",
        f"<pre>{_esc(res.scenario_text or '(scenario.yaml missing)')}</pre>",
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
