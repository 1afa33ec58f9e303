"""Solve one dispatch problem: assemble, solve with HiGHS, extract.

Sites couple only through the families declared ``couples_sites`` in
:mod:`essdispatch.model.families` (today the group limits of constraint 3). With
``decompose=True`` (the default) the sites are first solved one by one without
those rows; the objective is a sum over sites, so if that solution also satisfies
every coupling row it is optimal for the joint problem and is returned.
Otherwise (a coupling row binds) the joint problem is solved. Either way the
optimum is the joint one; only the route differs. The per-site route is taken
only when every coupling family is one this module can check
(:data:`CHECKED_COUPLING`): a newly declared family that couples sites makes the
problem solve jointly until its check is added here.

Putting per-site results back together and the group checks are in ``dispatch_parts``
(re-exported here).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from essdispatch.base.inputs import Inputs
from essdispatch.model.econ import couples_periods
from essdispatch.model.families import couples_sites
from essdispatch.model.lp import Layout, LinearProgram, assemble_lp
from essdispatch.results.extract import DispatchResult, extract
from essdispatch.solve.closed_form import closed_form_applies, solve_storage_free
from essdispatch.solve.dispatch_parts import (  # re-export
    GROUP_TOLERANCE_MW,
    group_binds_without_storage,
    groups_satisfied,
    stitch,
)
from essdispatch.solve.highs import solve_lp
from essdispatch.solve.highs_options import SolverOptions
from essdispatch.solve.warmstart import (
    Basis,
    RowKeys,
    active_cache,
    joint_basis,
    row_keys,
    site_columns,
)

__all__ = [
    "CHECKED_COUPLING",
    "GROUP_TOLERANCE_MW",
    "PARALLEL_MIN_SITE_PERIODS",
    "TIME_BLOCK_PERIODS",
    "SolveStats",
    "default_workers",
    "group_binds_without_storage",
    "groups_satisfied",
    "solve_dispatch",
    "solve_in_time_blocks",
    "solve_joint",
    "stitch",
]

#: coupling families whose rows :func:`groups_satisfied` checks after a per-site solve
CHECKED_COUPLING = frozenset({"group_export", "group_import"})
#: below this many site-periods the per-site solves run in this process (start-up of
#: worker processes costs more than it saves)
PARALLEL_MIN_SITE_PERIODS = 100_000
#: a storage-free problem (the baseline) has no link between periods and is solved in
#: blocks of this many periods: in one piece HiGHS took 154–192 s on the 20×8760 benchmark
#: baseline and 45 s on the 11-site Shaanxi fleet year; in weekly blocks 5.8 s and 2.5 s
#: (benchmarks/RESULTS.md)
TIME_BLOCK_PERIODS = 168


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
    iterations: int = 0
    handover_seconds: float = 0.0
    reused_bases: int = 0  # solves started from the basis of an earlier, related solve
    site_seconds: float = 0.0  # wall time of the per-site phase (before a joint solve)
    site_iterations: int = 0  # simplex iterations of the per-site phase
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
            "iterations": self.iterations,
            "handover_seconds": self.handover_seconds,
            "reused_bases": self.reused_bases,
            "site_seconds": self.site_seconds,
            "site_iterations": self.site_iterations,
            "notes": list(self.notes),
        }


#: builds the program of a problem: :func:`essdispatch.model.lp.assemble_lp`, or an
#: extension's :meth:`essdispatch.model.extend.Extension.assemble`
Assemble = Callable[[Inputs], LinearProgram]
#: a sub-problem's optimal basis and its row keys, for a warm start of the joint problem
WarmPart = tuple[Basis, RowKeys]


def solve_joint(
    inputs: Inputs,
    options: SolverOptions | None = None,
    stats: SolveStats | None = None,
    assemble: Assemble | None = None,
    warm_parts: list[tuple[np.ndarray, np.ndarray, WarmPart]] | None = None,
) -> DispatchResult:
    """Assemble (with ``assemble``, default :func:`assemble_lp`) and solve the whole problem.

    ``warm_parts``: (sites, units, warm part) of per-site solves to start simplex from
    (:mod:`essdispatch.solve.warmstart`); when no joint basis can be assembled from them the
    solve runs cold and a note says why.
    """
    result, _ = _solve_whole(inputs, options, stats, assemble, warm_parts=warm_parts)
    return result


def _solve_whole(
    inputs: Inputs,
    options: SolverOptions | None,
    stats: SolveStats | None,
    assemble: Assemble | None = None,
    warm_parts: list[tuple[np.ndarray, np.ndarray, WarmPart]] | None = None,
    keep_basis: bool = False,
    template: Basis | None = None,
) -> tuple[DispatchResult, WarmPart | None]:
    stats = stats if stats is not None else SolveStats()
    t0 = time.perf_counter()
    lp = (assemble or assemble_lp)(inputs)
    t1 = time.perf_counter()
    start = None
    if warm_parts and not lp.is_mip:
        start, why = _joint_start(inputs, lp, warm_parts)
        if why:
            stats.notes.append(f"warm start not used ({why}): solved cold")
    cache = active_cache() if (options or SolverOptions()).warm_start and not lp.is_mip else None
    if cache is not None and start is None:
        start = cache.get(lp)
        if start is not None:
            stats.reused_bases += 1
    if start is None and template is not None and not lp.is_mip and template.fits(lp) is None:
        start = template  # another site's optimal basis (same shape): a better start than none
        stats.reused_bases += 1
    t1b = time.perf_counter()
    sol = solve_lp(lp, options, start=start, keep_basis=keep_basis or cache is not None)
    if cache is not None and sol.basis is not None:
        cache.put(lp, sol.basis)
    t2 = time.perf_counter()
    result = extract(
        inputs, lp.layout, sol.x, sol.objective, sol.row_dual, lp.row_families, lp.row_blocks
    )
    t3 = time.perf_counter()
    stats.build_seconds += t1 - t0
    stats.handover_seconds += t1b - t1
    stats.transfer_seconds += sol.transfer_seconds
    stats.solve_seconds += sol.solve_seconds
    stats.extract_seconds += t3 - t2
    stats.variables += lp.n_cols
    stats.constraints += lp.n_rows
    stats.iterations += sol.iterations
    stats.status = sol.status
    stats.termination = sol.termination.value
    stats.mip_gap = sol.mip_gap
    stats.notes.extend(sol.notes)
    warm = (sol.basis, row_keys(lp)) if sol.basis is not None else None
    return result, warm


def _joint_start(
    inputs: Inputs, lp: LinearProgram, warm_parts: list[tuple[np.ndarray, np.ndarray, WarmPart]]
) -> tuple[Basis | None, str | None]:
    """The joint basis from per-site bases (see :func:`essdispatch.solve.warmstart.joint_basis`)."""
    parts = []
    try:
        for sites, units, (basis, keys) in warm_parts:
            sub = Layout.of(inputs.subset_sites(sites))
            parts.append((site_columns(lp.layout, sub, sites, units), basis, keys))
    except ValueError as exc:
        return None, str(exc)
    return joint_basis(lp, parts)


def solve_in_time_blocks(
    inputs: Inputs, options: SolverOptions | None, stats: SolveStats
) -> DispatchResult:
    """Solve a storage-free problem block by block in time (exact: no row links periods)."""
    if inputs.n_units:
        raise ValueError("time blocks are exact only without storage units")
    T = inputs.n_periods
    blocks = [slice(a, min(T, a + TIME_BLOCK_PERIODS)) for a in range(0, T, TIME_BLOCK_PERIODS)]
    parts = [solve_joint(inputs.subset_periods(b), options, stats) for b in blocks]
    stats.route = f"time blocks ({len(blocks)} × ≤{TIME_BLOCK_PERIODS} periods)"
    stats.subproblems = len(blocks)
    t0 = time.perf_counter()
    layout = Layout.of(inputs)
    x = np.zeros(layout.n_cols)
    for k in ("cur", "imp", "exp", "shed"):
        x[layout.idx(k).ravel()] = np.concatenate([getattr(p, k) for p in parts], axis=1).ravel()
    result = extract(inputs, layout, x, sum(p.objective for p in parts))
    if all(p.duals for p in parts):
        for fam in parts[0].duals:
            result.duals[fam] = np.concatenate([p.duals[fam] for p in parts], axis=1)
    stats.extract_seconds += time.perf_counter() - t0
    return result


def solve_dispatch(
    inputs: Inputs,
    options: SolverOptions | None = None,
    decompose: bool = True,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
    extension: Any = None,
) -> tuple[DispatchResult, SolveStats]:
    """Solve ``inputs`` to optimality (see the module docstring for the route).

    Parameters
    ----------
    inputs : the problem
    options : HiGHS options
    decompose : try the per-site route first (exclusive-mode MILPs too: the
        binaries are per unit, so they decompose the same way)
    progress : called with a short phase description as work proceeds
    workers : processes for the per-site solves (None: one per core when the
        problem is large enough to pay for starting them; 1: in this process)
    extension : an :class:`essdispatch.model.extend.Extension`: every (sub)problem is built
        through it; solved jointly (no time blocks either) unless it declares
        ``couples_sites = False``, then site by site as without one

    Returns
    -------
    (result, stats)
    """
    say = progress or (lambda _msg: None)
    stats = SolveStats()
    assemble = extension.assemble if extension is not None else None
    if extension is not None and (not decompose or extension.couples_sites):
        say(f"extension {extension.label}: solving joint problem")
        stats.route = f"joint (extension {extension.label})"
        return solve_joint(inputs, options, stats, assemble), stats
    # an extended model skips the closed form and the time blocks (they would ignore it)
    if extension is None and decompose and inputs.n_units == 0:
        why = closed_form_applies(inputs)
        if why is None:
            say("no storage: closed-form optimum")
            t0 = time.perf_counter()
            result = solve_storage_free(inputs)
            stats.route = "closed form (no storage)"
            stats.status, stats.termination = "Optimal", "optimal"
            stats.solve_seconds = time.perf_counter() - t0
            return result, stats
        stats.notes.append(f"closed form not used: {why}")
    if (
        extension is None
        and decompose
        and inputs.n_units == 0
        and inputs.n_periods > TIME_BLOCK_PERIODS
        and not couples_periods(inputs)  # a monthly demand charge links periods
    ):
        say(f"no storage: solving in blocks of {TIME_BLOCK_PERIODS} periods")
        return solve_in_time_blocks(inputs, options, stats), stats
    if not decompose or inputs.n_sites <= 1:
        say("solving joint problem")
        return solve_joint(inputs, options, stats, assemble), stats
    unchecked = sorted(set(couples_sites(inputs)) - CHECKED_COUPLING)
    if unchecked:
        say(f"{', '.join(unchecked)} couple sites: solving joint problem")
        stats.route = f"joint ({', '.join(unchecked)} couple sites)"
        return solve_joint(inputs, options, stats, assemble), stats

    warm = inputs.n_units > 0 and not inputs.exclusive and (options or SolverOptions()).warm_start
    if not warm and group_binds_without_storage(inputs):
        # without a warm start the per-site solves would be thrown away
        say("a group limit binds even without storage: solving joint problem")
        stats.route = "joint (group limit binds without storage)"
        return solve_joint(inputs, options, stats, assemble), stats

    t_sites = time.perf_counter()
    solved = _solve_sites(inputs, options, stats, workers, say, assemble, keep_basis=warm)
    stats.site_seconds = time.perf_counter() - t_sites
    stats.site_iterations = stats.iterations
    parts = [(sites, res) for sites, res, _ in solved]
    stats.subproblems = len(parts)
    stats.route = "per-site"
    t0 = time.perf_counter()
    result = stitch(inputs, parts)
    stats.extract_seconds += time.perf_counter() - t0
    if groups_satisfied(inputs, result):
        return result, stats
    warm_parts = None
    if warm and all(w is not None for _, _, w in solved):
        warm_parts = [
            (sites, np.flatnonzero(np.isin(inputs.unit_site, sites)), w) for sites, _, w in solved
        ]
    if warm_parts:
        say("a group limit binds: solving joint problem from the per-site bases")
        route = "joint, warm-started from the per-site bases (group limit binds)"
        note = "group limit binds: joint problem solved from the per-site optimal bases"
    else:
        say("a group limit binds: solving joint problem")
        route = "joint (group limit binds)"
        note = "group limit binds: per-site solution discarded, joint problem solved"
    stats.notes.append(note)
    joint_stats = SolveStats(route=route, notes=stats.notes)
    result = solve_joint(inputs, options, joint_stats, assemble, warm_parts=warm_parts)
    if warm_parts and any(n.startswith("warm start") for n in joint_stats.notes):
        joint_stats.route = "joint (group limit binds; warm start refused)"
    joint_stats.build_seconds += stats.build_seconds
    joint_stats.transfer_seconds += stats.transfer_seconds
    joint_stats.solve_seconds += stats.solve_seconds
    joint_stats.extract_seconds += stats.extract_seconds
    joint_stats.iterations += stats.iterations
    joint_stats.reused_bases += stats.reused_bases
    joint_stats.site_seconds = stats.site_seconds
    joint_stats.site_iterations = stats.site_iterations
    joint_stats.subproblems = stats.subproblems + 1
    return result, joint_stats


def _solve_one(
    args: tuple[Inputs, SolverOptions | None, Assemble | None, bool, Basis | None],
) -> tuple[DispatchResult, SolveStats, WarmPart | None]:
    inputs, options, assemble, keep_basis, template = args
    stats = SolveStats()
    result, warm = _solve_whole(
        inputs, options, stats, assemble, keep_basis=keep_basis, template=template
    )
    return result, stats, warm


def _picklable(obj: Any) -> bool:
    import pickle

    try:
        pickle.dumps(obj)
    except Exception:
        return False
    return True


def default_workers(inputs: Inputs) -> int:
    """Worker processes for per-site solves: one per core for large fleets, else 1."""
    if inputs.n_sites * inputs.n_periods < PARALLEL_MIN_SITE_PERIODS:
        return 1
    return max(1, min(os.cpu_count() or 1, inputs.n_sites))


def _solve_sites(
    inputs: Inputs,
    options: SolverOptions | None,
    stats: SolveStats,
    workers: int | None,
    say: Callable[[str], None],
    assemble: Assemble | None = None,
    keep_basis: bool = False,
) -> list[tuple[np.ndarray, DispatchResult, WarmPart | None]]:
    """Solve every site alone (no group rows), in worker processes when worth it; with
    ``keep_basis`` each returns its optimal basis for a warm start of the joint problem."""
    n = inputs.n_sites
    jobs = [(np.array([s]), inputs.subset_sites(np.array([s]))) for s in range(n)]
    workers = default_workers(inputs) if workers is None else max(1, workers)
    if workers > 1 and assemble is not None and not _picklable(assemble):
        workers = 1  # an extension hook defined in __main__ or a lambda: solve in this process
    results: list[tuple[DispatchResult, SolveStats, WarmPart | None]] = []
    template = None
    if keep_basis and n > 1:
        # the first site cold; every other site starts from its optimal basis where the
        # shapes agree (sites of one fleet look alike: 448 163 → 30 389 iterations at
        # 20 × 8760). The same start whatever the worker count: deterministic.
        say(f"solving site 1/{n}")
        results.append(_solve_one((jobs[0][1], options, assemble, keep_basis, None)))
        first = results[0][2]
        template = first[0] if first is not None else None
        jobs_left = jobs[1:]
    else:
        jobs_left = jobs
    if workers == 1:
        for k, (_, sub) in enumerate(jobs_left, start=len(results)):
            say(f"solving site {k + 1}/{n}")
            results.append(_solve_one((sub, options, assemble, keep_basis, template)))
    else:
        # one HiGHS thread per process: the processes already use the cores
        opts = options or SolverOptions()
        opts = replace(opts, threads=opts.threads or 1)
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        args = [(sub, opts, assemble, keep_basis, template) for _, sub in jobs_left]
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        try:
            for k, out in enumerate(pool.map(_solve_one, args), start=len(results)):
                say(f"solved site {k + 1}/{n} ({workers} processes)")
                results.append(out)
        except BaseException:
            # an interrupt (SIGINT/SIGTERM) or a failed site: stop the other workers now
            # instead of waiting for their solves to end (a pool worker would take a
            # signal as one task's failure and go on with the next task, so: SIGKILL)
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    for _, sub_stats, _ in results:
        for key in ("build_seconds", "transfer_seconds", "solve_seconds", "extract_seconds"):
            setattr(stats, key, getattr(stats, key) + getattr(sub_stats, key))
        stats.variables += sub_stats.variables
        stats.constraints += sub_stats.constraints
        stats.iterations += sub_stats.iterations
        stats.reused_bases += sub_stats.reused_bases
        stats.status, stats.termination = sub_stats.status, sub_stats.termination
        if sub_stats.mip_gap is not None:  # the loosest site's gap is the fleet's
            stats.mip_gap = max(stats.mip_gap or 0.0, sub_stats.mip_gap)
        stats.notes.extend(n for n in sub_stats.notes if n not in stats.notes)
    return [(sites, res, warm) for (sites, _), (res, _, warm) in zip(jobs, results, strict=True)]
