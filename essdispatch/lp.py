"""Vectorised assembly of the dispatch LP as sparse matrices (the fast route).

This builds exactly the problem that :func:`essdispatch.model.build_model` states
in Pyomo (docs/MODEL.md), directly as ``min c·x  s.t.  rlo ≤ A x ≤ rhi,
lo ≤ x ≤ hi`` with numpy/scipy and no per-period Python loop, so that it can go
to HiGHS without Pyomo's per-element expression machinery. The tests check that
both routes give the same optimum on the same inputs.

Column layout (:class:`Layout`): blocks ``imp, exp, cur, shed`` of shape (S, T),
``ch, dis`` of shape (B, T), ``e`` of shape (B, T+1), and in exclusive mode the
binaries ``y`` of shape (B, T) (1 = the unit may charge in that period), each
block row-major (site or unit major, period minor).

Row families (:attr:`LinearProgram.row_families`, in this order):

``balance`` (S, T)
    ``−cur + imp − exp + shed + Σ_b dis − Σ_b ch = load + aux − pv``  (constraint 1)
``group_export`` / ``group_import`` (G', T) for groups with a finite limit
    ``Σ_{s∈g} exp[s,t] ≤ X[g]``, ``Σ_{s∈g} imp[s,t] ≤ M[g]``  (constraint 3)
``storage`` (B, T)
    ``e[t+1] − (1−σ)^Δt·e[t] − ηc·Δt·ch[t] + Δt/ηd·dis[t] = 0``  (constraint 4)
``no_grid_charge_solar`` / ``no_grid_charge_surplus`` (S⁰, T), sites with units that have ``gc = false``
    ``Σ_{b∈B⁰_s} ch + cur ≤ pv`` and ``Σ_{b∈B⁰_s} ch ≤ max(0, pv − load − aux)``  (constraint 7)
``exclusive_charge`` / ``exclusive_discharge`` (B, T), MILP only
    ``ch − Pc·avail·y ≤ 0`` and ``dis + P·avail·y ≤ P·avail``  (constraint 8)

Constraints 2, 5 and 6 are column bounds: ``cur ≤ pv``, ``shed ≤ load + aux``,
``exp ≤ X[s]``, ``imp ≤ M[s]``, ``ch ≤ Pc·avail``, ``dis ≤ P·avail``,
``smin·E ≤ e ≤ smax·E``, ``e[0] = s0·E`` and the terminal rule on ``e[N]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from essdispatch.econ import ECON_FAMILIES, econ_shapes
from essdispatch.inputs import Inputs

FAMILIES = ("imp", "exp", "cur", "shed", "ch", "dis", "e", "y", *ECON_FAMILIES)


@dataclass(frozen=True)
class Layout:
    """Where each variable family sits in the column vector."""

    n_sites: int
    n_units: int
    n_periods: int
    exclusive: bool
    offsets: dict[str, int] = field(default_factory=dict)
    shapes: dict[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, inputs: Inputs) -> Layout:
        S, B, T = inputs.n_sites, inputs.n_units, inputs.n_periods
        shapes = {
            "imp": (S, T),
            "exp": (S, T),
            "cur": (S, T),
            "shed": (S, T),
            "ch": (B, T),
            "dis": (B, T),
            "e": (B, T + 1),
            "y": (B, T) if inputs.exclusive else (B, 0),
            **econ_shapes(inputs),  # MODEL.md 9–12 (essdispatch.econ_lp); empty when unused
        }
        offsets, pos = {}, 0
        for name in FAMILIES:
            offsets[name] = pos
            pos += shapes[name][0] * shapes[name][1]
        return cls(S, B, T, inputs.exclusive, offsets, shapes)

    @property
    def n_cols(self) -> int:
        last = FAMILIES[-1]
        return self.offsets[last] + self.shapes[last][0] * self.shapes[last][1]

    def idx(self, name: str) -> np.ndarray:
        """Column indices of a family, shaped like the family."""
        rows, cols = self.shapes[name]
        return self.offsets[name] + np.arange(rows * cols).reshape(rows, cols)

    def take(self, x: np.ndarray, name: str) -> np.ndarray:
        """The values of family ``name`` from a solution vector, shaped (rows, periods)."""
        rows, cols = self.shapes[name]
        start = self.offsets[name]
        return x[start : start + rows * cols].reshape(rows, cols)


@dataclass(frozen=True)
class LinearProgram:
    """``min c·x + offset`` s.t. ``row_lower ≤ A x ≤ row_upper``, ``col_lower ≤ x ≤ col_upper``."""

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

    @property
    def n_cols(self) -> int:
        return len(self.c)

    @property
    def n_rows(self) -> int:
        return len(self.row_lower)

    @property
    def is_mip(self) -> bool:
        return bool(self.integrality.any())


class _Rows:
    """Accumulates COO triplets and row bounds family by family."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.families: dict[str, slice] = {}
        self.n = 0

    def family(self, name: str, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """Reserve ``len(lower)`` rows; returns their indices (flat)."""
        lower = np.asarray(lower, dtype=float).ravel()
        upper = np.asarray(upper, dtype=float)
        upper = upper.ravel() if upper.size == lower.size else np.broadcast_to(upper, lower.shape)
        idx = self.n + np.arange(lower.size)
        self.families[name] = slice(self.n, self.n + lower.size)
        self.lower.append(lower)
        self.upper.append(np.array(upper))
        self.n += lower.size
        return idx

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | float) -> None:
        rows = np.asarray(rows)
        cols = np.asarray(cols)
        vals = np.broadcast_to(
            np.asarray(vals, dtype=float), np.broadcast_shapes(rows.shape, cols.shape)
        )
        self.rows.append(np.broadcast_to(rows, vals.shape).ravel())
        self.cols.append(np.broadcast_to(cols, vals.shape).ravel())
        self.vals.append(vals.ravel())

    def matrix(self, n_cols: int) -> sp.csc_array:
        if not self.rows:
            return sp.csc_array((self.n, n_cols))
        r = np.concatenate(self.rows)
        c = np.concatenate(self.cols)
        v = np.concatenate(self.vals)
        return sp.csc_array(sp.coo_array((v, (r, c)), shape=(self.n, n_cols)))


