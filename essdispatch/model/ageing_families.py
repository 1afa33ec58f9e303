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

With sizing (MODEL.md 9) a sized unit's segments are bounded by its maximum ``W/J`` (the
unit enters with ``Emax``) and rows tie them to the sized energy ``En``, all linear in
``En`` (MODEL.md "Ageing with sizing"): ``seg_size_cap`` (segment, T+1)
``seg_e ≤ (smax−smin)·En/J``, ``seg_size_initial`` (segment, one)
``seg_e[k,0] = f_k·(smax−smin)·En/J`` (``f_k`` the fill fraction of the initial state,
independent of ``En``); the floor's self-discharge loss in ``seg_storage`` and the
right-hand sides of ``cycles_day`` and ``cycles_year`` take ``En`` as a column.
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


def _sized(c: Any) -> np.ndarray:
    """(B,) whether each unit is sized (MODEL.md 9); all False without sizing."""
    e = getattr(c, "econ", None)
    if e is None or not e.sized.any():
        return np.zeros(c.n_units, dtype=bool)
    return np.asarray(e.sized, dtype=bool)


def _sized_segments(c: Any) -> np.ndarray:
    """Indices of the SOC segments whose unit is sized."""
    a = _ageing(c)
    if a is None or a.n_segments == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(_sized(c)[a.segment_unit])


def segment_fill_fraction(i: Inputs) -> np.ndarray:
    """(K,) ``f_k = min(1, max(0, J·(s0 − smin)/(smax − smin) − (j−1)))``: the initial fill
    of each segment as a fraction of its width, whatever the energy (MODEL.md 13)."""
    a = i.ageing
    u = a.segment_unit
    window = i.soc_max[u] - i.soc_min[u]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(window > 0, (i.soc_initial[u] - i.soc_min[u]) / window, 0.0)
    return np.clip(a.segments[u] * share - a.segment_pos, 0.0, 1.0)


def _per_en(i: Inputs) -> np.ndarray:
    """(K,) ``(smax − smin)/J`` of each segment's unit: its width per MWh of ``En``."""
    a = i.ageing
    u = a.segment_unit
    return (i.soc_max[u] - i.soc_min[u]) / a.segments[u]


