"""Several results folders -> one table of figures and differences.

A results folder (written by :func:`essdispatch.run.write_results`) is plain files:
``summary.json`` (its presence marks a complete run), ``dispatch.parquet``,
``baseline.parquet`` and ``scenario.yaml``. :func:`load_results` reads one
(analysis/results_folder.py); :func:`compare_table` puts every figure of docs/MODEL.md
side by side for two or more runs, with absolute and relative differences against the first;
:func:`scenario_diff` lists the scenario keys whose values differ, so a user
sees why the results differ (analysis/scenario_diff.py); analysis/compare_format.py
formats the table for the terminal and writes it as CSV/JSON.

Runs are *comparable* when they cover the same horizon and report money in the
same currency; :func:`comparability` says how runs differ and which figures
can therefore not be subtracted. A different resolution is reported but does
not block: the figures are energy, emission and money totals over the same
horizon.

Everything returns plain objects (DataFrames, lists) for notebook use; the
``essdispatch compare`` command only formats them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from essdispatch.analysis.compare_format import (  # re-export: the table's names and text
    BASIS_BASELINE,
    BASIS_DELTA,
    BASIS_RUN,
    FIGURE_LABELS,
    MAX_LABEL,
    TERMINAL_WIDTH,
    diff_column,
    figure_label,
    format_number,
    format_scenario_diff,
    format_table,
    format_value,
    rel_column,
    table_records,
    write_table,
)
from essdispatch.analysis.results_folder import (  # re-export: reading a results folder
    Results,
    _as_results,
    load_results,
    run_labels,
)
from essdispatch.analysis.scenario_diff import (  # re-export: why runs differ
    MISSING,
    flatten_scenario,
    scenario_diff,
)
from essdispatch.base.exceptions import ResultsInputError
from essdispatch.results.extract import DELTA_FIGURES, FIGURE_UNITS, OPTIONAL_FIGURE_UNITS
from essdispatch.results.stored_carbon import ACCOUNTING_FIGURE_UNITS, accounting_rows
from essdispatch.results.summary import Summary

__all__ = [
    "BASIS_BASELINE",
    "BASIS_DELTA",
    "BASIS_RUN",
    "FIGURE_LABELS",
    "MAX_LABEL",
    "MISSING",
    "REL_TOL",
    "STORAGE_ONLY_FIGURES",
    "TERMINAL_WIDTH",
    "UNITS",
    "Difference",
    "Results",
    "check_comparable",
    "comparability",
    "compare_table",
    "diff_column",
    "figure_label",
    "flatten_scenario",
    "format_number",
    "format_scenario_diff",
    "format_table",
    "format_value",
    "load_results",
    "rel_column",
    "run_labels",
    "scenario_diff",
    "table_records",
    "write_table",
]

#: figures that are zero in the no-storage baseline by construction (no baseline row)
UNITS = {**FIGURE_UNITS, **OPTIONAL_FIGURE_UNITS, **ACCOUNTING_FIGURE_UNITS}

STORAGE_ONLY_FIGURES = frozenset(
    {
        "charge_mwh",
        "discharge_mwh",
        "grid_charge_mwh",
        "storage_losses_mwh",
        "degradation_cost",
        "equivalent_full_cycles",
        "simultaneous_charge_discharge_mwh",
        "value_of_foresight",
        # MODEL.md economics table: the baseline omits the figures of 9, 11 and 12
        "investment_cost",
        "compensation_revenue",
        "capacity_revenue",
        "sized_power_mw",
        "sized_energy_mwh",
    }
)

#: the ``basis`` level of :func:`compare_table`'s index

#: relative differences are left empty when the first run's value is this small
REL_TOL = 1e-9


# --------------------------------------------------------------------------- comparability
@dataclass(frozen=True)
class Difference:
    """One way in which runs differ that matters for comparing their figures.

    ``blocks`` names the figures that cannot be subtracted: ``"all"`` (different
    horizon), ``"currency"`` (money figures) or ``None`` (a notice only).
    """

    aspect: str
    values: dict[str, Any]
    blocks: str | None
    message: str


def _horizon(r: Results) -> tuple[Any, Any]:
    h = r.summary.horizon
    start, end = h.start, h.end
    return (
        pd.Timestamp(start) if start else None,
        pd.Timestamp(end) if end else None,
    )


def _stamp(t: Any) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if t is not None else "?"


def comparability(runs: Sequence[str | Path | Results]) -> list[Difference]:
    """How ``runs`` differ in horizon, resolution and currency.

    A different horizon blocks every difference (all figures are totals over
    the horizon); a different currency blocks the money figures; a different
    resolution is a notice only.
    """
    rs = _as_results(runs)
    labels = [r.label for r in rs]
    out: list[Difference] = []

    def values(fn: Any) -> dict[str, Any]:
        return {lab: fn(r) for lab, r in zip(labels, rs, strict=True)}

    def show(vals: dict[str, Any]) -> str:
        return ", ".join(f"{k}: {v}" for k, v in vals.items())

    horizons = values(_horizon)
    if len(set(horizons.values())) > 1:
        shown = {k: f"{_stamp(s)} to {_stamp(e)}" for k, (s, e) in horizons.items()}
        out.append(
            Difference("horizon", shown, "all", f"runs cover different horizons ({show(shown)})")
        )
    dts = values(lambda r: r.dt_h)
    if len({round(v, 9) for v in dts.values() if not math.isnan(v)}) > 1:
        shown = {k: f"{v * 60:g} min" for k, v in dts.items()}
        out.append(
            Difference(
                "resolution",
                shown,
                None,
                f"runs differ in resolution ({show(shown)}); totals are still compared",
            )
        )
    currencies = values(lambda r: r.currency)
    if len(set(currencies.values())) > 1:
        out.append(
            Difference(
                "currency",
                currencies,
                "currency",
                f"runs report money in different currencies ({show(currencies)})",
            )
        )
    return out


def check_comparable(runs: Sequence[str | Path | Results]) -> list[Difference]:
    """Raise :class:`ResultsError` (one line) when any figure cannot be subtracted.

    Returns the notices (differences that do not block) otherwise.
    """
    diffs = comparability(runs)
    blocking = [d for d in diffs if d.blocks]
    if blocking:
        raise ResultsInputError(
            "runs are not comparable: "
            + "; ".join(d.message for d in blocking)
            + " (use force=True / --force to show them side by side without those differences)"
        )
    return diffs


# --------------------------------------------------------------------------- the table
def _rows(summary: Summary) -> list[tuple[str, str, str, float]]:
    """(figure, key, basis, value) for every figure of one summary, in MODEL.md order."""
    base = summary.baseline
    written = summary.model_fields_set
    out: list[tuple[str, str, str, float]] = []

    def add(fig: str, basis: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, v in value.items():
                out.append((fig, str(key), basis, _num(v)))
        elif value is not None or fig in written:
            out.append((fig, "", basis, _num(value)))

    # figures by name (results/extract.FIGURE_UNITS): attribute access by name
    for fig in (*FIGURE_UNITS, *(f for f in OPTIONAL_FIGURE_UNITS if f in written)):
        if fig in DELTA_FIGURES:
            add(fig, BASIS_DELTA, summary.figure(fig))
            continue
        add(fig, BASIS_RUN, summary.figure(fig))
        if fig not in STORAGE_ONLY_FIGURES:
            add(fig, BASIS_BASELINE, getattr(base, fig, None))
    out.extend(accounting_rows(summary))  # stored carbon, split, 24/7 (stored_carbon.py)
    return out


def _num(v: Any) -> float:
    try:
        return float(v) if v is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def compare_table(
    runs: Sequence[str | Path | Results],
    labels: Sequence[str] | None = None,
    *,
    force: bool = False,
) -> pd.DataFrame:
    """Every figure of MODEL.md for each run, with differences against the first.

    Parameters
    ----------
    runs : results folders (or :class:`Results`); one run gives the figures alone
    labels : column names for the runs (default: the folder names, made unique)
    force : when runs are not comparable, show them side by side anyway and
        leave the differences that cannot be computed empty (NaN) instead of
        raising

    Returns
    -------
    DataFrame indexed by ``(figure, key, basis)``: ``key`` is the carbon series
    (``emissions_*``) or the storage unit (``equivalent_full_cycles``), ``""``
    otherwise; ``basis`` is ``run``, ``baseline`` or ``delta`` (baseline minus
    run, the Δ figures). Columns: ``unit`` (the currency code for money), one
    value column per run label, then for every run after the first
    ``diff:<label>`` (value − first) and ``rel:<label>`` (diff / |first|, a
    fraction; NaN when the first is 0). ``attrs["notices"]`` lists the ways the
    runs differ (:class:`Difference` messages), ``attrs["folders"]`` the folders.

    Raises
    ------
    ResultsError : a folder is not a complete run, or the runs are not
        comparable (different horizon or currency) and ``force`` is False.
    """
    rs = _as_results(runs)
    if not rs:
        raise ResultsInputError("compare: no results folders given")
    names = list(labels) if labels is not None else run_labels(rs)
    if len(names) != len(rs) or len(set(names)) != len(names):
        raise ResultsInputError("compare: need one unique label per results folder")
    rs = [
        Results(r.folder, r.summary, r.scenario_text, lab) for r, lab in zip(rs, names, strict=True)
    ]
    diffs = comparability(rs) if force else check_comparable(rs)
    blocks = {d.blocks for d in diffs if d.blocks}

    index: list[tuple[str, str, str]] = []
    data: dict[str, dict[tuple[str, str, str], float]] = {}
    for lab, r in zip(names, rs, strict=True):
        col = data.setdefault(lab, {})
        for fig, key, basis, value in _rows(r.summary):
            idx = (fig, key, basis)
            if idx not in col and idx not in index:
                index.append(idx)
            col[idx] = value
    # keep MODEL.md order, keys in first-seen order
    order = {
        fig: i
        for i, fig in enumerate((*FIGURE_UNITS, *OPTIONAL_FIGURE_UNITS, *ACCOUNTING_FIGURE_UNITS))
    }
    basis_order = {BASIS_RUN: 0, BASIS_BASELINE: 1, BASIS_DELTA: 2}
    key_pos: dict[tuple[str, str], int] = {}
    for fig, key, _ in index:
        key_pos.setdefault((fig, key), len(key_pos))
    index.sort(
        key=lambda t: (order.get(t[0], len(order)), key_pos[(t[0], t[1])], basis_order[t[2]])
    )
    mi = pd.MultiIndex.from_tuples(index, names=["figure", "key", "basis"])
    frame = pd.DataFrame(index=mi)

    currencies = sorted({r.currency for r in rs})
    currency = "/".join(currencies) or "currency"
    frame["unit"] = [
        currency if UNITS.get(f) == "currency" else UNITS.get(f, "") for f, _, _ in index
    ]
    for lab in names:
        frame[lab] = [data[lab].get(idx, np.nan) for idx in index]

    first = frame[names[0]].to_numpy(dtype=float)
    money = np.array([UNITS.get(f) == "currency" for f, _, _ in index], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for lab, r in zip(names[1:], rs[1:], strict=True):
            d = frame[lab].to_numpy(dtype=float) - first
            # only what this run cannot share with the first one is left blank
            if _horizon(r) != _horizon(rs[0]):
                d[:] = np.nan
            elif r.currency != rs[0].currency:
                d[money] = np.nan
            rel = np.where(np.abs(first) > REL_TOL, d / np.abs(first), np.nan)
            frame[diff_column(lab)] = d
            frame[rel_column(lab)] = rel
    frame.attrs["notices"] = [d.message for d in diffs]
    frame.attrs["blocked"] = sorted(blocks)
    frame.attrs["folders"] = {lab: str(r.folder) for lab, r in zip(names, rs, strict=True)}
    frame.attrs["labels"] = list(names)
    return frame
