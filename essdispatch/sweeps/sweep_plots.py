"""A sweep folder -> one table and a plot of headline figures against a swept parameter.

Reads only ``index.parquet`` (and ``sweep.json``) of ``<out>/sweeps/<name>/``, written by
:func:`essdispatch.sweeps.sweep.run_sweep`: one row per case with its parameters (the value in
effect at each swept key path; the factor for a ``scale`` override) and every scalar
figure (``savings``, ``emissions_displaced_tco2.average``, ``baseline.total_cost``, ...).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from essdispatch.base.exceptions import ResultsInputError
from essdispatch.results.extract import FIGURE_UNITS
from essdispatch.sweeps.sweep_index import read_index

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from essdispatch.sweeps.sweep import Sweep, SweepReport

__all__ = [
    "HEADLINE_FIGURES",
    "compare_sweep",
    "dry_run_text",
    "format_sweep_table",
    "is_sweep_folder",
    "plot_sweep",
    "sweep_summary_text",
    "sweep_table",
]

#: figures shown by ``essdispatch compare SWEEP_FOLDER`` and plotted by default
HEADLINE_FIGURES = (
    "savings",
    "emissions_displaced_tco2.average",
    "emissions_displaced_tco2.marginal",
    "curtailment_absorbed_mwh",
    "discharge_mwh",
)


def is_sweep_folder(folder: str | Path) -> bool:
    """Whether ``folder`` is a sweep folder (has ``index.parquet``)."""
    return (Path(folder) / "index.parquet").is_file()


def sweep_table(folder: str | Path) -> pd.DataFrame:
    """The sweep's index: one row per case (see :func:`essdispatch.sweeps.sweep.read_index`)."""
    return read_index(folder)


def _unit(figure: str, currency: str = "CNY") -> str:
    base = figure.removeprefix("baseline.").split(".", 1)[0]
    unit = FIGURE_UNITS.get(base, "")
    return currency if unit == "currency" else unit


def _swept(table: pd.DataFrame) -> list[str]:
    """Parameter columns that vary across the cases."""
    params = [c for c in table.attrs.get("parameters", []) if c in table.columns]
    return [c for c in params if table[c].nunique(dropna=True) > 1] or params


#: short words for the headline figures of a sweep (tables and plot titles)
SWEEP_LABELS = {
    "savings": "savings",
    "emissions_displaced_tco2.average": "CO2 displaced, average",
    "emissions_displaced_tco2.marginal": "CO2 displaced, marginal",
    "curtailment_absorbed_mwh": "curtailment absorbed",
    "discharge_mwh": "discharged",
    "total_cost": "total cost",
}

#: the fleet's storage duration (Σ energy / Σ discharge power) of each case [h]
DURATION_COLUMN = "storage duration [h]"


def figure_words(column: str, currency: str = "CNY") -> str:
    """``"CO2 displaced, marginal [tCO2]"``: a sweep figure column in words with its unit."""
    from essdispatch.analysis.compare_format import FIGURE_LABELS

    base = column.removeprefix("baseline.")
    fig, _, key = base.partition(".")
    words = SWEEP_LABELS.get(base) or FIGURE_LABELS.get(fig, fig.replace("_", " "))
    if key and base not in SWEEP_LABELS:
        words += f" ({key})"
    if column.startswith("baseline."):
        words = f"baseline {words}"
    unit = _unit(column, currency)
    return f"{words} [{unit}]" if unit else words


def parameter_words(column: str, currency: str = "CNY") -> str:
    """A swept key path in words: ``objective.carbon_price`` -> ``carbon price [CNY/tCO2]``."""
    known = {
        "objective.carbon_price": "carbon price [CNY/tCO2]",
        "sites[*].storage[*].energy_mwh (scale)": "storage energy (× base)",
        "sites[*].storage[*].power_mw (scale)": "storage power (× base)",
    }
    if column in known:
        return known[column].replace("CNY", currency)
    if column == DURATION_COLUMN:
        return column
    return _short(column).replace("_", " ")