def energy_decay(inputs: Inputs) -> np.ndarray:
    """(B,) the factor ``(1 − σ)^Δt`` applied to stored energy each period."""
    return (1.0 - inputs.self_discharge) ** inputs.dt_h


def no_grid_charge_sites(inputs: Inputs) -> np.ndarray:
    """Site indices that hold at least one unit with ``grid_charging: false``."""
    return np.unique(inputs.unit_site[~inputs.grid_charging.astype(bool)])


def solar_surplus(inputs: Inputs) -> np.ndarray:
    """(S, T) ``max(0, pv − load − aux)`` [MW]: what may charge a no-grid-charging unit."""
    return np.maximum(0.0, inputs.pv - inputs.load - inputs.site_aux[:, None])


def assemble_lp(inputs: Inputs) -> LinearProgram:
    """Build the LP of docs/MODEL.md as sparse matrices, vectorised.

    Parameters
    ----------
    inputs : the problem data (already scaled for ``count``).

    Returns
    -------
    LinearProgram with its :class:`Layout` and the row slice of each constraint family.
    """
    lay = Layout.of(inputs)
    B, T, dt = inputs.n_units, inputs.n_periods, inputs.dt_h
    n = lay.n_cols
    aux = inputs.site_aux

    imp, exp_, cur, shed = (lay.idx(k) for k in ("imp", "exp", "cur", "shed"))
    ch, dis, e = lay.idx("ch"), lay.idx("dis"), lay.idx("e")

    # ---------------------------------------------------------------- bounds
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    hi[imp] = inputs.import_limit[:, None]
    hi[exp_] = inputs.export_limit[:, None]
    hi[cur] = inputs.pv
    hi[shed] = inputs.load + aux[:, None]
    if B:
        hi[ch] = inputs.charge_power[:, None] * inputs.availability
        hi[dis] = inputs.power[:, None] * inputs.availability
        e_lo = inputs.soc_min * inputs.energy
        e_hi = inputs.soc_max * inputs.energy
        e0 = inputs.soc_initial * inputs.energy
        lo[e] = e_lo[:, None]
        hi[e] = e_hi[:, None]
        lo[e[:, 0]] = e0
        hi[e[:, 0]] = e0
        terminal = np.asarray(inputs.terminal)
        at_least = terminal == "at_least_initial"
        cyclic = terminal == "cyclic"
        lo[e[at_least, T]] = np.maximum(e_lo[at_least], e0[at_least])
        lo[e[cyclic, T]] = e0[cyclic]
        hi[e[cyclic, T]] = e0[cyclic]
    integrality = np.zeros(n, dtype=bool)
    if inputs.exclusive and B:
        y = lay.idx("y")
        hi[y] = 1.0
        integrality[y] = True

    # ------------------------------------------------------------- objective
    c = np.zeros(n)
    ci = inputs.carbon_price * inputs.steer_carbon
    c[imp] = dt * (inputs.buy_price + ci)
    c[exp_] = -dt * (inputs.sell_price + ci)
    c[shed] = dt * inputs.voll
    if B:
        c[dis] = dt * inputs.degradation_cost[:, None]

    # ------------------------------------------------------------------ rows
    rows = _Rows()
    add_balance_rows(rows, inputs, lay)
    add_group_rows(rows, inputs, lay)
    if B:
        add_storage_rows(rows, inputs, lay)
        add_no_grid_charging_rows(rows, inputs, lay)
        if inputs.exclusive:
            add_exclusive_rows(rows, inputs, lay)
    if inputs.econ is not None:  # MODEL.md 9–12: rows, bounds and costs of the extensions
        from essdispatch.econ_lp import add_economics

        add_economics(rows, inputs, lay, c, lo, hi)
    A = rows.matrix(n)
    return LinearProgram(
        c=c,
        offset=0.0,
        A=A,
        row_lower=np.concatenate(rows.lower) if rows.lower else np.zeros(0),
        row_upper=np.concatenate(rows.upper) if rows.upper else np.zeros(0),
        col_lower=lo,
        col_upper=hi,
        integrality=integrality,
        layout=lay,
        row_families=rows.families,
    )