# =========================================================================== columns
def _seg_e_bounds(i: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """``0 ≤ seg_e[k,t] ≤ W/J``; ``seg_e[k,0]`` = the initial fill (MODEL.md 13)."""
    K, T = i.n_segments, i.n_periods
    w = segment_width(i)
    lo = np.zeros((K, T + 1))
    hi = np.repeat(w[:, None], T + 1, axis=1)
    s0 = segment_initial(i)
    fixed = np.ones(K, dtype=bool)
    fixed[_sized_segments(i)] = False  # a sized unit's start is a row (seg_size_initial)
    lo[fixed, 0] = s0[fixed]
    hi[fixed, 0] = s0[fixed]
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
    loss = segment_floor_loss(inputs)
    sized = _sized_segments(inputs)
    loss[sized] = 0.0  # a sized unit's floor loss is a column term (below)
    rhs = -loss[:, None]
    blk = BlockBuilder(np.arange(K), inputs.n_periods, rhs, rhs)
    r, e = blk.r, lay.idx("seg_e")
    blk.add(r, e[:, 1:], 1.0)
    decay = (1.0 - inputs.self_discharge[u]) ** dt
    blk.add(r, e[:, :-1], -decay[:, None])
    blk.add(r, lay.idx("seg_ch"), -inputs.eta_charge[u][:, None] * dt)
    blk.add(r, lay.idx("seg_dis"), dt / inputs.eta_discharge[u][:, None])
    if sized.size:  # + (1 − (1−σ)^Δt)·smin/J·En
        per_en = (1.0 - decay[sized]) * inputs.soc_min[u[sized]] / a.segments[u[sized]]
        blk.add(r[sized], lay.idx("en")[u[sized]], per_en[:, None])
    return blk.block()


def seg_size_cap_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 13 with sizing (9), each segment k of a sized unit b, t = 0…N:
    ``seg_e[k,t] ≤ (smax−smin)·En[b]/J``, as ``seg_e − (smax−smin)/J·En ≤ 0``."""
    segs = _sized_segments(inputs)
    if segs.size == 0:
        return None
    u = inputs.ageing.segment_unit[segs]
    blk = BlockBuilder(segs, inputs.n_periods + 1, -np.inf, 0.0)
    blk.add(blk.r, lay.idx("seg_e")[segs], 1.0)
    blk.add(blk.r, lay.idx("en")[u], -_per_en(inputs)[segs][:, None])
    return blk.block()


def seg_size_initial_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 13 with sizing (9), each segment k of a sized unit b:
    ``seg_e[k,0] = f_k·(smax−smin)·En[b]/J`` (``f_k``: the initial fill fraction)."""
    segs = _sized_segments(inputs)
    if segs.size == 0:
        return None
    u = inputs.ageing.segment_unit[segs]
    coef = (segment_fill_fraction(inputs) * _per_en(inputs))[segs]
    blk = BlockBuilder(segs, 1, 0.0, 0.0)
    blk.add(blk.r, lay.idx("seg_e")[segs, :1], 1.0)
    blk.add(blk.r, lay.idx("en")[u], -coef[:, None])
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
    ``Σ_{t∈d} Δt·dis[b,t] ≤ n_d·(smax−smin)·E·k_d`` (k_d: share of day d in the horizon);
    a sized unit (9): ``Σ_{t∈d} Δt·dis[b,t] − n_d·(smax−smin)·k_d·En[b] ≤ 0``."""
    units = _day_units(inputs)
    if units.size == 0:
        return None
    codes, days = day_structure(inputs.index)
    k = day_fraction(inputs.index, inputs.dt_h)
    W = window_mwh(inputs)[units]
    sized = _sized(inputs)[units]
    upper = (np.where(sized, 0.0, inputs.ageing.max_cycles_day[units] * W))[:, None] * k[None, :]
    blk = BlockBuilder(units, days.size, -np.inf, upper)
    blk.add(blk.r[:, codes], lay.idx("dis")[units], inputs.dt_h)
    if sized.any():  # − n_d·(smax−smin)·k_d·En
        s = units[sized]
        per_en = inputs.ageing.max_cycles_day[s] * (inputs.soc_max[s] - inputs.soc_min[s])
        blk.add(blk.r[sized], lay.idx("en")[s], -per_en[:, None] * k[None, :])
    return blk.block()


def cycles_year_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 14, each unit b with ``max_cycles_per_year`` n_y:
    ``Σ_t Δt·dis[b,t] ≤ n_y·H·(smax−smin)·E``; a sized unit (9):
    ``Σ_t Δt·dis[b,t] − n_y·H·(smax−smin)·En[b] ≤ 0``."""
    units = _year_units(inputs)
    if units.size == 0:
        return None
    H = horizon_fraction(inputs)
    n_y = inputs.ageing.max_cycles_year[units]
    sized = _sized(inputs)[units]
    upper = np.where(sized, 0.0, n_y * H * window_mwh(inputs)[units])[:, None]
    blk = BlockBuilder(units, 1, -np.inf, upper)
    blk.add(blk.r, lay.idx("dis")[units], inputs.dt_h)
    if sized.any():  # − n_y·H·(smax−smin)·En
        s = units[sized]
        per_en = n_y[sized] * H * (inputs.soc_max[s] - inputs.soc_min[s])
        blk.add(blk.r[sized], lay.idx("en")[s], -per_en[:, None])
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
    decay = (1.0 - i.self_discharge[u]) ** dt
    s = _sized_segments(i)
    floor = ((1.0 - decay) * i.soc_min[u] / i.ageing.segments[u])[s]
    return np.concatenate(
        [i.eta_charge[u] * dt, dt / i.eta_discharge[u], decay, floor[floor > 0], [1.0]]
    )


def _seg_size_coefficients(i: Inputs) -> np.ndarray:
    s = _sized_segments(i)
    if s.size == 0:
        return np.ones(1)
    per = _per_en(i)[s]
    fill = segment_fill_fraction(i)[s] * per
    return np.concatenate([per, fill[fill > 0], [1.0]])


def _n_sized_segments(c: Any) -> int:
    return int(_sized_segments(c).size)


def _n_sized_in(units_of: Any) -> Any:
    def count(c: Any) -> int:
        units = units_of(c)
        return int(_sized(c)[units].sum()) if units.size else 0

    return count


def _limit_coefficients(field: str) -> Any:
    def coefficients(i: Inputs) -> np.ndarray:
        a = _ageing(i)
        sized = _sized(i)
        n = getattr(a, field)[sized] if a is not None else np.zeros(0)
        per = n[np.isfinite(n)] * (i.soc_max[sized] - i.soc_min[sized])[np.isfinite(n)]
        if field == "max_cycles_year":
            per = per * horizon_fraction(i)
        return np.concatenate([[i.dt_h], per[per > 0]])

    return coefficients


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
            size=lambda c: (K(c) * T(c), (4 * K(c) + _n_sized_segments(c)) * T(c)),
            coefficients=_seg_coefficients,
            slack="MWh",
        ),
        Family(
            "seg_size_cap",
            constraint="13",
            owner="segment",
            couples_sites=False,
            build=seg_size_cap_rows,
            wording="a sized unit's SOC segment cannot stay within its share of the sized energy",
            size=lambda c: (
                _n_sized_segments(c) * (T(c) + 1),
                2 * _n_sized_segments(c) * (T(c) + 1),
            ),
            coefficients=_seg_size_coefficients,
            slack="MWh",
            time="T1",
        ),
        Family(
            "seg_size_initial",
            constraint="13",
            owner="segment",
            couples_sites=False,
            build=seg_size_initial_rows,
            wording="a sized unit's SOC segment cannot start at its share of the initial energy",
            size=lambda c: (_n_sized_segments(c), 2 * _n_sized_segments(c)),
            coefficients=_seg_size_coefficients,
            slack="MWh",
            time="one",
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
            size=lambda c: (
                _day_units(c).size * c.n_days,
                _day_units(c).size * T(c) + _n_sized_in(_day_units)(c) * c.n_days,
            ),
            coefficients=_limit_coefficients("max_cycles_day"),
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
            size=lambda c: (
                _year_units(c).size,
                _year_units(c).size * T(c) + _n_sized_in(_year_units)(c),
            ),
            coefficients=_limit_coefficients("max_cycles_year"),
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
