"""The closed-form storage-free optimum (issue 12, item 2) against the LP.

Primal: the same objective as HiGHS on the LP. Dual: the closed-form duals satisfy the
LP's optimality conditions (dual feasibility and complementary slackness in HiGHS's sign
convention), so they are an optimal dual solution; where the LP's dual is unique they
equal HiGHS's.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from essdispatch.model.lp import assemble_lp
from essdispatch.solve.closed_form import closed_form_applies, solve_storage_free
from essdispatch.solve.dispatch import solve_dispatch, solve_joint
from essdispatch.testing import assert_valid_result
from tests.test_properties import random_fleet


def storage_free_case(seed: int, S: int, T: int, groups: str):
    rng = np.random.default_rng(seed)
    inp = random_fleet(seed, S, 0, T).without_storage()
    sell = rng.uniform(0, 120, (S, T))
    inp = replace(
        inp,
        sell_price=sell,
        buy_price=sell + rng.uniform(0, 40, (S, T)),
        load=inp.load * rng.uniform(0.5, 3.0, (S, 1)),
        import_limit=np.where(rng.uniform(size=S) < 0.3, np.inf, rng.uniform(0, 15, S)),
    )
    peak = float(np.minimum(inp.pv.max(axis=1), inp.export_limit).sum())
    if groups == "none" or S < 2:
        return inp
    if groups == "one":
        sets = (np.arange(S),)
    else:  # disjoint: two groups of sites
        half = S // 2
        sets = (np.arange(half), np.arange(half, S))
    G = len(sets)
    return replace(
        inp,
        group_names=tuple(f"g{k}" for k in range(G)),
        group_sites=sets,
        group_export_limit=rng.uniform(0.1, 0.7, G) * max(peak, 1.0),
        group_import_limit=np.where(rng.uniform(size=G) < 0.5, np.inf, rng.uniform(0, 20, G)),
    )


def kkt_violation(inp, result) -> float:
    """Largest violation of the LP's dual feasibility / complementary slackness."""
    lp = assemble_lp(inp)
    lay = lp.layout
    x = np.zeros(lay.n_cols)
    for name in ("imp", "exp", "cur", "shed"):
        x[lay.idx(name).ravel()] = getattr(result, name).ravel()
    y = np.zeros(lp.n_rows)
    y[lp.row_families["balance"]] = result.duals["balance"].ravel()
    for fam, limits in (
        ("group_export", inp.group_export_limit),
        ("group_import", inp.group_import_limit),
    ):
        if fam in lp.row_families:
            y[lp.row_families[fam]] = result.duals[fam][np.isfinite(limits)].ravel()
    reduced = lp.c - lp.A.T @ y
    scale = 1.0 + np.abs(lp.c)
    tol = 1e-7
    at_lo = x <= lp.col_lower + tol
    at_hi = x >= lp.col_upper - tol
    worst = 0.0
    worst = max(worst, float((-reduced[at_lo & ~at_hi] / scale[at_lo & ~at_hi]).max(initial=0)))
    worst = max(worst, float((reduced[at_hi & ~at_lo] / scale[at_hi & ~at_lo]).max(initial=0)))
    mid = ~at_lo & ~at_hi
    worst = max(worst, float((np.abs(reduced[mid]) / scale[mid]).max(initial=0)))
    # ≤ rows: y ≤ 0, and y = 0 where the row is slack
    activity = lp.A @ x
    leq = np.isinf(lp.row_lower)
    worst = max(worst, float(y[leq].max(initial=0)))
    slack = leq & (activity < lp.row_upper - 1e-7)
    worst = max(worst, float(np.abs(y[slack]).max(initial=0)))
    return worst


@settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(0, 10_000),
    S=st.integers(1, 5),
    T=st.integers(1, 40),
    groups=st.sampled_from(["none", "one", "disjoint"]),
)
def test_closed_form_equals_the_lp(seed, S, T, groups):
    inp = storage_free_case(seed, S, T, groups)
    assert closed_form_applies(inp) is None
    closed = solve_storage_free(inp)
    lp_result = solve_joint(inp)
    assert closed.objective == pytest.approx(lp_result.objective, rel=1e-9, abs=1e-7)
    assert_valid_result(closed)
    for key in ("total_cost", "curtailed_mwh", "unserved_mwh", "export_mwh", "import_mwh"):
        assert closed.figures[key] == pytest.approx(lp_result.figures[key], rel=1e-9, abs=1e-7)
    # the closed-form duals are an optimal dual solution of the LP
    assert kkt_violation(inp, closed) < 1e-9
    # and dual objective = primal objective (strong duality) is implied; HiGHS's own duals
    # pass the same check, which validates the check's sign convention
    assert kkt_violation(inp, lp_result) < 1e-6


