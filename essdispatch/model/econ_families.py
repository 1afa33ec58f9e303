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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from essdispatch.model.core_families import _energy_bounds
from essdispatch.model.econ import KW_PER_MW
from essdispatch.model.families import (
    Block,
    BlockBuilder,
    Family,
    Variable,
    register,
    register_variable,
    variable,
)

if TYPE_CHECKING:
    from essdispatch.base.inputs import Inputs
    from essdispatch.model.lp import Layout


def _econ(c: Any) -> Any:
    return getattr(c, "econ", None)


def _has_sized(c: Any) -> bool:
    e = _econ(c)
    return e is not None and bool(e.sized.any())


def _has_demand(c: Any) -> bool:
    e = _econ(c)
    return e is not None and bool((e.demand_charge > 0).any()) and e.n_months > 0


def _has_compensation(c: Any) -> bool:
    e = _econ(c)
    return e is not None and bool((e.compensation > 0).any())


def _has_capacity(c: Any) -> bool:
    e = _econ(c)
    return e is not None and bool((e.capacity_payment > 0).any())


def _n(mask_of: Any) -> Any:
    def count(c: Any) -> int:
        e = _econ(c)
        return int(mask_of(e).sum()) if e is not None else 0

    return count


_n_sized = _n(lambda e: e.sized)
_n_demand = _n(lambda e: e.demand_charge > 0)
_n_comp = _n(lambda e: e.compensation > 0)
_n_cap = _n(lambda e: e.capacity_payment > 0)


# =========================================================================== columns
def _when(applies: Any, fn: Any) -> Any:
    """``fn(inputs)`` when the block applies, else no coefficients (readers such as the
    coefficient scan call every declared cost)."""

    def wrapped(i: Inputs) -> Any:
        return fn(i) if applies(i) else np.zeros(0)

    wrapped.__doc__ = fn.__doc__
    return wrapped


def _size_bounds(key: str) -> Any:
    def bounds(i: Inputs) -> tuple[np.ndarray, np.ndarray]:
        e = i.econ
        fixed = i.power if key == "p" else i.energy
        lo = np.where(e.sized, getattr(e, f"{key}_min"), fixed)
        hi = np.where(e.sized, getattr(e, f"{key}_max"), fixed)
        return lo[:, None], hi[:, None]

    return bounds


def _pn_cost(i: Inputs) -> np.ndarray:
    e = i.econ
    per_mw = e.horizon_fraction * KW_PER_MW * (e.crf * e.capex_per_kw + e.fixed_om_per_kw_year)
    return np.where(e.sized, per_mw, 0.0)[:, None]


def _en_cost(i: Inputs) -> np.ndarray:
    e = i.econ
    return np.where(e.sized, e.horizon_fraction * KW_PER_MW * e.crf * e.capex_per_kwh, 0.0)[:, None]


def _dem_bounds(i: Inputs) -> tuple[float, np.ndarray]:
    return 0.0, np.where(i.econ.demand_charge > 0, np.inf, 0.0)[:, None]


def _dem_cost(i: Inputs) -> np.ndarray:
    e = i.econ
    return KW_PER_MW * e.demand_charge[:, None] * e.month_fraction[None, :]


def _cycle_cap(i: Inputs) -> np.ndarray:
    """(B,) ``n·H·(smax−smin)`` [MWh of Q per MWh of E]; NaN where uncapped."""
    e = i.econ
    return e.compensated_cycles * e.horizon_fraction * (i.soc_max - i.soc_min)


def _q_bounds(i: Inputs) -> tuple[float, np.ndarray]:
    e = i.econ
    cap = _cycle_cap(i) * i.energy
    hi = np.where(e.sized | np.isnan(cap), np.inf, np.nan_to_num(cap, nan=np.inf))
    return 0.0, np.where(e.compensation > 0, hi, 0.0)[:, None]


def _z_bounds(i: Inputs) -> tuple[float, np.ndarray]:
    e = i.econ
    credit = np.minimum(i.power, i.energy / e.reference_hours)
    hi = np.where(e.sized, np.inf, credit)
    return 0.0, np.where(e.capacity_payment > 0, hi, 0.0)[:, None]


