"""Solve one dispatch problem: assemble, solve with HiGHS, extract.

Sites couple only through group limits (constraint 3). With ``decompose=True``
(the default) the sites are first solved one by one without the group rows; the
objective is a sum over sites, so if that solution also satisfies every group
limit it is optimal for the joint problem and is returned. Otherwise (a group
row binds) the joint problem is solved. Either way the optimum is the joint
one; only the route differs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from essdispatch.inputs import Inputs
from essdispatch.lp import Layout, assemble_lp
from essdispatch.results import DispatchResult, extract
from essdispatch.solve import SolverOptions, solve_lp

GROUP_TOLERANCE_MW = 1e-6


@dataclass
class SolveStats:
    """How a problem was solved, with phase timings [s]."""

    route: str = "joint"
    build_seconds: float = 0.0
    transfer_seconds: float = 0.0
    solve_seconds: float = 0.0
    extract_seconds: float = 0.0
    variables: int = 0
    constraints: int = 0
    subproblems: int = 1
    status: str = ""
    termination: str = ""
    mip_gap: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "termination": self.termination,
            "route": self.route,
            "build_seconds": self.build_seconds,
            "transfer_seconds": self.transfer_seconds,
            "solve_seconds": self.solve_seconds,
            "extract_seconds": self.extract_seconds,
            "variables": self.variables,
            "constraints": self.constraints,
            "subproblems": self.subproblems,
            "mip_gap": self.mip_gap,
            "notes": list(self.notes),
        }


def solve_joint(
    inputs: Inputs, options: SolverOptions | None = None, stats: SolveStats | None = None
) -> DispatchResult:
    """Assemble and solve the whole problem at once."""
    stats = stats if stats is not None else SolveStats()
    t0 = time.perf_counter()
    lp = assemble_lp(inputs)
    t1 = time.perf_counter()
    sol = solve_lp(lp, options)
    t2 = time.perf_counter()
    result = extract(inputs, lp.layout, sol.x, sol.objective, sol.row_dual)
    t3 = time.perf_counter()
    stats.build_seconds += t1 - t0
    stats.transfer_seconds += sol.transfer_seconds
    stats.solve_seconds += sol.solve_seconds
    stats.extract_seconds += t3 - t2
    stats.variables += lp.n_cols
    stats.constraints += lp.n_rows
    stats.status = sol.status
    stats.termination = sol.termination.value
    stats.mip_gap = sol.mip_gap
    return result


def stitch(inputs: Inputs, parts: list[tuple[np.ndarray, DispatchResult]]) -> DispatchResult:
    """Put per-site-subset results back together into one result for ``inputs``."""
    S, B, T = inputs.n_sites, inputs.n_units, inputs.n_periods
    arrays = {k: np.zeros((S, T)) for k in ("cur", "imp", "exp", "shed")}
    arrays.update(ch=np.zeros((B, T)), dis=np.zeros((B, T)), e=np.zeros((B, T + 1)))
    objective = 0.0
    for sites, part in parts:
        units = np.flatnonzero(np.isin(inputs.unit_site, sites))
        for k in ("cur", "imp", "exp", "shed"):
            arrays[k][sites] = getattr(part, k)
        for k in ("ch", "dis", "e"):
            arrays[k][units] = getattr(part, k)
        objective += part.objective
    layout = Layout.of(inputs)
    x = np.zeros(layout.n_cols)
    for k, arr in arrays.items():
        x[layout.idx(k).ravel()] = arr.ravel()
    return extract(inputs, layout, x, objective)


def groups_satisfied(inputs: Inputs, result: DispatchResult) -> bool:
    """Whether ``result`` meets every group export/import limit (within 1e-6 MW)."""
    for g, members in enumerate(inputs.group_sites):
        members = np.asarray(members, dtype=np.int64)
        if result.exp[members].sum(axis=0).max(initial=0.0) > (
            inputs.group_export_limit[g] + GROUP_TOLERANCE_MW
        ):
            return False
        if result.imp[members].sum(axis=0).max(initial=0.0) > (
            inputs.group_import_limit[g] + GROUP_TOLERANCE_MW
        ):
            return False
    return True


def solve_dispatch(
    inputs: Inputs,
    options: SolverOptions | None = None,
    decompose: bool = True,
    progress: Callable[[str], None] | None = None,
) -> tuple[DispatchResult, SolveStats]:
    """Solve ``inputs`` to optimality (see the module docstring for the route).

    Parameters
    ----------
    inputs : the problem
    options : HiGHS options
    decompose : try the per-site route first (exclusive-mode MILPs too: the
        binaries are per unit, so they decompose the same way)
    progress : called with a short phase description as work proceeds

    Returns
    -------
    (result, stats)
    """
    say = progress or (lambda _msg: None)
    stats = SolveStats()
    if not decompose or inputs.n_sites <= 1:
        say("solving joint problem")
        return solve_joint(inputs, options, stats), stats

    parts = []
    for s in range(inputs.n_sites):
        say(f"solving site {s + 1}/{inputs.n_sites}")
        sites = np.array([s])
        parts.append((sites, solve_joint(inputs.subset_sites(sites), options, stats)))
    stats.subproblems = len(parts)
    stats.route = "per-site"
    t0 = time.perf_counter()
    result = stitch(inputs, parts)
    stats.extract_seconds += time.perf_counter() - t0
    if groups_satisfied(inputs, result):
        return result, stats
    say("a group limit binds: solving joint problem")
    stats.notes.append("group limit binds: per-site solution discarded, joint problem solved")
    joint_stats = SolveStats(route="joint (group limit binds)")
    result = solve_joint(inputs, options, joint_stats)
    joint_stats.build_seconds += stats.build_seconds
    joint_stats.transfer_seconds += stats.transfer_seconds
    joint_stats.solve_seconds += stats.solve_seconds
    joint_stats.extract_seconds += stats.extract_seconds
    joint_stats.notes = stats.notes
    return result, joint_stats
