"""The dispatch model of docs/MODEL.md, each part declared once.

Everything that needs the structure of the model reads the two registries here:

* :data:`VARIABLES` — the column blocks (:class:`Variable`): name, owner (site or
  unit), time index (periods ``T`` or period boundaries ``T1``), bounds (constraints
  2, 3 (site), 5 and 6 are column bounds), objective coefficients, integrality.
* :data:`FAMILIES` — the row families (:class:`Family`): name, MODEL.md constraint
  number, owner of its rows (site, unit, group), whether it couples sites, the
  vectorised builder of its COO block (:class:`Block`), its size for the
  pre-build estimate, its coefficients for the range scan and its wording in the
  infeasibility explanation.

Readers: :func:`essdispatch.lp.assemble_lp` (the matrix), :func:`essdispatch.model.build_model`
(the Pyomo view, same names), :func:`essdispatch.results.named_duals`,
:func:`essdispatch.numerics.estimate_size` / :func:`~essdispatch.numerics.coefficient_warnings`,
:mod:`essdispatch.infeasibility` (elastic rows and wording) and the decomposition guard
of :mod:`essdispatch.dispatch` (:func:`couples_sites`).

Adding a constraint family
--------------------------
Write one builder ``def my_rows(inputs, lay) -> Block | None`` whose docstring gives
the equation and cites the MODEL.md constraint, building its rows with whole-array
numpy (no loop over periods; see :func:`balance_rows`), and declare it::

    register(Family("my_family", constraint="13", owner="unit", couples_sites=False,
                    build=my_rows, wording="my rule cannot hold",
                    size=lambda c: (c.n_units * c.n_periods, 2 * c.n_units * c.n_periods)))

New columns are declared the same way with :class:`Variable` (``register_variable``).
The Pyomo component ``m.my_family[unit, t]``, its duals (``result.duals["my_family"]``),
its slack and wording in the infeasibility explanation, its share of the size
estimate and of the coefficient scan, and the decomposition guard all follow
from the declaration. Then add its test: a hand-solvable case in
``tests/test_families.py`` and a fleet feature in the hypothesis test there.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from essdispatch.inputs import Inputs

if TYPE_CHECKING:
    from essdispatch.lp import Layout

#: owner kinds of rows and columns, and the Pyomo set each is indexed by
OWNER_SETS = {"site": "S", "unit": "B", "group": "G", "segment": "K"}
#: time index kinds: the Pyomo set and the number of entries (``one``: a single entry,
#: e.g. a unit's sized power; ``M``: the calendar months of the horizon, MODEL.md 10;
#: ``D``: the local calendar days of the horizon, MODEL.md 14)
TIME_SETS = {"T": "T", "T1": "T1", "one": "ONE", "M": "M", "D": "D"}


def time_extent(time: str, n_periods: int, n_months: int = 0, n_days: int = 0) -> int:
    """Entries of a time index kind: ``T`` periods, ``T1`` period boundaries 0..N,
    ``one`` a single entry, ``M`` the calendar months touched by the horizon, ``D``
    its local calendar days."""
    return {"T": n_periods, "T1": n_periods + 1, "one": 1, "M": n_months, "D": n_days}[time]


def owner_count(owner: str, counts: Any) -> int:
    """Number of sites, units, groups or SOC segments (MODEL.md 13) of an
    :class:`Inputs` or :class:`Counts`."""
    if owner == "segment":
        return int(getattr(counts, "n_segments", 0))
    return int({"site": counts.n_sites, "unit": counts.n_units, "group": counts.n_groups}[owner])


def owner_names(inputs: Inputs, owner: str) -> tuple[str, ...]:
    """The names of the sites, units, groups or SOC segments (``unit#j``) of ``inputs``."""
    if owner == "segment":
        return inputs.segment_names
    return {"site": inputs.site_names, "unit": inputs.unit_names, "group": inputs.group_names}[
        owner
    ]


# =========================================================================== counts
@dataclass(frozen=True)
class Counts:
    """The sizes a declaration's ``size`` needs, known before any array exists."""

    n_sites: int
    n_units: int
    n_periods: int
    n_groups: int = 0
    exclusive: bool = False
    group_members: int = 0  # Σ_g |g| over finite group limits (export and import separately)
    group_rows: int = 0  # number of finite group limits (export and import separately)
    no_grid_charge_sites: int = 0  # S⁰
    no_grid_charge_units: int = 0  # |B⁰|
    n_months: int = 0  # calendar months of the horizon (MODEL.md 10; essdispatch.econ)
    econ: Any = field(default=None, compare=False)  # MODEL.md 9–12 parameters, or None
    n_days: int = 0  # local calendar days of the horizon (MODEL.md 14; essdispatch.ageing)
    n_segments: int = 0  # SOC segments of depth-aware units (MODEL.md 13)
    ageing: Any = field(default=None, compare=False)  # MODEL.md 13–14 parameters, or None

    @classmethod
    def of(cls, inputs: Inputs) -> Counts:
        finite = [np.isfinite(inputs.group_export_limit), np.isfinite(inputs.group_import_limit)]
        sizes = np.array([len(s) for s in inputs.group_sites], dtype=np.int64)
        ngc = ~inputs.grid_charging.astype(bool)
        return cls(
            n_sites=inputs.n_sites,
            n_units=inputs.n_units,
            n_periods=inputs.n_periods,
            n_groups=inputs.n_groups,
            exclusive=bool(inputs.exclusive),
            group_members=int(sum(int(sizes[mask].sum()) for mask in finite)),
            group_rows=int(sum(int(mask.sum()) for mask in finite)),
            no_grid_charge_sites=int(np.unique(inputs.unit_site[ngc]).size),
            no_grid_charge_units=int(ngc.sum()),
            n_months=inputs.n_months,
            econ=inputs.econ,
            n_days=inputs.n_days,
            n_segments=inputs.n_segments,
            ageing=inputs.ageing,
        )


# =========================================================================== columns
def _always(_inputs: Any) -> bool:
    return True


@dataclass(frozen=True)
class Variable:
    """A block of columns ``name[owner, time]`` (row-major: owner major, time minor).

    ``bounds(inputs)`` gives ``(lower, upper)`` broadcastable to the block's shape;
    ``cost(inputs)`` the objective coefficient per column (None: 0); ``applies``
    whether the block exists (a block that does not apply has no columns and no
    Pyomo component).
    """

    name: str
    owner: str
    time: str
    bounds: Callable[[Inputs], tuple[Any, Any]]
    cost: Callable[[Inputs], Any] | None = None
    integer: bool = False
    applies: Callable[[Any], bool] = _always
    doc: str = ""

    def shape(self, counts: Any) -> tuple[int, int]:
        """(owners, time entries) for an :class:`Inputs` or :class:`Counts`."""
        n = owner_count(self.owner, counts)
        extent = time_extent(
            self.time,
            counts.n_periods,
            getattr(counts, "n_months", 0),
            getattr(counts, "n_days", 0) if self.time == "D" else 0,
        )
        return (n, extent if self.applies(counts) else 0)


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


VARIABLES: list[Variable] = [
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
@dataclass(frozen=True)
class Block:
    """The rows of one family: ``lower ≤ A_block x ≤ upper``, as COO triplets.

    ``owners`` (K,) the site/unit/group index of each group of ``width`` rows
    (owner major, time minor: local row ``k·width + t``); ``lower``/``upper``
    (K·width,); ``rows`` local row indices, ``cols`` global column indices.
    """

    owners: np.ndarray
    width: int
    lower: np.ndarray
    upper: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.lower.size)


class BlockBuilder:
    """Helper for builders: reserve ``owners × width`` rows, then add terms by array."""

    def __init__(self, owners: np.ndarray, width: int, lower: Any, upper: Any) -> None:
        self.owners = np.asarray(owners, dtype=np.int64).ravel()
        self.width = int(width)
        shape = (self.owners.size, self.width)
        self.lower = np.array(np.broadcast_to(np.asarray(lower, dtype=float), shape)).ravel()
        self.upper = np.array(np.broadcast_to(np.asarray(upper, dtype=float), shape)).ravel()
        #: (K, width) local row indices
        self.r = np.arange(self.owners.size * self.width).reshape(shape)
        self._rows: list[np.ndarray] = []
        self._cols: list[np.ndarray] = []
        self._vals: list[np.ndarray] = []

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: Any) -> None:
        """Add ``vals`` at (``rows``, ``cols``), all broadcast together."""
        rows, cols = np.asarray(rows), np.asarray(cols)
        shape = np.broadcast_shapes(rows.shape, cols.shape, np.shape(vals))
        self._rows.append(np.broadcast_to(rows, shape).ravel())
        self._cols.append(np.broadcast_to(cols, shape).ravel())
        self._vals.append(np.broadcast_to(np.asarray(vals, dtype=float), shape).ravel())

    def block(self) -> Block:
        def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        return Block(
            self.owners,
            self.width,
            self.lower,
            self.upper,
            cat(self._rows, np.int64),
            cat(self._cols, np.int64),
            cat(self._vals, float),
        )


