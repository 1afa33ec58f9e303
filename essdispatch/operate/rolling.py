"""Operate on forecasts, settle on actuals: rolling-horizon simulation (``operation:``).

A perfect-foresight solve (:func:`essdispatch.solve.dispatch.solve_dispatch`) knows every
signal of the horizon in advance. An operator does not: each day it schedules the
storage on forecasts and is paid on what actually happens. :func:`run_rolling`
simulates that, window by window (docs/OPERATION.md has the user's view):

1. **Plan.** Solve the LP of docs/MODEL.md on the *forecast* signals over
   ``[a, c)``: the committed window ``[a, b)`` (``window`` long) plus
   ``lookahead``, starting from the settled stored energy ``e[a]``. The end
   state ``e[c]`` is free within the SOC bounds and valued at the
   ``terminal_value``, except when ``c = N`` (the window reaches the end of the
   horizon): then the scenario's terminal rule applies, relative to the
   horizon's initial state (budgets carry across windows; no terminal
   constraint is re-imposed per window).
2. **Commit** the plan's ``ch`` and ``dis`` of ``[a, b)``.
3. **Settle** ``[a, b)`` on the *actual* signals with a settlement LP (see
   :func:`settlement_lp`): the same LP on actuals, with the storage actions tied
   to the committed values by deviation variables that cost ``π`` per MWh. The
   schedule is therefore kept wherever it is physically possible; where it is
   not (a no-grid-charging unit meets less actual solar surplus than
   forecast; a reduced charge later leaves too little energy for a committed
   discharge), it deviates by the least energy possible. Curtailment, import,
   export and, last, shedding absorb the rest at the actual prices. The
   settled ``e[b]`` is the next window's start: SOC carries over exactly.

The result is a :class:`~essdispatch.results.extract.DispatchResult` on the actual
signals, whose objective is the actual cost of the settled dispatch (the MODEL.md
objective evaluated on it). The energy balance closes on actuals in every period
to solver precision, because every settlement LP contains constraint 1.

Forecasts are one trajectory per signal for the whole horizon (as issued once;
they are not re-issued per window): a series, or a seeded AR(1) error applied
to the actual signal (:func:`build_forecasts`).

This module holds the loop; the ``operation:`` block is
:mod:`essdispatch.operate.operation_spec`, the forecasts :mod:`essdispatch.operate.forecasts`,
the plan and settlement solves :mod:`essdispatch.operate.window_solves`, the statistics
:mod:`essdispatch.operate.stats`, and what a run adds to ``run_scenario``
:mod:`essdispatch.operate.operation`; their public names are importable from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from essdispatch._exports import lazy_names
from essdispatch.base.exceptions import SolveError
from essdispatch.base.inputs import Inputs
from essdispatch.model.ageing import HealthTracker, segment_initial, segment_width
from essdispatch.model.lp import Layout, LinearProgram, assemble_lp
from essdispatch.operate.forecasts import SiteInfo, ar1_errors, build_forecasts
from essdispatch.operate.operation_spec import (
    ErrorModel,
    Forecasts,
    ForecastSignal,
    OperationSpec,
    parse_operation,
)
from essdispatch.operate.rolling_segments import carry_segments
from essdispatch.operate.stats import RollingStats, WindowStats
from essdispatch.operate.window_solves import (
    DEVIATION_FACTOR,
    TERMINAL_FACTOR,
    _Planner,
    settlement_lp,
)
from essdispatch.results.extract import DispatchResult, extract, recomputed_objective
from essdispatch.solve.highs import Termination, solve_lp
from essdispatch.solve.highs_options import SolverOptions

__all__ = [
    "ErrorModel",
    "ForecastSignal",
    "Forecasts",
    "OperationSpec",
    "RollingStats",
    "SiteInfo",
    "WindowStats",
    "ar1_errors",
    "build_forecasts",
    "parse_operation",
    "run_rolling",
    "settlement_lp",
    "storage_energy_value",
]

#: names of :mod:`essdispatch.operate.operation` (which imports this module), still
#: importable from here
__getattr__ = lazy_names(
    __name__,
    dict.fromkeys(
        ("Operation", "OperationOutcome", "prepare_operation", "terminal_warnings"),
        "essdispatch.operate.operation",
    ),
)


#: a terminal shortfall above this [MWh] breaks the terminal rule and is reported
TERMINAL_SHORTFALL_TOL_MWH = 1e-6


# =========================================================================== helpers
def window_inputs(inputs: Inputs, a: int, c: int, e_start: np.ndarray) -> Inputs:
    """``inputs`` restricted to periods ``[a, c)``, starting from stored energy ``e_start``.

    The terminal rule is ``free`` (the caller sets the end-state bounds), and a
    MILP stays a MILP.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        soc0 = np.where(inputs.energy > 0, e_start / inputs.energy, 0.0)
    return replace(
        inputs,
        index=inputs.index[a:c],
        pv=inputs.pv[:, a:c],
        load=inputs.load[:, a:c],
        buy_price=inputs.buy_price[:, a:c],
        sell_price=inputs.sell_price[:, a:c],
        carbon={k: v[:, a:c] for k, v in inputs.carbon.items()},
        availability=inputs.availability[:, a:c],
        carbon_free_share=None
        if inputs.carbon_free_share is None
        else inputs.carbon_free_share[:, a:c],
        soc_initial=soc0,
        terminal=("free",) * inputs.n_units,
    )


