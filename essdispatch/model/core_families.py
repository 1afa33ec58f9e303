"""The model of docs/MODEL.md, constraints 1–8: its column blocks and constraint families.

Each declaration is read by everything that needs the model's structure (see
:mod:`essdispatch.model.families`, which defines :class:`~essdispatch.model.families.Variable`,
:class:`~essdispatch.model.families.Family` and the registries these are added to).
Constraints 2, 3 (site limits), 5 and 6 are column bounds; 1, 3 (groups), 4, 7 and 8
are row families.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from essdispatch.base.inputs import Inputs
from essdispatch.model.families import (
    Block,
    BlockBuilder,
    Family,
    Variable,
    energy_decay,
    no_grid_charge_sites,
    register,
    register_variable,
    solar_surplus,
)

if TYPE_CHECKING:
    from essdispatch.model.lp import Layout


def _site_bounds(kind: str) -> Callable[[Inputs], tuple[Any, Any]]:
    def bounds(inputs: Inputs) -> tuple[Any, Any]:
        hi = {
            "imp": lambda: inputs.import_limit[:, None],
            "exp": lambda: inputs.export_limit[:, None],
            "cur": lambda: inputs.pv,
            "shed": lambda: inputs.load + inputs.site_aux[:, None],
        }[kind]()
        return 0.0, hi

    return bounds


def _energy_bounds(inputs: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """Constraints 5 and 6 on ``e[b, 0..N]``: SOC window, initial state, terminal rule."""
    B, T = inputs.n_units, inputs.n_periods
    e_lo = inputs.soc_min * inputs.energy
    e_hi = inputs.soc_max * inputs.energy
    e0 = inputs.soc_initial * inputs.energy
    lo = np.repeat(e_lo[:, None], T + 1, axis=1)
    hi = np.repeat(e_hi[:, None], T + 1, axis=1)
    lo[:, 0] = e0
    hi[:, 0] = e0
    terminal = np.asarray(inputs.terminal, dtype=object).reshape(B)
    at_least = terminal == "at_least_initial"
    cyclic = terminal == "cyclic"
    lo[at_least, T] = np.maximum(e_lo[at_least], e0[at_least])
    lo[cyclic, T] = e0[cyclic]
    hi[cyclic, T] = e0[cyclic]
    return lo, hi


def _carbon_weight(inputs: Inputs) -> np.ndarray:
    return inputs.carbon_price * inputs.steer_carbon


_VARIABLES = [
    Variable(
        "imp",
        "site",
        "T",
        _site_bounds("imp"),
        cost=lambda i: i.dt_h * (i.buy_price + _carbon_weight(i)),
        doc="grid import [MW]; 0 ≤ imp ≤ M[s] (constraint 3); cost Δt·(pb + λ·ci)",
    ),
    Variable(
        "exp",
        "site",
        "T",
        _site_bounds("exp"),
        cost=lambda i: -i.dt_h * (i.sell_price + _carbon_weight(i)),
        doc="grid export [MW]; 0 ≤ exp ≤ X[s] (constraint 3); cost −Δt·(ps + λ·ci)",
    ),
    Variable(
        "cur",
        "site",
        "T",
        _site_bounds("cur"),
        doc="solar curtailed [MW]; 0 ≤ cur ≤ pv (constraint 2)",
    ),
    Variable(
        "shed",
        "site",
        "T",
        _site_bounds("shed"),
        cost=lambda i: i.dt_h * i.voll,
        doc="unserved load [MW]; 0 ≤ shed ≤ load + aux (constraint 2); cost Δt·voll",
    ),
    Variable(
        "ch",
        "unit",
        "T",
        lambda i: (0.0, i.charge_power[:, None] * i.availability),
        doc="charge power [MW]; 0 ≤ ch ≤ Pc·avail (constraint 5)",
    ),
    Variable(
        "dis",
        "unit",
        "T",
        lambda i: (0.0, i.power[:, None] * i.availability),
        cost=lambda i: i.dt_h * i.degradation_cost[:, None],
        doc="discharge power [MW]; 0 ≤ dis ≤ P·avail (constraint 5); cost Δt·cdeg",
    ),
    Variable(
        "e",
        "unit",
        "T1",
        _energy_bounds,
        doc="stored energy at the start of period t, t = 0…N [MWh] (constraints 5, 6)",
    ),
    Variable(
        "y",
        "unit",
        "T",
        lambda i: (0.0, 1.0),
        integer=True,
        applies=lambda c: bool(c.exclusive),
        doc="1 = the unit may charge in period t (constraint 8, exclusive mode only)",
    ),
]


# =========================================================================== rows
def balance_rows(inputs: Inputs, lay: Layout) -> Block:
    """Constraint 1, every site s and period t:

    ``pv − cur + imp + Σ_{b∈B_s} dis + shed = load + aux + exp + Σ_{b∈B_s} ch``, as the row
    ``−cur + imp − exp + shed + Σ dis − Σ ch = load + aux − pv``.
    """
    rhs = inputs.load + inputs.site_aux[:, None] - inputs.pv
    blk = BlockBuilder(np.arange(inputs.n_sites), inputs.n_periods, rhs, rhs)
    r = blk.r
    blk.add(r, lay.idx("cur"), -1.0)
    blk.add(r, lay.idx("imp"), 1.0)
    blk.add(r, lay.idx("exp"), -1.0)
    blk.add(r, lay.idx("shed"), 1.0)
    if inputs.n_units:
        r_unit = r[inputs.unit_site]
        blk.add(r_unit, lay.idx("dis"), 1.0)
        blk.add(r_unit, lay.idx("ch"), -1.0)
    return blk.block()


def _group_rows(var: str, limits_of: Callable[[Inputs], np.ndarray]):
    def build(inputs: Inputs, lay: Layout) -> Block | None:
        limits = limits_of(inputs)
        finite = np.flatnonzero(np.isfinite(limits))
        if finite.size == 0:
            return None
        T = inputs.n_periods
        blk = BlockBuilder(finite, T, -np.inf, limits[finite][:, None])
        cols = lay.idx(var)
        sizes = np.array([len(inputs.group_sites[g]) for g in finite], dtype=np.int64)
        members = (
            np.concatenate([np.asarray(inputs.group_sites[g], dtype=np.int64) for g in finite])
            if sizes.sum()
            else np.zeros(0, dtype=np.int64)
        )
        which = np.repeat(np.arange(finite.size), sizes)  # group position of each member
        blk.add(blk.r[which], cols[members], 1.0)
        return blk.block()

    return build


def group_export_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 3, each group g with a finite export limit, every period t:
    ``Σ_{s∈g} exp[s,t] ≤ X[g]``."""
    return _group_rows("exp", lambda i: i.group_export_limit)(inputs, lay)


