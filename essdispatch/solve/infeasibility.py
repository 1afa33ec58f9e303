"""Explain an infeasible dispatch problem: an elastic re-solve of the same LP.

:func:`explain_infeasibility` takes the :class:`~essdispatch.model.lp.LinearProgram` of
:func:`essdispatch.model.lp.assemble_lp` and makes it always feasible by adding
nonnegative slack columns, then minimises the slack (phase 1; the original cost
is dropped):

* the stored-energy bounds of ``e[b,t]`` for ``t = 1…N`` are taken out of the
  column bounds and written as rows with their own slacks: ``soc_min``
  (``e + s ≥ smin·E``), ``soc_max`` (``e − s ≤ smax·E``) and ``terminal``
  (``e[N] + s ≥ e[0]`` for ``at_least_initial``; ``e[N] + s⁺ − s⁻ = e[0]`` for
  ``cyclic``), each slack costing 1 per MWh;
* every row family gets slacks (both directions for equalities) costing 1000 per
  MWh, so they are used only when relaxing the storage bounds is not enough: the
  declared families of :mod:`essdispatch.model.families` (``balance``, ``group_*``,
  ``storage``, ``no_grid_charge_*``, ``exclusive_*``, each with its owner and
  wording; a family of power rows counts Δt × MW as energy) and the families a
  user's extension added to the Pyomo model (named after its component, each row
  named by its index).

The slacks left nonzero name the families, units, sites and periods that make the
problem infeasible, and the amounts (MWh). The explanation adds the likely cause
from the inputs (self-discharge, no charging source, zero availability).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from essdispatch.base.exceptions import SolveError
from essdispatch.base.inputs import Inputs
from essdispatch.model.families import family, owner_names, solar_surplus
from essdispatch.model.lp import LinearProgram, assemble_lp
from essdispatch.solve.highs import solve_lp
from essdispatch.solve.highs_options import SolverOptions

#: slack below this [MWh] counts as zero
SLACK_TOL = 1e-6
#: cost per MWh of a slack on a row family, relative to 1 for the storage bounds
ROW_PENALTY = 1000.0
#: at most this many findings in the message
MAX_FINDINGS = 6


@dataclass
class _Slack:
    """One group of slack columns: what it relaxes and where it sits."""

    kind: str  # family name or soc_min / soc_max / terminal
    cols: np.ndarray  # column indices, shaped (owners, periods)
    owners: np.ndarray  # site / unit / group index per row of ``cols``
    sign: float = 1.0
    labels: tuple[str, ...] = ()  # a user's family: the name of each row


@dataclass
class _Elastic:
    lp: LinearProgram
    slacks: list[_Slack] = field(default_factory=list)


def elastic_lp(inputs: Inputs, lp: LinearProgram | None = None) -> _Elastic:
    """The phase-1 LP described in the module docstring."""
    lp = lp if lp is not None else assemble_lp(inputs)
    lay = lp.layout
    B, T, dt = inputs.n_units, inputs.n_periods, inputs.dt_h
    n0, m0 = lp.n_cols, lp.n_rows
    cost: list[np.ndarray] = []
    trip_r: list[np.ndarray] = []
    trip_c: list[np.ndarray] = []
    trip_v: list[np.ndarray] = []
    row_lo: list[np.ndarray] = []
    row_hi: list[np.ndarray] = []
    slacks: list[_Slack] = []
    state = {"cols": n0, "rows": m0}

    def new_cols(rows: np.ndarray, value: float, weight: np.ndarray | float) -> np.ndarray:
        rows = np.asarray(rows)
        cols = state["cols"] + np.arange(rows.size).reshape(rows.shape)
        state["cols"] += rows.size
        trip_r.append(rows.ravel())
        trip_c.append(cols.ravel())
        trip_v.append(np.full(rows.size, value))
        cost.append(np.broadcast_to(np.asarray(weight, dtype=float), rows.shape).ravel().copy())
        return cols

    def new_rows(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        lower = np.asarray(lower, dtype=float)
        rows = state["rows"] + np.arange(lower.size).reshape(lower.shape)
        state["rows"] += lower.size
        row_lo.append(lower.ravel())
        row_hi.append(np.broadcast_to(np.asarray(upper, dtype=float), lower.shape).ravel())
        return rows

    # ------------------------------------------------------------ row families
    for name, rows_slice in lp.row_families.items():
        rows = np.arange(rows_slice.start, rows_slice.stop)
        if rows.size == 0:
            continue
        block = lp.row_blocks.get(name)
        declared = family(name)
        if block is not None and block.labels:  # a user's family: one row per owner
            owners, labels = np.arange(rows.size), block.labels
            rows = rows.reshape(rows.size, 1)
        else:
            owners = block.owners if block is not None else np.arange(rows.size // T)
            labels = ()
            rows = rows.reshape(owners.size, -1)
        energy = declared is not None and declared.slack == "MWh"
        weight = ROW_PENALTY * (1.0 if energy or declared is None else dt)
        equality = np.all(lp.row_lower[rows_slice] == lp.row_upper[rows_slice])
        if equality or np.isfinite(lp.row_lower[rows_slice]).any():
            slacks.append(_Slack(name, new_cols(rows, 1.0, weight), owners, +1.0, labels))
        if equality or np.isfinite(lp.row_upper[rows_slice]).any():
            slacks.append(_Slack(name, new_cols(rows, -1.0, weight), owners, -1.0, labels))

    # ------------------------------------------- storage bounds become rows
    col_lower = lp.col_lower.copy()
    col_upper = lp.col_upper.copy()
    # a sized unit's window, initial and terminal rules are already rows (MODEL.md 9,
    # essdispatch.model.econ_families) with their own slacks: only fixed-size units get these
    fixed = np.ones(B, dtype=bool) if inputs.econ is None else ~inputs.econ.sized
    if fixed.any():
        e = lay.idx("e")[fixed, 1:]  # (B', T) energy at the end of each period
        col_lower[e] = 0.0
        col_upper[e] = np.inf
        units = np.flatnonzero(fixed)
        B = units.size
        e_lo = (inputs.soc_min * inputs.energy)[units, None]
        e_hi = (inputs.soc_max * inputs.energy)[units, None]
        r_min = new_rows(np.broadcast_to(e_lo, (B, T)), np.inf)
        r_max = new_rows(np.full((B, T), -np.inf), np.broadcast_to(e_hi, (B, T)))
        for rows in (r_min, r_max):
            trip_r.append(rows.ravel())
            trip_c.append(e.ravel())
            trip_v.append(np.ones(rows.size))
        slacks.append(_Slack("soc_min", new_cols(r_min, 1.0, 1.0), units))
        slacks.append(_Slack("soc_max", new_cols(r_max, -1.0, 1.0), units))
        terminal = np.asarray(inputs.terminal)[units]
        e0 = (inputs.soc_initial * inputs.energy)[units]
        for mode, upper in (("at_least_initial", np.inf), ("cyclic", None)):
            which = np.flatnonzero(terminal == mode)
            if which.size == 0:
                continue
            hi = e0[which] if upper is None else np.full(which.size, upper)
            rows = new_rows(e0[which][:, None], hi[:, None])
            trip_r.append(rows.ravel())
            trip_c.append(e[which, -1])
            trip_v.append(np.ones(which.size))
            owner = units[which]
            slacks.append(_Slack("terminal", new_cols(rows, 1.0, 1.0), owner, +1.0))
            if upper is None:
                slacks.append(_Slack("terminal", new_cols(rows, -1.0, 1.0), owner, -1.0))

    n, m = state["cols"], state["rows"]
    extra = sp.coo_array(
        (
            np.concatenate(trip_v) if trip_v else np.zeros(0),
            (
                np.concatenate(trip_r) if trip_r else np.zeros(0, dtype=np.int64),
                np.concatenate(trip_c) if trip_c else np.zeros(0, dtype=np.int64),
            ),
        ),
        shape=(m, n),
    )
    A0 = sp.coo_array(lp.A)
    A0 = sp.coo_array((A0.data, (A0.row, A0.col)), shape=(m, n))
    A = sp.csc_array(A0 + extra)
    c = np.concatenate([np.zeros(n0), *cost]) if cost else np.zeros(n0)
    elastic = LinearProgram(
        c=c,
        offset=0.0,
        A=A,
        row_lower=np.concatenate([lp.row_lower, *row_lo]),
        row_upper=np.concatenate([lp.row_upper, *row_hi]),
        col_lower=np.concatenate([col_lower, np.zeros(n - n0)]),
        col_upper=np.concatenate([col_upper, np.full(n - n0, np.inf)]),
        integrality=np.concatenate([lp.integrality, np.zeros(n - n0, dtype=bool)]),
        layout=lp.layout,
        row_families={},
    )
    return _Elastic(elastic, slacks)


# --------------------------------------------------------------------------- causes
def unit_causes(inputs: Inputs, b: int) -> list[str]:
    """Likely reasons why unit ``b`` cannot hold or regain its energy."""
    causes = []
    dt = inputs.dt_h
    s = int(inputs.unit_site[b])
    if inputs.self_discharge[b] > 0:
        lost = (
            inputs.energy[b]
            * inputs.soc_initial[b]
            * (1 - (1 - inputs.self_discharge[b]) ** (dt * inputs.n_periods))
        )
        causes.append(
            f"self-discharge {inputs.self_discharge[b]:g}/h loses about {lost:.3g} MWh over the"
            " horizon"
        )
    rating = inputs.charge_power[b] * inputs.availability[b]
    if not (rating > 0).any():
        causes.append("it cannot charge (charge power × availability is 0 in every period)")
        return causes
    if inputs.grid_charging[b]:
        source = inputs.pv[s] + inputs.import_limit[s]
        what = "solar or grid import"
    else:
        source = solar_surplus(inputs)[s]
        what = "solar surplus (grid_charging is false)"
    can = float((np.minimum(rating, source) * inputs.eta_charge[b]).sum() * dt)
    if can <= SLACK_TOL:
        causes.append(f"no charging source: the site has no {what} in any period")
    else:
        causes.append(f"at most {can:.3g} MWh can be charged from {what} over the horizon")
    return causes


def _stamp(inputs: Inputs, t: int) -> str:
    return inputs.index[t].isoformat(sep=" ", timespec="minutes")


def findings(inputs: Inputs, elastic: _Elastic, x: np.ndarray) -> list[str]:
    """Human findings from the slack values of a solved elastic LP."""
    out: list[str] = []
    dt = inputs.dt_h
    for slack in elastic.slacks:
        values = np.maximum(x[slack.cols], 0.0)
        for k, owner in enumerate(slack.owners):
            v = values[k]
            declared = family(slack.kind)
            in_mwh = slack.kind in ("soc_min", "soc_max", "terminal") or (
                declared is not None and declared.slack == "MWh"
            )
            energy = v if in_mwh or slack.labels else v * dt
            if energy.sum() <= SLACK_TOL:
                continue
            owner = int(owner)
            periods = np.flatnonzero(energy > SLACK_TOL)
            first = _stamp(inputs, int(periods[0])) if periods.size else ""
            if slack.kind == "terminal":
                name = inputs.unit_names[owner]
                mode = inputs.terminal[owner]
                side = "short of" if slack.sign > 0 else "over by"
                out.append(
                    f"unit {name} cannot meet terminal rule {mode}: {side} {energy.sum():.3g} MWh"
                    f" at the end ({'; '.join(unit_causes(inputs, owner))})"
                )
            elif slack.kind in ("soc_min", "soc_max"):
                name = inputs.unit_names[owner]
                frac = inputs.soc_min[owner] if slack.kind == "soc_min" else inputs.soc_max[owner]
                bound = frac * inputs.energy[owner]
                side = "below" if slack.kind == "soc_min" else "above"
                out.append(
                    f"unit {name} cannot stay within {slack.kind} ({frac:g} × E = {bound:.3g} MWh):"
                    f" {side} it by up to {energy.max():.3g} MWh in {periods.size} periods from"
                    f" {first} ({'; '.join(unit_causes(inputs, owner))})"
                )
            elif declared is None:  # a user's family (an extension's Pyomo constraint)
                label = slack.labels[owner] if slack.labels else str(owner)
                out.append(
                    f"user constraint {slack.kind}[{label}] cannot hold (slack {energy.sum():.3g})"
                )
            else:
                name = owner_names(inputs, declared.owner)[owner]
                out.append(
                    f"{declared.owner} {name}: {declared.wording} (constraint"
                    f" {declared.constraint}; slack {energy.sum():.3g} MWh in {periods.size}"
                    f" periods from {first})"
                )
    return out


def explain_infeasibility(
    inputs: Inputs, options: SolverOptions | None = None, lp: LinearProgram | None = None
) -> str:
    """One line saying which constraint families, units and sites make ``inputs`` infeasible.

    ``"infeasible: unit bess-a cannot meet terminal rule at_least_initial: short of
    3.2 MWh at the end (self-discharge 0.01/h loses about 4.1 MWh over the horizon;
    no charging source: ...)"``. Falls back to a general sentence when the elastic
    re-solve itself fails.
    """
    try:
        elastic = elastic_lp(inputs, lp)
        opts = replace(options or SolverOptions(), verbose=False)
        sol = solve_lp(elastic.lp, opts)
        found = findings(inputs, elastic, sol.x)
    except (SolveError, ValueError, MemoryError) as exc:
        return (
            "infeasible: the scenario has no feasible dispatch (check terminal rules, SOC bounds"
            f" and charging sources; the elastic re-solve that explains it failed: {exc})"
        )
    if not found:
        return (
            "infeasible: the solver reported infeasibility but every constraint can be met"
            " (numerical trouble; try --solver-option solver=ipm or tighter tolerances)"
        )
    more = len(found) - MAX_FINDINGS
    text = "; ".join(found[:MAX_FINDINGS]) + (f"; and {more} more" if more > 0 else "")
    return f"infeasible: {text}"
