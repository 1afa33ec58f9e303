"""The two solves of each rolling window: the plan on forecasts (one HiGHS model reused per
window length) and the settlement on actuals, tied to the committed schedule
(:func:`settlement_lp`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from essdispatch.base.exceptions import SolveError
from essdispatch.base.inputs import Inputs
from essdispatch.model.lp import LinearProgram, assemble_lp
from essdispatch.operate.rolling_segments import tie_segments
from essdispatch.solve.highs import (
    SolverOptions,
    Termination,
    highs_for,
    highs_said,
    run_highs,
    termination_of,
)

if TYPE_CHECKING:  # annotations only: validate reads the operate stage without HiGHS
    import highspy

#: the settlement penalty per MWh of deviation is DEVIATION_FACTOR × the largest
#: per-MWh money coefficient of the window (plus 1): larger than anything a deviation can earn
DEVIATION_FACTOR = 2.0
#: the penalty per MWh of missing the terminal rule at the end of the horizon, × π
TERMINAL_FACTOR = 2.0


# =========================================================================== solving
class _Planner:
    """Solves the window LPs, reusing one HiGHS model per window length when allowed.

    With ``reuse``, the first LP of each length is passed to HiGHS in full; the
    next ones change only the column costs, column bounds and row bounds (the
    matrix of two windows of the same length is identical unless the problem
    is a MILP, whose exclusive rows carry the availability), and HiGHS starts
    from the previous basis.
    """

    def __init__(self, options: SolverOptions, reuse: bool) -> None:
        self.options = options
        self.reuse = reuse
        self.models: dict[tuple[int, int], highspy.Highs] = {}

    def solve(self, lp: LinearProgram, label: str) -> tuple[np.ndarray, float, float, bool]:
        """(x, objective, seconds, reused) of an optimal solution; SolveError otherwise."""
        key = (lp.n_cols, lp.n_rows)
        h = self.models.get(key) if self.reuse and not lp.is_mip else None
        t0 = time.perf_counter()
        reused = h is not None
        if h is None:
            h = highs_for(lp, self.options)
            if self.reuse and not lp.is_mip:
                self.models[key] = h
        else:
            cols = np.arange(lp.n_cols, dtype=np.int32)
            rows = np.arange(lp.n_rows, dtype=np.int32)
            h.changeColsCost(lp.n_cols, cols, lp.c)
            h.changeColsBounds(lp.n_cols, cols, lp.col_lower, lp.col_upper)
            if lp.n_rows:
                h.changeRowsBounds(lp.n_rows, rows, lp.row_lower, lp.row_upper)
        run_highs(h)
        seconds = time.perf_counter() - t0
        term = termination_of(h)
        if term is not Termination.OPTIMAL and reused:  # a stale basis: retry from scratch
            h.clearSolver()
            run_highs(h)
            seconds = time.perf_counter() - t0
            term = termination_of(h)
        if term is not Termination.OPTIMAL:
            said = highs_said(h) if term is Termination.ERROR else None
            raise SolveError(
                f"{label}: solver stopped: {term.value}"
                + (f": HiGHS said: {said}" if said else ""),
                term.value,
            )
        x = np.asarray(h.getSolution().col_value, dtype=float)
        return x, float(h.getInfo().objective_function_value), seconds, reused


def settlement_lp(
    actual: Inputs,
    ch_plan: np.ndarray,
    dis_plan: np.ndarray,
    terminal: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    assemble: Callable[[Inputs], LinearProgram] | None = None,
    seg_plan: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[LinearProgram, float]:
    """The LP that settles a committed storage schedule on the actual signals.

    Columns: the LP of ``actual`` (a window, MILP rows dropped: the committed
    schedule already respects them), then ``d⁻, d⁺ ≥ 0`` for every ``ch`` and
    ``dis`` column, tied by ``x + d⁻ − d⁺ = x*`` (``x*`` the committed value),
    then for the last window ``z, w ≥ 0`` per unit with a terminal rule,
    ``e[end] + z − w = goal`` (``terminal = (units, goal, cyclic)``: unit indices,
    target energy [MWh], whether ``w`` is penalised too).
    Objective: the actual cost of MODEL.md plus ``π·Δt·Σ(d⁻ + d⁺)`` plus
    ``TERMINAL_FACTOR·π`` per MWh of ``z`` (and of ``w`` for a cyclic unit), where
    ``π = DEVIATION_FACTOR · (max |price + λ·ci| + max cdeg) + 1`` over the window
    [currency/MWh]: more than any deviation can earn, less than the default VoLL,
    so the schedule is kept unless it is physically impossible or would shed load.

    ``assemble`` builds the LP of ``actual`` (default :func:`assemble_lp`; an
    extension's program, whose own columns follow the layout).

    ``seg_plan = (seg_ch, seg_dis)``: the committed flows of the SOC segments (MODEL.md
    13), tied like ``ch`` and ``dis`` by columns appended after ``z, w`` (rows after the
    terminal rows), so the settled segment energies are the planned ones: the split of
    charge over segments costs nothing inside the window, and left free the settlement
    could end the window on any split (the next window starts from it).

    Returns
    -------
    (lp, π). The first ``Layout.of(actual).n_cols`` columns are the usual layout.
    """
    import scipy.sparse as sp  # here, not at import: validate reads this module

    base = (assemble or assemble_lp)(replace(actual, exclusive=False))
    lay = base.layout
    T, dt = actual.n_periods, actual.dt_h
    ci = actual.carbon_price * actual.steer_carbon
    money = np.concatenate(
        [np.abs(actual.buy_price + ci).ravel(), np.abs(actual.sell_price + ci).ravel(), [0.0]]
    )
    pi = DEVIATION_FACTOR * (float(money.max()) + float(actual.degradation_cost.max(initial=0.0)))
    pi += 1.0
    tied = np.concatenate([lay.idx("ch").ravel(), lay.idx("dis").ravel()])
    target = np.concatenate([np.asarray(ch_plan).ravel(), np.asarray(dis_plan).ravel()])
    units, goal, cyclic = terminal if terminal is not None else (np.zeros(0, int), [], [])
    units = np.asarray(units, dtype=np.int64)
    K, U, n0 = tied.size, units.size, base.n_cols
    n = n0 + 2 * K + 2 * U
    r, u = np.arange(K), np.arange(U)
    one_k, one_u = np.ones(K), np.ones(U)
    # x + d⁻ − d⁺ = x*  (K rows);  e[end] + z − w = goal  (U rows)
    extra = sp.coo_array(
        (
            np.concatenate([one_k, one_k, -one_k, one_u, one_u, -one_u]),
            (
                np.concatenate([r, r, r, K + u, K + u, K + u]),
                np.concatenate(
                    [
                        tied,
                        n0 + r,
                        n0 + K + r,
                        lay.idx("e")[units, T],
                        n0 + 2 * K + u,
                        n0 + 2 * K + U + u,
                    ]
                ),
            ),
        ),
        shape=(K + U, n),
    )
    A = sp.csc_array(sp.vstack([sp.hstack([base.A, sp.csc_array((base.n_rows, n - n0))]), extra]))
    rhs = np.concatenate([target, np.asarray(goal, dtype=float)])
    z_cost = np.full(U, TERMINAL_FACTOR * pi)
    w_cost = np.where(np.asarray(cyclic, dtype=bool), TERMINAL_FACTOR * pi, 0.0)
    lp = LinearProgram(
        c=np.concatenate([base.c, np.full(2 * K, pi * dt), z_cost, w_cost]),
        offset=0.0,
        A=A,
        row_lower=np.concatenate([base.row_lower, rhs]),
        row_upper=np.concatenate([base.row_upper, rhs]),
        col_lower=np.concatenate([base.col_lower, np.zeros(n - n0)]),
        col_upper=np.concatenate([base.col_upper, np.full(n - n0, np.inf)]),
        integrality=np.zeros(n, dtype=bool),
        layout=lay,
        row_families={
            **base.row_families,
            "settle_tie": slice(base.n_rows, base.n_rows + K),
            "settle_terminal": slice(base.n_rows + K, base.n_rows + K + U),
        },
    )
    if seg_plan is not None and actual.n_segments:
        lp = tie_segments(lp, seg_plan, pi * dt)
    return lp, pi
