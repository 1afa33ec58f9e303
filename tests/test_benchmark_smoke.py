"""Smoke test of benchmarks/fleet_year.py on a tiny fleet (2 sites × 2 days).

Checks that the generated scenario file validates, that the loader reads back
what the generator meant, and that bare HiGHS (and PyPSA, when installed) reach
essdispatch's run objective to 1e-6 relative. No timing assertions.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "fleet_year.py"


@pytest.fixture(scope="module")
def fy():
    spec = importlib.util.spec_from_file_location("fleet_year", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["fleet_year"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("fleet_year", None)


@pytest.fixture(scope="module", params=[True, False], ids=["group", "no-group"])
def case(request, fy, tmp_path_factory):
    fleet = fy.make_fleet(2, days=2, resolution="60min", seed=3, group=request.param)
    folder = tmp_path_factory.mktemp("fleet")
    path = fy.write_scenario(fleet, folder)
    return fleet, path, folder


def test_generated_scenario_validates_and_matches_generator(fy, case):
    fleet, path, _ = case
    inputs = fy.load_inputs(path)  # raises ScenarioError if the file does not validate
    direct = fy.fleet_inputs(fleet)
    assert inputs.n_sites == 2 and inputs.n_units == 2 and inputs.n_periods == 48
    for key in ("pv", "buy_price", "sell_price", "export_limit", "import_limit", "power", "energy"):
        np.testing.assert_allclose(getattr(inputs, key), getattr(direct, key), rtol=1e-9)
    for series in ("average", "marginal"):
        np.testing.assert_allclose(inputs.carbon[series], direct.carbon[series], rtol=1e-12)
    assert inputs.steer_by == "marginal" and inputs.terminal == ("cyclic", "cyclic")
    assert inputs.n_groups == (1 if fleet.group_export_limit is not None else 0)
    # export limits below the PV peak: curtailment is possible at every site
    assert (inputs.export_limit < inputs.pv.max(axis=1)).all()


def test_bare_highs_and_pypsa_match_essdispatch(fy, case):
    fleet, path, folder = case
    ess = fy.route_essdispatch(path, folder / "results", {}, decompose=True)
    assert (folder / "results" / fleet.name / "summary.json").exists()
    highs = fy.route_highs(path, {})
    assert highs["status"] == "Optimal"
    assert fy.rel_diff(ess["objective"], highs["objective"]) <= 1e-6
    if fleet.group_export_limit is not None:
        # the group limit must bind, or the benchmark would not exercise the joint route
        assert "joint" in ess["solver_route"]
    assert {"load", "run", "baseline", "write"} <= set(ess["rss_by_phase_mib"])
    try:
        import pypsa  # noqa: F401
    except ImportError:
        return
    py = fy.route_pypsa(path, {})
    assert fy.rel_diff(ess["objective"], py["objective"]) <= 1e-6


def test_solver_option_parsing(fy):
    opts = fy.parse_solver_options(["solver=ipm", "simplex_strategy=4", "presolve=off", "x=1.5"])
    assert opts == {"solver": "ipm", "simplex_strategy": 4, "presolve": "off", "x": 1.5}
