"""From a solution vector to a dispatch table and the figures of docs/MODEL.md.

Everything here works on whole arrays (no per-period Python loops, no per-element
``value()`` calls). :class:`DispatchResult` holds the arrays of one solve; the
figures are computed from those arrays exactly as MODEL.md defines them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from essdispatch.base.inputs import Inputs
from essdispatch.model.ageing_figures import depth_ageing_cost
from essdispatch.model.econ_figures import (
    economics_figures,
    economics_objective_terms,
    sized_inputs,
)
from essdispatch.model.families import FAMILIES, RowBlock, owner_count, time_extent
from essdispatch.model.lp import Layout

#: the largest residual of constraint 1 a result may have [MW] (MODEL.md: below 1e-6)
BALANCE_TOL_MW = 1e-6

SITE_VARS = ("pv", "cur", "imp", "exp", "shed")
UNIT_VARS = ("ch", "dis")

#: the Δ figures: name -> (figure it is the difference of)
DELTA_FIGURES = {
    "curtailment_absorbed_mwh": "curtailed_mwh",
    "emissions_displaced_tco2": "emissions_tco2",
    "savings": "total_cost",
    "cash_savings": "cash_cost",
}

#: units of every figure, for tables and plots; the cash figures (MODEL.md economics
#: table) come first: what is paid, without the priced carbon and lost load
FIGURE_UNITS = {
    "cash_cost": "currency",
    "cash_savings": "currency",
    "carbon_cost": "currency",  # beside the cash figures, never mixed in
    "unserved_cost": "currency",
    "solar_available_mwh": "MWh",
    "curtailed_mwh": "MWh",
    "curtailment_absorbed_mwh": "MWh",
    "charge_mwh": "MWh",
    "discharge_mwh": "MWh",
    "grid_charge_mwh": "MWh",
    "storage_losses_mwh": "MWh",
    "import_mwh": "MWh",
    "export_mwh": "MWh",
    "unserved_mwh": "MWh",
    "emissions_tco2": "tCO2",
    "emissions_displaced_tco2": "tCO2",
    "energy_cost": "currency",
    "degradation_cost": "currency",
    "total_cost": "currency",
    "savings": "currency",
    "equivalent_full_cycles": "cycles",
    "simultaneous_charge_discharge_mwh": "MWh",
    # MODEL.md "Economics extensions" (constraints 9–12)
    "demand_charge_cost": "currency",
    "investment_cost": "currency",
    "compensation_revenue": "currency",
    "capacity_revenue": "currency",
    "peak_import_mw": "MW",
}

#: figures beyond MODEL.md that some runs report (rolling operation: docs/OPERATION.md)
OPTIONAL_FIGURE_UNITS = {
    "value_of_foresight": "currency",
    # keyed by sized unit: empty without sizing (MODEL.md economics table)
    "sized_power_mw": "MW",
    "sized_energy_mwh": "MWh",
}


@dataclass(frozen=True, eq=False)
class DispatchResult:
    """The optimal dispatch of one problem (the run or its baseline).

    Arrays [MW unless noted]: ``pv, cur, imp, exp, shed`` (S, T); ``ch, dis`` (B, T);
    ``e`` (B, T+1) stored energy at the start of each period and at the end [MWh].
    ``objective`` is the solver's objective value [currency].
    ``duals`` (LP only; empty for a MILP): the row duals of HiGHS, ∂objective/∂rhs,
    by constraint family: ``balance`` (S, T) [currency per MW of extra load in that
    period], ``storage`` (B, T) [currency per MWh of energy appearing in the unit at
    the end of the period], ``group_export`` / ``group_import`` (G, T) [currency per MW
    of extra limit in that period; ≤ 0; 0 where the group has no such limit].
    """

    inputs: Inputs
    pv: np.ndarray
    cur: np.ndarray
    imp: np.ndarray
    exp: np.ndarray
    shed: np.ndarray
    ch: np.ndarray
    dis: np.ndarray
    e: np.ndarray
    objective: float
    duals: dict[str, np.ndarray] = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    #: the solved values of extension column blocks (e.g. ``seg_dis`` of MODEL.md 13)
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    # ------------------------------------------------------------ per site
    def site_sum(self, unit_array: np.ndarray) -> np.ndarray:
        """(S, T) sum over each site's units of a (B, T) array."""
        out = np.zeros((self.inputs.n_sites, unit_array.shape[1]))
        np.add.at(out, self.inputs.unit_site, unit_array)
        return out

    def balance_residual(self) -> np.ndarray:
        """(S, T) residual of constraint 1 [MW]: sources minus sinks."""
        inp = self.inputs
        return (
            self.pv
            - self.cur
            + self.imp
            + self.site_sum(self.dis)
            + self.shed
            - inp.load
            - inp.site_aux[:, None]
            - self.exp
            - self.site_sum(self.ch)
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per period; columns ``<site>/<var>`` and ``<unit>/<var>``.

        Site columns: ``pv cur imp exp shed load aux buy_price sell_price carbon_<series>``;
        unit columns: ``ch dis`` [MW], ``energy_mwh`` and ``soc`` (fraction of E) at the
        END of the period (the state at the start of the horizon is the scenario's
        ``soc_initial``).
        """
        inp = self.inputs
        T = inp.n_periods
        cols: dict[str, np.ndarray] = {}
        for s, site in enumerate(inp.site_names):
            cols[f"{site}/pv"] = self.pv[s]
            cols[f"{site}/cur"] = self.cur[s]
            cols[f"{site}/imp"] = self.imp[s]
            cols[f"{site}/exp"] = self.exp[s]
            cols[f"{site}/shed"] = self.shed[s]
            cols[f"{site}/load"] = inp.load[s]
            cols[f"{site}/aux"] = np.full(T, inp.site_aux[s])
            cols[f"{site}/buy_price"] = inp.buy_price[s]
            cols[f"{site}/sell_price"] = inp.sell_price[s]
            for series, arr in inp.carbon.items():
                cols[f"{site}/carbon_{series}"] = arr[s]
        with np.errstate(divide="ignore", invalid="ignore"):
            soc = np.where(inp.energy[:, None] > 0, self.e / inp.energy[:, None], 0.0)
        for b, unit in enumerate(inp.unit_names):
            cols[f"{unit}/ch"] = self.ch[b]
            cols[f"{unit}/dis"] = self.dis[b]
            cols[f"{unit}/energy_mwh"] = self.e[b, 1:]
            cols[f"{unit}/soc"] = soc[b, 1:]
        frame = pd.DataFrame(cols, index=inp.index.copy())
        frame.index.name = "period_start"
        return frame


def extract(
    inputs: Inputs,
    layout: Layout,
    x: np.ndarray,
    objective: float,
    row_dual: np.ndarray | None = None,
    row_families: dict[str, slice] | None = None,
    row_blocks: dict[str, RowBlock] | None = None,
) -> DispatchResult:
    """Slice a solution vector (in ``layout`` order) into a :class:`DispatchResult`.

    Import and export at the same site in the same period are netted (``imp − m``,
    ``exp − m`` with ``m = min(imp, exp)``). At an optimum both can be positive only
    where buy and sell price are equal, and then netting gives an equally optimal
    point (same balance, objective, emissions; looser limits), so results show a
    site either importing or exporting rather than an arbitrary pair.
    """
    imp = layout.take(x, "imp")
    exp_ = layout.take(x, "exp")
    both = np.minimum(imp, exp_)
    if inputs.econ is not None and inputs.econ.sized.any():  # sized: Pn, En become the ratings
        inputs = sized_inputs(inputs, layout.take(x, "pn")[:, 0], layout.take(x, "en")[:, 0])
    result = DispatchResult(
        inputs=inputs,
        pv=inputs.pv,
        cur=layout.take(x, "cur"),
        imp=imp - both,
        exp=exp_ - both,
        shed=layout.take(x, "shed"),
        ch=layout.take(x, "ch"),
        dis=layout.take(x, "dis"),
        e=layout.take(x, "e"),
        objective=float(objective),
        duals=named_duals(inputs, row_dual, row_families, row_blocks),
        extra={k: layout.take(x, k).copy() for k in layout.names if k.startswith("seg_")},
    )
    result.figures.update(figures(result))
    return result


def named_duals(
    inputs: Inputs,
    row_dual: np.ndarray | None,
    row_families: dict[str, slice] | None,
    row_blocks: dict[str, RowBlock] | None = None,
) -> dict[str, np.ndarray]:
    """Reshape a row-dual vector into arrays by constraint family (see DispatchResult).

    Every declared family (:data:`essdispatch.model.families.FAMILIES`) gets an array of
    shape (all its owners, T), 0 where an owner has no rows (a group without that
    limit, a site without no-grid-charging units, a family without rows); a user's
    family (a Pyomo constraint added by an extension) gets its duals as a flat
    array in the order of its rows.
    """
    if row_dual is None or not len(row_dual) or not row_families:
        return {}
    T = inputs.n_periods
    out: dict[str, np.ndarray] = {}
    for fam in FAMILIES:
        n = owner_count(fam.owner, inputs)
        days = inputs.n_days if fam.time == "D" else 0
        arr = np.zeros((n, time_extent(fam.time, T, inputs.n_months, days)))
        rows = row_families.get(fam.name)
        if rows is not None:
            block = (row_blocks or {}).get(fam.name)
            owners = block.owners if block is not None else np.arange(n)
            arr[owners] = row_dual[rows].reshape(len(owners), -1)
        out[fam.name] = arr
    for name, rows in row_families.items():
        if name not in out:
            out[name] = np.asarray(row_dual[rows], dtype=float).copy()
    return out


def figures(r: DispatchResult) -> dict:
    """Every figure of MODEL.md's table for one solve (not the Δ figures)."""
    inp = r.inputs
    dt = inp.dt_h
    net = r.imp - r.exp
    surplus_after_use = np.maximum(0.0, r.pv - r.cur - inp.load - inp.site_aux[:, None])
    grid_charge = np.maximum(0.0, r.site_sum(r.ch) - surplus_after_use)
    charge = dt * float(r.ch.sum())
    discharge = dt * float(r.dis.sum())
    stored_change = float((r.e[:, -1] - r.e[:, 0]).sum()) if inp.n_units else 0.0
    window = (inp.soc_max - inp.soc_min) * inp.energy
    dis_per_unit = dt * r.dis.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        efc = np.where(window > 0, dis_per_unit / window, 0.0)
    ci_steer = inp.steer_carbon
    return {
        "solar_available_mwh": dt * float(r.pv.sum()),
        "curtailed_mwh": dt * float(r.cur.sum()),
        "charge_mwh": charge,
        "discharge_mwh": discharge,
        "grid_charge_mwh": dt * float(grid_charge.sum()),
        "storage_losses_mwh": charge - discharge - stored_change,
        "import_mwh": dt * float(r.imp.sum()),
        "export_mwh": dt * float(r.exp.sum()),
        "unserved_mwh": dt * float(r.shed.sum()),
        "emissions_tco2": {k: dt * float((ci * net).sum()) for k, ci in inp.carbon.items()},
        "energy_cost": dt * float((inp.buy_price * r.imp - inp.sell_price * r.exp).sum()),
        "carbon_cost": inp.carbon_price * dt * float((ci_steer * net).sum()),
        # MODEL.md 13: the depth-aware segment cost is part of the degradation cost
        "degradation_cost": dt * float((inp.degradation_cost[:, None] * r.dis).sum())
        + depth_ageing_cost(r),
        "total_cost": r.objective,
        "equivalent_full_cycles": dict(zip(inp.unit_names, map(float, efc), strict=True)),
        "simultaneous_charge_discharge_mwh": dt * float(np.minimum(r.ch, r.dis).sum()),
        **economics_figures(r),
    }


def recomputed_objective(r: DispatchResult) -> float:
    """The objective of MODEL.md evaluated on the arrays (a check on the solver's value)."""
    f = r.figures
    return (
        f["energy_cost"]
        + f["carbon_cost"]
        + r.inputs.voll * f["unserved_mwh"]
        + f["degradation_cost"]
        + economics_objective_terms(r)
    )


def delta_figures(run: dict, baseline: dict) -> dict:
    """The Δ figures (baseline minus run) of MODEL.md."""
    return {
        "curtailment_absorbed_mwh": baseline["curtailed_mwh"] - run["curtailed_mwh"],
        "emissions_displaced_tco2": {
            k: baseline["emissions_tco2"][k] - v for k, v in run["emissions_tco2"].items()
        },
        "savings": baseline["total_cost"] - run["total_cost"],
        "cash_savings": baseline["cash_cost"] - run["cash_cost"],
    }


#: units of the per-site figures (``summary["per_site"][site][figure]``)
PER_SITE_UNITS = {
    "solar_available_mwh": "MWh",
    "curtailed_mwh": "MWh",
    "baseline_curtailed_mwh": "MWh",
    "curtailment_absorbed_mwh": "MWh",
    "import_mwh": "MWh",
    "export_mwh": "MWh",
    "unserved_mwh": "MWh",
    "charge_mwh": "MWh",
    "discharge_mwh": "MWh",
    "emissions_tco2": "tCO2",
    "baseline_emissions_tco2": "tCO2",
    "emissions_displaced_tco2": "tCO2",
    "energy_cost": "currency",
    "carbon_cost": "currency",
    "degradation_cost": "currency",
    "unserved_cost": "currency",
    "total_cost": "currency",
    "baseline_total_cost": "currency",
    "savings": "currency",
}

#: units of the per-unit figures (``summary["per_unit"][unit][figure]``)
PER_UNIT_UNITS = {
    "site": "",
    "power_mw": "MW",
    "charge_power_mw": "MW",
    "count": "",
    "energy_mwh": "MWh",
    "duration_h": "h",
    "charge_mwh": "MWh",
    "discharge_mwh": "MWh",
    "storage_losses_mwh": "MWh",
    "equivalent_full_cycles": "cycles",
    "degradation_cost": "currency",
    "soc_start": "fraction",
    "soc_end": "fraction",
}


def _site_costs(r: DispatchResult) -> dict[str, np.ndarray]:
    """Per-site terms of MODEL.md's objective, each (S,) [currency]; they sum to ``total_cost``."""
    inp = r.inputs
    dt = inp.dt_h
    net = r.imp - r.exp
    energy = dt * (inp.buy_price * r.imp - inp.sell_price * r.exp).sum(axis=1)
    carbon = inp.carbon_price * dt * (inp.steer_carbon * net).sum(axis=1)
    degradation = dt * r.site_sum(inp.degradation_cost[:, None] * r.dis).sum(axis=1)
    unserved = inp.voll * dt * r.shed.sum(axis=1)
    return {
        "energy_cost": energy,
        "carbon_cost": carbon,
        "degradation_cost": degradation,
        "unserved_cost": unserved,
        "total_cost": energy + carbon + degradation + unserved,
    }


def _site_emissions(r: DispatchResult) -> dict[str, np.ndarray]:
    """Per-site emissions ``Σ_t Δt·ci·(imp − exp)`` by carbon series, each (S,) [tCO2]."""
    net = r.imp - r.exp
    return {k: r.inputs.dt_h * (ci * net).sum(axis=1) for k, ci in r.inputs.carbon.items()}


def per_site_figures(run: DispatchResult, baseline: DispatchResult) -> dict[str, dict]:
    """The figures of MODEL.md split by site, run against baseline (units: :data:`PER_SITE_UNITS`).

    Every additive figure sums over the sites to the fleet figure of the same name:
    ``Σ_s total_cost = total_cost`` (MODEL.md's objective; a group limit couples sites, but
    its rows add no cost term, so the split is exact; cost terms that an extension adds are
    not split by site), ``Σ_s savings = savings``,
    ``Σ_s curtailment_absorbed_mwh = curtailment_absorbed_mwh``, and the emissions
    on each carbon series.
    """
    dt = run.inputs.dt_h
    cost, base_cost = _site_costs(run), _site_costs(baseline)
    em, base_em = _site_emissions(run), _site_emissions(baseline)
    cur = dt * run.cur.sum(axis=1)
    base_cur = dt * baseline.cur.sum(axis=1)
    arrays: dict[str, Any] = {
        "solar_available_mwh": dt * run.pv.sum(axis=1),
        "curtailed_mwh": cur,
        "baseline_curtailed_mwh": base_cur,
        "curtailment_absorbed_mwh": base_cur - cur,
        "import_mwh": dt * run.imp.sum(axis=1),
        "export_mwh": dt * run.exp.sum(axis=1),
        "unserved_mwh": dt * run.shed.sum(axis=1),
        "charge_mwh": dt * run.site_sum(run.ch).sum(axis=1),
        "discharge_mwh": dt * run.site_sum(run.dis).sum(axis=1),
        **{k: v for k, v in cost.items()},
        "baseline_total_cost": base_cost["total_cost"],
        "savings": base_cost["total_cost"] - cost["total_cost"],
    }
    out: dict[str, dict] = {}
    for s, site in enumerate(run.inputs.site_names):
        row = {k: float(v[s]) for k, v in arrays.items()}
        row["emissions_tco2"] = {k: float(v[s]) for k, v in em.items()}
        row["baseline_emissions_tco2"] = {k: float(v[s]) for k, v in base_em.items()}
        row["emissions_displaced_tco2"] = {k: float(base_em[k][s] - v[s]) for k, v in em.items()}
        out[site] = row
    return out


def per_unit_figures(run: DispatchResult) -> dict[str, dict]:
    """Size and use of every storage unit (units: :data:`PER_UNIT_UNITS`)."""
    inp = run.inputs
    dt = inp.dt_h
    if not inp.n_units:
        return {}
    charge = dt * run.ch.sum(axis=1)
    discharge = dt * run.dis.sum(axis=1)
    losses = charge - discharge - (run.e[:, -1] - run.e[:, 0])
    window = (inp.soc_max - inp.soc_min) * inp.energy
    with np.errstate(divide="ignore", invalid="ignore"):
        efc = np.where(window > 0, discharge / window, 0.0)
        soc = np.where(inp.energy[:, None] > 0, run.e[:, [0, -1]] / inp.energy[:, None], 0.0)
        duration = np.where(inp.power > 0, inp.energy / inp.power, np.inf)
    degradation = dt * (inp.degradation_cost[:, None] * run.dis).sum(axis=1)
    out: dict[str, dict] = {}
    for b, unit in enumerate(inp.unit_names):
        out[unit] = {
            "site": inp.site_names[inp.unit_site[b]],
            "count": int(inp.count[b]),
            "power_mw": float(inp.power[b]),
            "charge_power_mw": float(inp.charge_power[b]),
            "energy_mwh": float(inp.energy[b]),
            "duration_h": float(duration[b]),
            "charge_mwh": float(charge[b]),
            "discharge_mwh": float(discharge[b]),
            "storage_losses_mwh": float(losses[b]),
            "equivalent_full_cycles": float(efc[b]),
            "degradation_cost": float(degradation[b]),
            "soc_start": float(soc[b, 0]),
            "soc_end": float(soc[b, 1]),
        }
    return out
