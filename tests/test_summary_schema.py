"""The schema of summary.json (essdispatch.results.summary), on real summaries.

* Every summary a run writes — the example scenarios (tests/test_example_scenarios.py checks
  each of their folders with :func:`round_trips`) and the feature runs below (economics,
  ageing and the life assessment, rolling operation with ageing, an extension hook,
  sizing) — validates and dumps back to exactly the same JSON (key names, values, ints
  staying ints).
* A writer's bug (a wrong type in a block builder's dict) fails the run before anything is
  written, naming the key.
* A damaged summary is one line naming the key; a newer summary (unknown keys) still reads.
* docs/SCENARIOS.md's table of summary.json is the schema's descriptions.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

import essdispatch.run as run_module
from essdispatch.base.exceptions import ResultsError
from essdispatch.results.summary import (
    Summary,
    SummaryError,
    check_summary,
    read_summary,
    schema_markdown,
)
from essdispatch.run import run_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
HAS_BLAST = importlib.util.find_spec("blast") is not None


def round_trips(doc: dict) -> Summary:
    """``doc`` validates and dumps back to the same JSON (sorted keys: the writer writes
    its own dict, so the order is the writer's)."""
    summary = Summary.model_validate(doc)
    dumped = summary.model_dump(mode="json", exclude_unset=True)
    assert json.dumps(dumped, sort_keys=True) == json.dumps(doc, sort_keys=True)
    assert summary.to_dict() == doc
    return summary


def _written(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def _ageing_case(tmp: Path, *, economics: bool, rolling: bool, assess: bool) -> Path:
    prices = [300.0] * 24
    prices[1:4] = [100.0] * 3
    prices[18:21] = [900.0] * 3
    data: dict = {
        "name": "schema-ageing",
        "horizon": {
            "start": "2026-06-01",
            "end": "2026-06-04",
            "resolution": "60min",
            "timezone": "Asia/Shanghai",
        },
        "signals": {"price": {"hourly": prices}, "carbon": {"average": 0.6}},
        "sites": [
            {
                "name": "s",
                "load": 10.0,
                "grid": {"import_limit_mw": 40},
                "storage": [
                    {
                        "name": "bess",
                        "power_mw": 5,
                        "energy_mwh": 10,
                        "charge_efficiency": 0.95,
                        "discharge_efficiency": 0.95,
                        "ageing": {
                            "cost": "depth_aware",
                            "segments": 4,
                            "replacement_cost_per_kwh": 450,
                            "max_cycles_per_day": 1.5,
                            "max_cycles_per_year": 400,
                            "max_throughput_mwh_per_year": 3000,
                            "assess": assess,
                            "max_years": 20,
                        },
                    }
                ],
            }
        ],
    }
    if economics:
        data["economics"] = {"lifetime_years": 12, "discount_rate": 0.06, "capex_per_kwh": 450}
    if rolling:
        data["operation"] = {"mode": "rolling", "window": "24h", "lookahead": "24h"}
    path = tmp / f"ageing-{economics}-{rolling}-{assess}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "economics, rolling, assess",
    [
        pytest.param(
            True, False, True, marks=pytest.mark.skipif(not HAS_BLAST, reason="no BLAST-Lite")
        ),
        (True, False, False),
        (False, True, False),
    ],
    ids=["economics-life", "economics", "rolling-ageing"],
)
def test_feature_summaries_round_trip(tmp_path, economics, rolling, assess):
    path = _ageing_case(tmp_path, economics=economics, rolling=rolling, assess=assess)
    outcome = run_scenario(path, out=tmp_path / "out")
    summary = round_trips(_written(outcome.folder))
    assert summary.life is not None and "bess" in summary.life
    if not rolling:  # the settled rolling run has no duals of its own
        limits = summary.diagnostics.shadow_prices.cycle_limits["bess"]
        assert limits.cycles_per_day is not None and limits.cycles_per_year is not None
        assert limits.throughput_per_year is not None
    if economics:
        assert summary.finance is not None and summary.finance.lifetime_years == 12
    if assess:
        assert summary.life["bess"].assessment.soh_by_year
        assert summary.finance.with_assessed_fade.available is True
    if rolling:
        assert summary.windows.count == 3 and len(summary.windows.per_window) == 3
        assert summary.windows.state_of_health.by_window["bess"]
        assert summary.perfect_foresight.total_cost is not None


def test_extension_and_sized_summaries_round_trip(tmp_path):
    import pyomo.environ as pyo

    path = _ageing_case(tmp_path, economics=False, rolling=False, assess=False)

    def cap_import(m, inputs):  # a user family with duals: import at most 12 MW
        m.cap_import = pyo.Constraint(m.T, rule=lambda m, t: m.imp[0, t] <= 12)

    outcome = run_scenario(path, out=tmp_path / "out", extend=cap_import)
    summary = round_trips(_written(outcome.folder))
    assert summary.extension.function.endswith("cap_import")
    assert summary.diagnostics.shadow_prices.user_families["cap_import"].rows == 72
    sized = run_scenario(SCENARIOS / "yulin-pv-curtailing-sized-week.yaml", out=tmp_path / "o2")
    summary = round_trips(_written(sized.folder))
    assert summary.sized_power_mw and all(v is not None for v in summary.sized_power_mw.values())


def test_ints_stay_ints_and_floats_stay_floats():
    doc = {"scenario": {"name": "x"}, "horizon": {"periods": 3, "dt_h": 1}, "baseline": {}}
    doc["total_cost"] = 2
    doc["savings"] = 2.0
    out = check_summary(doc).to_dict()
    assert json.dumps(out, sort_keys=True) == json.dumps(doc, sort_keys=True)
    assert isinstance(out["total_cost"], int) and isinstance(out["horizon"]["dt_h"], int)


# --------------------------------------------------------------------------- the writer
@pytest.mark.parametrize(
    "target, bad, key",
    [
        ("data_caveats", lambda *a, **k: [{"preset": 3}], "data_caveats.0.preset"),
        (
            "carbon_accounting",
            lambda run, base: {"split_check_tco2": {"average": "0.0"}},
            "carbon_accounting.split_check_tco2.average",
        ),
        (
            "revenue_streams",
            lambda run, base: {"total": {"energy_arbtrage": 1.0}},
            "energy_arbtrage",
        ),
    ],
    ids=["caveats", "carbon", "misspelt-key"],
)
def test_a_writer_bug_fails_the_run_with_nothing_written(tmp_path, monkeypatch, target, bad, key):
    # patched where it is looked up: run.py, or the module that assembles the document
    builder = sys.modules[run_module.build_summary.__module__]
    monkeypatch.setattr(run_module if target == "data_caveats" else builder, target, bad)
    out = tmp_path / "new" / "out"
    with pytest.raises(ResultsError) as err:
        run_scenario(SCENARIOS / "yulin-pv-storage-week.yaml", out=out)
    message = str(err.value)
    assert "\n" not in message and key in message and "summary.json" in message
    assert not (tmp_path / "new").exists()  # the folders the run created are gone too


# --------------------------------------------------------------------------- the readers
@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("schema")
    return _written(run_scenario(SCENARIOS / "two-sites-shared-tie-day.yaml", out=out).folder)


@pytest.mark.parametrize(
    "change, key",
    [
        ({"horizon": "oops"}, "'horizon'"),
        ({"horizon": {"start": "yesterday"}}, "'horizon.start'"),
        ({"scenario": [1]}, "'scenario'"),
        ({"total_cost": "a lot"}, "'total_cost'"),
        ({"baseline": [1, 2]}, "'baseline'"),
        ({"sites": "a"}, "'sites'"),
        ({"per_unit": {"u": {"count": 1.5}}}, "'per_unit.u.count'"),
    ],
)
def test_damaged_summary_names_the_key(written, change, key):
    with pytest.raises(SummaryError) as err:
        read_summary({**written, **change})
    assert key in str(err.value) and "\n" not in str(err.value)


def test_missing_blocks_and_non_objects(written):
    for block in ("scenario", "horizon", "baseline"):
        doc = {k: v for k, v in written.items() if k != block}
        with pytest.raises(SummaryError, match=f"no '{block}' block"):
            read_summary(doc)
    with pytest.raises(SummaryError, match="expected an object"):
        read_summary([1, 2])


def test_newer_and_older_summaries_still_read(written):
    newer = json.loads(json.dumps(written))
    newer["a_new_block"] = {"x": 1}  # top level: kept
    newer["checks"]["a_new_check_mw"] = 0.0  # inside a known block: dropped when read
    with pytest.raises(SummaryError, match="a_new_check_mw"):
        check_summary(newer)  # ... but refused when written
    summary = read_summary(newer)
    assert summary.to_dict()["a_new_block"] == {"x": 1}
    assert "a_new_check_mw" not in summary.to_dict()["checks"]
    older = {k: v for k, v in written.items() if k not in ("carbon_accounting", "revenue_streams")}
    assert read_summary(older).carbon_accounting is None


def test_summary_is_frozen(written):
    summary = read_summary(written)
    with pytest.raises(ValueError):
        summary.total_cost = 0.0  # type: ignore[misc]


def test_docs_table_is_the_schema():
    text = (ROOT / "docs" / "SCENARIOS.md").read_text(encoding="utf-8")
    begin, end = "<!-- summary-schema: begin -->", "<!-- summary-schema: end -->"
    assert begin in text and end in text, "docs/SCENARIOS.md has no summary.json table"
    table = text.split(begin, 1)[1].split(end, 1)[0].strip()
    assert table == schema_markdown().strip(), (
        "regenerate: python -c 'from essdispatch.results.summary import schema_markdown;"
        " print(schema_markdown())'"
    )
