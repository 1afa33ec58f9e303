"""The dispatch model of docs/MODEL.md as a Pyomo ``ConcreteModel``: the modelling view.

One model, two views. The model is declared once, in :mod:`essdispatch.model.families`;
:func:`assemble_lp` builds its matrices directly (the fast route ``run`` uses) and
:func:`build_model` generates the Pyomo model from the same declarations, with a
named, indexed component per variable block and per constraint family:

* variables ``m.imp[s,t]``, ``m.exp[s,t]``, ``m.cur[s,t]``, ``m.shed[s,t]``,
  ``m.ch[b,t]``, ``m.dis[b,t]``, ``m.e[b,t]`` (t = 0…N) and, in exclusive mode,
  ``m.y[b,t]``, with the bounds of constraints 2, 3 (site), 5 and 6;
* constraints ``m.balance[s,t]``, ``m.group_export[g,t]``, ``m.group_import[g,t]``,
  ``m.storage[b,t]``, ``m.no_grid_charge_solar[s,t]``,
  ``m.no_grid_charge_surplus[s,t]``, ``m.exclusive_charge[b,t]``,
  ``m.exclusive_discharge[b,t]`` (indexed by the owners that have rows);
* the objective ``m.cost``.

Index sets are positions: ``m.S`` sites, ``m.B`` units, ``m.G`` groups, ``m.T``
periods ``0..N-1``, ``m.T1`` ``0..N``; ``m.site_names`` / ``m.unit_names`` /
``m.group_names`` hold the names and ``m.inputs`` the numbers.

A user inspects and extends this model (add a variable or a constraint, change
the objective), then :func:`compile_model` compiles it back with Pyomo's
``LinearStandardFormCompiler`` into the same :class:`~essdispatch.model.lp.LinearProgram`
that :func:`assemble_lp` gives, its row families recovered from the component
names: a constraint the user added becomes a family of its own, with duals and a
place in the infeasibility explanation. :func:`essdispatch.solve.pyomo_route.solve_model` solves it with HiGHS
(re-exported as ``essdispatch.model.solve_model``).
Building the Pyomo view costs per element (benchmarks/RESULTS.md: 21.8 s build +
23.0 s compile at 20×8760 against 0.62 s for the direct assembly).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.core.expr.numeric_expr import LinearExpression
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from essdispatch.base.inputs import Inputs
from essdispatch.model.families import (
    FAMILIES,
    OWNER_SETS,
    TIME_SETS,
    VARIABLES,
    RowBlock,
    family,
    no_grid_charge_sites,
)
from essdispatch.model.lp import Layout, LinearProgram, assemble_lp, column_data

__all__ = ["assemble_lp", "build_model", "compile_model", "model_columns"]


def _bound(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def build_model(inputs: Inputs) -> pyo.ConcreteModel:
    """The Pyomo model of MODEL.md for ``inputs``, generated from the declared families.

    Parameters
    ----------
    inputs : the problem data (kept on the model as ``m.inputs``)

    Returns
    -------
    ConcreteModel with the components listed in the module docstring.
    """
    m = pyo.ConcreteModel(name=inputs.name)
    m.inputs = inputs
    m.site_names = list(inputs.site_names)
    m.unit_names = list(inputs.unit_names)
    m.group_names = list(inputs.group_names)
    m.S = pyo.RangeSet(0, inputs.n_sites - 1)
    m.B = pyo.RangeSet(0, inputs.n_units - 1)
    m.G = pyo.RangeSet(0, inputs.n_groups - 1)
    m.T = pyo.RangeSet(0, inputs.n_periods - 1)
    m.T1 = pyo.RangeSet(0, inputs.n_periods)
    m.ONE = pyo.RangeSet(0, 0)
    m.M = pyo.RangeSet(0, inputs.n_months - 1)  # calendar months (MODEL.md 10)
    m.D = pyo.RangeSet(0, inputs.n_days - 1)  # local calendar days (MODEL.md 14)
    m.K = pyo.RangeSet(0, inputs.n_segments - 1)  # SOC segments (MODEL.md 13)
    m.S0 = pyo.Set(initialize=no_grid_charge_sites(inputs).tolist(), ordered=True)
    lay = Layout.of(inputs)
    lo, hi, cost, _ = column_data(inputs, lay)
    for var in VARIABLES:
        if not var.applies(inputs):
            continue
        cols = lay.idx(var.name)
        index = (getattr(m, OWNER_SETS[var.owner]), getattr(m, TIME_SETS[var.time]))

        def bounds(_m: Any, i: int, t: int, cols: np.ndarray = cols) -> tuple:
            j = cols[i, t]
            return _bound(lo[j]), _bound(hi[j])

        domain = pyo.Binary if var.integer else pyo.Reals
        component = pyo.Var(*index, domain=domain, bounds=bounds, doc=var.doc)
        m.add_component(var.name, component)
    columns = model_columns(m)
    for fam in FAMILIES:
        block = fam.build(inputs, lay)
        m.add_component(fam.name, _constraint(block, columns, fam.equation))
    nz = np.flatnonzero(cost)
    m.cost = pyo.Objective(
        expr=LinearExpression(
            constant=0.0, linear_coefs=cost[nz].tolist(), linear_vars=[columns[j] for j in nz]
        ),
        sense=pyo.minimize,
        doc="grid-carbon-weighted cost (MODEL.md objective)",
    )
    return m


def _constraint(block: Any, columns: list, doc: str) -> pyo.Constraint:
    """An indexed Pyomo constraint ``[owner, t]`` holding the rows of a family's block."""
    if block is None:
        return pyo.Constraint(pyo.Set(dimen=2, initialize=[]), doc=doc)
    K, W = block.owners.size, block.width
    A = sp.csr_array(
        sp.coo_array((block.vals, (block.rows, block.cols)), shape=(K * W, len(columns)))
    )
    A.sum_duplicates()
    keys = [(int(o), t) for o in block.owners for t in range(W)]
    where = {key: r for r, key in enumerate(keys)}

    def rule(_m: Any, owner: int, t: int) -> Any:
        r = where[owner, t]
        a, b = A.indptr[r], A.indptr[r + 1]
        expr = LinearExpression(
            constant=0.0,
            linear_coefs=A.data[a:b].tolist(),
            linear_vars=[columns[j] for j in A.indices[a:b]],
        )
        low, up = _bound(block.lower[r]), _bound(block.upper[r])
        if low is not None and low == up:
            return expr == low
        return (low, expr, up)

    return pyo.Constraint(pyo.Set(dimen=2, initialize=keys, ordered=True), rule=rule, doc=doc)


