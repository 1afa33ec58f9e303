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

The duals are an optimal dual solution of the LP in HiGHS's sign convention (row dual
``y`` with reduced costs ``c − Aᵀy``; ``≤`` rows of a minimisation have ``y ≤ 0``): each
balance dual is chosen inside the interval that the primal solution's complementary
slackness allows, so it is the LP's dual wherever that is unique.
"""

from __future__ import annotations

import numpy as np

from essdispatch.inputs import Inputs
from essdispatch.lp import assemble_lp
from essdispatch.results import DispatchResult, extract

_TOL = 1e-9


def closed_form_applies(inputs: Inputs) -> str | None:
    """Why the closed form does not apply to ``inputs`` (None when it does)."""
    if inputs.n_units:
        return "the problem has storage units"
    for kind, limits in (
        ("export", inputs.group_export_limit),
        ("import", inputs.group_import_limit),
    ):
        seen = np.zeros(inputs.n_sites, dtype=np.int64)
        for g in np.flatnonzero(np.isfinite(limits)):
            seen[np.asarray(inputs.group_sites[g], dtype=np.int64)] += 1
        if (seen > 1).any():
            return f"a site is in two {kind} groups"
    c_imp, c_exp, c_shed = _costs(inputs)
    if (c_imp + c_exp < -_TOL).any():
        return "the buy price is below the sell price in some period"
    if (c_imp < -_TOL).any():
        return "the effective buy price is negative in some period"
    if (c_shed + c_exp < -_TOL).any() or inputs.voll < 0:
        return "the value of lost load is below the effective sell price in some period"
    return None


def _costs(inputs: Inputs) -> tuple[np.ndarray, np.ndarray, float]:
    dt = inputs.dt_h
    ci = inputs.carbon_price * inputs.steer_carbon
    return dt * (inputs.buy_price + ci), -dt * (inputs.sell_price + ci), dt * inputs.voll


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
    why = closed_form_applies(inputs)
    if why:
        raise ValueError(f"closed form does not apply: {why}")
    S = inputs.n_sites
    c_imp, c_exp, c_shed = _costs(inputs)
    need = inputs.load + inputs.site_aux[:, None]  # shed ≤ load + aux
    d = need - inputs.pv
    short = np.maximum(d, 0.0)
    surplus = np.maximum(-d, 0.0)
    M = np.broadcast_to(inputs.import_limit[:, None], d.shape)
    X = np.broadcast_to(inputs.export_limit[:, None], d.shape)

    imp_gain = c_shed - c_imp
    exp_gain = -c_exp
    imp_want = np.where(imp_gain > 0, np.minimum(short, M), 0.0)
    exp_want = np.where(exp_gain > 0, np.minimum(surplus, X), 0.0)
    imp, nu = _allocate(imp_want, imp_gain, inputs.group_sites, inputs.group_import_limit)
    exp_, mu = _allocate(exp_want, exp_gain, inputs.group_sites, inputs.group_export_limit)
    shed = short - imp
    cur = surplus - exp_

    nu_s = _member_price(nu, inputs.group_sites, inputs.group_import_limit, S)
    mu_s = _member_price(mu, inputs.group_sites, inputs.group_export_limit, S)
    y = _balance_duals(
        (imp, c_imp + nu_s, 1.0, np.zeros_like(d), M),
        (shed, np.broadcast_to(c_shed, d.shape), 1.0, np.zeros_like(d), need),
        (exp_, c_exp + mu_s, -1.0, np.zeros_like(d), X),
        (cur, np.zeros_like(d), -1.0, np.zeros_like(d), inputs.pv),
    )

    lp = assemble_lp(inputs)
    lay = lp.layout
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
    objective = float(lp.c @ x)
    return extract(inputs, lay, x, objective, row_dual, lp.row_families)


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
