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

The figures and the revenue streams of a solved dispatch are in
:mod:`essdispatch.model.econ_figures` (answered here too, on use).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from essdispatch._exports import lazy_names

if TYPE_CHECKING:
    from essdispatch.base.inputs import Inputs

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


#: names that moved to :mod:`essdispatch.model.econ_figures` (they read a solved dispatch;
#: that module imports this one), answered on first access
__getattr__ = lazy_names(
    __name__,
    dict.fromkeys(
        (
            "STREAMS",
            "creditable_power",
            "economics_figures",
            "economics_objective_terms",
            "monthly_peaks",
            "revenue_streams",
            "sized_inputs",
            "unit_figures",
        ),
        "essdispatch.model.econ_figures",
    ),
)
