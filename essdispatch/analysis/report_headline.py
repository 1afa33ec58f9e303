"""The report's numbers: run against baseline as one frame (:func:`summary_frame`),
the headline figures (:func:`headline`: savings, curtailment absorbed, emissions displaced,
the energy bill and the carbon value, savings per kWh a year) and their cards."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from essdispatch.analysis.compare import compare_table
from essdispatch.analysis.compare_format import (
    BASIS_BASELINE,
    BASIS_DELTA,
    BASIS_RUN,
)
from essdispatch.analysis.report_html import _card, _esc
from essdispatch.analysis.results_folder import Results, load_results
from essdispatch.results.summary import (
    Summary,
    as_summary,
)

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
