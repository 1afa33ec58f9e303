"""Warm-started joint solves (issue 12): the per-site bases start the joint simplex.

A warm start changes the route, never the optimum: every test compares against a cold
solve of the same LP.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from essdispatch.model.lp import assemble_lp
from essdispatch.solve.dispatch import SolveStats, _solve_sites, solve_dispatch, solve_joint
from essdispatch.solve.highs import SolverOptions, solve_lp
from essdispatch.solve.warmstart import (
    BASIC,
    Basis,
    apply_basis,
    joint_basis,
    row_keys,
    site_columns,
)
from essdispatch.testing import assert_valid_result
from tests.test_properties import random_fleet

COLD = SolverOptions(warm_start=False)


def _with_groups(inp, kind: str, rng: np.random.Generator):
    """Add group limits to a random fleet: one over all sites, or two overlapping."""
    S = inp.n_sites
    peak = float(np.minimum(inp.pv.max(axis=1), inp.export_limit).sum())
    if kind == "overlapping" and S >= 3:
        groups = (np.arange(S - 1), np.arange(1, S))
    else:
        groups = (np.arange(S),)
    G = len(groups)
    export = np.full(G, max(peak * rng.uniform(0.2, 0.6), 0.5) if kind != "loose" else 1e4)
    imports = np.where(rng.uniform(size=G) < 0.5, np.inf, rng.uniform(5.0, 30.0, G))
    if kind == "loose":
        imports = np.full(G, np.inf)
    return replace(
        inp,
        group_names=tuple(f"g{k}" for k in range(G)),
        group_sites=groups,
        group_export_limit=export,
        group_import_limit=imports,
    )


@settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(0, 10_000),
    S=st.integers(2, 4),
    U=st.integers(1, 2),
    T=st.integers(3, 30),
    kind=st.sampled_from(["binding", "overlapping", "loose"]),
    self_discharge=st.booleans(),
)
def test_warm_started_equals_cold(seed, S, U, T, kind, self_discharge):
    """Binding, overlapping and loose groups, no-grid-charging units (random gc), every
    terminal mode (random per unit), self-discharge: the warm route's optimum is the
    cold joint optimum, and HiGHS ends on a valid optimal basis."""
    rng = np.random.default_rng(seed)
    inp = _with_groups(random_fleet(seed, S, U, T, self_discharge=self_discharge), kind, rng)
    warm, stats = solve_dispatch(inp)
    cold = solve_joint(inp, COLD)
    assert warm.objective == pytest.approx(cold.objective, rel=1e-7, abs=1e-6)
    assert_valid_result(warm)
    if stats.route.startswith("joint, warm-started"):
        assert not any(n.startswith("warm start") for n in stats.notes), stats.notes
    # the joint LP from the assembled basis ends on an optimal basis of the joint LP
    lp = assemble_lp(inp)
    solved = _solve_sites(inp, None, SolveStats(), 1, lambda _m: None, keep_basis=True)
    parts = []
    for sites, _res, (basis, keys) in solved:
        units = np.flatnonzero(np.isin(inp.unit_site, sites))
        sub = assemble_lp(inp.subset_sites(sites)).layout
        parts.append((site_columns(lp.layout, sub, sites, units), basis, keys))
    start, why = joint_basis(lp, parts)
    assert why is None and start is not None
    assert start.n_basic == lp.n_rows
    sol = solve_lp(lp, None, start=start, keep_basis=True)
    assert sol.objective == pytest.approx(cold.objective, rel=1e-7, abs=1e-6)
    assert sol.basis is not None and sol.basis.n_basic == lp.n_rows
    assert not sol.notes
    if kind == "loose":
        # the per-site optimum meets the slack group rows: the assembled basis (group rows
        # basic) is already optimal for the joint LP, so a correct mapping needs no pivot
        assert sol.iterations == 0


def _tie_case(T: int = 24 * 14, S: int = 6):
    inp = random_fleet(3, S, 1, T)
    inp = replace(inp, grid_charging=np.ones(inp.n_units, dtype=bool))
    peak = float(np.minimum(inp.pv.max(axis=1), inp.export_limit).sum())
    return replace(
        inp,
        group_names=("tie",),
        group_sites=(np.arange(S),),
        group_export_limit=np.array([0.4 * peak]),
        group_import_limit=np.array([np.inf]),
    )


def test_binding_tie_takes_the_warm_route_with_fewer_joint_iterations():
    inp = _tie_case()
    warm, stats = solve_dispatch(inp, workers=1)
    assert stats.route == "joint, warm-started from the per-site bases (group limit binds)"
    assert stats.subproblems == inp.n_sites + 1
    cold_stats = SolveStats()
    cold = solve_joint(inp, COLD, cold_stats)
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
    # the joint phase alone: its iterations are the total minus the per-site ones
    site_stats = SolveStats()
    _solve_sites(inp, None, site_stats, 1, lambda _m: None, keep_basis=True)
    joint_iterations = stats.iterations - site_stats.iterations
    assert 0 < joint_iterations < 0.5 * cold_stats.iterations
    # the figures and duals of the run do not depend on the route's start
    np.testing.assert_allclose(warm.exp.sum(axis=0), cold.exp.sum(axis=0), atol=1e-6)


def test_warm_start_off_solves_cold():
    inp = _tie_case(T=48, S=3)
    r, stats = solve_dispatch(inp, COLD)
    assert stats.route == "joint (group limit binds without storage)" or stats.route == (
        "joint (group limit binds)"
    )


def test_parallel_workers_return_their_bases():
    inp = _tie_case(T=72, S=4)
    seq, s1 = solve_dispatch(inp, workers=1)
    par, s2 = solve_dispatch(inp, workers=2)
    assert s1.route == s2.route
    assert s2.route.startswith("joint, warm-started")
    assert par.objective == pytest.approx(seq.objective, rel=1e-9)


def test_a_mismatched_basis_is_refused_and_the_solve_runs_cold():
    inp = _tie_case(T=24, S=2)
    lp = assemble_lp(inp)
    cold = solve_lp(lp, COLD)
    # wrong size
    bad = Basis(np.zeros(lp.n_cols - 1, np.int8), np.full(lp.n_rows, BASIC, np.int8))
    sol = solve_lp(lp, None, start=bad)
    assert sol.objective == pytest.approx(cold.objective, rel=1e-9)
    assert any("warm start refused" in n and "does not fit" in n for n in sol.notes)
    # right size, wrong number of basic variables (another structure's basis)
    bad = Basis(np.full(lp.n_cols, BASIC, np.int8), np.full(lp.n_rows, BASIC, np.int8))
    sol = solve_lp(lp, None, start=bad)
    assert sol.objective == pytest.approx(cold.objective, rel=1e-9)
    assert any("basic variables" in n for n in sol.notes)


def test_parts_that_do_not_match_the_joint_rows_are_refused():
    inp = _tie_case(T=24, S=2)
    lp = assemble_lp(inp)
    other = assemble_lp(_tie_case(T=12, S=2).subset_sites(np.array([0])))
    basis = Basis(np.zeros(other.n_cols, np.int8), np.full(other.n_rows, BASIC, np.int8))
    sub = assemble_lp(inp.subset_sites(np.array([0]))).layout
    cols = site_columns(lp.layout, sub, np.array([0]), np.array([0]))
    start, why = joint_basis(lp, [(cols, basis, row_keys(other))])
    assert start is None and "does not fit" in why


def test_refused_warm_start_is_noted_in_the_run_notes(monkeypatch):
    from essdispatch.solve import dispatch

    def no_basis(lp, parts):
        return None, "test: no basis"

    monkeypatch.setattr(dispatch, "joint_basis", no_basis)
    inp = _tie_case(T=48, S=3)
    r, stats = solve_dispatch(inp, workers=1)
    assert any("warm start not used (test: no basis): solved cold" in n for n in stats.notes)
    assert r.objective == pytest.approx(solve_joint(inp, COLD).objective, rel=1e-9)


def test_apply_basis_reports_highs_refusal():
    inp = _tie_case(T=6, S=2)
    lp = assemble_lp(inp)
    from essdispatch.solve.highs import highs_for

    h = highs_for(lp)
    ok = Basis(np.zeros(lp.n_cols, np.int8), np.full(lp.n_rows, BASIC, np.int8))
    assert apply_basis(h, lp, ok) is None


# ------------------------------------------------------------------ across sweep cases
def test_sweep_cases_start_from_earlier_bases_and_equal_each_case_alone(tmp_path):
    """Cases of one structure (other carbon price, other energy) start from the basis of a
    case solved before in the same process; their figures equal each case run alone and
    cold (the test scenario has a unique optimum), with fewer simplex iterations in all."""
    from essdispatch.run import run_loaded
    from essdispatch.sweeps.sweep import load_sweep, run_sweep
    from essdispatch.sweeps.sweep_index import flatten_figures
    from tests.test_sweep import GRID, summary_of, write_base, write_sweep

    write_base(tmp_path)
    path = write_sweep(tmp_path, GRID.replace("[0, 200]", "[0, 100, 200]"))
    rep = run_sweep(path, tmp_path / "out", inline=True, progress=False)
    assert rep.finished == 6
    folder = tmp_path / "out" / "sweeps" / "tiny-sweep"
    sweep = load_sweep(path)
    warm_iterations = cold_iterations = reused = 0
    for case in sweep.cases:
        s = summary_of(folder, case.key)
        reused += s["solver"]["reused_bases"]
        warm_iterations += s["solver"]["iterations"]
        alone = run_loaded(case.scenario, None, options=COLD, file=case.scenario.file)
        assert alone.summary["solver"]["reused_bases"] == 0
        cold_iterations += alone.summary["solver"]["iterations"]
        a, b = flatten_figures(s), flatten_figures(alone.summary)
        for key, val in b.items():
            if key.startswith("solver."):
                continue
            assert a[key] == pytest.approx(val, rel=1e-9, abs=1e-9), key
    assert reused >= 5  # every case after the first
    assert warm_iterations < cold_iterations


def test_basis_cache_is_keyed_by_structure():
    from essdispatch.solve.warmstart import BasisCache, shared_bases

    a = _tie_case(T=24, S=2)
    lp_a = assemble_lp(a)
    lp_b = assemble_lp(replace(a, buy_price=a.buy_price * 2))  # other costs, same structure
    lp_c = assemble_lp(_tie_case(T=12, S=2))  # other structure
    assert BasisCache.key(lp_a) == BasisCache.key(lp_b) != BasisCache.key(lp_c)
    one = random_fleet(4, 1, 1, 48)  # one site: one LP per solve
    cache = BasisCache(max_entries=1)
    with shared_bases(cache):
        first = solve_dispatch(one)[1]
        second = solve_dispatch(replace(one, buy_price=one.buy_price * 2))[1]
        third = solve_dispatch(random_fleet(4, 1, 1, 24))[1]  # other structure
    assert (first.reused_bases, second.reused_bases, third.reused_bases) == (0, 1, 0)
    assert len(cache._bases) == 1 and (cache.hits, cache.misses) == (1, 2)
    # outside the block nothing is reused
    assert solve_dispatch(one)[1].reused_bases == 0


def test_sites_start_from_the_first_sites_basis_deterministically():
    """With warm starts every site after the first starts from the first site's optimal
    basis (same shape): fewer iterations than all cold, and the same result whatever the
    number of worker processes."""
    inp = random_fleet(21, 4, 1, 72)
    inp = replace(inp, grid_charging=np.ones(inp.n_units, dtype=bool))
    warm_stats, cold_stats = SolveStats(), SolveStats()
    warm = _solve_sites(inp, None, warm_stats, 1, lambda _m: None, keep_basis=True)
    cold = _solve_sites(inp, COLD, cold_stats, 1, lambda _m: None, keep_basis=False)
    assert warm_stats.reused_bases == inp.n_sites - 1 and cold_stats.reused_bases == 0
    assert warm_stats.iterations < cold_stats.iterations
    for (_, a, _), (_, b, _) in zip(warm, cold, strict=True):
        assert a.objective == pytest.approx(b.objective, rel=1e-9, abs=1e-9)
    par_stats = SolveStats()
    par = _solve_sites(inp, None, par_stats, 2, lambda _m: None, keep_basis=True)
    assert par_stats.iterations == warm_stats.iterations
    for (_, a, _), (_, b, _) in zip(warm, par, strict=True):
        np.testing.assert_array_equal(a.e, b.e)
