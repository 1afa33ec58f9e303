"""The model is declared once (essdispatch.model.families); the matrix and the Pyomo view agree.

* hypothesis: for random fleets with groups, exclusive mode, no-grid-charging units,
  self-discharge, availability and every terminal mode, compiling the Pyomo model
  gives exactly the LinearProgram of the direct assembly, and every family's
  declared size is what the assembly builds;
* a new family is one declaration: it reaches the matrix, the Pyomo view, the
  duals, the size estimate, the infeasibility wording and the decomposition guard
  (hand-solvable optimum and dual).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from essdispatch.base.exceptions import SolveError
from essdispatch.base.inputs import TERMINAL_MODES, Inputs, default_voll
from essdispatch.model import build_model, compile_model, solve_model
from essdispatch.model import families as fam
from essdispatch.model.families import BlockBuilder, Counts, Family
from essdispatch.model.lp import LinearProgram, assemble_lp
from essdispatch.model.numerics import inputs_size
from essdispatch.solve.dispatch import solve_dispatch
from essdispatch.solve.infeasibility import explain_infeasibility
from essdispatch.testing import assert_lp_equal, make_inputs

PROPS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def fleets(draw: st.DrawFn) -> Inputs:
    """Random fleets that exercise every declared family and bound."""
    S = draw(st.integers(1, 3))
    per_site = draw(st.lists(st.integers(0, 2), min_size=S, max_size=S))
    T = draw(st.integers(1, 6))
    dt = draw(st.sampled_from([0.25, 0.5, 1.0]))
    exclusive = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    B = int(sum(per_site))
    unit_site = np.repeat(np.arange(S), per_site).astype(np.int64)
    terminal = tuple(draw(st.sampled_from(TERMINAL_MODES)) for _ in range(B))
    grid_charging = np.array([draw(st.booleans()) for _ in range(B)], dtype=bool)
    self_discharge = np.where(rng.uniform(size=B) < 0.5, 0.0, rng.uniform(0, 0.05, B))
    availability = rng.choice([0.0, 0.5, 1.0, rng.uniform()], size=(B, T))
    # groups: random subsets of sites, each limit finite or not
    n_groups = draw(st.integers(0, 2)) if S > 1 else 0
    group_sites = tuple(
        np.flatnonzero(rng.uniform(size=S) < 0.7) if S else np.zeros(0, int)
        for _ in range(n_groups)
    )
    group_sites = tuple(g if g.size else np.array([0]) for g in group_sites)

    def limits() -> np.ndarray:
        return np.where(rng.uniform(size=n_groups) < 0.6, rng.uniform(1, 30, n_groups), np.inf)

    energy = rng.uniform(1, 20, B)
    power = energy / rng.choice([1, 2, 4], B)
    soc_min = rng.uniform(0, 0.2, B)
    soc_max = rng.uniform(0.8, 1.0, B)
    sell = rng.uniform(-20, 120, (S, T))
    buy = sell + rng.uniform(0, 40, (S, T))
    return Inputs(
        name="fleet",
        index=pd.date_range("2026-06-01", periods=T, freq=pd.Timedelta(hours=dt), tz="UTC"),
        dt_h=dt,
        currency="CNY",
        carbon_price=float(rng.choice([0.0, 80.0])),
        steer_by="average",
        exclusive=exclusive,
        voll=default_voll(buy),
        site_names=tuple(f"s{i}" for i in range(S)),
        pv=rng.uniform(0, 20, (S, T)) * (rng.uniform(size=(S, T)) < 0.7),
        load=rng.uniform(0, 8, (S, T)),
        buy_price=buy,
        sell_price=sell,
        carbon={"average": rng.uniform(0.3, 0.9, (S, T))},
        export_limit=np.where(rng.uniform(size=S) < 0.5, np.inf, rng.uniform(5, 20, S)),
        import_limit=np.where(rng.uniform(size=S) < 0.5, np.inf, rng.uniform(5, 20, S)),
        unit_names=tuple(f"u{i}" for i in range(B)),
        unit_site=unit_site,
        count=np.ones(B, dtype=np.int64),
        power=power,
        charge_power=power * rng.uniform(0.5, 1.0, B),
        energy=energy,
        eta_charge=rng.uniform(0.85, 0.99, B),
        eta_discharge=rng.uniform(0.85, 0.99, B),
        self_discharge=self_discharge,
        soc_min=soc_min,
        soc_max=soc_max,
        soc_initial=soc_min + (soc_max - soc_min) * rng.uniform(size=B),
        availability=availability,
        degradation_cost=rng.uniform(0, 5, B),
        grid_charging=grid_charging,
        aux=np.where(rng.uniform(size=B) < 0.3, rng.uniform(0, 0.5, B), 0.0),
        terminal=terminal,
        group_names=tuple(f"g{i}" for i in range(n_groups)),
        group_sites=group_sites,
        group_export_limit=limits(),
        group_import_limit=limits(),
    )


@PROPS
@given(fleets())
def test_compiled_pyomo_view_equals_direct_assembly(inputs):
    direct = assemble_lp(inputs)
    compiled = compile_model(build_model(inputs))
    assert_lp_equal(compiled, direct)
    assert list(direct.row_families) == [
        f.name for f in fam.FAMILIES if f.build(inputs, direct.layout) is not None
    ]


@PROPS
@given(fleets())
def test_declared_sizes_are_what_the_assembly_builds(inputs):
    lp = assemble_lp(inputs)
    size = inputs_size(inputs)
    assert (size.columns, size.rows) == (lp.n_cols, lp.n_rows)
    # the direct assembly keeps explicit zeros (availability 0): count stored entries
    assert size.nonzeros == sp.coo_array(lp.A).nnz


@PROPS
@given(fleets())
def test_pyomo_components_are_named_and_indexed_as_documented(inputs):
    m = build_model(inputs)
    S, B, T = inputs.n_sites, inputs.n_units, inputs.n_periods
    assert len(m.imp) == len(m.exp) == len(m.cur) == len(m.shed) == S * T
    assert len(m.ch) == len(m.dis) == B * T and len(m.e) == B * (T + 1)
    assert hasattr(m, "y") == inputs.exclusive
    assert len(m.balance) == S * T and len(m.storage) == B * T
    if B:
        b = B - 1
        assert (
            m.e[b, 0].lb == m.e[b, 0].ub == pytest.approx(inputs.soc_initial[b] * inputs.energy[b])
        )
    for g in range(inputs.n_groups):
        finite = np.isfinite(inputs.group_export_limit[g])
        assert ((g, 0) in m.group_export) == finite
        if finite:
            upper = pyo.value(m.group_export[g, 0].upper)  # an expression on Pyomo < 6.9
            assert upper == pytest.approx(inputs.group_export_limit[g])


def _bare() -> Inputs:
    return make_inputs(pv=[0, 0], buy_price=[10, 100])


def test_assert_lp_equal_catches_each_kind_of_difference():
    inp = make_inputs(
        pv=[0, 0],
        buy_price=[10, 100],
        units=[dict(power_mw=1, energy_mwh=1, charge_efficiency=0.9, discharge_efficiency=0.9)],
    )
    a = assemble_lp(inp)
    assert_lp_equal(a, assemble_lp(inp))
    A = a.A.copy()
    A[0, 0] = A[0, 0] + 1e-6
    changes = {
        "matrix": replace(a, A=A),
        "c": replace(a, c=a.c + 1e-6),
        "row_upper": replace(a, row_upper=a.row_upper + 1e-6),
        "col_lower": replace(a, col_lower=a.col_lower - 1e-6),
        "integrality": replace(a, integrality=~a.integrality),
        "row families": replace(a, row_families={"balance": a.row_families["balance"]}),
    }
    for what, b in changes.items():
        with pytest.raises(AssertionError):
            assert_lp_equal(b, a)
            print(what, "not caught")
    assert_lp_equal(replace(a, c=a.c * (1 + 1e-13)), a, tol=1e-12)


def test_every_family_states_its_equation_and_owner():
    for f in fam.FAMILIES:
        assert f.owner in fam.OWNER_SETS, f.name
        assert f.equation and f"Constraint {f.constraint}" in f.equation, f.name
        assert f.wording
    for v in fam.VARIABLES:
        assert v.doc and v.owner in fam.OWNER_SETS


# =========================================================================== a new family
def _charge_cap_rows(inputs: Inputs, lay) -> fam.Block | None:
    """Test family (not in MODEL.md): ``ch[b,t] ≤ 0.5`` MW, every unit and period."""
    if not inputs.n_units:
        return None
    blk = BlockBuilder(np.arange(inputs.n_units), inputs.n_periods, -np.inf, 0.5)
    blk.add(blk.r, lay.idx("ch"), 1.0)
    return blk.block()


CAP = Family(
    "charge_cap",
    constraint="test",
    owner="unit",
    couples_sites=False,
    build=_charge_cap_rows,
    wording="charge cap cannot hold",
    size=lambda c: (c.n_units * c.n_periods, c.n_units * c.n_periods),
)


@pytest.fixture
def registered():
    """Register families for one test, and take them out again."""
    added: list[str] = []

    def add(f: Family) -> Family:
        added.append(f.name)
        return fam.register(f)

    yield add
    fam.FAMILIES[:] = [f for f in fam.FAMILIES if f.name not in added]


UNIT = dict(
    power_mw=1.0,
    energy_mwh=1.0,
    charge_efficiency=0.9,
    discharge_efficiency=0.9,
    soc_initial=0,
    degradation_cost=1,
)


def test_a_new_family_is_one_declaration(registered):
    registered(CAP)
    # Arbitrage of test_model.py with charging capped at 0.5 MW: charge 0.5 at 10,
    # store 0.45, discharge 0.405 at 100 (cdeg 1): cost = 5 − 40.5 + 0.405 = −35.095.
    # One more MW of cap in t0 is worth the uncapped margin 10 − 0.81·99 = −70.19 per MW.
    inp = make_inputs(pv=[0, 0], buy_price=[10, 100], units=[UNIT])
    for solve in (lambda i: solve_dispatch(i)[0], lambda i: solve_model(build_model(i))[0]):
        r = solve(inp)
        assert r.objective == pytest.approx(-35.095, abs=1e-7)
        assert r.duals["charge_cap"] == pytest.approx(np.array([[-70.19, 0.0]]), abs=1e-7)
    m = build_model(inp)
    assert m.charge_cap[0, 1].upper == 0.5
    assert "Test family" in m.charge_cap.doc
    assert_lp_equal(compile_model(m), assemble_lp(inp))
    assert inputs_size(inp).rows == assemble_lp(inp).n_rows


def test_a_new_family_is_named_in_the_infeasibility_explanation(registered):
    def charge_floor_rows(inputs: Inputs, lay) -> fam.Block:
        """Test family: ``ch[b,t] ≥ 2`` MW, every unit and period (P = 1: infeasible)."""
        blk = BlockBuilder(np.arange(inputs.n_units), inputs.n_periods, 2.0, np.inf)
        blk.add(blk.r, lay.idx("ch"), 1.0)
        return blk.block()

    registered(
        Family(
            "charge_floor",
            constraint="test",
            owner="unit",
            couples_sites=False,
            build=charge_floor_rows,
            wording="charge floor cannot hold",
            size=lambda c: (c.n_units * c.n_periods, c.n_units * c.n_periods),
        )
    )
    inp = make_inputs(pv=[0, 0], buy_price=[10, 100], units=[dict(UNIT, name="bess")])
    with pytest.raises(SolveError):
        solve_dispatch(inp)
    text = explain_infeasibility(inp)
    # 1 MW short in each of 2 periods of 1 h: 2 MWh
    assert text.startswith("infeasible: unit bess: charge floor cannot hold (constraint test;")
    assert "slack 2 MWh in 2 periods" in text


def test_a_new_family_that_couples_sites_makes_the_solve_joint(registered):
    def total_import_rows(inputs: Inputs, lay) -> fam.Block:
        """Test family: ``Σ_s imp[s,t] ≤ 1`` MW, every period (couples all sites)."""
        blk = BlockBuilder(np.zeros(1), inputs.n_periods, -np.inf, 1.0)
        blk.add(blk.r[np.zeros(inputs.n_sites, dtype=np.int64)], lay.idx("imp"), 1.0)
        return blk.block()

    registered(
        Family(
            "total_import",
            constraint="test",
            owner="group",
            couples_sites=True,
            build=total_import_rows,
            wording="total import cannot be met",
            size=lambda c: (c.n_periods, c.n_sites * c.n_periods),
        )
    )
    one = make_inputs(pv=[0.0], buy_price=[10.0], load=1.0)
    two = replace(
        one,
        site_names=("a", "b"),
        pv=np.zeros((2, 1)),
        load=np.array([[1.0], [1.0]]),
        buy_price=np.array([[10.0], [20.0]]),
        sell_price=np.array([[10.0], [20.0]]),
        carbon={"average": np.zeros((2, 1))},
        export_limit=np.full(2, np.inf),
        import_limit=np.full(2, np.inf),
        group_names=("all",),
    )
    assert fam.couples_sites(two) == ["total_import"]
    result, stats = solve_dispatch(two)
    # 1 MW of import serves site a (at 10); site b sheds its 1 MW at voll 10 000
    assert stats.route.startswith("joint (total_import couple sites)")
    assert result.objective == pytest.approx(10.0 + 10_000.0)
    assert result.shed[1, 0] == pytest.approx(1.0)


def test_user_family_from_pyomo_gets_duals_and_is_compiled_as_a_family():
    import pyomo.environ as pyo

    inp = make_inputs(pv=[0, 0], buy_price=[10, 100], units=[UNIT])
    m = build_model(inp)
    m.cap = pyo.Constraint(m.T, rule=lambda m, t: m.ch[0, t] <= 0.5)
    lp = compile_model(m)
    assert isinstance(lp, LinearProgram)
    base = assemble_lp(inp)
    assert list(lp.row_families) == [*base.row_families, "cap"]
    assert lp.row_blocks["cap"].labels == ("0", "1")
    r, _ = solve_model(m)
    assert r.objective == pytest.approx(-35.095, abs=1e-7)
    assert r.duals["cap"] == pytest.approx([-70.19, 0.0], abs=1e-7)
    assert m.ch[0, 0].value == pytest.approx(0.5)


def test_counts_of_inputs_matches_estimate():
    inp = make_inputs(
        pv=[1, 2, 3],
        buy_price=[1, 2, 3],
        units=[dict(UNIT, grid_charging=False), dict(UNIT)],
        exclusive=True,
    )
    c = Counts.of(inp)
    assert (c.no_grid_charge_sites, c.no_grid_charge_units, c.exclusive) == (1, 1, True)
    lp = assemble_lp(inp)
    assert inputs_size(inp).rows == lp.n_rows


def test_compile_keeps_fixed_and_unused_columns_and_refuses_two_objectives():
    import pyomo.environ as pyo

    inp = make_inputs(pv=[0, 0], buy_price=[10, 100], units=[UNIT])
    m = build_model(inp)
    m.ch[0, 1].fix(0.25)
    m.spare = pyo.Var(bounds=(0, 1))  # in no row and not in the objective
    lp = compile_model(m)
    base = assemble_lp(inp)
    assert lp.n_cols == base.n_cols  # the unused user variable is dropped, ours are kept
    j = base.layout.idx("ch")[0, 1]
    assert lp.col_lower[j] == lp.col_upper[j] == 0.25
    assert m.ch[0, 1].fixed and m.ch[0, 1].lb == 0.0  # the model is left as it was
    assert_lp_equal(replace(lp, col_lower=base.col_lower, col_upper=base.col_upper), base)
    m.other = pyo.Objective(expr=m.imp[0, 0])
    with pytest.raises(ValueError, match="2 active objectives"):
        compile_model(m)
