"""The storage-free problem (the baseline) in closed form, with its duals.

Without storage no row links two periods, and a site's balance (constraint 1)
``imp + shed − exp − cur = d``, ``d = load + aux − pv``, has four columns with costs
(objective units per MW of one period, docs/MODEL.md)::

    c_imp = Δt·(pb + λ·ci)    c_exp = −Δt·(ps + λ·ci)    c_cur = 0    c_shed = Δt·VOLL

When no pair of columns can make money on its own in one period — ``pb ≥ ps``
(import-and-export), ``pb + λ·ci ≥ 0`` (import-and-curtail), ``VOLL ≥ ps + λ·ci``
(shed-and-export), ``VOLL ≥ 0`` — only one side of the balance is used: a site short of
``d > 0`` imports up to ``M[s]`` where importing is cheaper than shedding and sheds the
rest; a site with surplus ``−d`` exports up to ``X[s]`` where exporting earns money and
curtails the rest. A group limit (constraint 3) caps the sum over its members: when
the members want more than the limit, the capacity goes to the members that gain most
per MW (``−c_exp`` for export, ``c_shed − c_imp`` for import), a fractional knapsack
solved by sorting each period's members, and the group's shadow price is the gain of
the first member left short. This holds when no site is in two export groups or two
import groups (pairwise disjoint groups of each kind); otherwise, or when a condition
above fails anywhere, :func:`closed_form_applies` says why and the LP is solved.

Everything is read from the assembled program (costs, bounds and the balance right-hand
side of :func:`~essdispatch.model.lp.assemble_lp`), so the closed form follows the one statement
of the model; a program with any other row family or column (an extension, an economics
family) is solved as an LP.

The duals are an optimal dual solution of the LP in HiGHS's sign convention (row dual
``y`` with reduced costs ``c − Aᵀy``; ``≤`` rows of a minimisation have ``y ≤ 0``): each
balance dual is chosen inside the interval that the primal solution's complementary
slackness allows, so it is the LP's dual wherever that is unique.
"""

from __future__ import annotations

import numpy as np

from essdispatch.base.inputs import Inputs
from essdispatch.model.lp import LinearProgram, assemble_lp
from essdispatch.results.extract import DispatchResult, extract

_TOL = 1e-9


_SITE_COLUMNS = ("imp", "exp", "cur", "shed")
_ROW_FAMILIES = {"balance", "group_export", "group_import"}


def closed_form_applies(inputs: Inputs, lp: LinearProgram | None = None) -> str | None:
    """Why the closed form does not apply to ``inputs`` (None when it does).

    It reads the program itself (``lp``, assembled when not given): only the balance and
    group rows, only the four site columns, all with lower bound 0.
    """
    if inputs.n_units:
        return "the problem has storage units"
    lp = lp if lp is not None else assemble_lp(inputs)
    extra_rows = sorted(set(lp.row_families) - _ROW_FAMILIES)
    if extra_rows:
        return f"it has other constraint families ({', '.join(extra_rows)})"
    lay = lp.layout
    site_cols = sum(lay.shapes[k][0] * lay.shapes[k][1] for k in _SITE_COLUMNS)
    if site_cols != lp.n_cols:
        return "it has variables other than import, export, curtailment and shedding"
    if (lp.col_lower != 0).any():
        return "a variable has a nonzero lower bound"
    for kind, limits in (
        ("export", inputs.group_export_limit),
        ("import", inputs.group_import_limit),
    ):
        seen = np.zeros(inputs.n_sites, dtype=np.int64)
        for g in np.flatnonzero(np.isfinite(limits)):
            seen[np.asarray(inputs.group_sites[g], dtype=np.int64)] += 1
        if (seen > 1).any():
            return f"a site is in two {kind} groups"
    c_imp, c_exp, c_cur, c_shed = _costs(lp)
    if (c_imp + c_exp < -_TOL).any():
        return "the buy price is below the sell price in some period"
    if (c_imp + c_cur < -_TOL).any():
        return "the effective buy price is negative in some period"
    if (c_shed + c_exp < -_TOL).any() or (c_shed + c_cur < -_TOL).any():
        return "the value of lost load is below the effective sell price in some period"
    return None


def _costs(lp: LinearProgram) -> tuple[np.ndarray, ...]:
    """The objective coefficients of imp, exp, cur, shed, each shaped (S, T)."""
    return tuple(lp.c[lp.layout.idx(k)] for k in _SITE_COLUMNS)