def group_import_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 3, each group g with a finite import limit, every period t:
    ``Σ_{s∈g} imp[s,t] ≤ M[g]``."""
    return _group_rows("imp", lambda i: i.group_import_limit)(inputs, lay)


def storage_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 4, every unit b and period t:

    ``e[b,t+1] = (1 − σ[b])^Δt · e[b,t] + ηc[b]·ch[b,t]·Δt − dis[b,t]·Δt/ηd[b]``, as the row
    ``e[t+1] − (1−σ)^Δt·e[t] − ηc·Δt·ch[t] + Δt/ηd·dis[t] = 0``.
    """
    B, T, dt = inputs.n_units, inputs.n_periods, inputs.dt_h
    if not B:
        return None
    blk = BlockBuilder(np.arange(B), T, 0.0, 0.0)
    r, e = blk.r, lay.idx("e")
    blk.add(r, e[:, 1:], 1.0)
    blk.add(r, e[:, :-1], -energy_decay(inputs)[:, None])
    blk.add(r, lay.idx("ch"), -inputs.eta_charge[:, None] * dt)
    blk.add(r, lay.idx("dis"), dt / inputs.eta_discharge[:, None])
    return blk.block()


def _no_grid_charge(inputs: Inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sites = no_grid_charge_sites(inputs)
    pos = -np.ones(inputs.n_sites, dtype=np.int64)
    pos[sites] = np.arange(sites.size)
    units = np.flatnonzero(~inputs.grid_charging.astype(bool))
    return sites, units, pos[inputs.unit_site[units]]


def no_grid_charge_solar_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 7, each site s with units that may not charge from the grid (B⁰_s):
    ``Σ_{b∈B⁰_s} ch[b,t] ≤ pv[s,t] − cur[s,t]``."""
    sites, units, at = _no_grid_charge(inputs)
    if sites.size == 0:
        return None
    blk = BlockBuilder(sites, inputs.n_periods, -np.inf, inputs.pv[sites])
    blk.add(blk.r, lay.idx("cur")[sites], 1.0)
    blk.add(blk.r[at], lay.idx("ch")[units], 1.0)
    return blk.block()


def no_grid_charge_surplus_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 7, each site s with units that may not charge from the grid (B⁰_s):
    ``Σ_{b∈B⁰_s} ch[b,t] ≤ max(0, pv[s,t] − load[s,t] − aux[s])``."""
    sites, units, at = _no_grid_charge(inputs)
    if sites.size == 0:
        return None
    blk = BlockBuilder(sites, inputs.n_periods, -np.inf, solar_surplus(inputs)[sites])
    blk.add(blk.r[at], lay.idx("ch")[units], 1.0)
    return blk.block()


def exclusive_charge_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 8 (``exclusive_charge_discharge: true``), every unit b and period t:
    ``ch[b,t] ≤ Pc[b]·avail[b,t]·y[b,t]``, as ``ch − Pc·avail·y ≤ 0``."""
    if not (inputs.exclusive and inputs.n_units):
        return None
    blk = BlockBuilder(np.arange(inputs.n_units), inputs.n_periods, -np.inf, 0.0)
    blk.add(blk.r, lay.idx("ch"), 1.0)
    blk.add(blk.r, lay.idx("y"), -inputs.charge_power[:, None] * inputs.availability)
    return blk.block()


def exclusive_discharge_rows(inputs: Inputs, lay: Layout) -> Block | None:
    """Constraint 8 (``exclusive_charge_discharge: true``), every unit b and period t:
    ``dis[b,t] ≤ P[b]·avail[b,t]·(1 − y[b,t])``, as ``dis + P·avail·y ≤ P·avail``."""
    if not (inputs.exclusive and inputs.n_units):
        return None
    pd_ = inputs.power[:, None] * inputs.availability
    blk = BlockBuilder(np.arange(inputs.n_units), inputs.n_periods, -np.inf, pd_)
    blk.add(blk.r, lay.idx("dis"), 1.0)
    blk.add(blk.r, lay.idx("y"), pd_)
    return blk.block()


def _storage_coefficients(inputs: Inputs) -> np.ndarray:
    dt = inputs.dt_h
    return np.concatenate(
        [inputs.eta_charge * dt, dt / inputs.eta_discharge, energy_decay(inputs), [1.0]]
    )


def _exclusive_coefficients(inputs: Inputs) -> np.ndarray:
    return np.concatenate(
        [np.ravel(inputs.charge_power[:, None] * inputs.availability), np.ravel(inputs.power), [1]]
    )


_FAMILIES = [
    Family(
        "balance",
        constraint="1",
        owner="site",
        couples_sites=False,
        build=balance_rows,
        wording="energy balance cannot close",
        size=lambda c: (c.n_sites * c.n_periods, (4 * c.n_sites + 2 * c.n_units) * c.n_periods),
    ),
    Family(
        "group_export",
        constraint="3",
        owner="group",
        couples_sites=True,
        build=group_export_rows,
        wording="export limit cannot be met",
        size=lambda c: (0, 0),  # counted with group_import (Counts does not split them)
    ),
    Family(
        "group_import",
        constraint="3",
        owner="group",
        couples_sites=True,
        build=group_import_rows,
        wording="import limit cannot be met",
        size=lambda c: (c.group_rows * c.n_periods, c.group_members * c.n_periods),
    ),
    Family(
        "storage",
        constraint="4",
        owner="unit",
        couples_sites=False,
        build=storage_rows,
        wording="energy equation cannot hold",
        size=lambda c: (c.n_units * c.n_periods, 4 * c.n_units * c.n_periods),
        coefficients=_storage_coefficients,
        slack="MWh",
    ),
    Family(
        "no_grid_charge_solar",
        constraint="7",
        owner="site",
        couples_sites=False,
        build=no_grid_charge_solar_rows,
        wording="no-grid-charging rule (charge ≤ solar) cannot hold",
        size=lambda c: (
            c.no_grid_charge_sites * c.n_periods,
            (c.no_grid_charge_sites + c.no_grid_charge_units) * c.n_periods,
        ),
    ),
    Family(
        "no_grid_charge_surplus",
        constraint="7",
        owner="site",
        couples_sites=False,
        build=no_grid_charge_surplus_rows,
        wording="no-grid-charging rule (charge ≤ solar surplus) cannot hold",
        size=lambda c: (c.no_grid_charge_sites * c.n_periods, c.no_grid_charge_units * c.n_periods),
    ),
    Family(
        "exclusive_charge",
        constraint="8",
        owner="unit",
        couples_sites=False,
        build=exclusive_charge_rows,
        wording="exclusive charge rule cannot hold",
        size=lambda c: (
            (c.n_units * c.n_periods, 2 * c.n_units * c.n_periods) if c.exclusive else (0, 0)
        ),
        coefficients=_exclusive_coefficients,
    ),
    Family(
        "exclusive_discharge",
        constraint="8",
        owner="unit",
        couples_sites=False,
        build=exclusive_discharge_rows,
        wording="exclusive discharge rule cannot hold",
        size=lambda c: (
            (c.n_units * c.n_periods, 2 * c.n_units * c.n_periods) if c.exclusive else (0, 0)
        ),
        coefficients=_exclusive_coefficients,
    ),
]


for _variable in _VARIABLES:
    register_variable(_variable)
for _family in _FAMILIES:
    register(_family)
