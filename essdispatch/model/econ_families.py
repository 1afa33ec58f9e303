"""MODEL.md constraints 9–12 declared in the registry of :mod:`essdispatch.model.families`.

Column blocks (:class:`~essdispatch.model.families.Variable`), each present only when a
unit or site of the problem uses the feature:

``pn[b]``, ``en[b]`` (unit, one entry)
    sized power and energy [MW, MWh]; ``Pmin ≤ Pn ≤ Pmax``, ``Emin ≤ En ≤ Emax``;
    cost ``H·1000·(CRF·capex_per_kw + fom)`` and ``H·1000·CRF·capex_per_kwh`` (9).
    A fixed-size unit's entries are fixed at its ratings and appear in no row.
``dem[s,m]`` (site, months)
    monthly peak import ``D`` [MW]; cost ``1000·d[s]·k_m`` (10); 0 where d = 0.
``q[b]`` (unit, one)
    compensated energy ``Q`` [MWh]; cost ``−q_b`` (11); 0 where q = 0; a fixed-size
    unit's cycle cap ``n·H·(smax−smin)·E`` is its upper bound.
``z[b]`` (unit, one)
    creditable power ``Z`` [MW]; cost ``−H·1000·c_b`` (12); 0 where c = 0; a
    fixed-size unit's ``min(P, E/h)`` is its upper bound.

A sized unit enters :class:`~essdispatch.base.inputs.Inputs` with its maximum ratings,
so the bounds of ``ch``, ``dis`` (and exclusive mode's big-M, constraint 8) are
those of ``Pmax``; its stored energy ``e`` is bounded by ``[0, smax·Emax]`` only (the
``e`` declaration is wrapped here) and the rows below tie everything to ``Pn``, ``En``.

Row families (:class:`~essdispatch.model.families.Family`), declared after the core ones:
``size_charge``, ``size_discharge``, ``size_soc_max``, ``size_soc_min``,
``size_initial``, ``size_terminal``, ``size_duration_min``, ``size_duration_max`` (9),
``demand_peak`` (10), ``compensation_energy``, ``compensation_cycles`` (11),
``capacity_power``, ``capacity_energy`` (12). None couples sites: the sizing
variables belong to one unit, the demand charge to one site, so the per-site
decomposition stays exact.

The bounds, costs and row builders the declarations name are in
:mod:`essdispatch.model.econ_builders` (the row builders are re-exported here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from essdispatch.model.econ import KW_PER_MW
from essdispatch.model.econ_builders import (  # re-export
    _dem_bounds,
    _dem_cost,
    _econ_energy_bounds,
    _en_cost,
    _has_capacity,
    _has_compensation,
    _has_demand,
    _has_sized,
    _n_cap,
    _n_comp,
    _n_demand,
    _n_duration_max,
    _n_duration_min,
    _n_sized,
    _pn_cost,
    _q_bounds,
    _size_bounds,
    _when,
    _z_bounds,
    capacity_energy_rows,
    capacity_power_rows,
    compensation_cycles_rows,
    compensation_energy_rows,
    demand_peak_rows,
    size_charge_rows,
    size_discharge_rows,
    size_duration_max_rows,
    size_duration_min_rows,
    size_initial_rows,
    size_soc_max_rows,
    size_soc_min_rows,
    size_terminal_rows,
)
from essdispatch.model.families import Family, Variable, register, register_variable, variable

if TYPE_CHECKING:
    from essdispatch.base.inputs import Inputs

__all__ = [
    "capacity_energy_rows",
    "capacity_power_rows",
    "compensation_cycles_rows",
    "compensation_energy_rows",
    "demand_peak_rows",
    "register_economics",
    "size_charge_rows",
    "size_discharge_rows",
    "size_duration_max_rows",
    "size_duration_min_rows",
    "size_initial_rows",
    "size_soc_max_rows",
    "size_soc_min_rows",
    "size_terminal_rows",
]


# =========================================================================== declarations
def _sized_coefficients(i: Inputs) -> np.ndarray:
    e = i.econ
    if e is None or not e.sized.any():
        return np.ones(1)
    s = e.sized_units()
    return np.concatenate(
        [
            np.ravel(i.availability[s]),
            i.soc_max[s],
            i.soc_min[s][i.soc_min[s] > 0],
            i.soc_initial[s][i.soc_initial[s] > 0],
            np.nan_to_num(e.d_min[s]),
            np.nan_to_num(e.d_max[s]),
            [1.0],
        ]
    )


def register_economics() -> None:
    """Declare constraints 9–12 (idempotent: a declaration replaces one of the same name)."""
    e_core = variable("e")
    register_variable(
        Variable(
            "e",
            e_core.owner,
            e_core.time,
            _econ_energy_bounds,
            cost=e_core.cost,
            integer=e_core.integer,
            applies=e_core.applies,
            doc=e_core.doc + "; a sized unit's window is rows of constraint 9",
        )
    )
    for var in (
        Variable(
            "pn",
            "unit",
            "one",
            _size_bounds("p"),
            cost=_when(_has_sized, _pn_cost),
            applies=_has_sized,
            doc="sized power Pn [MW] (constraint 9); fixed-size units: fixed at P",
        ),
        Variable(
            "en",
            "unit",
            "one",
            _size_bounds("e"),
            cost=_when(_has_sized, _en_cost),
            applies=_has_sized,
            doc="sized energy En [MWh] (constraint 9); fixed-size units: fixed at E",
        ),
        Variable(
            "dem",
            "site",
            "M",
            _dem_bounds,
            cost=_when(_has_demand, _dem_cost),
            applies=_has_demand,
            doc="monthly peak import D[s,m] [MW] (constraint 10); cost 1000·d·k_m",
        ),
        Variable(
            "q",
            "unit",
            "one",
            _q_bounds,
            cost=_when(_has_compensation, lambda i: -i.econ.compensation[:, None]),
            applies=_has_compensation,
            doc="compensated discharge Q [MWh] (constraint 11); cost −q",
        ),
        Variable(
            "z",
            "unit",
            "one",
            _z_bounds,
            cost=lambda i: (
                np.zeros(0)
                if not _has_capacity(i)
                else (-(i.econ.horizon_fraction * KW_PER_MW * i.econ.capacity_payment[:, None]))
            ),
            applies=_has_capacity,
            doc="creditable power Z = min(P, E/h) [MW] (constraint 12); cost −H·1000·c",
        ),
    ):
        register_variable(var)

    T = lambda c: c.n_periods  # noqa: E731
    for fam in (
        Family(
            "size_charge",
            constraint="9",
            owner="unit",
            couples_sites=False,
            build=size_charge_rows,
            wording="charge cannot stay within the sized power",
            size=lambda c: (_n_sized(c) * T(c), 2 * _n_sized(c) * T(c)),
            coefficients=_sized_coefficients,
        ),
        Family(
            "size_discharge",
            constraint="9",
            owner="unit",
            couples_sites=False,
            build=size_discharge_rows,
            wording="discharge cannot stay within the sized power",
            size=lambda c: (_n_sized(c) * T(c), 2 * _n_sized(c) * T(c)),
            coefficients=_sized_coefficients,
        ),
        Family(
            "size_soc_max",
            constraint="9",
            owner="unit",
            couples_sites=False,
            build=size_soc_max_rows,
            wording="stored energy cannot stay below soc_max × sized energy",
            size=lambda c: (_n_sized(c) * (T(c) + 1), 2 * _n_sized(c) * (T(c) + 1)),
            coefficients=_sized_coefficients,
            slack="MWh",
            time="T1",
        ),
        Family(
            "size_soc_min",
            constraint="9",
            owner="unit",
            couples_sites=False,
            build=size_soc_min_rows,
            wording="stored energy cannot stay above soc_min × sized energy",
            size=lambda c: (_n_sized(c) * (T(c) + 1), 2 * _n_sized(c) * (T(c) + 1)),
            coefficients=_sized_coefficients,
            slack="MWh",
            time="T1",
        ),
        Family(
            "size_initial",
            constraint="9",
            owner="unit",
            couples_sites=False,
            build=size_initial_rows,
            wording="initial energy cannot equal soc_initial × sized energy",
            size=lambda c: (_n_sized(c), 2 * _n_sized(c)),
            coefficients=_sized_coefficients,
            slack="MWh",
            time="one",
        ),
        Family(
            "size_terminal",
            constraint="6",
            owner="unit",
            couples_sites=False,
            build=size_terminal_rows,
            wording="terminal rule of a sized unit cannot hold",
            size=lambda c: (_n_sized(c), 2 * _n_sized(c)),
            slack="MWh",
            time="one",
        ),
        Family(
            "size_duration_min",
            constraint="9",
            owner="unit",
            couples_sites=False,
            build=size_duration_min_rows,
            wording="sized energy cannot reach duration_h.min × sized power",
            size=lambda c: (_n_duration_min(c), 2 * _n_duration_min(c)),
            coefficients=_sized_coefficients,
            slack="MWh",
            time="one",
        ),
        Family(
            "size_duration_max",
            constraint="9",
            owner="unit",
            couples_sites=False,
            build=size_duration_max_rows,
            wording="sized energy cannot stay within duration_h.max × sized power",
            size=lambda c: (_n_duration_max(c), 2 * _n_duration_max(c)),
            coefficients=_sized_coefficients,
            slack="MWh",
            time="one",
        ),
        Family(
            "demand_peak",
            constraint="10",
            owner="site",
            couples_sites=False,
            build=demand_peak_rows,
            wording="monthly peak cannot cover the import",
            size=lambda c: (_n_demand(c) * T(c), 2 * _n_demand(c) * T(c)),
        ),
        Family(
            "compensation_energy",
            constraint="11",
            owner="unit",
            couples_sites=False,
            build=compensation_energy_rows,
            wording="compensated energy cannot stay within the discharge",
            size=lambda c: (_n_comp(c), _n_comp(c) * (T(c) + 1)),
            coefficients=lambda i: np.array([1.0, i.dt_h]),
            slack="MWh",
            time="one",
        ),
        Family(
            "compensation_cycles",
            constraint="11",
            owner="unit",
            couples_sites=False,
            build=compensation_cycles_rows,
            wording="compensated energy cannot stay within the cycle cap",
            size=lambda c: (_n_comp(c), 2 * _n_comp(c)),
            slack="MWh",
            time="one",
        ),
        Family(
            "capacity_power",
            constraint="12",
            owner="unit",
            couples_sites=False,
            build=capacity_power_rows,
            wording="creditable power cannot stay within the sized power",
            size=lambda c: (_n_cap(c), 2 * _n_cap(c)),
            time="one",
        ),
        Family(
            "capacity_energy",
            constraint="12",
            owner="unit",
            couples_sites=False,
            build=capacity_energy_rows,
            wording="creditable power cannot stay within sized energy / reference hours",
            size=lambda c: (_n_cap(c), 2 * _n_cap(c)),
            coefficients=lambda i: (
                np.concatenate([1.0 / i.econ.reference_hours, [1.0]])
                if i.econ is not None
                else np.ones(1)
            ),
            time="one",
        ),
    ):
        register(fam)


register_economics()
