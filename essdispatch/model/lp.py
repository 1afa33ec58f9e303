"""The dispatch LP as sparse matrices (the fast route that ``run`` uses).

:func:`assemble_lp` is a loop over the declarations of :mod:`essdispatch.model.families`:
each :class:`~essdispatch.model.families.Variable` is a block of columns, each
:class:`~essdispatch.model.families.Family` builds its rows as one vectorised COO block
(no per-period Python loop), and the result is ``min c·x  s.t.  rlo ≤ A x ≤ rhi,
lo ≤ x ≤ hi`` for HiGHS without Pyomo's per-element expression machinery. The
Pyomo view (:func:`essdispatch.model.pyomo_view.build_model`) is generated from the same
declarations and compiles back to the same :class:`LinearProgram`.

Column layout (:class:`Layout`): the variable blocks in declaration order
(``imp, exp, cur, shed`` of shape (S, T), ``ch, dis`` (B, T), ``e`` (B, T+1) and, in
exclusive mode, the binaries ``y`` (B, T)), each row-major (owner major, period
minor). Row families (:attr:`LinearProgram.row_families`) follow in declaration
order: ``balance``, ``group_export``, ``group_import``, ``storage``,
``no_grid_charge_solar``, ``no_grid_charge_surplus``, ``exclusive_charge``,
``exclusive_discharge`` (a family without rows for the inputs is left out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from essdispatch.base.inputs import Inputs
from essdispatch.model.families import (
    FAMILIES,
    VARIABLES,
    RowBlock,
    energy_decay,
    no_grid_charge_sites,
    solar_surplus,
)

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = [
    "Layout",
    "LinearProgram",
    "assemble_lp",
    "energy_decay",
    "no_grid_charge_sites",
    "solar_surplus",
]


@dataclass(frozen=True)
class Layout:
    """Where each variable block sits in the column vector."""

    n_sites: int
    n_units: int
    n_periods: int
    exclusive: bool
    offsets: dict[str, int] = field(default_factory=dict)
    shapes: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: the unit of each SOC segment (owner ``segment``, MODEL.md 13)
    segment_unit: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _idx: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, inputs: Inputs) -> Layout:
        offsets, shapes, pos = {}, {}, 0
        for var in VARIABLES:
            shapes[var.name] = var.shape(inputs)
            offsets[var.name] = pos
            pos += shapes[var.name][0] * shapes[var.name][1]
        seg = inputs.ageing.segment_unit if inputs.ageing is not None else np.zeros(0, np.int64)
        return cls(
            inputs.n_sites,
            inputs.n_units,
            inputs.n_periods,
            inputs.exclusive,
            offsets,
            shapes,
            seg,
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The variable blocks in column order."""
        return tuple(self.offsets)

    @property
    def n_cols(self) -> int:
        return sum(r * c for r, c in self.shapes.values())

    def idx(self, name: str) -> np.ndarray:
        """Column indices of a block, shaped like the block (read-only, cached)."""
        out = self._idx.get(name)
        if out is None:
            rows, cols = self.shapes[name]
            out = self.offsets[name] + np.arange(rows * cols).reshape(rows, cols)
            out.flags.writeable = False
            self._idx[name] = out
        return out

    def take(self, x: np.ndarray, name: str) -> np.ndarray:
        """The values of block ``name`` from a solution vector, shaped (owners, periods)."""
        rows, cols = self.shapes[name]
        start = self.offsets[name]
        return x[start : start + rows * cols].reshape(rows, cols)


@dataclass(frozen=True)
class LinearProgram:
    """``min c·x + offset`` s.t. ``row_lower ≤ A x ≤ row_upper``, ``col_lower ≤ x ≤ col_upper``.

    ``row_families`` maps each family to its row slice (declaration order, then a
    user's families); ``row_blocks`` says whom the rows of each family belong to.
    """

    c: np.ndarray
    offset: float
    A: sp.csc_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integrality: np.ndarray  # bool per column
    layout: Layout
    row_families: dict[str, slice]
    row_blocks: dict[str, RowBlock] = field(default_factory=dict)

    @property
    def n_cols(self) -> int:
        return len(self.c)

    @property
    def n_rows(self) -> int:
        return len(self.row_lower)

    @property
    def is_mip(self) -> bool:
        return bool(self.integrality.any())


def column_data(
    inputs: Inputs, lay: Layout
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lower, upper, cost, integrality) of every column, from the variable declarations."""
    n = lay.n_cols
    lo, hi, c = np.zeros(n), np.full(n, np.inf), np.zeros(n)
    integrality = np.zeros(n, dtype=bool)
    for var in VARIABLES:
        shape = lay.shapes[var.name]
        if shape[0] * shape[1] == 0:
            continue
        cols = lay.idx(var.name)
        low, up = var.bounds(inputs)
        lo[cols] = np.broadcast_to(np.asarray(low, dtype=float), shape)
        hi[cols] = np.broadcast_to(np.asarray(up, dtype=float), shape)
        if var.cost is not None:
            c[cols] = np.broadcast_to(np.asarray(var.cost(inputs), dtype=float), shape)
        integrality[cols] = var.integer
    return lo, hi, c, integrality


def assemble_lp(inputs: Inputs) -> LinearProgram:
    """Build the LP of docs/MODEL.md as sparse matrices from the declared families.

    Parameters
    ----------
    inputs : the problem data (already scaled for ``count``).

    Returns
    -------
    LinearProgram with its :class:`Layout`, the row slice of each constraint family
    and its :class:`~essdispatch.model.families.RowBlock`.
    """
    lay = Layout.of(inputs)
    lo, hi, c, integrality = column_data(inputs, lay)
    rows, cols, vals, lower, upper = [], [], [], [], []
    shifts: list[tuple[int, int, int]] = []  # (first entry, last entry, row offset)
    families: dict[str, slice] = {}
    blocks: dict[str, RowBlock] = {}
    n_rows = n_entries = 0
    for fam in FAMILIES:
        block = fam.build(inputs, lay)
        if block is None:
            continue
        size = 0
        for r, c_, v in block.parts:
            rows.append(r)
            cols.append(c_)
            vals.append(v)
            size += r.size
        shifts.append((n_entries, n_entries + size, n_rows))
        n_entries += size
        lower.append(block.lower)
        upper.append(block.upper)
        families[fam.name] = slice(n_rows, n_rows + block.n_rows)
        blocks[fam.name] = RowBlock(fam.owner, block.owners, block.width)
        n_rows += block.n_rows
    import scipy.sparse as sp  # imported at the first assembly: `validate` never needs it

    if rows:
        row_index = np.concatenate(rows)
        for a, b, offset in shifts:  # local rows -> rows of the program, in place
            if offset:
                row_index[a:b] += offset
        coo = sp.coo_array(
            (np.concatenate(vals), (row_index, np.concatenate(cols))),
            shape=(n_rows, lay.n_cols),
        )
        A = sp.csc_array(coo)
    else:
        A = sp.csc_array((0, lay.n_cols))
    return LinearProgram(
        c=c,
        offset=0.0,
        A=A,
        row_lower=np.concatenate(lower) if lower else np.zeros(0),
        row_upper=np.concatenate(upper) if upper else np.zeros(0),
        col_lower=lo,
        col_upper=hi,
        integrality=integrality,
        layout=lay,
        row_families=families,
        row_blocks=blocks,
    )