def test_hand_case_group_export_shadow_price():
    """Three sites, 10 MW surplus each, sell 30/50/40, group limit 15 MW: the site selling
    at 50 exports 10, the one at 40 exports 5, the one at 30 curtails all: objective
    −(500 + 200) = −700; the group's shadow price is 40 (one more MW goes to the 40 site),
    so the row dual is −40. Balance duals (cost of one more MW of load): the 30 and 40
    sites curtail, so less surplus costs nothing (0); the 50 site exports all it has, so
    one MW less loses 50 but frees 1 MW of tie worth 40 to the 40 site: +10."""
    inp = random_fleet(0, 3, 0, 1).without_storage()
    inp = replace(
        inp,
        pv=np.array([[11.0], [10.0], [10.0]]),
        load=np.array([[1.0], [0.0], [0.0]]),
        sell_price=np.array([[30.0], [50.0], [40.0]]),
        buy_price=np.array([[60.0], [60.0], [60.0]]),
        carbon_price=0.0,
        export_limit=np.full(3, 20.0),
        import_limit=np.full(3, np.inf),
        group_names=("tie",),
        group_sites=(np.arange(3),),
        group_export_limit=np.array([15.0]),
        group_import_limit=np.array([np.inf]),
    )
    r = solve_storage_free(inp)
    assert r.objective == pytest.approx(-700.0)
    np.testing.assert_allclose(r.exp[:, 0], [0.0, 10.0, 5.0])
    np.testing.assert_allclose(
        r.cur[:, 0], [10.0, 0.0, 5.0]
    )  # site 0: 1 of its 11 MW serves its load
    assert r.duals["group_export"][0, 0] == pytest.approx(-40.0)
    np.testing.assert_allclose(r.duals["balance"][:, 0], [0.0, 10.0, 0.0])
    lp = solve_joint(inp)
    np.testing.assert_allclose(lp.duals["balance"][:, 0], [0.0, 10.0, 0.0], atol=1e-9)
    assert lp.duals["group_export"][0, 0] == pytest.approx(-40.0)


def test_hand_case_import_group_and_shedding():
    """Two sites short of 10 MW each, buy 100 and 300, VOLL 1000, import tie 12 MW: the
    300 site gains 700/MW from importing, the 100 site 900/MW: the 100 site imports 10,
    the 300 site 2 and sheds 8. Cost 100·10 + 300·2 + 1000·8 = 9600; tie price 700."""
    inp = random_fleet(0, 2, 0, 1).without_storage()
    inp = replace(
        inp,
        pv=np.zeros((2, 1)),
        load=np.full((2, 1), 10.0),
        sell_price=np.zeros((2, 1)),
        buy_price=np.array([[100.0], [300.0]]),
        carbon_price=0.0,
        voll=1000.0,
        export_limit=np.full(2, 20.0),
        import_limit=np.full(2, 50.0),
        group_names=("tie",),
        group_sites=(np.arange(2),),
        group_export_limit=np.array([np.inf]),
        group_import_limit=np.array([12.0]),
    )
    r = solve_storage_free(inp)
    assert r.objective == pytest.approx(9600.0)
    np.testing.assert_allclose(r.imp[:, 0], [10.0, 2.0])
    np.testing.assert_allclose(r.shed[:, 0], [0.0, 8.0])
    assert r.duals["group_import"][0, 0] == pytest.approx(-700.0)
    np.testing.assert_allclose(r.duals["balance"][:, 0], [800.0, 1000.0])
    lp = solve_joint(inp)
    assert lp.objective == pytest.approx(9600.0)
    np.testing.assert_allclose(lp.duals["balance"][:, 0], [800.0, 1000.0], atol=1e-9)


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda i: replace(i, buy_price=i.sell_price - 1.0), "buy price is below the sell"),
        (
            lambda i: replace(
                i,
                buy_price=np.full_like(i.buy_price, -500.0),
                sell_price=np.full_like(i.sell_price, -510.0),
            ),
            "negative",
        ),
        (lambda i: replace(i, voll=1.0), "value of lost load"),
        (
            lambda i: replace(
                i,
                group_names=("a", "b"),
                group_sites=(np.arange(3), np.arange(1, 3)),
                group_export_limit=np.array([5.0, 5.0]),
                group_import_limit=np.array([np.inf, np.inf]),
            ),
            "two export groups",
        ),
    ],
)
def test_where_the_closed_form_does_not_apply_the_lp_is_solved(change, reason):
    inp = change(storage_free_case(5, 3, 200, "none"))
    assert reason in closed_form_applies(inp)
    result, stats = solve_dispatch(inp)
    assert stats.route.startswith("time blocks")
    assert result.objective == pytest.approx(solve_joint(inp).objective, rel=1e-9, abs=1e-6)
    with pytest.raises(ValueError, match="closed form does not apply"):
        solve_storage_free(inp)


def test_the_baseline_route_uses_the_closed_form():
    inp = storage_free_case(9, 4, 400, "disjoint")
    result, stats = solve_dispatch(inp)
    assert stats.route == "closed form (no storage)"
    joint = solve_joint(inp)
    assert result.objective == pytest.approx(joint.objective, rel=1e-9)
    assert result.duals["balance"].shape == (4, 400)
    assert kkt_violation(inp, result) < 1e-9


def test_a_program_with_other_families_is_solved_as_an_lp():
    """The closed form reads the assembled program; anything beyond balance and group rows
    over the four site columns (here: a stray extra row family) refuses it."""
    from dataclasses import replace as dc_replace

    import scipy.sparse as sp

    inp = storage_free_case(3, 2, 4, "one")
    lp = assemble_lp(inp)
    extra = sp.csc_array(sp.vstack([lp.A, sp.csr_array(np.ones((1, lp.n_cols)))]))
    fams = dict(lp.row_families)
    fams["user_cap"] = slice(lp.n_rows, lp.n_rows + 1)
    bigger = dc_replace(
        lp,
        A=extra,
        row_lower=np.append(lp.row_lower, -np.inf),
        row_upper=np.append(lp.row_upper, 1e9),
        row_families=fams,
    )
    assert "other constraint families (user_cap)" in closed_form_applies(inp, bigger)
    assert "nonzero lower bound" in closed_form_applies(
        inp, dc_replace(lp, col_lower=np.full(lp.n_cols, 0.5))
    )
