"""HiGHS thread handling (issue 18): HiGHS >= 1.16 keeps one thread scheduler per process and
refuses a ``threads`` option that differs from the running scheduler's count. Every solve below
asks for a thread count different from the one before it, in this process, in forked and
spawned worker processes and on real Dask workers (two cases per worker); all must reach the
same optimum. A HiGHS failure must carry HiGHS's own words.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import highspy
import pytest

from essdispatch.base.exceptions import SolveError
from essdispatch.model.lp import assemble_lp
from essdispatch.solve.highs import SolverOptions, highs_for, highs_said, solve_lp
from essdispatch.testing import make_inputs

# buy 100, sell rising 50..80, load 2, solar [0, 5, 10, 10] and a default unit: a small LP
# whose optimum (-1180) is reached whatever the thread count
OBJECTIVE = -1180.0
THREADS = [2, 1, 2, None, 1, 3]


def small_lp():
    return assemble_lp(
        make_inputs(pv=[0, 5, 10, 10], buy_price=[100] * 4, sell_price=[50, 60, 70, 80], load=2)
    )


def objectives(counts: list[int | None]) -> list[float]:
    lp = small_lp()
    return [solve_lp(lp, SolverOptions(threads=t)).objective for t in counts]


def test_changing_thread_count_in_one_process():
    assert objectives(THREADS) == pytest.approx([OBJECTIVE] * len(THREADS), abs=1e-9)


def test_threads_given_as_a_highs_option_are_handled_the_same_way():
    lp = small_lp()
    for t in (2, 1, 2):
        sol = solve_lp(lp, SolverOptions(highs={"threads": t}))
        assert sol.objective == pytest.approx(OBJECTIVE, abs=1e-9)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_worker_processes_with_other_thread_counts(method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method on this platform")
    objectives([2])  # the parent's scheduler now runs with 2 threads (a forked child copies it)
    ctx = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        got = list(pool.map(objectives, [[1, 2], [2, 1], [None, 1]]))
    assert got == [pytest.approx([OBJECTIVE] * 2, abs=1e-9)] * 3


def test_dask_workers_two_cases_each_with_other_thread_counts():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        workers = sorted(client.scheduler_info()["workers"])
        assert len(workers) == 2
        futures = [
            client.submit(objectives, counts, workers=[w], pure=False)
            for w in workers
            for counts in ([2, 1], [1, 2])
        ]
        got = client.gather(futures)
    assert got == [pytest.approx([OBJECTIVE] * 2, abs=1e-9)] * 4


def test_a_highs_failure_says_what_highs_said():
    objectives([2])  # scheduler running with 2 threads
    h = highs_for(small_lp())
    h.setOptionValue("threads", 1)  # bypass essdispatch's handling on purpose
    if h.run() != highspy.HighsStatus.kError:
        pytest.skip("this HiGHS does not check the thread count against its scheduler (< 1.16)")
    said = highs_said(h)
    assert said is not None and "scheduler has already been initialized" in said


def test_a_rejected_option_names_highs_reason():
    with pytest.raises(SolveError, match=r"solver='foo'.*not one of"):
        solve_lp(small_lp(), SolverOptions(highs={"solver": "foo"}))


def test_highs_banner_does_not_reach_stdout(tmp_path):
    # HiGHS prints its banner from C++ at the first construction in a process; piped output
    # of `essdispatch run` must hold essdispatch's lines only (the log goes to stderr, and only
    # with --verbose).
    import subprocess
    import sys
    from pathlib import Path

    scenario = Path(__file__).parent.parent / "scenarios" / "two-sites-shared-tie-day.yaml"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "essdispatch.cli",
            "run",
            str(scenario),
            "--out",
            str(tmp_path),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "HiGHS" not in res.stdout
    assert "two-sites-shared-tie-day" in res.stdout


def test_forked_children_start_a_fresh_scheduler():
    """A parent whose scheduler runs 2 threads forks again and again: each child starts a
    fresh scheduler (the parent shuts its idle one down before the fork), so a child never
    calls into a copy whose threads and locks it does not have."""
    from essdispatch.solve import highs_runtime as solve

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork start method on this platform")
    ctx = multiprocessing.get_context("fork")
    for _ in range(8):
        objectives([2])
        assert solve._scheduler["threads"] == 2
        with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
            got = list(pool.map(objectives, [[1], [None], [2]], timeout=60))
        assert got == [pytest.approx([OBJECTIVE], abs=1e-9)] * 3
        assert solve._scheduler["threads"] is None  # shut down before the fork
