"""The economics of a solved dispatch (MODEL.md constraints 9–12, docs/ECONOMICS.md): the
sized ratings written back (:func:`sized_inputs`), the per-unit and per-site cost and
revenue terms (:func:`unit_figures`), the figures of MODEL.md's economics table, the
objective's economics terms, and the cash savings split by value stream
(:func:`revenue_streams`). The data they read are built in :mod:`essdispatch.model.econ`."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from essdispatch.model.econ import KW_PER_MW

if TYPE_CHECKING:
    from essdispatch.base.inputs import Inputs
    from essdispatch.results.extract import DispatchResult


# --------------------------------------------------------------------------- after solving
def sized_inputs(inputs: Inputs, pn: np.ndarray, en: np.ndarray) -> Inputs:
    """``inputs`` with each sized unit's ratings set to its optimal ``Pn``, ``En``
    (``pn``, ``en``: (B,) the solved columns, read for the sized units only)."""
    econ = inputs.econ
    if econ is None or not econ.sized.any():
        return inputs
    sized = econ.sized_units()
    power = inputs.power.copy()
    charge = inputs.charge_power.copy()
    energy = inputs.energy.copy()
    power[sized] = pn[sized]
    charge[sized] = pn[sized]
    energy[sized] = en[sized]
    return replace(inputs, power=power, charge_power=charge, energy=energy)


def creditable_power(inputs: Inputs) -> np.ndarray:
    """(B,) ``Z = min(P, E/h)`` [MW] (constraint 12), from the (sized) ratings."""
    econ = inputs.econ
    if econ is None:
        return np.zeros(inputs.n_units)
    return np.minimum(inputs.power, inputs.energy / econ.reference_hours)


def monthly_peaks(inputs: Inputs, imp: np.ndarray) -> np.ndarray:
    """(S, M) the highest import of each site in each month of the horizon [MW]."""
    econ = inputs.econ
    if econ is None or econ.n_months == 0:
        return np.zeros((inputs.n_sites, 0))
    out = np.zeros((inputs.n_sites, econ.n_months))
    np.maximum.at(out.T, econ.month_of_period, imp.T)
    return out


def unit_figures(r: DispatchResult) -> dict[str, np.ndarray]:
    """Per-unit and per-site terms of constraints 9–12 [currency], as arrays.

    ``investment`` (B,), ``compensation`` (B,), ``capacity`` (B,), ``degradation`` (B,),
    ``demand`` (S,) and ``energy`` (S,) (the energy cost ``Σ Δt·(pb·imp − ps·exp)``).
    """
    from essdispatch.model.ageing_figures import depth_ageing_cost_by_unit

    inp = r.inputs
    dt = inp.dt_h
    B, S = inp.n_units, inp.n_sites
    econ = inp.econ
    out = {
        "energy": dt * (inp.buy_price * r.imp - inp.sell_price * r.exp).sum(axis=1),
        "degradation": dt * inp.degradation_cost * r.dis.sum(axis=1)
        + depth_ageing_cost_by_unit(r)  # MODEL.md 13 (essdispatch.model.ageing)
        if B
        else np.zeros(0),
        "investment": np.zeros(B),
        "compensation": np.zeros(B),
        "capacity": np.zeros(B),
        "demand": np.zeros(S),
    }
    if econ is None:
        return out
    H = econ.horizon_fraction
    if B:
        inv = (
            H
            * KW_PER_MW
            * (
                econ.crf * (econ.capex_per_kw * inp.power + econ.capex_per_kwh * inp.energy)
                + econ.fixed_om_per_kw_year * inp.power
            )
        )
        out["investment"] = np.where(econ.sized, inv, 0.0)
        discharged = dt * r.dis.sum(axis=1)
        window = (inp.soc_max - inp.soc_min) * inp.energy
        cap = np.where(
            np.isnan(econ.compensated_cycles),
            np.inf,
            np.nan_to_num(econ.compensated_cycles) * H * window,
        )
        out["compensation"] = econ.compensation * np.minimum(discharged, cap)
        out["capacity"] = H * KW_PER_MW * econ.capacity_payment * creditable_power(inp)
    peaks = monthly_peaks(inp, r.imp)
    out["demand"] = (
        KW_PER_MW * econ.demand_charge * (peaks * econ.month_fraction[None, :]).sum(axis=1)
    )
    return out


def economics_figures(r: DispatchResult) -> dict:
    """The figures of MODEL.md's economics table for one solve.

    The baseline (no units) omits the figures of constraints 9, 11 and 12.
    """
    inp = r.inputs
    terms = unit_figures(r)
    dt = inp.dt_h
    energy_cost = float(terms["energy"].sum())
    degradation = float(terms["degradation"].sum())
    demand = float(terms["demand"].sum())
    investment = float(terms["investment"].sum())
    compensation = float(terms["compensation"].sum())
    capacity = float(terms["capacity"].sum())
    unserved_cost = dt * inp.voll * float(r.shed.sum())
    cash = energy_cost + demand + degradation + investment - compensation - capacity
    out: dict = {
        "cash_cost": cash,
        "demand_charge_cost": demand,
        "unserved_cost": unserved_cost,
        "peak_import_mw": dict(
            zip(inp.site_names, map(float, r.imp.max(axis=1, initial=0.0)), strict=True)
        ),
    }
    if inp.n_units:
        econ = inp.econ
        sized = np.zeros(inp.n_units, dtype=bool) if econ is None else econ.sized
        out.update(
            investment_cost=investment,
            compensation_revenue=compensation,
            capacity_revenue=capacity,
            sized_power_mw={
                u: float(inp.power[b]) for b, u in enumerate(inp.unit_names) if sized[b]
            },
            sized_energy_mwh={
                u: float(inp.energy[b]) for b, u in enumerate(inp.unit_names) if sized[b]
            },
        )
    return out


def economics_objective_terms(r: DispatchResult) -> float:
    """The objective's economics terms: investment + demand − compensation − capacity."""
    t = unit_figures(r)
    return float(
        t["investment"].sum() + t["demand"].sum() - t["compensation"].sum() - t["capacity"].sum()
    )


