"""The comparison table as text and files: numbers and labels for cells
(:func:`format_number`, :func:`figure_label`), the terminal tables (:func:`format_table`,
:func:`format_scenario_diff`) and the CSV/JSON files (:func:`write_table`); the names of
the table's basis level and difference columns."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from essdispatch.analysis.scenario_diff import MISSING
from essdispatch.base.exceptions import ResultsError

BASIS_RUN, BASIS_BASELINE, BASIS_DELTA = "run", "baseline", "delta"


def diff_column(label: str) -> str:
    """Name of the absolute-difference column of run ``label`` (value minus the first run's)."""
    return f"diff:{label}"


def rel_column(label: str) -> str:
    """Name of the relative-difference column of run ``label`` (fraction of the first run's)."""
    return f"rel:{label}"


_FORMATS = {
    "MWh": "{:,.1f}",
    "tCO2": "{:,.1f}",
    "cycles": "{:,.2f}",
    "tCO2/MWh": "{:,.4f}",
    "fraction": "{:,.4f}",
}


def format_number(value: float, unit: str, signed: bool = False) -> str:
    """A figure value for a table cell: MWh and tCO2 to 0.1, cycles to 0.01, intensities and
    fractions to 0.0001, money whole."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    spec = _FORMATS.get(unit, "{:,.0f}")  # money: whole currency units
    if signed:
        spec = spec.replace("{:", "{:+")
    text = spec.format(value)
    return text.lstrip("+-") if _is_zero(text) else text


def _is_zero(text: str) -> bool:
    return text.strip("+-").replace("0", "").replace(".", "").replace(",", "") == ""


def _fmt_rel(value: float) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:+.1%}" if abs(value) >= 5e-4 else "0.0%"


_BASIS_TEXT = {BASIS_RUN: "run", BASIS_BASELINE: "baseline", BASIS_DELTA: "Δ base−run"}


def format_value(value: Any) -> str:
    """A scenario value, short enough for one table cell."""
    if value is MISSING:
        return "(absent)"
    text = (
        json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value
    )
    return text if len(text) <= 40 else text[:37] + "..."


#: human labels of the figures (tables, report, plots); units come from ``UNITS``
FIGURE_LABELS = {
    "solar_available_mwh": "solar available",
    "curtailed_mwh": "solar curtailed",
    "curtailment_absorbed_mwh": "curtailment absorbed",
    "charge_mwh": "charged",
    "discharge_mwh": "discharged",
    "grid_charge_mwh": "charged from the grid",
    "storage_losses_mwh": "storage losses",
    "import_mwh": "imported",
    "export_mwh": "exported",
    "unserved_mwh": "unserved energy",
    "emissions_tco2": "emissions",
    "emissions_displaced_tco2": "emissions displaced",
    "energy_cost": "energy cost",
    "carbon_cost": "carbon cost",
    "degradation_cost": "degradation cost",
    "total_cost": "total cost",
    "savings": "savings",
    "equivalent_full_cycles": "full cycles",
    "simultaneous_charge_discharge_mwh": "simultaneous charge/discharge",
    "value_of_foresight": "value of foresight",
}

#: the longest row header of a narrow table [characters]
MAX_LABEL = 40


def figure_label(fig: str, key: str = "", unit: str = "", limit: int | None = None) -> str:
    """``"emissions displaced (marginal) [tCO2]"``: the human label of a figure."""
    text = FIGURE_LABELS.get(fig, fig.replace("_", " "))
    tail = f" [{unit}]" if unit else ""
    if key:
        room = None if limit is None else limit - len(text) - len(tail) - 3
        if room is not None and len(key) > room:
            key = key[: max(1, room - 1)] + "…"
        text += f" ({key})"
    return text + tail


#: ``essdispatch compare`` keeps its tables this wide unless asked for ``--wide``
TERMINAL_WIDTH = 100

_SHORT_BASIS = {BASIS_RUN: "run", BASIS_BASELINE: "base", BASIS_DELTA: "Δ"}


def _table_cells(
    table: pd.DataFrame, labels: list[str], short: bool
) -> tuple[list[str], list[list[str]], list[list[list[str]]]]:
    """Row-header cells, and per run (first run: one column; others: value, Δ, Δ%) the
    cells of each row: ``(heads, row_heads, groups)``."""
    basis_text = _SHORT_BASIS if short else _BASIS_TEXT
    row_heads: list[list[str]] = []
    groups: list[list[list[str]]] = [[] for _ in labels]
    last_fig = None
    for (fig, key, basis), rec in table.iterrows():
        unit = str(rec["unit"])
        name = fig + (f"[{key}]" if key else "")
        label = figure_label(fig, key, unit, MAX_LABEL) if short else f"{name} [{unit}]"
        shown = label if (fig, key) != last_fig else ""
        last_fig = (fig, key)
        row_heads.append([shown, basis_text.get(basis, basis)])
        groups[0].append([format_number(rec[labels[0]], unit)])
        for i, lab in enumerate(labels[1:], start=1):
            groups[i].append(
                [
                    format_number(rec[lab], unit),
                    format_number(rec[diff_column(lab)], unit, signed=True),
                    _fmt_rel(rec[rel_column(lab)]),
                ]
            )
    return ["figure [unit]" if not short else "figure", "basis"], row_heads, groups


def _render(header: list[str], rows: list[list[str]], n_left: int = 2) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = [c.ljust(w) for c, w in zip(cells[:n_left], widths[:n_left], strict=True)]
        out += [c.rjust(w) for c, w in zip(cells[n_left:], widths[n_left:], strict=True)]
        return "  ".join(out).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *[line(r) for r in rows]]


def format_table(table: pd.DataFrame, width: int | None = TERMINAL_WIDTH) -> str:
    """:func:`compare_table`'s result as a plain-text table (units in the row header).

    ``width=None``: one table, one column per run and per difference (``--wide``).
    Otherwise the runs are named by letters (A, B, ...) with a legend, and the columns
    of the runs are wrapped into as many blocks as it takes to keep every line within
    ``width`` characters (the figure column repeated in each block).
    """
    labels: list[str] = table.attrs.get("labels") or [
        c for c in table.columns if c != "unit" and not c.startswith(("diff:", "rel:"))
    ]
    first = labels[0]
    short = width is not None
    heads, row_heads, groups = _table_cells(table, labels, short)
    if not short:
        header = [*heads, *labels]
        for lab in labels[1:]:
            header += [f"Δ {lab}", "Δ%"]
        rows = [[*rh, *[c for g in groups for c in g[i]]] for i, rh in enumerate(row_heads)]
        lines = _render(header, rows)
        if len(labels) > 1:
            lines.append(f"(Δ: difference against {first}; Δ%: relative to |{first}|)")
        return "\n".join(lines)

    letters = [_letter(i) for i in range(len(labels))]
    group_heads = [[letters[0]]] + [[x, f"Δ {x}", f"Δ% {x}"] for x in letters[1:]]
    left = max(len(c) for rh in [heads, *row_heads] for c in rh[:1])
    left += 2 + max(len(rh[1]) for rh in [heads, *row_heads]) + 2

    def group_width(i: int) -> int:
        return sum(
            max(len(c) for c in [group_heads[i][j], *(cells[j] for cells in groups[i])]) + 2
            for j in range(len(group_heads[i]))
        )

    blocks: list[list[int]] = [[]]
    used = left
    for i in range(len(labels)):
        w = group_width(i)
        if blocks[-1] and used + w > width:
            blocks.append([])
            used = left
        blocks[-1].append(i)
        used += w
    lines = [f"{x}  {lab}" for x, lab in zip(letters, labels, strict=True)]
    for block in blocks:
        header = [*heads, *[h for i in block for h in group_heads[i]]]
        rows = [[*rh, *[c for i in block for c in groups[i][r]]] for r, rh in enumerate(row_heads)]
        lines += ["", *_render(header, rows)]
    if len(labels) > 1:
        lines.append(
            f"(Δ X: X − {letters[0]}; Δ% X: relative to |{letters[0]}|; --wide: one table)"
        )
    lines.append("(base: the no-storage baseline; basis Δ: baseline − run)")
    return "\n".join(lines)


def _letter(i: int) -> str:
    """A, B, ..., Z, AA, AB, ..."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def format_scenario_diff(
    diff: list[tuple[str, tuple[Any, ...]]],
    labels: Sequence[str],
    width: int | None = TERMINAL_WIDTH,
) -> str:
    """:func:`scenario_diff`'s result as a plain-text table (one row per differing key).

    When the table would be wider than ``width``, each key is listed with one line per run
    (the runs lettered as in :func:`format_table`)."""
    if not diff:
        return "scenario files: no differences"
    header = ["scenario key", *labels]
    rows = [[k, *(format_value(v) for v in vals)] for k, vals in diff]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    if width is not None and sum(widths) + 2 * (len(widths) - 1) > width:
        letters = [_letter(i) for i in range(len(labels))]
        lines = ["scenario keys that differ (runs lettered as above):"]
        for key, *vals in rows:
            lines.append(f"  {key}")
            lines += [f"    {x}  {v}" for x, v in zip(letters, vals, strict=True)]
        return "\n".join(lines)
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def table_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The table as JSON-safe records (NaN -> None), one per row."""
    flat = table.reset_index()
    recs = flat.to_dict(orient="records")
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
        for rec in recs
    ]


def write_table(
    table: pd.DataFrame,
    *,
    csv: str | Path | None = None,
    json_path: str | Path | None = None,
    scenario_differences: list[tuple[str, tuple[Any, ...]]] | None = None,
) -> None:
    """Write the table as CSV (one row per figure row) and/or JSON (with notices and
    the scenario differences)."""
    try:
        if csv is not None:
            table.reset_index().to_csv(csv, index=False)
        if json_path is not None:
            labels = table.attrs.get("labels", [])
            doc = {
                "runs": [
                    {"label": lab, "folder": table.attrs.get("folders", {}).get(lab)}
                    for lab in labels
                ],
                "notices": table.attrs.get("notices", []),
                "figures": table_records(table),
                "scenario_differences": [
                    {
                        "key": k,
                        "values": {
                            lab: (None if v is MISSING else v)
                            for lab, v in zip(labels, vals, strict=False)
                        },
                        "absent": [
                            lab for lab, v in zip(labels, vals, strict=False) if v is MISSING
                        ],
                    }
                    for k, vals in (scenario_differences or [])
                ],
            }
            Path(json_path).write_text(
                json.dumps(doc, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
            )
    except OSError as exc:
        raise ResultsError(f"cannot write comparison table: {exc.strerror or exc}") from exc
