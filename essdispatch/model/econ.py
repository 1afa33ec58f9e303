"""The economics extensions of docs/MODEL.md (constraints 9–12): data and figures.

:class:`Economics` holds the parameters of sizing (9), demand charges (10),
discharge compensation (11) and capacity payments (12) as arrays aligned with
:class:`~essdispatch.base.inputs.Inputs` (``S`` sites, ``B`` units, ``T`` periods,
``M`` calendar months touched by the horizon). It rides on ``Inputs.econ``
(``None`` when a scenario uses none of the keys, so such a scenario builds
exactly the LP it always did). The rows and columns are added by
:mod:`essdispatch.econ_lp`; the figures of MODEL.md's economics table and the
revenue streams are computed here from the solved arrays.

A sized unit enters ``Inputs`` with its *maximum* ratings (``power``,
``charge_power`` = ``Pmax``, ``energy`` = ``Emax``), which makes every column
bound and the exclusive-mode big-M rows valid relaxations; the rows of
constraint 9 then tie the flows and the state of charge to the variables ``Pn``
and ``En``. After the solve, :func:`sized_inputs` writes the optimal ``Pn``,
``En`` back, so every figure (cycles, state of charge) reads the sized unit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from essdispatch.base.inputs import Inputs
    from essdispatch.results.extract import DispatchResult

KW_PER_MW = 1000.0
HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True, eq=False)
class Economics:
    """Parameters of MODEL.md constraints 9–12 (units in brackets).

    horizon_fraction : H = N·Δt / 8760 [-]
    month_of_period : (T,) index into the months, by the local month a period starts in
    month_fraction : (M,) k_m, share of calendar month m inside the horizon [-]
    month_labels : M labels ``YYYY-MM``
    demand_charge : (S,) d[s] [currency/kW·month]; 0 = none
    sized : (B,) whether the unit is sized (constraint 9)
    p_min, p_max, e_min, e_max : (B,) size bounds [MW, MWh] (fixed units: P = min = max)
    d_min, d_max : (B,) duration bounds [h]; NaN = none
    crf : (B,) capital recovery factor [1/year]
    capex_per_kw, capex_per_kwh, fixed_om_per_kw_year : (B,) [currency/kW, /kWh, /kW·year]
    compensation : (B,) q_b [currency/MWh discharged]
    compensated_cycles : (B,) n_b [cycles/year]; NaN = no cap
    capacity_payment : (B,) c_b [currency/kW·year]
    reference_hours : (B,) h_b [h]
    """

    horizon_fraction: float
    month_of_period: np.ndarray
    month_fraction: np.ndarray
    month_labels: tuple[str, ...]
    demand_charge: np.ndarray
    sized: np.ndarray
    p_min: np.ndarray
    p_max: np.ndarray
    e_min: np.ndarray
    e_max: np.ndarray
    d_min: np.ndarray
    d_max: np.ndarray
    crf: np.ndarray
    capex_per_kw: np.ndarray
    capex_per_kwh: np.ndarray
    fixed_om_per_kw_year: np.ndarray
    compensation: np.ndarray
    compensated_cycles: np.ndarray
    capacity_payment: np.ndarray
    reference_hours: np.ndarray

    # ---------------------------------------------------------------- subsets
    _UNIT_FIELDS = (
        "sized",
        "p_min",
        "p_max",
        "e_min",
        "e_max",
        "d_min",
        "d_max",
        "crf",
        "capex_per_kw",
        "capex_per_kwh",
        "fixed_om_per_kw_year",
        "compensation",
        "compensated_cycles",
        "capacity_payment",
        "reference_hours",
    )

    def take(self, sites: np.ndarray, units: np.ndarray) -> Economics:
        """The parameters of the given site and unit indices."""
        picked = {k: getattr(self, k)[units] for k in self._UNIT_FIELDS}
        return replace(self, demand_charge=self.demand_charge[sites], **picked)

    def without_units(self) -> Economics:
        """The baseline's parameters: the sites' demand charges, no units."""
        return self.take(np.arange(len(self.demand_charge)), np.zeros(0, dtype=np.int64))

    @property
    def n_months(self) -> int:
        return len(self.month_labels)

    # ------------------------------------------------------------- owners
    def sized_units(self) -> np.ndarray:
        return np.flatnonzero(self.sized)

    def demand_sites(self) -> np.ndarray:
        return np.flatnonzero(self.demand_charge > 0)

    def compensated_units(self) -> np.ndarray:
        return np.flatnonzero(self.compensation > 0)

    def capacity_units(self) -> np.ndarray:
        return np.flatnonzero(self.capacity_payment > 0)


def couples_periods(inputs: Inputs) -> bool:
    """Whether a storage-free problem still links periods (a demand charge does)."""
    econ = getattr(inputs, "econ", None)
    return econ is not None and bool((econ.demand_charge > 0).any())


def capital_recovery_factor(rate: float, lifetime_years: float) -> float:
    """``CRF = r(1+r)^L / ((1+r)^L − 1)``; ``1/L`` when ``r = 0`` [1/year]."""
    if rate == 0.0:
        return 1.0 / lifetime_years
    g = (1.0 + rate) ** lifetime_years
    return rate * g / (g - 1.0)


# --------------------------------------------------------------------------- calendar
def month_structure(index: pd.DatetimeIndex, dt_h: float) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Months of the horizon: (month_of_period (T,), k_m (M,), labels).

    A period belongs to the local calendar month in which it starts; ``k_m`` is the
    elapsed hours of the horizon's periods in month m over the elapsed hours of the
    whole month (743 or 745 in a month with a daylight-saving change).
    """
    if len(index) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), ()
    key = index.year.to_numpy() * 12 + (index.month.to_numpy() - 1)
    months, month_of_period = np.unique(key, return_inverse=True)
    hours_in = np.bincount(month_of_period, minlength=len(months)) * dt_h
    tz = index.tz
    starts = pd.DatetimeIndex(
        [pd.Timestamp(year=int(k // 12), month=int(k % 12) + 1, day=1) for k in months]
    )
    ends = pd.DatetimeIndex(
        [pd.Timestamp(year=int((k + 1) // 12), month=int((k + 1) % 12) + 1, day=1) for k in months]
    )
    if tz is not None:
        starts = starts.tz_localize(tz, ambiguous="raise", nonexistent="shift_forward")
        ends = ends.tz_localize(tz, ambiguous="raise", nonexistent="shift_forward")
    month_hours = ((ends - starts) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    labels = tuple(f"{int(k // 12):04d}-{int(k % 12) + 1:02d}" for k in months)
    return month_of_period.astype(np.int64), hours_in / month_hours, labels


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


# --------------------------------------------------------------------------- from a scenario
def uses_economics(model: object) -> bool:
    """Whether a validated scenario uses any key of constraints 9–12."""
    for site in model.sites:
        if site.grid is not None and site.grid.demand_charge_per_kw_month > 0:
            return True
        for u in site.storage:
            if (
                u.sizing is not None
                or u.compensation_per_mwh_discharged > 0
                or u.capacity_payment_per_kw_year > 0
            ):
                return True
    return False


def build_economics(model: object, index: pd.DatetimeIndex, dt_h: float) -> Economics | None:
    """The :class:`Economics` of a validated scenario (``None`` when it uses no such key).

    Fixed-size units carry ``p_min = p_max = P·count`` and ``e_min = e_max = E·count``.
    """
    if not uses_economics(model):
        return None
    units = [u for site in model.sites for u in site.storage]

    def arr(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=float).reshape(len(units))

    def size(u, key: str, bound: str) -> float:
        if u.sizing is not None:
            return float(getattr(getattr(u.sizing, key), bound))
        return float(getattr(u, key)) * u.count

    def duration(u, bound: str) -> float:
        d = u.sizing.duration_h if u.sizing is not None else None
        value = getattr(d, bound) if d is not None else None
        return np.nan if value is None else float(value)

    def sizing(u, key: str, default: float = 0.0) -> float:
        return float(getattr(u.sizing, key)) if u.sizing is not None else default

    month_of_period, k_m, labels = month_structure(index, dt_h)
    return Economics(
        horizon_fraction=len(index) * dt_h / HOURS_PER_YEAR,
        month_of_period=month_of_period,
        month_fraction=k_m,
        month_labels=labels,
        demand_charge=np.array(
            [
                float(site.grid.demand_charge_per_kw_month) if site.grid is not None else 0.0
                for site in model.sites
            ]
        ),
        sized=np.array([u.sizing is not None for u in units], dtype=bool),
        p_min=arr([size(u, "power_mw", "min") for u in units]),
        p_max=arr([size(u, "power_mw", "max") for u in units]),
        e_min=arr([size(u, "energy_mwh", "min") for u in units]),
        e_max=arr([size(u, "energy_mwh", "max") for u in units]),
        d_min=arr([duration(u, "min") for u in units]),
        d_max=arr([duration(u, "max") for u in units]),
        crf=arr(
            [
                capital_recovery_factor(u.sizing.discount_rate, u.sizing.lifetime_years)
                if u.sizing is not None
                else 0.0
                for u in units
            ]
        ),
        capex_per_kw=arr([sizing(u, "capex_per_kw") for u in units]),
        capex_per_kwh=arr([sizing(u, "capex_per_kwh") for u in units]),
        fixed_om_per_kw_year=arr([sizing(u, "fixed_om_per_kw_year") for u in units]),
        compensation=arr([u.compensation_per_mwh_discharged for u in units]),
        compensated_cycles=arr(
            [
                np.nan if u.compensated_cycles_per_year is None else u.compensated_cycles_per_year
                for u in units
            ]
        ),
        capacity_payment=arr([u.capacity_payment_per_kw_year for u in units]),
        reference_hours=arr([u.capacity_reference_hours for u in units]),
    )


def stitch_sizes(inputs: Inputs, parts: list, x: np.ndarray, layout: object) -> None:
    """Write the sized units' ``Pn``, ``En`` of per-site results into the joint vector ``x``.

    ``parts`` are ``(site indices, DispatchResult)`` pairs as in
    :func:`essdispatch.solve.dispatch_parts.stitch`; each result's inputs carry its sized ratings.
    """
    econ = inputs.econ
    if econ is None or not econ.sized.any():
        return
    power = inputs.power.copy()
    energy = inputs.energy.copy()
    for sites, part in parts:
        units = np.flatnonzero(np.isin(inputs.unit_site, sites))
        power[units] = part.inputs.power
        energy[units] = part.inputs.energy
    sized = econ.sized_units()
    x[layout.idx("pn")[sized, 0]] = power[sized]
    x[layout.idx("en")[sized, 0]] = energy[sized]