@dataclass(frozen=True)
class Family:
    """One constraint family of MODEL.md, declared once (see the module docstring).

    name : row family name, Pyomo component name and key of ``result.duals``
    constraint : the MODEL.md constraint number it states
    owner : what one group of rows belongs to: ``site``, ``unit`` or ``group``
    couples_sites : whether one row can hold variables of two sites (then the
        problem cannot be solved site by site without checking these rows)
    build : ``(inputs, layout) -> Block | None`` (None: no rows for these inputs);
        its docstring is the equation
    wording : what the infeasibility explanation says when the family's slack is used
    size : ``(counts) -> (rows, nonzeros)`` before anything is built (:class:`Counts`)
    coefficients : ``(inputs) -> array`` of the matrix coefficients, for the range scan
    slack : ``MW`` (a row per period of power: its slack counts Δt × MW as energy)
        or ``MWh`` (a row of energy)
    time : the time index of the rows (``T``)
    """

    name: str
    constraint: str
    owner: str
    couples_sites: bool
    build: Callable[[Inputs, Layout], Block | None]
    wording: str
    size: Callable[[Counts], tuple[int, int]]
    coefficients: Callable[[Inputs], Any] = lambda _i: np.ones(1)
    slack: str = "MW"
    time: str = "T"

    @property
    def equation(self) -> str:
        """The builder's docstring: the equation and its MODEL.md reference."""
        return inspect.getdoc(self.build) or ""