def _econ_energy_bounds(i: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """Constraints 5 and 6 on ``e``; a sized unit's are rows (``size_soc_*``,
    ``size_initial``, ``size_terminal``), so its columns keep only ``[0, smax·Emax]``."""
    lo, hi = _energy_bounds(i)
    e = i.econ
    if e is not None and e.sized.any():
        sized = e.sized_units()
        lo[sized] = 0.0
        hi[sized] = (i.soc_max[sized] * e.e_max[sized])[:, None]
    return lo, hi


# =========================================================================== rows
def size_charge_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 9 (replacing 5's bound), each sized unit b, period t:
    ``ch[b,t] ≤ Pn[b]·avail[b,t]``, as ``ch − avail·Pn ≤ 0``."""
    return _flow_rows(inputs, lay, "ch")


def size_discharge_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 9 (replacing 5's bound), each sized unit b, period t:
    ``dis[b,t] ≤ Pn[b]·avail[b,t]``, as ``dis − avail·Pn ≤ 0``."""
    return _flow_rows(inputs, lay, "dis")


def _flow_rows(inputs: Inputs, lay: Layout, var: str) -> Block | None:
    if not _has_sized(inputs):
        return None
    units = inputs.econ.sized_units()
    blk = BlockBuilder(units, inputs.n_periods, -np.inf, 0.0)
    blk.add(blk.r, lay.idx(var)[units], 1.0)
    blk.add(blk.r, lay.idx("pn")[units], -inputs.availability[units])
    return blk.block()


def size_soc_max_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 9 (replacing 5's bound), each sized unit b, t = 0…N:
    ``e[b,t] ≤ smax[b]·En[b]``, as ``e − smax·En ≤ 0``."""
    if not _has_sized(inputs):
        return None
    units = inputs.econ.sized_units()
    blk = BlockBuilder(units, inputs.n_periods + 1, -np.inf, 0.0)
    blk.add(blk.r, lay.idx("e")[units], 1.0)
    blk.add(blk.r, lay.idx("en")[units], -inputs.soc_max[units][:, None])
    return blk.block()


def size_soc_min_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 9 (replacing 5's bound), each sized unit b, t = 0…N:
    ``e[b,t] ≥ smin[b]·En[b]``, as ``e − smin·En ≥ 0``."""
    if not _has_sized(inputs):
        return None
    units = inputs.econ.sized_units()
    blk = BlockBuilder(units, inputs.n_periods + 1, 0.0, np.inf)
    blk.add(blk.r, lay.idx("e")[units], 1.0)
    blk.add(blk.r, lay.idx("en")[units], -inputs.soc_min[units][:, None])
    return blk.block()


def size_initial_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 9 (replacing 6's bound), each sized unit b: ``e[b,0] = s0[b]·En[b]``."""
    if not _has_sized(inputs):
        return None
    units = inputs.econ.sized_units()
    blk = BlockBuilder(units, 1, 0.0, 0.0)
    blk.add(blk.r, lay.idx("e")[units, :1], 1.0)
    blk.add(blk.r, lay.idx("en")[units], -inputs.soc_initial[units][:, None])
    return blk.block()


def size_terminal_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 6 for each sized unit b with a terminal rule:
    ``e[b,N] ≥ e[b,0]`` (at_least_initial) or ``e[b,N] = e[b,0]`` (cyclic)."""
    if not _has_sized(inputs):
        return None
    sized = inputs.econ.sized_units()
    terminal = np.asarray(inputs.terminal, dtype=object)[sized]
    units = sized[terminal != "free"]
    if units.size == 0:
        return None
    cyclic = np.asarray(inputs.terminal, dtype=object)[units] == "cyclic"
    blk = BlockBuilder(units, 1, 0.0, np.where(cyclic, 0.0, np.inf)[:, None])
    e = lay.idx("e")
    blk.add(blk.r, e[units, -1:], 1.0)
    blk.add(blk.r, e[units, :1], -1.0)
    return blk.block()


def _duration_rows(inputs: Inputs, lay: Layout, bound: str) -> Block | None:
    if not _has_sized(inputs):
        return None
    e = inputs.econ
    d = getattr(e, f"d_{bound}")
    units = np.flatnonzero(e.sized & ~np.isnan(d))
    if units.size == 0:
        return None
    lower, upper = (0.0, np.inf) if bound == "min" else (-np.inf, 0.0)
    blk = BlockBuilder(units, 1, lower, upper)
    blk.add(blk.r, lay.idx("en")[units], 1.0)
    blk.add(blk.r, lay.idx("pn")[units], -d[units][:, None])
    return blk.block()


def size_duration_min_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 9, each sized unit b with ``duration_h.min``: ``En[b] ≥ dmin[b]·Pn[b]``."""
    return _duration_rows(inputs, lay, "min")


def size_duration_max_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 9, each sized unit b with ``duration_h.max``: ``En[b] ≤ dmax[b]·Pn[b]``."""
    return _duration_rows(inputs, lay, "max")


def demand_peak_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 10, each site s with a demand charge, period t in month m(t):
    ``D[s,m(t)] ≥ imp[s,t]``, as ``imp − D ≤ 0``."""
    if not _has_demand(inputs):
        return None
    e = inputs.econ
    sites = e.demand_sites()
    blk = BlockBuilder(sites, inputs.n_periods, -np.inf, 0.0)
    blk.add(blk.r, lay.idx("imp")[sites], 1.0)
    blk.add(blk.r, lay.idx("dem")[sites][:, e.month_of_period], -1.0)
    return blk.block()


def compensation_energy_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 11, each compensated unit b: ``Q[b] ≤ Σ_t Δt·dis[b,t]``,
    as ``Q − Δt·Σ_t dis ≤ 0``."""
    if not _has_compensation(inputs):
        return None
    units = inputs.econ.compensated_units()
    blk = BlockBuilder(units, 1, -np.inf, 0.0)
    blk.add(blk.r, lay.idx("q")[units], 1.0)
    blk.add(blk.r, lay.idx("dis")[units], -inputs.dt_h)
    return blk.block()


def compensation_cycles_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 11, each sized compensated unit b with a cycle cap n_b:
    ``Q[b] ≤ n_b·H·(smax−smin)·En[b]`` (a fixed-size unit's cap is a bound on Q)."""
    if not (_has_compensation(inputs) and _has_sized(inputs)):
        return None
    e = inputs.econ
    per = _cycle_cap(inputs)
    units = np.flatnonzero(e.sized & (e.compensation > 0) & ~np.isnan(per))
    if units.size == 0:
        return None
    blk = BlockBuilder(units, 1, -np.inf, 0.0)
    blk.add(blk.r, lay.idx("q")[units], 1.0)
    blk.add(blk.r, lay.idx("en")[units], -per[units][:, None])
    return blk.block()


def _capacity_rows(inputs: Inputs, lay: Layout, var: str) -> Block | None:
    if not (_has_capacity(inputs) and _has_sized(inputs)):
        return None
    e = inputs.econ
    units = np.flatnonzero(e.sized & (e.capacity_payment > 0))
    if units.size == 0:
        return None
    coef = 1.0 if var == "pn" else 1.0 / e.reference_hours[units][:, None]
    blk = BlockBuilder(units, 1, -np.inf, 0.0)
    blk.add(blk.r, lay.idx("z")[units], 1.0)
    blk.add(blk.r, lay.idx(var)[units], -coef)
    return blk.block()


def capacity_power_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 12, each sized unit b with a capacity payment: ``Z[b] ≤ Pn[b]``."""
    return _capacity_rows(inputs, lay, "pn")


def capacity_energy_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 12, each sized unit b with a capacity payment: ``Z[b] ≤ En[b]/h_b``."""
    return _capacity_rows(inputs, lay, "en")


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
            size=lambda c: (_n_sized(c), 2 * _n_sized(c)),
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
            size=lambda c: (_n_sized(c), 2 * _n_sized(c)),
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