def terminal_targets(inputs: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """(B,) lower and upper bounds of ``e[N]`` from each unit's terminal rule [MWh]."""
    e_lo = inputs.soc_min * inputs.energy
    e_hi = inputs.soc_max * inputs.energy
    e0 = inputs.soc_initial * inputs.energy
    term = np.asarray(inputs.terminal, dtype=object)
    lo = np.where(term == "free", e_lo, np.maximum(e_lo, e0))
    hi = np.where(term == "cyclic", e0, e_hi)
    return lo, hi


def storage_energy_value(
    forecasts: Inputs, options: SolverOptions | None = None
) -> tuple[np.ndarray, float]:
    """(B, N+1) value of stored energy at each time [currency/MWh], and the solve time [s].

    The shadow price of the storage energy equation (constraint 4) in a
    perfect-foresight solve of the whole horizon *on the forecasts* (what the
    operator knows): ``value[b, t+1] = −dual(storage row b, t)``, the cost saved
    by one more MWh stored at the start of period t+1. Solved site by site
    (sites couple only through group limits; for a terminal value the per-site
    prices are a good enough approximation when a group limit binds).
    ``value[:, 0]`` repeats ``value[:, 1]``.
    """
    B, T = forecasts.n_units, forecasts.n_periods
    value = np.zeros((B, T + 1))
    seconds = 0.0
    for s in np.unique(forecasts.unit_site):
        sub = forecasts.subset_sites(np.array([s]))
        lp = assemble_lp(replace(sub, exclusive=False))
        sol = solve_lp(lp, options)
        seconds += sol.solve_seconds
        units = np.flatnonzero(forecasts.unit_site == s)
        duals = sol.row_dual[lp.row_families["storage"]].reshape(sub.n_units, T)
        value[units, 1:] = -duals
    if T:
        value[:, 0] = value[:, 1]
    return value, seconds


# =========================================================================== the loop
def energy_floor(inputs: Inputs, e_start: np.ndarray, steps: int) -> np.ndarray:
    """(B, steps+1) lower bound of stored energy in a window starting at ``e_start`` [MWh].

    ``smin·E``, except for a unit that may not charge from the grid whose energy
    self-discharge can carry below ``smin·E`` before any solar surplus comes:
    there the bound follows the drift ``(1−σ)^(Δt·t)·e_start``. A
    perfect-foresight plan never gets there; a myopic one can (it ends a window
    at ``smin`` before a night), and physics cannot be infeasible.
    """
    floor = np.broadcast_to((inputs.soc_min * inputs.energy)[:, None], (inputs.n_units, steps + 1))
    decay = (1.0 - inputs.self_discharge) ** inputs.dt_h
    drift = e_start[:, None] * decay[:, None] ** np.arange(steps + 1)[None, :]
    no_gc = ~inputs.grid_charging.astype(bool)
    return np.where(no_gc[:, None], np.minimum(floor, drift), floor)


def _set_floor(lp: LinearProgram, floor: np.ndarray) -> None:
    """Lower bounds of ``e[:, 1:]`` of a window LP (``e[:, 0]`` is fixed)."""
    cols = lp.layout.idx("e")[:, 1:]
    lp.col_lower[cols] = np.minimum(lp.col_lower[cols], floor[:, 1:])


def _reachable(inputs: Inputs, e_start: np.ndarray, a: int, c: int) -> np.ndarray:
    """(B,) the most energy each unit can hold at ``c`` charging at full power from ``e[a]``."""
    dt = inputs.dt_h
    decay = (1.0 - inputs.self_discharge) ** dt
    gain = inputs.eta_charge[:, None] * inputs.charge_power[:, None] * inputs.availability[:, a:c]
    steps = c - a
    powers = decay[:, None] ** np.arange(steps - 1, -1, -1)[None, :]
    e = decay**steps * e_start + dt * (gain * powers).sum(axis=1)
    return np.minimum(e, inputs.soc_max * inputs.energy)


def _relax_terminal(
    lp: LinearProgram,
    fc: Inputs,
    e_cols: np.ndarray,
    final_lo: np.ndarray,
    e_lo: np.ndarray,
) -> None:
    """Make the terminal rule of a plan LP soft: ``e[end]`` up to the target, rewarded.

    The reward per MWh is ``TERMINAL_FACTOR · π`` (π of :func:`settlement_lp` on the
    forecasts), so the plan reaches as close to the rule as it physically can.
    """
    ci = fc.carbon_price * fc.steer_carbon
    money = max(
        float(np.abs(fc.buy_price + ci).max(initial=0.0)),
        float(np.abs(fc.sell_price + ci).max(initial=0.0)),
    )
    pi = DEVIATION_FACTOR * (money + float(fc.degradation_cost.max(initial=0.0))) + 1.0
    ruled = final_lo > e_lo  # units with a binding terminal rule (free: final_lo = smin·E)
    cols = e_cols[ruled]
    lp.col_lower[cols] = e_lo[ruled]
    lp.col_upper[cols] = final_lo[ruled]
    lp.c[cols] -= TERMINAL_FACTOR * pi


def run_rolling(
    inputs: Inputs,
    spec: OperationSpec,
    forecasts: Inputs | None = None,
    options: SolverOptions | None = None,
    progress: bool = False,
    *,
    reuse: bool = True,
    energy_value: np.ndarray | None = None,
    extension: Any = None,
) -> tuple[DispatchResult, RollingStats]:
    """Simulate operation on forecasts with settlement on actuals (module docstring).

    Parameters
    ----------
    inputs : the actual signals (what settles)
    spec : the ``operation:`` block (window, lookahead, terminal_value)
    forecasts : the same problem with forecast signals (None: perfect forecasts)
    options : HiGHS options
    progress : show a tqdm progress bar over the windows
    reuse : keep one HiGHS model per window length and change its data, instead
        of passing a new model every window
    energy_value : (B, N+1) value of stored energy [currency/MWh] for
        ``terminal_value: perfect_foresight`` (default: :func:`storage_energy_value`
        of the forecasts)
    extension : an :class:`essdispatch.model.extend.Extension` applied to every window's
        plan and settlement LP (no model reuse then: its rows may change with the data)

    Returns
    -------
    (result on the actual signals, stats). ``result.objective`` is the actual
    cost of the settled dispatch.
    """
    t_start = time.perf_counter()
    options = options or SolverOptions()
    forecasts = inputs if forecasts is None else forecasts
    N, B = inputs.n_periods, inputs.n_units
    W, L = spec.periods(inputs.dt_h)
    assemble = extension.assemble if extension is not None else assemble_lp
    reuse = reuse and extension is None
    stats = RollingStats(reuse=reuse, terminal_value=str(spec.terminal_value))

    if spec.terminal_value == "perfect_foresight" and B and energy_value is None:
        energy_value, stats.terminal_value_seconds = storage_energy_value(forecasts, options)
    if spec.terminal_value == "none" or not B:
        unit_value = None
    elif spec.terminal_value == "perfect_foresight":
        unit_value = energy_value
    else:
        unit_value = np.full((B, N + 1), float(spec.terminal_value))

    final_lo, final_hi = terminal_targets(inputs)
    e_lo, e_hi = inputs.soc_min * inputs.energy, inputs.soc_max * inputs.energy
    starts = np.arange(0, N, W)
    arrays = {k: np.zeros((inputs.n_sites, N)) for k in ("cur", "imp", "exp", "shed")}
    arrays.update(ch=np.zeros((B, N)), dis=np.zeros((B, N)), e=np.zeros((B, N + 1)))
    seg_names = ("seg_ch", "seg_dis") if inputs.n_segments else ()  # MODEL.md 13
    arrays.update({k: np.zeros((inputs.n_segments, N)) for k in seg_names})
    seg_now = None  # settled segment energies carried between windows (MODEL.md 13)
    if seg_names:
        arrays["seg_e"] = np.zeros((inputs.n_segments, N + 1))
        arrays["seg_e"][:, 0] = seg_now = segment_initial(inputs)
    e_now = inputs.soc_initial * inputs.energy
    arrays["e"][:, 0] = e_now
    health = HealthTracker.of(inputs)  # SOH from realised cycles between windows (MODEL.md 13)
    actual_cost = 0.0
    planner = _Planner(options, reuse)
    settler = _Planner(options, reuse)
    term = np.asarray(inputs.terminal, dtype=object)

    iterator: Any = starts
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(starts, desc="windows", unit="window", leave=False)
    for k, a in enumerate(iterator):
        a = int(a)
        b = min(a + W, N)
        c = min(b + L, N)
        # ---------------------------------------------------------- plan on forecasts
        t0 = time.perf_counter()
        fc = carry_segments(window_inputs(forecasts, a, c, e_now), seg_now)
        fc = health.apply(fc) if health is not None else fc
        lp = assemble(fc)
        if seg_names:
            stats.segment_starts.append(lp.col_lower[lp.layout.idx("seg_e")[:, 0]].copy())
        e_cols = lp.layout.idx("e")[:, c - a] if B else np.zeros(0, dtype=np.int64)
        final = c == N and B > 0
        if final:  # the scenario's terminal rule, capped at what can be reached
            reach = _reachable(inputs, e_now, a, c)
            lp.col_lower[e_cols] = np.minimum(final_lo, reach)
            lp.col_upper[e_cols] = np.maximum(final_hi, lp.col_lower[e_cols])
        elif unit_value is not None:
            lp.c[e_cols] -= unit_value[:, c]
        build = time.perf_counter() - t0
        # relaxations, tried in turn only when the plan is infeasible on the forecasts:
        # the self-discharge floor (energy_floor), then a soft terminal rule (_relax_terminal)
        relax: list[Callable[[], None]] = []
        if B:
            relax.append(partial(_set_floor, lp, energy_floor(inputs, e_now, c - a)))
        if final:
            relax.append(partial(_relax_terminal, lp, fc, e_cols, final_lo, e_lo))
        while True:
            try:
                x, plan_obj, plan_seconds, reused = planner.solve(lp, f"window {k} (plan)")
                break
            except SolveError as exc:
                if not relax or exc.termination != Termination.INFEASIBLE.value:
                    raise
                relax.pop(0)()
                stats.relaxed_windows.append(k)
        ch_plan = lp.layout.take(x, "ch")[:, : b - a]
        dis_plan = lp.layout.take(x, "dis")[:, : b - a]
        # ---------------------------------------------------------- settle on actuals
        t1 = time.perf_counter()
        act = carry_segments(window_inputs(inputs, a, b, e_now), seg_now)
        act = health.apply(act) if health is not None else act
        terminal = None
        if b == N and B:
            units = np.flatnonzero(term != "free")
            goal = np.where(term == "cyclic", final_hi, final_lo)[units]
            terminal = (units, goal, term[units] == "cyclic")
        seg_plan = (
            tuple(lp.layout.take(x, name)[:, : b - a] for name in seg_names) if seg_names else None
        )
        slp, _pi = settlement_lp(act, ch_plan, dis_plan, terminal, assemble, seg_plan)
        if B:
            floor = energy_floor(inputs, e_now, b - a)
            _set_floor(slp, floor)
        xs, _obj, _settle_solve, _ = settler.solve(slp, f"window {k} (settlement)")
        lay = slp.layout
        n0 = lay.n_cols
        K = 2 * B * (b - a)
        for name in ("cur", "imp", "exp", "shed", "ch", "dis", *seg_names):
            arrays[name][:, a:b] = lay.take(xs, name)
        e_win = lay.take(xs, "e")
        if B:
            e_win = np.clip(e_win, floor, e_hi[:, None])
            stats.soc_drift_mwh = max(
                stats.soc_drift_mwh, float((e_lo[:, None] - e_win).max(initial=0.0))
            )
            arrays["e"][:, a + 1 : b + 1] = e_win[:, 1:]
            e_now = e_win[:, -1].copy()
        if seg_names:
            seg_win = np.clip(lay.take(xs, "seg_e"), 0.0, segment_width(act)[:, None])
            arrays["seg_e"][:, a + 1 : b + 1] = seg_win[:, 1:]
            seg_now = seg_win[:, -1].copy()
        if health is not None:
            health.update(act, lay.take(xs, "dis"), lay.take(xs, "seg_dis") if seg_names else None)
        window_cost = float(slp.c[:n0] @ xs[:n0])
        actual_cost += window_cost
        deviation = float(xs[n0 : n0 + 2 * K].sum()) * inputs.dt_h
        if terminal is not None:
            U = terminal[0].size
            short = xs[n0 + 2 * K : n0 + 2 * K + U]
            stats.terminal_shortfall_mwh = float(short.sum())
            stats.terminal_shortfall_by_unit = {
                inputs.unit_names[int(u)]: float(v)
                for u, v in zip(terminal[0], short, strict=True)
                if v > TERMINAL_SHORTFALL_TOL_MWH
            }
        t2 = time.perf_counter()
        stats.windows.append(
            WindowStats(
                window=k,
                start=inputs.index[a].isoformat(),
                committed_periods=b - a,
                planned_periods=c - a,
                plan_build_seconds=build,
                plan_solve_seconds=plan_seconds,
                settle_seconds=t2 - t1,
                plan_objective=plan_obj,
                settled_cost=window_cost,
                deviation_mwh=deviation,
                reused=reused,
            )
        )
    layout = Layout.of(inputs)
    x_full = np.zeros(layout.n_cols)
    for name, arr in arrays.items():
        x_full[layout.idx(name).ravel()] = arr.ravel()
    result = extract(inputs, layout, x_full, actual_cost)
    result.figures["total_cost"] = recomputed_objective(result)
    result = replace(result, objective=result.figures["total_cost"])
    stats.total_seconds = time.perf_counter() - t_start
    if health is not None:
        stats.state_of_health = health.describe(inputs.unit_names)
    return result, stats