# --------------------------------------------------------------------------- streams
STREAMS = (
    "energy_arbitrage",
    "curtailed_solar_delivered",
    "demand_charge_savings",
    "discharge_compensation",
    "capacity_payment",
    "degradation_cost",
    "investment_cost",
)


def revenue_streams(run: DispatchResult, baseline: DispatchResult) -> dict:
    """Cash savings split by value stream, per site and per unit (docs/ECONOMICS.md).

    Per site s (baseline-relative where that is the stream's meaning):

    - ``curtailed_solar_delivered``: the solar the site's units absorbed (baseline
      minus run curtailment, MWh) times the site's discharge-weighted round-trip
      efficiency ``ηc·ηd`` times its discharge-weighted sell price;
    - ``energy_arbitrage``: the rest of the energy-cost saving
      (baseline − run ``Σ Δt·(pb·imp − ps·exp)``);
    - ``demand_charge_savings``: baseline − run demand-charge cost;
    - ``discharge_compensation``, ``capacity_payment``: the units' revenues;
    - ``degradation_cost``, ``investment_cost``: the units' costs, as negative entries.

    Site-level streams are shared among the site's units by their discharged
    energy (equally when none discharged). Every site's streams sum to its cash
    saving; all sites sum to ``cash_savings`` exactly (by construction).
    Returns ``{"sites": {site: {stream: value}}, "units": {unit: {stream: value}},
    "total": {stream: value}}``.
    """
    inp = run.inputs
    dt = inp.dt_h
    tr, tb = unit_figures(run), unit_figures(baseline)
    S, B = inp.n_sites, inp.n_units
    energy_saving = tb["energy"] - tr["energy"]
    demand_saving = tb["demand"] - tr["demand"]
    absorbed = dt * (baseline.cur - run.cur).sum(axis=1)
    dis_b = dt * run.dis.sum(axis=1) if B else np.zeros(0)
    dis_site = np.zeros(S)
    np.add.at(dis_site, inp.unit_site, dis_b)
    rte = np.zeros(S)
    np.add.at(rte, inp.unit_site, dis_b * inp.eta_charge * inp.eta_discharge)
    sold = np.zeros(S)
    if B:
        np.add.at(sold, inp.unit_site, dt * (run.dis * inp.sell_price[inp.unit_site]).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        rte = np.where(dis_site > 0, rte / dis_site, 0.0)
        price = np.where(dis_site > 0, sold / dis_site, 0.0)
    solar = absorbed * rte * price
    site_streams = np.zeros((S, len(STREAMS)))
    col = {k: i for i, k in enumerate(STREAMS)}
    site_streams[:, col["curtailed_solar_delivered"]] = solar
    site_streams[:, col["energy_arbitrage"]] = energy_saving - solar
    site_streams[:, col["demand_charge_savings"]] = demand_saving

    unit_streams = np.zeros((B, len(STREAMS)))
    if B:
        n_at = np.bincount(inp.unit_site, minlength=S).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(
                dis_site[inp.unit_site] > 0,
                dis_b / dis_site[inp.unit_site],
                1.0 / n_at[inp.unit_site],
            )
        for k in ("curtailed_solar_delivered", "energy_arbitrage", "demand_charge_savings"):
            unit_streams[:, col[k]] = share * site_streams[inp.unit_site, col[k]]
        unit_streams[:, col["discharge_compensation"]] = tr["compensation"]
        unit_streams[:, col["capacity_payment"]] = tr["capacity"]
        unit_streams[:, col["degradation_cost"]] = -tr["degradation"]
        unit_streams[:, col["investment_cost"]] = -tr["investment"]
        for k in (
            "discharge_compensation",
            "capacity_payment",
            "degradation_cost",
            "investment_cost",
        ):
            np.add.at(site_streams[:, col[k]], inp.unit_site, unit_streams[:, col[k]])

    def rows(names: tuple[str, ...], arr: np.ndarray) -> dict:
        return {
            n: {
                **{k: float(arr[i, j]) for k, j in col.items()},
                "cash_savings": float(arr[i].sum()),
            }
            for i, n in enumerate(names)
        }

    total = site_streams.sum(axis=0)
    return {
        "sites": rows(inp.site_names, site_streams),
        "units": rows(inp.unit_names, unit_streams),
        "total": {
            **{k: float(total[j]) for k, j in col.items()},
            "cash_savings": float(total.sum()),
        },
    }
