"""Project finance of the storage units (``economics:`` block; docs/ECONOMICS.md).

The simulated horizon is a sample: its operating value (what the units save in
cash, before investment) is scaled to a year by ``1/H`` (``H = N·Δt/8760``) and
projected over the project life with capacity fade, escalation and an optional
replacement. From the yearly cash flows come NPV, IRR, simple and discounted
payback and the levelised cost of storage (LCOS, per MWh discharged).

Year 0 carries the capex; years 1…L the operating value, fixed O&M and any
replacement. In year y the usable capacity is ``(1 − f)^a`` with
``f = calendar_fade_per_year + cycle_fade_per_cycle × annual cycles`` and ``a`` the
years since commissioning (or since the replacement) at the start of year y; the
operating value and the energy discharged scale with it (the dispatch of the
sample is assumed to shrink in proportion). The gross operating value grows by
``price_escalation_per_year``, fixed O&M by ``om_escalation_per_year``; the
degradation cost (per MWh discharged) does not escalate. Everything else is in
the money of year 0 (nominal = real when both escalations are 0).

Pure functions of plain numbers (:class:`FinanceCase`) are separated from the
glue that reads a solved run (:func:`finance_case`), so that the arithmetic is
tested against a hand-computed cash-flow table.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from essdispatch.model.econ import HOURS_PER_YEAR, KW_PER_MW
from essdispatch.model.econ_figures import unit_figures

if TYPE_CHECKING:  # the summary schema is imported where a summary is read (fast `validate`)
    from essdispatch.results.extract import DispatchResult
    from essdispatch.results.summary import Summary
    from essdispatch.scenario.econ_keys import EconomicsBlock

#: a horizon shorter than this many days gives a warning that annual figures are fragile
SHORT_HORIZON_DAYS = 28


@dataclass(frozen=True)
class FinanceCase:
    """The numbers a cash-flow projection needs (money in the scenario's currency).

    capex : paid in year 0
    annual_gross_value : operating value per year before degradation cost, at full capacity
    annual_degradation_cost : degradation cost per year at full capacity
    annual_fixed_om : fixed O&M per year (year-1 money)
    annual_discharge_mwh : energy discharged per year at full capacity [MWh]
    annual_cycles : equivalent full cycles per year [-]
    lifetime_years, discount_rate : project life [years], discount rate [1/year]
    calendar_fade_per_year, cycle_fade_per_cycle : capacity fade [fraction]
    replacement_year, replacement_cost : paid in that year (0: none); restores capacity
    price_escalation_per_year, om_escalation_per_year : growth rates [fraction/year]
    """

    capex: float
    annual_gross_value: float
    annual_degradation_cost: float
    annual_fixed_om: float
    annual_discharge_mwh: float
    annual_cycles: float
    lifetime_years: int
    discount_rate: float
    calendar_fade_per_year: float = 0.0
    cycle_fade_per_cycle: float = 0.0
    replacement_year: int = 0
    replacement_cost: float = 0.0
    price_escalation_per_year: float = 0.0
    om_escalation_per_year: float = 0.0

    @property
    def fade_per_year(self) -> float:
        """``f = calendar + cycle × annual cycles``, capped below 1."""
        return min(
            0.999999,
            self.calendar_fade_per_year + self.cycle_fade_per_cycle * self.annual_cycles,
        )


def cash_flow_table(case: FinanceCase) -> pd.DataFrame:
    """Year-by-year cash flows (row 0 = investment), columns:

    ``year, capacity_factor, gross_value, degradation_cost, fixed_om, replacement, capex,
    net_cash_flow, discount_factor, discounted_cash_flow, cumulative, cumulative_discounted,
    discharge_mwh``.
    """
    L = case.lifetime_years
    y = np.arange(L + 1)
    R = case.replacement_year
    age = np.where((R > 0) & (y > R), y - R - 1, y - 1).astype(float)
    cap = np.where(y == 0, 0.0, (1.0 - case.fade_per_year) ** np.maximum(age, 0.0))
    grow = np.where(y == 0, 0.0, (1.0 + case.price_escalation_per_year) ** (y - 1))
    om_grow = np.where(y == 0, 0.0, (1.0 + case.om_escalation_per_year) ** (y - 1))
    gross = case.annual_gross_value * cap * grow
    degradation = case.annual_degradation_cost * cap
    fom = case.annual_fixed_om * om_grow
    replacement = np.where((R > 0) & (y == R), case.replacement_cost, 0.0)
    capex = np.where(y == 0, case.capex, 0.0)
    net = gross - degradation - fom - replacement - capex
    disc = (1.0 + case.discount_rate) ** (-y.astype(float))
    frame = pd.DataFrame(
        {
            "year": y,
            "capacity_factor": cap,
            "gross_value": gross,
            "degradation_cost": degradation,
            "fixed_om": fom,
            "replacement": replacement,
            "capex": capex,
            "net_cash_flow": net,
            "discount_factor": disc,
            "discounted_cash_flow": net * disc,
            "cumulative": np.cumsum(net),
            "cumulative_discounted": np.cumsum(net * disc),
            "discharge_mwh": case.annual_discharge_mwh * cap,
        }
    )
    return frame


def npv(rate: float, flows: np.ndarray) -> float:
    """``Σ_y flows[y] / (1 + rate)^y`` (year 0 undiscounted)."""
    flows = np.asarray(flows, dtype=float)
    return float((flows / (1.0 + rate) ** np.arange(flows.size)).sum())


def irr(flows: np.ndarray) -> float | None:
    """The rate at which :func:`npv` is 0; ``None`` when there is none in (−99 %, 10 000 %)
    (e.g. every flow has the same sign). With several sign changes, the root nearest 0
    found by bracketing outward from 0 is returned."""
    flows = np.asarray(flows, dtype=float)
    if not ((flows > 0).any() and (flows < 0).any()):
        return None
    grid = np.concatenate([-np.geomspace(0.99, 1e-6, 60), [0.0], np.geomspace(1e-6, 100.0, 120)])
    values = np.array([npv(r, flows) for r in grid])
    sign = np.sign(values)
    change = np.flatnonzero(sign[:-1] * sign[1:] < 0)
    exact = np.flatnonzero(values == 0.0)
    if exact.size:
        return float(grid[exact[np.argmin(np.abs(grid[exact]))]])
    if change.size == 0:
        return None
    k = change[np.argmin(np.abs(grid[change]))]
    from scipy.optimize import brentq

    return float(brentq(npv, grid[k], grid[k + 1], args=(flows,), xtol=1e-12, rtol=1e-12))


def payback_years(cumulative: np.ndarray, flows: np.ndarray) -> float | None:
    """First time the cumulative cash flow reaches 0, interpolated within the year;
    ``None`` when it never does (year 0 counts as the start)."""
    cumulative = np.asarray(cumulative, dtype=float)
    flows = np.asarray(flows, dtype=float)
    if cumulative[0] >= 0:
        return 0.0
    reached = np.flatnonzero(cumulative >= 0)
    if reached.size == 0:
        return None
    y = int(reached[0])
    return float((y - 1) + (-cumulative[y - 1]) / flows[y])


def lcos(table: pd.DataFrame) -> float | None:
    """Levelised cost of storage [currency/MWh discharged]:

    ``(capex + Σ_y PV(fixed O&M + replacement + degradation)) / Σ_y PV(discharge)``;
    the energy bought to charge is not included (its cost is in the operating value).
    ``None`` when nothing is discharged.
    """
    d = table["discount_factor"].to_numpy()
    cost = (
        table["capex"] + table["fixed_om"] + table["replacement"] + table["degradation_cost"]
    ).to_numpy()
    energy = float((table["discharge_mwh"].to_numpy() * d).sum())
    if energy <= 0:
        return None
    return float((cost * d).sum() / energy)


def evaluate(case: FinanceCase) -> tuple[dict[str, Any], pd.DataFrame]:
    """NPV, IRR, paybacks and LCOS of a case, with its cash-flow table."""
    table = cash_flow_table(case)
    flows = table["net_cash_flow"].to_numpy()
    figures = {
        "npv": npv(case.discount_rate, flows),
        "irr": irr(flows),
        "simple_payback_years": payback_years(table["cumulative"].to_numpy(), flows),
        "discounted_payback_years": payback_years(
            table["cumulative_discounted"].to_numpy(), table["discounted_cash_flow"].to_numpy()
        ),
        "lcos_per_mwh": lcos(table),
    }
    return figures, table


# --------------------------------------------------------------------------- from a run
def finance_case(
    run: DispatchResult, baseline: DispatchResult, block: EconomicsBlock
) -> FinanceCase:
    """The :class:`FinanceCase` of a solved run and its baseline.

    ``annual_gross_value = (cash_savings + investment_cost + degradation_cost) / H``:
    the horizon's cash saving before the annualised investment of sized units (which
    the projection replaces by the explicit capex and O&M) and before degradation.
    """
    inp = run.inputs
    econ = inp.econ
    H = inp.n_periods * inp.dt_h / HOURS_PER_YEAR
    terms = unit_figures(run)
    cash_savings = baseline.figures["cash_cost"] - run.figures["cash_cost"]
    investment = float(terms["investment"].sum())
    degradation = float(terms["degradation"].sum())
    sized = econ.sized if econ is not None else np.zeros(inp.n_units, dtype=bool)
    if econ is not None:
        capex_kw = np.where(sized, econ.capex_per_kw, block.capex_per_kw)
        capex_kwh = np.where(sized, econ.capex_per_kwh, block.capex_per_kwh)
        fom = np.where(sized, econ.fixed_om_per_kw_year, block.fixed_om_per_kw_year)
    else:
        capex_kw = np.full(inp.n_units, block.capex_per_kw)
        capex_kwh = np.full(inp.n_units, block.capex_per_kwh)
        fom = np.full(inp.n_units, block.fixed_om_per_kw_year)
    power, energy = inp.power, inp.energy
    discharged = inp.dt_h * float(run.dis.sum())
    window = float(((inp.soc_max - inp.soc_min) * energy).sum())
    rep = block.replacement
    return FinanceCase(
        capex=float(KW_PER_MW * (capex_kw * power + capex_kwh * energy).sum()),
        annual_gross_value=(cash_savings + investment + degradation) / H,
        annual_degradation_cost=degradation / H,
        annual_fixed_om=float(KW_PER_MW * (fom * power).sum()),
        annual_discharge_mwh=discharged / H,
        annual_cycles=(discharged / H / window) if window > 0 else 0.0,
        lifetime_years=block.lifetime_years,
        discount_rate=block.discount_rate,
        calendar_fade_per_year=block.calendar_fade_per_year,
        cycle_fade_per_cycle=block.cycle_fade_per_cycle,
        replacement_year=rep.year if rep is not None else 0,
        replacement_cost=float(
            KW_PER_MW * (rep.cost_per_kwh * energy.sum() + rep.cost_per_kw * power.sum())
        )
        if rep is not None
        else 0.0,
        price_escalation_per_year=block.price_escalation_per_year,
        om_escalation_per_year=block.om_escalation_per_year,
    )


def horizon_warnings(run: DispatchResult) -> list[str]:
    """Why an annual figure scaled from this horizon may mislead."""
    inp = run.inputs
    hours = inp.n_periods * inp.dt_h
    days = hours / 24.0
    out = []
    scale = HOURS_PER_YEAR / hours if hours else math.inf
    if days < SHORT_HORIZON_DAYS:
        out.append(
            f"annual finance figures scale a {days:g}-day horizon by {scale:.1f}×: too short to"
            " represent a year (weather, prices and outages of other weeks are not sampled)"
        )
    months = sorted(set(inp.index.month)) if inp.n_periods else []
    if 0 < len(months) < 12:
        names = ", ".join(pd.Timestamp(2000, m, 1).strftime("%b") for m in months)
        out.append(
            f"the horizon covers only {names}: seasonal prices, solar and demand charges of"
            " the other months are assumed to be like these"
        )
    return out


def assumptions(case: FinanceCase, H: float) -> list[str]:
    """The stated assumptions printed with the finance figures."""
    rep = (
        f"replacement in year {case.replacement_year} costing {case.replacement_cost:,.0f},"
        " restoring full capacity"
        if case.replacement_year
        else "no replacement"
    )
    return [
        f"operating value scaled from the horizon to a year by 1/H = {1 / H:.3f}"
        if H > 0
        else "empty horizon",
        f"life {case.lifetime_years} years, discount rate {case.discount_rate:g}",
        f"capacity fade {case.fade_per_year:.4g}/year (calendar {case.calendar_fade_per_year:g}"
        f" + {case.cycle_fade_per_cycle:g}/cycle × {case.annual_cycles:.1f} cycles/year);"
        " value and discharge scale with usable capacity",
        rep,
        f"operating value escalates {case.price_escalation_per_year:g}/year, fixed O&M"
        f" {case.om_escalation_per_year:g}/year; degradation cost does not escalate",
        "capex paid in year 0; no tax, financing cost, salvage value or decommissioning",
        "LCOS excludes the cost of charging energy",
    ]


def project_finance(
    run: DispatchResult, baseline: DispatchResult, block: EconomicsBlock
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The ``finance`` block of ``summary.json`` and the ``cashflows.csv`` table."""
    case = finance_case(run, baseline, block)
    figures, table = evaluate(case)
    H = run.inputs.n_periods * run.inputs.dt_h / HOURS_PER_YEAR
    out = {
        **figures,
        **asdict(case),
        "annual_operating_value": case.annual_gross_value - case.annual_degradation_cost,
        "horizon_fraction": H,
        "scale_factor": 1.0 / H if H > 0 else None,
        "assumptions": assumptions(case, H),
        "warnings": horizon_warnings(run),
    }
    return out, table


