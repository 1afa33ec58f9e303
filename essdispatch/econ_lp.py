"""Rows, column bounds and costs of MODEL.md constraints 9–12 (vectorised).

Called by :func:`essdispatch.lp.assemble_lp` when ``inputs.econ`` is set. Column
families (:data:`essdispatch.econ.ECON_FAMILIES`): ``pn``, ``en`` (sized units,
shape (Bz, 1)), ``dem`` (sites with a demand charge × months, (Sd, M)), ``q``
(compensated units, (Bq, 1)), ``z`` (units with a capacity payment, (Bc, 1)).

Row families, in this order:

``size_charge`` / ``size_discharge`` (Bz, T)
    ``ch − avail·Pn ≤ 0``, ``dis − avail·Pn ≤ 0``  (9, replacing the bounds of 5)
``size_soc_max`` / ``size_soc_min`` (Bz, T+1)
    ``e − smax·En ≤ 0``, ``e − smin·En ≥ 0``  (9, replacing the bounds of 5)
``size_initial`` (Bz,)
    ``e[0] − s0·En = 0``  (9, replacing 6)
``size_terminal`` (Bz', ) for sized units with a terminal rule
    ``e[N] − e[0] ≥ 0`` (at_least_initial) or ``= 0`` (cyclic)  (6)
``size_duration_min`` / ``size_duration_max`` (sized units with the bound)
    ``En − dmin·Pn ≥ 0``, ``En − dmax·Pn ≤ 0``  (9)
``demand_peak`` (Sd, T)
    ``imp[s,t] − D[s, m(t)] ≤ 0``  (10)
``compensation_energy`` (Bq,) and ``compensation_cycles`` (capped units)
    ``Q − Δt·Σ_t dis ≤ 0``; ``Q − n·H·(smax−smin)·E ≤ 0`` (``E`` = ``En`` when sized)  (11)
``capacity_power`` / ``capacity_energy`` (sized units with a capacity payment)
    ``Z − Pn ≤ 0``, ``Z − En/h ≤ 0``  (12); a fixed unit's ``Z ≤ min(P, E/h)`` is a bound

Objective coefficients: ``Pn``: ``H·1000·(CRF·capex_per_kw + fom)``, ``En``:
``H·1000·CRF·capex_per_kwh``, ``D[s,m]``: ``1000·d[s]·k_m``, ``Q``: ``−q``,
``Z``: ``−H·1000·c``.

A sized unit's flows and energy keep the column bounds of its maximum ratings
(``Inputs`` carries ``Pmax``, ``Emax``; valid relaxations), except the energy,
whose lower, initial and terminal bounds are relaxed to ``[0, smax·Emax]`` here
because they depend on ``En``. Exclusive mode's rows (constraint 8) use the
maximum power as big-M, so they stay a correct MILP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from essdispatch.econ import KW_PER_MW

if TYPE_CHECKING:
    from essdispatch.inputs import Inputs
    from essdispatch.lp import Layout, _Rows


def add_economics(
    rows: _Rows, inputs: Inputs, lay: Layout, c: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> None:
    """Add constraints 9–12 to an LP under assembly (``c``, ``lo``, ``hi`` edited in place)."""
    econ = inputs.econ
    if econ is None:
        return
    add_sizing(rows, inputs, lay, c, lo, hi)
    add_demand_charge(rows, inputs, lay, c)
    add_compensation(rows, inputs, lay, c, hi)
    add_capacity_payment(rows, inputs, lay, c, hi)


def add_sizing(
    rows: _Rows, inputs: Inputs, lay: Layout, c: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> None:
    """Constraint 9: ``Pmin ≤ Pn ≤ Pmax``, ``Emin ≤ En ≤ Emax``, ``dmin·Pn ≤ En ≤ dmax·Pn``;
    ``ch, dis ≤ Pn·avail``, ``smin·En ≤ e ≤ smax·En``, ``e[0] = s0·En``; cost
    ``H·1000·[CRF·(cap_kw·Pn + cap_kwh·En) + fom·Pn]``."""
    econ = inputs.econ
    units = econ.sized_units()
    if units.size == 0:
        return
    T = inputs.n_periods
    H = econ.horizon_fraction
    pn = lay.idx("pn")[:, 0]
    en = lay.idx("en")[:, 0]
    lo[pn], hi[pn] = econ.p_min[units], econ.p_max[units]
    lo[en], hi[en] = econ.e_min[units], econ.e_max[units]
    c[pn] = (
        H
        * KW_PER_MW
        * (econ.crf[units] * econ.capex_per_kw[units] + econ.fixed_om_per_kw_year[units])
    )
    c[en] = H * KW_PER_MW * econ.crf[units] * econ.capex_per_kwh[units]

    e = lay.idx("e")[units]
    lo[e] = 0.0
    hi[e] = (inputs.soc_max[units] * econ.e_max[units])[:, None]
    n = units.size
    avail = inputs.availability[units]
    for family, var in (("size_charge", "ch"), ("size_discharge", "dis")):
        r = rows.family(family, np.full(n * T, -np.inf), 0.0).reshape(n, T)
        rows.add(r, lay.idx(var)[units], 1.0)
        rows.add(r, pn[:, None], -avail)
    r = rows.family("size_soc_max", np.full(n * (T + 1), -np.inf), 0.0).reshape(n, T + 1)
    rows.add(r, e, 1.0)
    rows.add(r, en[:, None], -inputs.soc_max[units][:, None])
    r = rows.family("size_soc_min", np.zeros(n * (T + 1)), np.inf).reshape(n, T + 1)
    rows.add(r, e, 1.0)
    rows.add(r, en[:, None], -inputs.soc_min[units][:, None])
    r = rows.family("size_initial", np.zeros(n), 0.0)
    rows.add(r, e[:, 0], 1.0)
    rows.add(r, en, -inputs.soc_initial[units])
    terminal = np.asarray(inputs.terminal)[units]
    tied = np.flatnonzero(terminal != "free")
    if tied.size:
        upper = np.where(terminal[tied] == "cyclic", 0.0, np.inf)
        r = rows.family("size_terminal", np.zeros(tied.size), upper)
        rows.add(r, e[tied, T], 1.0)
        rows.add(r, e[tied, 0], -1.0)
    for family, bound, lower, upper in (
        ("size_duration_min", econ.d_min[units], 0.0, np.inf),
        ("size_duration_max", econ.d_max[units], -np.inf, 0.0),
    ):
        k = np.flatnonzero(~np.isnan(bound))
        if k.size == 0:
            continue
        r = rows.family(family, np.full(k.size, lower), upper)
        rows.add(r, en[k], 1.0)
        rows.add(r, pn[k], -bound[k])


def add_demand_charge(rows: _Rows, inputs: Inputs, lay: Layout, c: np.ndarray) -> None:
    """Constraint 10: ``D[s,m] ≥ imp[s,t]`` for t in month m; cost ``1000·d[s]·k_m·D[s,m]``."""
    econ = inputs.econ
    sites = econ.demand_sites()
    if sites.size == 0:
        return
    T = inputs.n_periods
    dem = lay.idx("dem")
    c[dem] = KW_PER_MW * econ.demand_charge[sites][:, None] * econ.month_fraction[None, :]
    r = rows.family("demand_peak", np.full(sites.size * T, -np.inf), 0.0).reshape(sites.size, T)
    rows.add(r, lay.idx("imp")[sites], 1.0)
    rows.add(r, dem[:, econ.month_of_period], -1.0)


def _energy_column(inputs: Inputs, lay: Layout, units: np.ndarray) -> np.ndarray:
    """For each of ``units``, its ``en`` column, or −1 when the unit has a fixed size."""
    econ = inputs.econ
    pos = -np.ones(inputs.n_units, dtype=np.int64)
    sized = econ.sized_units()
    pos[sized] = lay.idx("en")[:, 0]
    return pos[units]


def add_compensation(
    rows: _Rows, inputs: Inputs, lay: Layout, c: np.ndarray, hi: np.ndarray
) -> None:
    """Constraint 11: ``Q ≤ Σ_t Δt·dis``, with a cap ``Q ≤ n·H·(smax−smin)·E``; cost ``−q·Q``."""
    econ = inputs.econ
    units = econ.compensated_units()
    if units.size == 0:
        return
    T, dt, H = inputs.n_periods, inputs.dt_h, econ.horizon_fraction
    q = lay.idx("q")[:, 0]
    c[q] = -econ.compensation[units]
    r = rows.family("compensation_energy", np.full(units.size, -np.inf), 0.0)
    rows.add(r, q, 1.0)
    rows.add(np.broadcast_to(r[:, None], (units.size, T)), lay.idx("dis")[units], -dt)
    cycles = econ.compensated_cycles[units]
    capped = np.flatnonzero(~np.isnan(cycles))
    if capped.size == 0:
        return
    per_mwh = cycles[capped] * H * (inputs.soc_max - inputs.soc_min)[units[capped]]
    en = _energy_column(inputs, lay, units[capped])
    fixed = en < 0
    hi[q[capped[fixed]]] = per_mwh[fixed] * inputs.energy[units[capped[fixed]]]
    k = np.flatnonzero(~fixed)
    if k.size:
        r = rows.family("compensation_cycles", np.full(k.size, -np.inf), 0.0)
        rows.add(r, q[capped[k]], 1.0)
        rows.add(r, en[k], -per_mwh[k])


def add_capacity_payment(
    rows: _Rows, inputs: Inputs, lay: Layout, c: np.ndarray, hi: np.ndarray
) -> None:
    """Constraint 12: ``Z ≤ P``, ``Z ≤ E/h`` (``Pn``, ``En`` when sized); cost ``−H·1000·c·Z``."""
    econ = inputs.econ
    units = econ.capacity_units()
    if units.size == 0:
        return
    H = econ.horizon_fraction
    z = lay.idx("z")[:, 0]
    c[z] = -H * KW_PER_MW * econ.capacity_payment[units]
    h = econ.reference_hours[units]
    en = _energy_column(inputs, lay, units)
    fixed = en < 0
    hi[z[fixed]] = np.minimum(inputs.power[units[fixed]], inputs.energy[units[fixed]] / h[fixed])
    k = np.flatnonzero(~fixed)
    if k.size == 0:
        return
    pos = -np.ones(inputs.n_units, dtype=np.int64)
    pos[econ.sized_units()] = lay.idx("pn")[:, 0]
    r = rows.family("capacity_power", np.full(k.size, -np.inf), 0.0)
    rows.add(r, z[k], 1.0)
    rows.add(r, pos[units[k]], -1.0)
    r = rows.family("capacity_energy", np.full(k.size, -np.inf), 0.0)
    rows.add(r, z[k], 1.0)
    rows.add(r, en[k], -1.0 / h[k])