def energy_decay(inputs: Inputs) -> np.ndarray:
    """(B,) the factor ``(1 − σ)^Δt`` applied to stored energy each period."""
    return (1.0 - inputs.self_discharge) ** inputs.dt_h


def no_grid_charge_sites(inputs: Inputs) -> np.ndarray:
    """Site indices that hold at least one unit with ``grid_charging: false``."""
    return np.unique(inputs.unit_site[~inputs.grid_charging.astype(bool)])


def solar_surplus(inputs: Inputs) -> np.ndarray:
    """(S, T) ``max(0, pv − load − aux)`` [MW]: what may charge a no-grid-charging unit."""
    return np.maximum(0.0, inputs.pv - inputs.load - inputs.site_aux[:, None])


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


FAMILIES: list[Family] = [
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


def register(family: Family) -> Family:
    """Add (or replace, by name) a constraint family; returns it."""
    for k, f in enumerate(FAMILIES):
        if f.name == family.name:
            FAMILIES[k] = family
            return family
    FAMILIES.append(family)
    return family


def register_variable(variable: Variable) -> Variable:
    """Add (or replace, by name) a column block; returns it."""
    for k, v in enumerate(VARIABLES):
        if v.name == variable.name:
            VARIABLES[k] = variable
            return variable
    VARIABLES.append(variable)
    return variable


def family(name: str) -> Family | None:
    """The declared family called ``name`` (None for a user's family)."""
    return next((f for f in FAMILIES if f.name == name), None)


def variable(name: str) -> Variable | None:
    """The declared column block called ``name``."""
    return next((v for v in VARIABLES if v.name == name), None)


def couples_sites(inputs: Inputs) -> list[str]:
    """Names of the declared families that couple sites and have rows for ``inputs``.

    The per-site decomposition drops exactly these rows and must check them after
    (:func:`essdispatch.dispatch.solve_dispatch`).
    """
    from essdispatch.lp import Layout

    lay = Layout.of(inputs)
    return [f.name for f in FAMILIES if f.couples_sites and f.build(inputs, lay) is not None]


@dataclass(frozen=True)
class RowBlock:
    """Where a family's rows sit and whom they belong to, kept on a LinearProgram.

    ``owner`` kind (``site``/``unit``/``group``, or ``constraint`` for a user's
    family); ``owners`` (K,) index per group of ``width`` rows; ``labels`` the
    Pyomo index of each row of a user's family (``()`` for declared families).
    """

    owner: str
    owners: np.ndarray
    width: int
    labels: tuple[str, ...] = field(default=())


# MODEL.md constraints 9–12 (sizing, demand charge, compensation, capacity payment) are
# declared in their own module and registered here, so every reader sees them
# MODEL.md 13–14 (depth-aware ageing cost, cycle and throughput limits), likewise
from essdispatch import ageing_families as _ageing_families  # noqa: E402, F401
from essdispatch import econ_families as _econ_families  # noqa: E402, F401