def add_durations(folder: str | Path, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with :data:`DURATION_COLUMN`, read from each finished case's ``per_unit``
    (the fleet's energy over its discharge power) [h]; unchanged when no case has it."""
    root = Path(folder)
    values = []
    for row in table.itertuples(index=False):
        duration = np.nan
        path = root / str(getattr(row, "folder", "")) / "summary.json"
        if getattr(row, "status", "") == "finished" and path.is_file():
            from essdispatch.results.summary import read_summary

            try:  # SummaryError is a ValueError
                doc = json.loads(path.read_text(encoding="utf-8"))
                units = read_summary(doc).per_unit or {}
            except (OSError, ValueError):
                units = {}
            power = sum(u.power_mw or 0.0 for u in units.values())
            energy = sum(u.energy_mwh or 0.0 for u in units.values())
            duration = energy / power if power > 0 else np.nan
        values.append(duration)
    if not np.isfinite(np.asarray(values, dtype=float)).any():
        return table
    out = table.copy()
    out[DURATION_COLUMN] = values
    out.attrs = dict(table.attrs)
    return out


def format_sweep_table(
    table: pd.DataFrame, figures: Sequence[str] | None = None, wide: bool = False
) -> str:
    """Text table: case, status, parameters, headline figures (failed cases show why).

    Unless ``wide``, columns are headed in words and units on two lines and the case
    names (which repeat the parameters) are left out, so that the table stays narrow."""
    figures = [f for f in (figures or HEADLINE_FIGURES) if f in table.columns]
    params = [c for c in table.attrs.get("parameters", []) if c in table.columns]
    if DURATION_COLUMN in table.columns:
        params.append(DURATION_COLUMN)
    all_done = bool((table["status"] == "finished").all())
    first = ["case", "status"] if wide else [] if all_done else ["status"]
    shown = table[[*first, *params, *figures]].copy()
    for col in figures:
        shown[col] = [
            ""
            if pd.isna(v)
            else f"{v:,.0f}"
            if abs(v) >= 10_000
            else f"{v:,.1f}"
            if abs(v) >= 100
            else f"{v:,.3g}"
            for v in shown[col]
        ]
    for col in params:
        if col != DURATION_COLUMN and pd.api.types.is_float_dtype(shown[col]):
            shown[col] = [f"{v:g}" for v in shown[col]]
    if DURATION_COLUMN in shown.columns:
        shown[DURATION_COLUMN] = ["" if pd.isna(v) else f"{v:.3g}" for v in shown[DURATION_COLUMN]]
    if wide:
        shown.columns = [c if c not in figures else f"{c} [{_unit(c)}]" for c in shown.columns]
        text = shown.to_string(index=False)
    else:
        heads = [
            figure_words(c) if c in figures else parameter_words(c) if c in params else c
            for c in shown.columns
        ]
        text = _wrapped_table(heads, shown.astype(str).values.tolist())
    counts = table["status"].value_counts().to_dict()
    head = f"sweep {table.attrs.get('sweep', '')}: " + ", ".join(
        f"{counts.get(s, 0)} {s}" for s in ("finished", "failed", "pending")
    )
    failed = table[table["status"] == "failed"]
    notes = [
        f"failed {r.case}: [{r.failure_type}] {r.reason}"
        for r in failed.itertuples()  # type: ignore[attr-defined]
    ]
    return "\n".join([head, text, *notes])


def _wrapped_table(heads: list[str], rows: list[list[str]], width: int = 12) -> str:
    """Right-aligned columns whose headers wrap onto several lines of about ``width``."""
    import textwrap

    parts = [
        textwrap.wrap(h, width, break_long_words=False, break_on_hyphens=False) or [""]
        for h in heads
    ]
    depth = max(len(p) for p in parts)
    parts = [[""] * (depth - len(p)) + p for p in parts]
    widths = [
        max(*(len(x) for x in parts[i]), *(len(r[i]) for r in rows)) for i in range(len(heads))
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    head_lines = [line([p[k] for p in parts]) for k in range(depth)]
    return "\n".join(head_lines + [line(r) for r in rows])


def plot_sweep(
    folder_or_table: str | Path | pd.DataFrame,
    figures: str | Sequence[str] | None = None,
    against: str | None = None,
    by: str | None = None,
    *,
    figsize: tuple[float, float] | None = None,
    dpi: float = 110.0,
) -> Figure:
    """Headline figure(s) against a swept parameter, one line per value of another.

    Parameters
    ----------
    folder_or_table : a sweep folder or its :func:`sweep_table`
    figures : figure column(s) (default :data:`HEADLINE_FIGURES` present in the index)
    against : x-axis parameter column (default the first swept parameter)
    by : one line per value of this column (default the second swept parameter, if any)
    """
    from matplotlib.ticker import FuncFormatter

    from essdispatch.analysis.plot_style import _rc, new_figure

    table = (
        folder_or_table
        if isinstance(folder_or_table, pd.DataFrame)
        else add_durations(folder_or_table, sweep_table(folder_or_table))
    )
    done = table[table["status"] == "finished"]
    if done.empty:
        raise ResultsInputError("sweep has no finished case to plot")
    names = [figures] if isinstance(figures, str) else list(figures or [])
    names = names or [f for f in HEADLINE_FIGURES if f in done.columns and done[f].notna().any()]
    missing = [f for f in names if f not in done.columns]
    if missing:
        figs = ", ".join(c for c in done.columns if "." in c or c in FIGURE_UNITS)
        raise ResultsInputError(
            f"no figure {', '.join(missing)} in the sweep index (figures: {figs})"
        )
    swept = _swept(table)
    if DURATION_COLUMN in done.columns:  # hours of duration instead of a scale factor
        swept = [DURATION_COLUMN if "energy_mwh (scale)" in c else c for c in swept]
    against = against or (swept[0] if swept else "case")
    if against not in done.columns:
        raise ResultsInputError(
            f"no parameter {against!r} in the sweep index (parameters: {', '.join(swept)})"
        )
    if by is None:
        by = next((c for c in swept if c != against), None)
    n = len(names)
    cols = 1 if n == 1 else 2 if n in (2, 4) else 3
    rows = int(np.ceil(n / cols))
    spare = rows * cols > n  # an empty slot holds the legend
    groups = [(None, done)] if by is None else list(done.groupby(by, dropna=False, sort=True))
    numeric = pd.api.types.is_numeric_dtype(done[against])
    thousands = FuncFormatter(lambda v, _p: f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.3g}")
    with _rc():
        fig = new_figure(
            figsize or (4.6 * cols, 3.3 * rows + (0.4 if spare or by is None else 1.0)), dpi=dpi
        )
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        handles: list[Any] = []
        for ax, name in zip(axes, names, strict=False):
            for value, part in groups:
                part = part.sort_values(against) if numeric else part
                x = part[against] if numeric else part["case"]
                label = None if by is None else _value_words(by, value)
                (line,) = ax.plot(x, part[name], marker="o", label=label)
                if ax is axes[0]:
                    handles.append(line)
            title = figure_words(name).split(" [")[0]
            ax.set_title(title[:1].upper() + title[1:])
            ax.set_xlabel(parameter_words(against))
            ax.set_ylabel(f"[{_unit(name)}]")
            ax.yaxis.set_major_formatter(thousands)
            if numeric and done[against].nunique() <= 8:
                ax.set_xticks(sorted(done[against].dropna().unique()))
            if not numeric:
                ax.tick_params(axis="x", labelrotation=45)
        for ax in axes[n:]:
            ax.set_axis_off()
        if by is not None:
            legend_kw: dict[str, Any] = {"title": parameter_words(by), "frameon": False}
            if spare:
                axes[n].legend(handles, [h.get_label() for h in handles], loc="center", **legend_kw)
            else:
                fig.legend(
                    handles,
                    [h.get_label() for h in handles],
                    loc="outside lower center",
                    ncol=min(6, len(handles)),
                    **legend_kw,
                )
        fig.suptitle(f"Sweep {table.attrs.get('sweep', '')}: headline figures")
    return fig


def _value_words(column: str, value: Any) -> str:
    words = parameter_words(column)
    unit = ""
    if words.endswith("]"):
        words, unit = words[: words.rindex(" [")], words[words.rindex("[") + 1 : -1]
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    if "(× base)" in words:
        return f"× {shown}"
    return f"{shown} {unit}".rstrip()


def _short(column: str) -> str:
    return column.replace("sites[*].storage[*].", "storage ").replace("objective.", "")


def compare_sweep(
    folder: str | Path,
    *,
    csv: Path | None = None,
    json_path: Path | None = None,
    plot: Path | None = None,
    wide: bool = False,
) -> str:
    """What ``essdispatch compare SWEEP_FOLDER`` prints; writes the index as CSV / JSON
    and the headline plot on request. Returns the text."""
    table = add_durations(folder, sweep_table(folder))
    text = format_sweep_table(table, wide=wide)
    if csv is not None:
        table.to_csv(csv, index=False)
    if json_path is not None:
        records = json.loads(table.to_json(orient="records"))
        json_path.write_text(json.dumps(records, indent=2, ensure_ascii=False), encoding="utf-8")
    if plot is not None:
        from essdispatch.analysis.plot_style import save_png

        save_png(plot_sweep(table), plot)
    return text


def dry_run_text(sweep: Sweep, out: str | Path = "results") -> str:
    """The cases of a validated sweep and whether each has finished (``--dry-run``)."""
    from essdispatch.sweeps.sweep_index import sweep_folder

    folder = sweep_folder(sweep, out)
    lines = [
        f"{sweep.file}: valid; {len(sweep.cases)} cases on {sweep.base.path} -> {folder}",
    ]
    for case in sweep.cases:
        done = (folder / "cases" / case.key / "summary.json").exists()
        sets = ", ".join(f"{k}={_fmt(v)}" for k, v in case.overrides.items()) or "(base)"
        lines.append(f"  {case.key}  {'finished' if done else 'to run  '}  {case.name}: {sets}")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"scale"}:
        return f"x{value['scale']:g}"
    return json.dumps(value) if not isinstance(value, str) else value


def sweep_summary_text(report: SweepReport) -> str:
    """A short human summary of :func:`essdispatch.sweeps.sweep.run_sweep`."""
    ran = report.finished + report.failed
    lines = [
        f"sweep {report.folder.name}: {report.total} cases; {report.skipped} already finished, "
        f"{report.finished} finished, {report.failed} failed in {report.seconds:.1f} s"
        + (f" on {report.workers} workers" if ran and report.workers else ""),
    ]
    failed = report.index[report.index["status"] == "failed"]
    for row in failed.itertuples():
        lines.append(f"  failed {row.case}: [{row.failure_type}] {row.reason}")
    lines.append(f"  index: {report.folder / 'index.parquet'}")
    return "\n".join(lines)
