"""MODEL.md 13 (depth-aware ageing cost) and 14 (cycle and throughput limits) declared in
the registry of :mod:`essdispatch.model.families`.

Column blocks, present only when a unit uses the feature (owner ``segment``: the SOC
segments ``k`` of the depth-aware units, :attr:`essdispatch.model.ageing.Ageing.segment_unit`):

``seg_ch[k,t]``, ``seg_dis[k,t]`` (segment, periods)
    charge and discharge power of segment k [MW], ≥ 0; discharge costs ``Δt·c_k``.
``seg_e[k,t]`` (segment, period boundaries)
    energy in segment k [MWh], ``0 ≤ seg_e ≤ W/J``; ``seg_e[k,0]`` fixed at the initial
    fill (``s0·E − smin·E`` from the shallowest segment down).

Row families: ``seg_storage`` (segment, T), ``seg_charge``, ``seg_discharge`` (unit, T) of
13; ``cycles_day`` (unit, local days), ``cycles_year``, ``throughput_year`` (unit, one) of
14. None couples sites, so the per-site decomposition stays exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from essdispatch.model.ageing import (
    day_fraction,
    day_structure,
    horizon_fraction,
    segment_floor_loss,
    segment_initial,
    segment_width,
    window_mwh,
)
from essdispatch.model.families import (
    Block,
    BlockBuilder,
    Family,
    Variable,
    register,
    register_variable,
)

if TYPE_CHECKING:
    from essdispatch.base.inputs import Inputs
    from essdispatch.model.lp import Layout


def _ageing(c: Any) -> Any:
    return getattr(c, "ageing", None)


def _has_segments(c: Any) -> bool:
    return getattr(c, "n_segments", 0) > 0


def _limited(field: str) -> Any:
    def units(c: Any) -> np.ndarray:
        a = _ageing(c)
        if a is None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(np.isfinite(getattr(a, field)))

    return units


_day_units = _limited("max_cycles_day")
_year_units = _limited("max_cycles_year")
_throughput_units = _limited("max_throughput_year")


def _depth_units(c: Any) -> np.ndarray:
    a = _ageing(c)
    return np.unique(a.segment_unit) if a is not None else np.zeros(0, dtype=np.int64)


# =========================================================================== columns
def _seg_e_bounds(i: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """``0 ≤ seg_e[k,t] ≤ W/J``; ``seg_e[k,0]`` = the initial fill (MODEL.md 13)."""
    K, T = i.n_segments, i.n_periods
    w = segment_width(i)
    lo = np.zeros((K, T + 1))
    hi = np.repeat(w[:, None], T + 1, axis=1)
    s0 = segment_initial(i)
    lo[:, 0] = s0
    hi[:, 0] = s0
    return lo, hi


def _seg_dis_cost(i: Inputs) -> np.ndarray:
    if not _has_segments(i):
        return np.zeros(0)
    return i.dt_h * i.ageing.segment_cost[:, None]


# =========================================================================== rows
def seg_storage_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 13, every SOC segment k of unit b and period t:
    ``seg_e[k,t+1] = (1−σ)^Δt·seg_e[k,t] + ηc·Δt·seg_ch[k,t] − Δt/ηd·seg_dis[k,t]
    − (1 − (1−σ)^Δt)·smin·E/J``."""
    if not _has_segments(inputs):
        return None
    a = inputs.ageing
    u = a.segment_unit
    dt = inputs.dt_h
    K = a.n_segments
    rhs = -segment_floor_loss(inputs)[:, None]
    blk = BlockBuilder(np.arange(K), inputs.n_periods, rhs, rhs)
    r, e = blk.r, lay.idx("seg_e")
    blk.add(r, e[:, 1:], 1.0)
    blk.add(r, e[:, :-1], -((1.0 - inputs.self_discharge[u]) ** dt)[:, None])
    blk.add(r, lay.idx("seg_ch"), -inputs.eta_charge[u][:, None] * dt)
    blk.add(r, lay.idx("seg_dis"), dt / inputs.eta_discharge[u][:, None])
    return blk.block()


def _link_rows(inputs: Inputs, lay: Layout, seg_var: str, var: str) -> Block | None:
    if not _has_segments(inputs):
        return None
    a = inputs.ageing
    units = np.unique(a.segment_unit)
    pos = np.searchsorted(units, a.segment_unit)
    blk = BlockBuilder(units, inputs.n_periods, 0.0, 0.0)
    blk.add(blk.r[pos], lay.idx(seg_var), 1.0)
    blk.add(blk.r, lay.idx(var)[units], -1.0)
    return blk.block()


def seg_charge_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 13, each depth-aware unit b, period t: ``Σ_{k∈b} seg_ch[k,t] = ch[b,t]``."""
    return _link_rows(inputs, lay, "seg_ch", "ch")


def seg_discharge_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 13, each depth-aware unit b, period t: ``Σ_{k∈b} seg_dis[k,t] = dis[b,t]``."""
    return _link_rows(inputs, lay, "seg_dis", "dis")