def _allocate(
    want: np.ndarray, gain: np.ndarray, groups: tuple, limits: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cap ``want`` (S, T) by each finite group limit, serving the highest ``gain`` first.

    Returns the allocation and the groups' prices (G, T) ≥ 0: the gain of the first member
    left short in a period where the limit binds, 0 elsewhere.
    """
    got = want.copy()
    price = np.zeros((len(groups), want.shape[1]))
    for g in np.flatnonzero(np.isfinite(limits)):  # a loop over groups, not periods
        members = np.asarray(groups[g], dtype=np.int64)
        if members.size == 0:
            continue
        w, v = want[members], gain[members]
        order = np.argsort(-v, axis=0, kind="stable")
        w_sorted = np.take_along_axis(w, order, axis=0)
        before = np.cumsum(w_sorted, axis=0) - w_sorted
        served_sorted = np.clip(limits[g] - before, 0.0, w_sorted)
        served = np.empty_like(served_sorted)
        np.put_along_axis(served, order, served_sorted, axis=0)
        got[members] = served
        short = (w - served > _TOL) & (w > 0)
        binds = short.any(axis=0)
        price[g] = np.where(binds, np.where(short, v, -np.inf).max(axis=0), 0.0)
    return got, price


def _member_price(price: np.ndarray, groups: tuple, limits: np.ndarray, S: int) -> np.ndarray:
    """(S, T): the price of the finite group each site is in (0 when none)."""
    out = np.zeros((S, price.shape[1]))
    for g in np.flatnonzero(np.isfinite(limits)):
        out[np.asarray(groups[g], dtype=np.int64)] = price[g]
    return out


def solve_storage_free(inputs: Inputs) -> DispatchResult:
    """The optimum of a storage-free problem, with its duals (see the module docstring).

    Raises ValueError when :func:`closed_form_applies` gives a reason.
    """
    lp = assemble_lp(inputs)
    why = closed_form_applies(inputs, lp)
    if why:
        raise ValueError(f"closed form does not apply: {why}")
    lay = lp.layout
    S = inputs.n_sites
    c_imp, c_exp, c_cur, c_shed = _costs(lp)
    M, X, pv, need = (lp.col_upper[lay.idx(k)] for k in _SITE_COLUMNS)  # shed ≤ load + aux
    d = lp.row_lower[lp.row_families["balance"]].reshape(S, -1)  # load + aux − pv
    short = np.maximum(d, 0.0)
    surplus = np.maximum(-d, 0.0)

    # each side's cheaper column first: import vs shed, export vs curtail
    imp_gain = c_shed - c_imp
    exp_gain = c_cur - c_exp
    imp_want = np.where(imp_gain > 0, np.minimum(short, M), 0.0)
    exp_want = np.where(exp_gain > 0, np.minimum(surplus, X), 0.0)
    imp, nu = _allocate(imp_want, imp_gain, inputs.group_sites, inputs.group_import_limit)
    exp_, mu = _allocate(exp_want, exp_gain, inputs.group_sites, inputs.group_export_limit)
    shed = short - imp
    cur = surplus - exp_

    nu_s = _member_price(nu, inputs.group_sites, inputs.group_import_limit, S)
    mu_s = _member_price(mu, inputs.group_sites, inputs.group_export_limit, S)
    zero = np.zeros_like(d)
    y = _balance_duals(
        (imp, c_imp + nu_s, 1.0, zero, M),
        (shed, c_shed, 1.0, zero, need),
        (exp_, c_exp + mu_s, -1.0, zero, X),
        (cur, c_cur, -1.0, zero, pv),
    )

    x = np.zeros(lay.n_cols)
    for name, arr in (("imp", imp), ("exp", exp_), ("cur", cur), ("shed", shed)):
        x[lay.idx(name).ravel()] = arr.ravel()
    row_dual = np.zeros(lp.n_rows)
    row_dual[lp.row_families["balance"]] = y.ravel()
    for family, price, limits in (
        ("group_export", mu, inputs.group_export_limit),
        ("group_import", nu, inputs.group_import_limit),
    ):
        if family in lp.row_families:
            finite = np.flatnonzero(np.isfinite(limits))
            row_dual[lp.row_families[family]] = -price[finite].ravel()
    objective = float(lp.c @ x) + lp.offset
    return extract(inputs, lay, x, objective, row_dual, lp.row_families, lp.row_blocks)


def _balance_duals(*columns: tuple) -> np.ndarray:
    """The balance dual of each (site, period) inside the interval complementary slackness
    allows. Each column: (value, effective cost c', balance coefficient a, lower, upper);
    reduced cost ``c' − a·y`` must be ≥ 0 at the lower bound, ≤ 0 at the upper, 0 between."""
    shape = columns[0][0].shape
    lo = np.full(shape, -np.inf)
    hi = np.full(shape, np.inf)
    for value, cost, a, lower, upper in columns:
        cost = np.broadcast_to(cost, shape)
        upper = np.broadcast_to(upper, shape)
        scale = np.where(np.isfinite(upper), np.maximum(1.0, np.abs(upper)), 1.0)
        tol = _TOL * scale
        fixed = upper - lower <= tol
        at_lo = ~fixed & (value - lower <= tol)
        at_hi = ~fixed & ~at_lo & (upper - value <= tol)
        between = ~fixed & ~at_lo & ~at_hi
        point = cost / a  # y at which the reduced cost is 0
        # a·y ≤ c' at the lower bound, a·y ≥ c' at the upper bound
        if a > 0:
            hi = np.where(at_lo | between, np.minimum(hi, point), hi)
            lo = np.where(at_hi | between, np.maximum(lo, point), lo)
        else:
            lo = np.where(at_lo | between, np.maximum(lo, point), lo)
            hi = np.where(at_hi | between, np.minimum(hi, point), hi)
    # the upper end of the interval where it is finite (the right derivative of the optimal
    # cost in the load: what one more MW of load would cost); unique wherever the
    # interval is a point
    return np.where(np.isfinite(hi), hi, np.where(np.isfinite(lo), lo, 0.0))
