"""The dispatch model of docs/MODEL.md, each part declared once.

Everything that needs the structure of the model reads the two registries here,
filled by the declaration modules (:mod:`essdispatch.model.core_families` for MODEL.md
constraints 1–8, imported at the end of this module):

* :data:`VARIABLES` — the column blocks (:class:`Variable`): name, owner (site or
  unit), time index (periods ``T`` or period boundaries ``T1``), bounds (constraints
  2, 3 (site), 5 and 6 are column bounds), objective coefficients, integrality.
* :data:`FAMILIES` — the row families (:class:`Family`): name, MODEL.md constraint
  number, owner of its rows (site, unit, group), whether it couples sites, the
  vectorised builder of its COO block (:class:`Block`), its size for the
  pre-build estimate, its coefficients for the range scan and its wording in the
  infeasibility explanation.

Readers: :func:`essdispatch.model.lp.assemble_lp` (the matrix), :func:`essdispatch.model.pyomo_view.build_model`
(the Pyomo view, same names), :func:`essdispatch.results.extract.named_duals`,
:func:`essdispatch.model.numerics.estimate_size` / :func:`~essdispatch.model.numerics.coefficient_warnings`,
:mod:`essdispatch.solve.infeasibility` (elastic rows and wording) and the decomposition guard
of :mod:`essdispatch.solve.dispatch` (:func:`couples_sites`).

Adding a constraint family
--------------------------
Write one builder ``def my_rows(inputs, lay) -> Block | None`` whose docstring gives
the equation and cites the MODEL.md constraint, building its rows with whole-array
numpy (no loop over periods; see :func:`essdispatch.model.core_families.balance_rows`), and
declare it::

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

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from essdispatch.base.inputs import Inputs

if TYPE_CHECKING:
    from essdispatch.model.lp import Layout

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
    n_months: int = 0  # calendar months of the horizon (MODEL.md 10; essdispatch.model.econ)
    econ: Any = field(default=None, compare=False)  # MODEL.md 9–12 parameters, or None
    n_days: int = 0  # local calendar days of the horizon (MODEL.md 14; essdispatch.model.ageing)
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


#: the column blocks, in column order (declared by essdispatch.model.core_families and any
#: module that calls register_variable)
VARIABLES: list[Variable] = []


@dataclass(frozen=True)
class Block:
    """The rows of one family: ``lower ≤ A_block x ≤ upper``, as COO triplets.

    ``owners`` (K,) the site/unit/group index of each group of ``width`` rows
    (owner major, time minor: local row ``k·width + t``); ``lower``/``upper``
    (K·width,); ``parts`` the triplets ``(local rows, global columns, values)``, one
    per term added (kept apart so that the assembly concatenates only once;
    :attr:`rows`, :attr:`cols`, :attr:`vals` join them).
    """

    owners: np.ndarray
    width: int
    lower: np.ndarray
    upper: np.ndarray
    parts: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...] = ()

    @property
    def n_rows(self) -> int:
        return int(self.lower.size)

    def _joined(self, k: int, dtype: Any) -> np.ndarray:
        return np.concatenate([p[k] for p in self.parts]) if self.parts else np.zeros(0, dtype)

    @property
    def rows(self) -> np.ndarray:
        return self._joined(0, np.int64)

    @property
    def cols(self) -> np.ndarray:
        return self._joined(1, np.int64)

    @property
    def vals(self) -> np.ndarray:
        return self._joined(2, float)


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
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: Any) -> None:
        """Add ``vals`` at (``rows``, ``cols``), all broadcast together."""
        rows, cols = np.asarray(rows), np.asarray(cols)
        shape = np.broadcast_shapes(rows.shape, cols.shape, np.shape(vals))
        self._parts.append(
            (
                np.broadcast_to(rows, shape).ravel(),
                np.broadcast_to(cols, shape).ravel(),
                np.broadcast_to(np.asarray(vals, dtype=float), shape).ravel(),
            )
        )

    def block(self) -> Block:
        return Block(self.owners, self.width, self.lower, self.upper, tuple(self._parts))


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


#: the row families, in row order (declared by essdispatch.model.core_families and any module
#: that calls register)
FAMILIES: list[Family] = []


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
    (:func:`essdispatch.solve.dispatch.solve_dispatch`).
    """
    from essdispatch.model.lp import Layout

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


# MODEL.md constraints 1–8 and their columns, declared in their own module and registered
# here (first, so that their columns and rows come first), so every reader sees them
from essdispatch.model import core_families as _core_families  # noqa: E402, F401
from essdispatch.model import econ_families as _econ_families  # noqa: E402, F401  (MODEL.md 9–12)

# MODEL.md 13–14 (depth-aware ageing cost, cycle and throughput limits), registered after
# 1–12 (not an import statement, so that sorting imports cannot move it before them)
_ageing_families = importlib.import_module("essdispatch.model.ageing_families")