def _money(v: float | None, cur: str) -> str:
    return "n/a" if v is None else f"{v:,.0f} {cur}"


def headline_lines(summary: Summary | dict) -> list[str]:
    """Console lines: cash first, the priced carbon and lost load beside it, then the
    revenue streams and (with an ``economics:`` block) the finance figures with their
    stated assumptions."""
    from essdispatch.results.summary import as_summary

    summary = as_summary(summary)
    cur = summary.currency if summary.currency is not None else ""
    base = summary.baseline
    nan = float("nan")
    lines = [
        f"  cash cost         {summary.cash_cost:>16,.0f} {cur} "
        f"(baseline {_or(base.cash_cost, nan):,.0f}; "
        f"cash savings {summary.cash_savings:,.0f})",
        f"  beside cash: carbon cost {summary.carbon_cost:,.0f} {cur} (priced at"
        f" {_or(summary.carbon_price, 0):g} {cur}/tCO2; baseline"
        f" {_or(base.carbon_cost, nan):,.0f}), unserved cost"
        f" {_or(summary.unserved_cost, 0.0):,.0f} {cur} (value of lost load; baseline"
        f" {_or(base.unserved_cost, nan):,.0f})",
    ]
    total = summary.revenue_streams.total if summary.revenue_streams is not None else None
    # the streams by name, as written
    streams = total.model_dump(exclude_unset=True) if total is not None else {}
    shown = [(k, v) for k, v in streams.items() if k != "cash_savings" and abs(v) > 0.5]
    if shown:
        lines.append(
            "  cash savings by stream: "
            + ", ".join(f"{k.replace('_', ' ')} {v:,.0f}" for k, v in shown)
        )
    sized = summary.sized_power_mw or {}
    for unit, p in sized.items():
        e = _or((summary.sized_energy_mwh or {}).get(unit), nan)
        lines.append(
            f"  sized {unit}: {p:,.2f} MW / {e:,.2f} MWh ({e / p if p else float('nan'):.2f} h)"
        )
    fin = summary.finance
    if fin is not None and fin.model_fields_set:
        irr_text = "n/a" if fin.irr is None else f"{100 * fin.irr:.2f} %"

        def years(v: float | None) -> str:
            return "never" if v is None else f"{v:.1f} years"

        lcos_text = "n/a" if fin.lcos_per_mwh is None else f"{fin.lcos_per_mwh:,.1f}"
        lines += [
            f"  finance: NPV {_money(fin.npv, cur)}, IRR {irr_text}, payback"
            f" {years(fin.simple_payback_years)} (discounted"
            f" {years(fin.discounted_payback_years)}), LCOS {lcos_text} {cur}/MWh",
            f"  capex {_money(fin.capex, cur)}; operating value"
            f" {_money(fin.annual_operating_value, cur)}/year",
            "  assumptions: " + "; ".join(fin.assumptions or []),
        ]
    return lines


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value