def model_columns(m: pyo.ConcreteModel) -> list:
    """The model's declared variables in :class:`essdispatch.model.lp.Layout` order."""
    cols: list = []
    for name in Layout.of(m.inputs).names:
        var = m.component(name)
        if var is not None:
            cols.extend(var.values())
    return cols


def _recover_families(rows: list) -> tuple[dict[str, slice], dict[str, RowBlock]]:
    """Row families (contiguous runs of one component) and whom their rows belong to."""
    families: dict[str, slice] = {}
    blocks: dict[str, RowBlock] = {}
    names = [r.constraint.parent_component().name for r in rows]
    start = 0
    for k in range(1, len(names) + 1):
        if k < len(names) and names[k] == names[start]:
            continue
        name = names[start]
        if name in families:  # not contiguous: keep the parts apart
            name = f"{name}#{start}"
        families[name] = slice(start, k)
        idx = [rows[j].constraint.index() for j in range(start, k)]
        declared = family(name)
        owners = list(dict.fromkeys(i[0] for i in idx if isinstance(i, tuple) and len(i) == 2))
        if (
            declared is not None
            and owners
            and (k - start) % len(owners) == 0
            and all(
                i == (o, t)
                for i, (o, t) in zip(
                    idx,
                    ((o, t) for o in owners for t in range((k - start) // len(owners))),
                    strict=True,
                )
            )
        ):
            blocks[name] = RowBlock(
                declared.owner, np.asarray(owners, dtype=np.int64), (k - start) // len(owners)
            )
        else:
            labels = tuple(
                ",".join(map(str, i)) if isinstance(i, tuple) else "" if i is None else str(i)
                for i in idx
            )
            blocks[name] = RowBlock("constraint", np.arange(k - start), 1, labels)
        start = k
    return families, blocks


def compile_model(m: pyo.ConcreteModel, *, with_columns: bool = False) -> Any:
    """Compile a (possibly user-extended) model to a :class:`LinearProgram` for HiGHS.

    The declared variables come first, in :class:`~essdispatch.model.lp.Layout` order (all
    of them, also those the compiler would drop for appearing nowhere), so that
    :func:`essdispatch.results.extract` reads them; variables a user added follow.
    Fixed variables stay columns (with both bounds at their value). The row
    families are recovered from the constraint components: a built model compiles
    to exactly the program of :func:`assemble_lp`, and a user's constraint
    component becomes a family named after it.

    Returns the program, or ``(program, columns)`` (Pyomo ``VarData`` in column
    order) with ``with_columns``. Raises ValueError for a non-linear term.
    """
    expected = model_columns(m)
    fixed = [v for v in m.component_data_objects(pyo.Var, descend_into=True) if v.fixed]
    saved = [(v, v.lb, v.ub) for v in fixed]
    try:
        for v in fixed:
            v.setlb(v.value)
            v.setub(v.value)
            v.unfix()
        info = LinearStandardFormCompiler().write(
            m, mixed_form=True, set_sense=pyo.minimize, column_order=expected
        )
    except Exception as exc:  # Pyomo's InvalidConstraintError and friends
        raise ValueError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
    finally:
        for v, lb, ub in saved:
            v.setlb(lb)
            v.setub(ub)
            v.fix()
    if info.c.shape[0] > 1:
        raise ValueError(f"the model has {info.c.shape[0]} active objectives; one is needed")
    compiled = list(info.columns)
    position = {id(v): j for j, v in enumerate(expected)}
    extra = [v for v in compiled if id(v) not in position]
    for v in extra:
        position[id(v)] = len(position)
    columns = expected + extra
    where = np.array([position[id(v)] for v in compiled], dtype=np.int64)
    n = len(columns)
    A_c = sp.coo_array(info.A)
    A = sp.csc_array(sp.coo_array((A_c.data, (A_c.row, where[A_c.col])), shape=(A_c.shape[0], n)))
    c = np.zeros(n)
    if info.c.shape[0]:
        c[where] = np.asarray(info.c.toarray()).ravel()[: len(compiled)]
    sense = np.array([r.bound_type for r in info.rows], dtype=np.int64)
    rhs = np.asarray(info.rhs, dtype=float)
    row_lower = np.where(sense >= 0, np.where(sense == 0, rhs, -np.inf), rhs)
    row_upper = np.where(sense <= 0, np.where(sense == 0, rhs, np.inf), rhs)
    lb = np.array([-np.inf if v.lb is None else v.lb for v in columns], dtype=float)
    ub = np.array([np.inf if v.ub is None else v.ub for v in columns], dtype=float)
    for v in fixed:  # the program keeps a fixed variable as a column fixed at its value
        if id(v) in position:
            lb[position[id(v)]] = ub[position[id(v)]] = v.value
    integrality = np.array([v.is_integer() or v.is_binary() for v in columns], dtype=bool)
    families, blocks = _recover_families(list(info.rows))
    lp = LinearProgram(
        c=c,
        offset=float(info.c_offset[0]) if len(info.c_offset) else 0.0,
        A=A,
        row_lower=row_lower,
        row_upper=row_upper,
        col_lower=lb,
        col_upper=ub,
        integrality=integrality,
        layout=Layout.of(m.inputs),
        row_families=families,
        row_blocks=blocks,
    )
    return (lp, columns) if with_columns else lp