def add_balance_rows(rows: _Rows, inputs: Inputs, lay: Layout) -> None:
    """Constraint 1: ``−cur + imp − exp + shed + Σ dis − Σ ch = load + aux − pv``."""
    rhs = inputs.load + inputs.site_aux[:, None] - inputs.pv
    r = rows.family("balance", rhs, rhs).reshape(inputs.n_sites, inputs.n_periods)
    rows.add(r, lay.idx("cur"), -1.0)
    rows.add(r, lay.idx("imp"), 1.0)
    rows.add(r, lay.idx("exp"), -1.0)
    rows.add(r, lay.idx("shed"), 1.0)
    if inputs.n_units:
        r_unit = r[inputs.unit_site]
        rows.add(r_unit, lay.idx("dis"), 1.0)
        rows.add(r_unit, lay.idx("ch"), -1.0)


def add_group_rows(rows: _Rows, inputs: Inputs, lay: Layout) -> None:
    """Constraint 3 (groups): ``Σ_{s∈g} exp[s,t] ≤ X[g]``, ``Σ_{s∈g} imp[s,t] ≤ M[g]``."""
    T = inputs.n_periods
    for family, var, limits in (
        ("group_export", "exp", inputs.group_export_limit),
        ("group_import", "imp", inputs.group_import_limit),
    ):
        finite = np.flatnonzero(np.isfinite(limits))
        if finite.size == 0:
            continue
        r = rows.family(family, np.full(finite.size * T, -np.inf), np.repeat(limits[finite], T))
        r = r.reshape(finite.size, T)
        cols = lay.idx(var)
        for k, g in enumerate(finite):  # loop over groups, not periods
            members = np.asarray(inputs.group_sites[g], dtype=np.int64)
            rows.add(np.broadcast_to(r[k], (members.size, T)), cols[members], 1.0)


def add_storage_rows(rows: _Rows, inputs: Inputs, lay: Layout) -> None:
    """Constraint 4: ``e[t+1] − (1−σ)^Δt·e[t] − ηc·Δt·ch + Δt/ηd·dis = 0``."""
    B, T, dt = inputs.n_units, inputs.n_periods, inputs.dt_h
    r = rows.family("storage", np.zeros(B * T), 0.0).reshape(B, T)
    e = lay.idx("e")
    rows.add(r, e[:, 1:], 1.0)
    rows.add(r, e[:, :-1], np.broadcast_to(-energy_decay(inputs)[:, None], (B, T)))
    rows.add(r, lay.idx("ch"), np.broadcast_to(-inputs.eta_charge[:, None] * dt, (B, T)))
    rows.add(r, lay.idx("dis"), np.broadcast_to(dt / inputs.eta_discharge[:, None], (B, T)))


def add_no_grid_charging_rows(rows: _Rows, inputs: Inputs, lay: Layout) -> None:
    """Constraint 7, per site with units that may not charge from the grid (``B⁰_s``).

    ``Σ_{b∈B⁰_s} ch[b,t] ≤ pv[s,t] − cur[s,t]`` and
    ``Σ_{b∈B⁰_s} ch[b,t] ≤ max(0, pv[s,t] − load[s,t] − aux[s])``.
    """
    sites = no_grid_charge_sites(inputs)
    if sites.size == 0:
        return
    T = inputs.n_periods
    pos = -np.ones(inputs.n_sites, dtype=np.int64)
    pos[sites] = np.arange(sites.size)
    units = np.flatnonzero(~inputs.grid_charging.astype(bool))
    ch = lay.idx("ch")

    r1 = rows.family("no_grid_charge_solar", np.full(sites.size * T, -np.inf), inputs.pv[sites])
    r1 = r1.reshape(sites.size, T)
    rows.add(r1, lay.idx("cur")[sites], 1.0)
    rows.add(r1[pos[inputs.unit_site[units]]], ch[units], 1.0)

    surplus = solar_surplus(inputs)[sites]
    r2 = rows.family("no_grid_charge_surplus", np.full(sites.size * T, -np.inf), surplus)
    r2 = r2.reshape(sites.size, T)
    rows.add(r2[pos[inputs.unit_site[units]]], ch[units], 1.0)


def add_exclusive_rows(rows: _Rows, inputs: Inputs, lay: Layout) -> None:
    """Constraint 8: ``ch ≤ Pc·avail·y`` and ``dis ≤ P·avail·(1 − y)``, ``y`` binary."""
    B, T = inputs.n_units, inputs.n_periods
    y = lay.idx("y")
    pc = inputs.charge_power[:, None] * inputs.availability
    pd_ = inputs.power[:, None] * inputs.availability
    r1 = rows.family("exclusive_charge", np.full(B * T, -np.inf), 0.0).reshape(B, T)
    rows.add(r1, lay.idx("ch"), 1.0)
    rows.add(r1, y, -pc)
    r2 = rows.family("exclusive_discharge", np.full(B * T, -np.inf), pd_).reshape(B, T)
    rows.add(r2, lay.idx("dis"), 1.0)
    rows.add(r2, y, pd_)
