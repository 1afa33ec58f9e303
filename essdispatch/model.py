"""The dispatch model of docs/MODEL.md as a Pyomo ``ConcreteModel``.

:func:`build_model` states the model one constraint family per ``add_*``
function, each with its equation in the docstring. It is the model a user
inspects and extends (add a constraint, change the objective) and then solves
with :func:`solve_model`, which compiles it with Pyomo's
``LinearStandardFormCompiler`` and passes the matrices straight to HiGHS.

``essdispatch run`` uses the same problem assembled directly as sparse matrices
(:mod:`essdispatch.lp`, ``backend="direct"``) because Pyomo's per-element
construction dominates run time at year scale (see benchmarks/RESULTS.md); the
tests check that both routes reach the same optimum. Index sets are positions:
``m.S`` sites, ``m.B`` units, ``m.T`` periods ``0..N-1``, ``m.T1`` ``0..N``;
``m.site_names`` / ``m.unit_names`` hold the names.

Constraints 2, 5 and 6 and the site limits of 3 are variable bounds here, as in
:mod:`essdispatch.lp`.
"""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from essdispatch.inputs import Inputs
from essdispatch.lp import (
    Layout,
    LinearProgram,
    energy_decay,
    no_grid_charge_sites,
    solar_surplus,
)


def _bound(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def build_model(inputs: Inputs) -> pyo.ConcreteModel:
    """Build the Pyomo model of MODEL.md for ``inputs``.

    The numeric inputs are kept on the model as ``m.inputs``.
    """
    m = pyo.ConcreteModel(name=inputs.name)
    m.inputs = inputs
    m.site_names = list(inputs.site_names)
    m.unit_names = list(inputs.unit_names)
    m.S = pyo.RangeSet(0, inputs.n_sites - 1)
    m.B = pyo.RangeSet(0, inputs.n_units - 1)
    m.T = pyo.RangeSet(0, inputs.n_periods - 1)
    m.T1 = pyo.RangeSet(0, inputs.n_periods)
    add_variables(m, inputs)
    add_site_balance(m, inputs)
    add_group_limits(m, inputs)
    add_storage_energy(m, inputs)
    add_no_grid_charging(m, inputs)
    add_exclusive_charge_discharge(m, inputs)
    set_objective(m, inputs)
    return m


def add_variables(m: pyo.ConcreteModel, inputs: Inputs) -> None:
    """Variables (all ≥ 0) with the bounds of constraints 2, 3 (site), 5 and 6.

    ``0 ≤ imp[s,t] ≤ M[s]``, ``0 ≤ exp[s,t] ≤ X[s]``, ``0 ≤ cur[s,t] ≤ pv[s,t]``,
    ``0 ≤ shed[s,t] ≤ load[s,t] + aux[s]``, ``0 ≤ ch[b,t] ≤ Pc[b]·avail[b,t]``,
    ``0 ≤ dis[b,t] ≤ P[b]·avail[b,t]``, ``smin[b]·E[b] ≤ e[b,t] ≤ smax[b]·E[b]``,
    ``e[b,0] = s0[b]·E[b]`` and the terminal rule: ``e[b,N] ≥ e[b,0]``
    (at_least_initial), ``e[b,N] = e[b,0]`` (cyclic) or free.
    """
    T = inputs.n_periods
    M = [_bound(v) for v in inputs.import_limit]
    X = [_bound(v) for v in inputs.export_limit]
    pv = inputs.pv.tolist()
    shed_hi = (inputs.load + inputs.site_aux[:, None]).tolist()
    m.imp = pyo.Var(m.S, m.T, bounds=lambda m, s, t: (0.0, M[s]))
    m.exp = pyo.Var(m.S, m.T, bounds=lambda m, s, t: (0.0, X[s]))
    m.cur = pyo.Var(m.S, m.T, bounds=lambda m, s, t: (0.0, pv[s][t]))
    m.shed = pyo.Var(m.S, m.T, bounds=lambda m, s, t: (0.0, shed_hi[s][t]))

    ch_hi = (inputs.charge_power[:, None] * inputs.availability).tolist()
    dis_hi = (inputs.power[:, None] * inputs.availability).tolist()
    e_lo = (inputs.soc_min * inputs.energy).tolist()
    e_hi = (inputs.soc_max * inputs.energy).tolist()
    e0 = (inputs.soc_initial * inputs.energy).tolist()
    terminal = list(inputs.terminal)

    def e_bounds(m, b, t):
        if t == 0:
            return (e0[b], e0[b])
        if t == T and terminal[b] == "cyclic":
            return (e0[b], e0[b])
        if t == T and terminal[b] == "at_least_initial":
            return (max(e_lo[b], e0[b]), e_hi[b])
        return (e_lo[b], e_hi[b])

    m.ch = pyo.Var(m.B, m.T, bounds=lambda m, b, t: (0.0, ch_hi[b][t]))
    m.dis = pyo.Var(m.B, m.T, bounds=lambda m, b, t: (0.0, dis_hi[b][t]))
    m.e = pyo.Var(m.B, m.T1, bounds=e_bounds)
    if inputs.exclusive:
        m.y = pyo.Var(m.B, m.T, domain=pyo.Binary)


def add_site_balance(m: pyo.ConcreteModel, inputs: Inputs) -> None:
    """Constraint 1, every site s and period t:

    ``pv[s,t] − cur[s,t] + imp[s,t] + Σ_{b∈B_s} dis[b,t] + shed[s,t]
    = load[s,t] + aux[s] + exp[s,t] + Σ_{b∈B_s} ch[b,t]``
    """
    units_at = [np.flatnonzero(inputs.unit_site == s).tolist() for s in range(inputs.n_sites)]
    pv = inputs.pv.tolist()
    load = inputs.load.tolist()
    aux = inputs.site_aux.tolist()

    def rule(m, s, t):
        storage = sum(m.dis[b, t] - m.ch[b, t] for b in units_at[s])
        return (
            pv[s][t] - m.cur[s, t] + m.imp[s, t] + m.shed[s, t] - m.exp[s, t] + storage
            == load[s][t] + aux[s]
        )

    m.balance = pyo.Constraint(m.S, m.T, rule=rule)


def add_group_limits(m: pyo.ConcreteModel, inputs: Inputs) -> None:
    """Constraint 3 for groups g with a finite limit, every period t:

    ``Σ_{s∈g} exp[s,t] ≤ X[g]`` and ``Σ_{s∈g} imp[s,t] ≤ M[g]``.
    """
    m.G = pyo.RangeSet(0, inputs.n_groups - 1)
    members = [np.asarray(g).tolist() for g in inputs.group_sites]
    X = inputs.group_export_limit.tolist()
    M = inputs.group_import_limit.tolist()

    def export_rule(m, g, t):
        if not np.isfinite(X[g]):
            return pyo.Constraint.Skip
        return sum(m.exp[s, t] for s in members[g]) <= X[g]

    def import_rule(m, g, t):
        if not np.isfinite(M[g]):
            return pyo.Constraint.Skip
        return sum(m.imp[s, t] for s in members[g]) <= M[g]

    m.group_export = pyo.Constraint(m.G, m.T, rule=export_rule)
    m.group_import = pyo.Constraint(m.G, m.T, rule=import_rule)


def add_storage_energy(m: pyo.ConcreteModel, inputs: Inputs) -> None:
    """Constraint 4, every unit b and period t:

    ``e[b,t+1] = (1 − σ[b])^Δt · e[b,t] + ηc[b]·ch[b,t]·Δt − dis[b,t]·Δt/ηd[b]``
    """
    dt = inputs.dt_h
    decay = energy_decay(inputs).tolist()
    eta_c = inputs.eta_charge.tolist()
    eta_d = inputs.eta_discharge.tolist()

    def rule(m, b, t):
        return (
            m.e[b, t + 1]
            == decay[b] * m.e[b, t] + eta_c[b] * dt * m.ch[b, t] - (dt / eta_d[b]) * m.dis[b, t]
        )

    m.storage = pyo.Constraint(m.B, m.T, rule=rule)


def add_no_grid_charging(m: pyo.ConcreteModel, inputs: Inputs) -> None:
    """Constraint 7, each site s with units that may not charge from the grid (B⁰_s):

    ``Σ_{b∈B⁰_s} ch[b,t] ≤ pv[s,t] − cur[s,t]`` and
    ``Σ_{b∈B⁰_s} ch[b,t] ≤ max(0, pv[s,t] − load[s,t] − aux[s])``.
    """
    sites = no_grid_charge_sites(inputs).tolist()
    m.S0 = pyo.Set(initialize=sites, ordered=True)
    no_gc = ~inputs.grid_charging.astype(bool)
    units = {s: np.flatnonzero(no_gc & (inputs.unit_site == s)).tolist() for s in sites}
    pv = inputs.pv.tolist()
    surplus = solar_surplus(inputs).tolist()

    m.no_grid_charge_solar = pyo.Constraint(
        m.S0, m.T, rule=lambda m, s, t: sum(m.ch[b, t] for b in units[s]) + m.cur[s, t] <= pv[s][t]
    )
    m.no_grid_charge_surplus = pyo.Constraint(
        m.S0, m.T, rule=lambda m, s, t: sum(m.ch[b, t] for b in units[s]) <= surplus[s][t]
    )


def add_exclusive_charge_discharge(m: pyo.ConcreteModel, inputs: Inputs) -> None:
    """Constraint 8 (``exclusive_charge_discharge: true``), binary ``y[b,t]``:

    ``ch[b,t] ≤ Pc[b]·avail[b,t]·y[b,t]`` and ``dis[b,t] ≤ P[b]·avail[b,t]·(1 − y[b,t])``.
    """
    if not inputs.exclusive:
        return
    pc = (inputs.charge_power[:, None] * inputs.availability).tolist()
    pd_ = (inputs.power[:, None] * inputs.availability).tolist()
    m.exclusive_charge = pyo.Constraint(
        m.B, m.T, rule=lambda m, b, t: m.ch[b, t] <= pc[b][t] * m.y[b, t]
    )
    m.exclusive_discharge = pyo.Constraint(
        m.B, m.T, rule=lambda m, b, t: m.dis[b, t] <= pd_[b][t] * (1 - m.y[b, t])
    )


def set_objective(m: pyo.ConcreteModel, inputs: Inputs) -> None:
    """Grid-carbon-weighted cost, minimised:

    ``Σ_t Δt·Σ_s [(pb + λ·ci)·imp − (ps + λ·ci)·exp + voll·shed] + Σ_t Δt·Σ_b cdeg·dis``
    """
    dt = inputs.dt_h
    ci = inputs.carbon_price * inputs.steer_carbon
    buy = (dt * (inputs.buy_price + ci)).tolist()
    sell = (dt * (inputs.sell_price + ci)).tolist()
    voll = dt * inputs.voll
    cdeg = (dt * inputs.degradation_cost).tolist()
    expr = sum(
        buy[s][t] * m.imp[s, t] - sell[s][t] * m.exp[s, t] + voll * m.shed[s, t]
        for s in m.S
        for t in m.T
    ) + sum(cdeg[b] * m.dis[b, t] for b in m.B for t in m.T)
    m.cost = pyo.Objective(expr=expr, sense=pyo.minimize)


def model_columns(m: pyo.ConcreteModel) -> list:
    """The model's variables in :class:`essdispatch.lp.Layout` order."""
    cols = []
    for name in Layout.of(m.inputs).names:
        var = getattr(m, name, None)
        if var is not None:
            cols.extend(var.values())
    return cols


def compile_model(m: pyo.ConcreteModel) -> tuple[LinearProgram, list]:
    """Compile a (possibly user-extended) model to a :class:`LinearProgram` for HiGHS.

    Returns the program and its column list (Pyomo ``VarData`` in column order).
    The columns of the built-in variables come first, in layout order, so that
    :func:`essdispatch.results.extract` reads them; variables a user added
    follow.
    """
    info = LinearStandardFormCompiler().write(
        m, mixed_form=True, set_sense=pyo.minimize, column_order=model_columns(m)
    )
    sense = np.array([r.bound_type for r in info.rows], dtype=np.int64)
    rhs = np.asarray(info.rhs, dtype=float)
    row_lower = np.where(sense >= 0, np.where(sense == 0, rhs, -np.inf), rhs)
    row_upper = np.where(sense <= 0, np.where(sense == 0, rhs, np.inf), rhs)
    cols = list(info.columns)
    lb = np.array([-np.inf if v.lb is None else v.lb for v in cols], dtype=float)
    ub = np.array([np.inf if v.ub is None else v.ub for v in cols], dtype=float)
    integrality = np.array([v.is_integer() or v.is_binary() for v in cols], dtype=bool)
    c = np.asarray(info.c.toarray()).ravel() if info.c.shape[0] else np.zeros(len(cols))
    lp = LinearProgram(
        c=c,
        offset=float(info.c_offset[0]) if len(info.c_offset) else 0.0,
        A=info.A.tocsc(),
        row_lower=row_lower,
        row_upper=row_upper,
        col_lower=lb,
        col_upper=ub,
        integrality=integrality,
        layout=Layout.of(m.inputs),
        row_families={},
    )
    return lp, cols


def solve_model(m: pyo.ConcreteModel, options=None):
    """Compile ``m``, solve it with HiGHS, load the values into its variables.

    Returns ``(DispatchResult, timings)``; raises :class:`SolveError` unless optimal.
    Variables missing from the compiled problem (appearing in no constraint and
    not in the objective) are reported as 0.
    """
    from essdispatch.results import extract
    from essdispatch.solve import solve_lp

    t0 = time.perf_counter()
    lp, cols = compile_model(m)
    t1 = time.perf_counter()
    sol = solve_lp(lp, options)
    t2 = time.perf_counter()
    expected = model_columns(m)
    x = np.zeros(lp.layout.n_cols)
    if len(cols) >= len(expected) and all(a is b for a, b in zip(cols, expected, strict=False)):
        x[:] = sol.x[: len(expected)]
    else:  # a variable was dropped by the compiler: place values by identity
        where = {id(v): i for i, v in enumerate(expected)}
        for j, v in enumerate(cols):
            i = where.get(id(v))
            if i is not None:
                x[i] = sol.x[j]
    for v, val in zip(cols, sol.x, strict=True):
        v.set_value(float(val), skip_validation=True)
    result = extract(m.inputs, lp.layout, x, sol.objective)
    t3 = time.perf_counter()
    timings = {
        "compile_seconds": t1 - t0,
        "transfer_seconds": sol.transfer_seconds,
        "solve_seconds": sol.solve_seconds,
        "extract_seconds": t3 - t2,
    }
    return result, timings
