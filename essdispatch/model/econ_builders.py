"""The builders behind the declarations of MODEL.md constraints 9–12
(:mod:`essdispatch.model.econ_families`): when each feature applies, the bounds and costs
of the columns ``pn``, ``en``, ``dem``, ``q``, ``z`` (and the stored energy of a sized
unit), and the vectorised row blocks of the thirteen families, each with its equation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from essdispatch.model.core_families import _energy_bounds
from essdispatch.model.econ import KW_PER_MW
from essdispatch.model.families import Block, BlockBuilder

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
_n_duration_min = _n(lambda e: e.sized & ~np.isnan(e.d_min))  # rows of size_duration_min
_n_duration_max = _n(lambda e: e.sized & ~np.isnan(e.d_max))  # rows of size_duration_max
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