def cycles_day_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 14, each unit b with ``max_cycles_per_day`` n_d, local calendar day d:
    ``Σ_{t∈d} Δt·dis[b,t] ≤ n_d·(smax−smin)·E·k_d`` (k_d: share of day d in the horizon)."""
    units = _day_units(inputs)
    if units.size == 0:
        return None
    codes, days = day_structure(inputs.index)
    k = day_fraction(inputs.index, inputs.dt_h)
    W = window_mwh(inputs)[units]
    upper = (inputs.ageing.max_cycles_day[units] * W)[:, None] * k[None, :]
    blk = BlockBuilder(units, days.size, -np.inf, upper)
    blk.add(blk.r[:, codes], lay.idx("dis")[units], inputs.dt_h)
    return blk.block()


def cycles_year_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 14, each unit b with ``max_cycles_per_year`` n_y:
    ``Σ_t Δt·dis[b,t] ≤ n_y·H·(smax−smin)·E``."""
    units = _year_units(inputs)
    if units.size == 0:
        return None
    H = horizon_fraction(inputs)
    upper = (inputs.ageing.max_cycles_year[units] * H * window_mwh(inputs)[units])[:, None]
    blk = BlockBuilder(units, 1, -np.inf, upper)
    blk.add(blk.r, lay.idx("dis")[units], inputs.dt_h)
    return blk.block()


def throughput_year_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 14, each unit b with ``max_throughput_mwh_per_year`` Q_y:
    ``Σ_t Δt·dis[b,t] ≤ Q_y·H``."""
    units = _throughput_units(inputs)
    if units.size == 0:
        return None
    H = horizon_fraction(inputs)
    upper = (inputs.ageing.max_throughput_year[units] * H)[:, None]
    blk = BlockBuilder(units, 1, -np.inf, upper)
    blk.add(blk.r, lay.idx("dis")[units], inputs.dt_h)
    return blk.block()


# =========================================================================== declarations
def _seg_coefficients(i: Inputs) -> np.ndarray:
    if not _has_segments(i):
        return np.ones(1)
    u = i.ageing.segment_unit
    dt = i.dt_h
    return np.concatenate(
        [i.eta_charge[u] * dt, dt / i.eta_discharge[u], (1.0 - i.self_discharge[u]) ** dt, [1.0]]
    )


def register_ageing() -> None:
    """Declare MODEL.md 13–14 (idempotent)."""
    for var in (
        Variable(
            "seg_ch",
            "segment",
            "T",
            lambda i: (0.0, np.inf),
            applies=_has_segments,
            doc="charge power of SOC segment k [MW] (constraint 13)",
        ),
        Variable(
            "seg_dis",
            "segment",
            "T",
            lambda i: (0.0, np.inf),
            cost=_seg_dis_cost,
            applies=_has_segments,
            doc="discharge power of SOC segment k [MW] (constraint 13); cost Δt·c_k",
        ),
        Variable(
            "seg_e",
            "segment",
            "T1",
            _seg_e_bounds,
            applies=_has_segments,
            doc="energy in SOC segment k [MWh], 0 ≤ seg_e ≤ W/J (constraint 13)",
        ),
    ):
        register_variable(var)

    T = lambda c: c.n_periods  # noqa: E731
    K = lambda c: getattr(c, "n_segments", 0)  # noqa: E731
    n_depth = lambda c: int(_depth_units(c).size)  # noqa: E731
    for fam in (
        Family(
            "seg_storage",
            constraint="13",
            owner="segment",
            couples_sites=False,
            build=seg_storage_rows,
            wording="energy equation of an SOC segment cannot hold",
            size=lambda c: (K(c) * T(c), 4 * K(c) * T(c)),
            coefficients=_seg_coefficients,
            slack="MWh",
        ),
        Family(
            "seg_charge",
            constraint="13",
            owner="unit",
            couples_sites=False,
            build=seg_charge_rows,
            wording="segment charge cannot add up to the unit's charge",
            size=lambda c: (n_depth(c) * T(c), (K(c) + n_depth(c)) * T(c)),
        ),
        Family(
            "seg_discharge",
            constraint="13",
            owner="unit",
            couples_sites=False,
            build=seg_discharge_rows,
            wording="segment discharge cannot add up to the unit's discharge",
            size=lambda c: (n_depth(c) * T(c), (K(c) + n_depth(c)) * T(c)),
        ),
        Family(
            "cycles_day",
            constraint="14",
            owner="unit",
            couples_sites=False,
            build=cycles_day_rows,
            wording="discharge cannot stay within the cycles allowed per day",
            size=lambda c: (_day_units(c).size * c.n_days, _day_units(c).size * T(c)),
            coefficients=lambda i: np.array([i.dt_h]),
            slack="MWh",
            time="D",
        ),
        Family(
            "cycles_year",
            constraint="14",
            owner="unit",
            couples_sites=False,
            build=cycles_year_rows,
            wording="discharge cannot stay within the cycles allowed per year",
            size=lambda c: (_year_units(c).size, _year_units(c).size * T(c)),
            coefficients=lambda i: np.array([i.dt_h]),
            slack="MWh",
            time="one",
        ),
        Family(
            "throughput_year",
            constraint="14",
            owner="unit",
            couples_sites=False,
            build=throughput_year_rows,
            wording="discharge cannot stay within the throughput allowed per year",
            size=lambda c: (_throughput_units(c).size, _throughput_units(c).size * T(c)),
            coefficients=lambda i: np.array([i.dt_h]),
            slack="MWh",
            time="one",
        ),
    ):
        register(fam)


register_ageing()
