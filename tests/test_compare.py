"""compare: figures of real runs side by side, differences, comparability, scenario diff."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest
from click.testing import CliRunner
from results_helpers import fleet_scenario, read_summary, write_run

from essdispatch.analysis.compare import comparability, compare_table
from essdispatch.analysis.compare_format import format_table
from essdispatch.analysis.results_folder import load_results
from essdispatch.analysis.scenario_diff import MISSING, scenario_diff
from essdispatch.base.exceptions import ResultsError
from essdispatch.cli import cli
from essdispatch.results.extract import DELTA_FIGURES, FIGURE_UNITS
from essdispatch.results.stored_carbon import ACCOUNTING_FIGURE_UNITS
from essdispatch.run import run_scenario


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("compare")
    out = base / "results"
    folders = {}
    for name, lam, soc0 in (("fleet-lambda0", 0, 0.5), ("fleet-lambda200", 200, 0.4)):
        path = fleet_scenario(base, name, lam, soc_initial=soc0)
        folders[name] = run_scenario(path, out=out).folder
    folders["one"] = write_run(out, "one")
    folders["usd"] = write_run(out, "usd", currency="USD")
    folders["late"] = write_run(out, "late", start="2026-06-02 00:00")
    folders["half"] = write_run(out, "half", dt_h=0.5)
    return folders


def expected_rows(summary: dict) -> dict[tuple[str, str, str], float]:
    """(figure, key, basis) -> value, read straight from a summary.json."""
    out = {}
    for fig, value in summary.items():
        if fig not in FIGURE_UNITS:
            continue
        basis = "delta" if fig in DELTA_FIGURES else "run"
        items = value.items() if isinstance(value, dict) else [("", value)]
        for key, v in items:
            out[(fig, key, basis)] = float(v)
    for fig, value in summary["baseline"].items():
        if fig in (
            "charge_mwh",
            "discharge_mwh",
            "grid_charge_mwh",
            "storage_losses_mwh",
            "degradation_cost",
            "equivalent_full_cycles",
            "simultaneous_charge_discharge_mwh",
        ):
            continue
        items = value.items() if isinstance(value, dict) else [("", value)]
        for key, v in items:
            out[(fig, key, "baseline")] = float(v)
    # the carbon accounting block (stored carbon, split, 24/7; docs/MODEL.md extensions)
    acc = summary.get("carbon_accounting", {})
    for series, parts in acc.get("emissions_displaced_split_tco2", {}).items():
        for part, v in parts.items():
            out[("emissions_displaced_split_tco2", f"{series}/{part}", "delta")] = float(v)
    for series, units in acc.get("discharge_intensity_tco2_per_mwh", {}).items():
        for unit, v in units.items():
            out[("discharge_intensity_tco2_per_mwh", f"{series}/{unit}", "run")] = (
                float("nan") if v is None else float(v)
            )
    for site, v in acc.get("carbon_free_247", {}).items():
        out[("carbon_free_247_share", site, "run")] = float(v["run"])
        out[("carbon_free_247_share", site, "baseline")] = float(v["baseline"])
    return out


def test_two_runs_differences_computed_independently(runs):
    a, b = runs["fleet-lambda0"], runs["fleet-lambda200"]
    table = compare_table([a, b])
    ea, eb = expected_rows(read_summary(a)), expected_rows(read_summary(b))
    assert set(table.index) == set(ea) == set(eb)
    # every figure of MODEL.md, emissions per series, cycles per unit
    figures = set(table.index.get_level_values("figure"))
    assert figures == set(FIGURE_UNITS) | set(ACCOUNTING_FIGURE_UNITS)
    assert ("emissions_tco2", "marginal", "baseline") in table.index
    assert ("emissions_displaced_tco2", "average", "delta") in table.index
    assert ("equivalent_full_cycles", "factory-bess", "run") in table.index
    for idx, va in ea.items():
        vb = eb[idx]
        row = table.loc[idx]
        assert row["fleet-lambda0"] == pytest.approx(va, rel=1e-12, abs=1e-12)
        assert row["fleet-lambda200"] == pytest.approx(vb, rel=1e-12, abs=1e-12)
        assert row["diff:fleet-lambda200"] == pytest.approx(vb - va, rel=1e-9, abs=1e-9)
        if abs(va) > 1e-6:
            assert row["rel:fleet-lambda200"] == pytest.approx((vb - va) / abs(va), rel=1e-9)
    # the carbon price changes the objective: a real difference shows up
    assert table.loc[("carbon_cost", "", "run"), "diff:fleet-lambda200"] != pytest.approx(0.0)
    assert table.loc[("total_cost", "", "run"), "unit"] == "CNY"
    assert table.loc[("emissions_tco2", "average", "run"), "unit"] == "tCO2"


def test_three_runs_and_labels(runs):
    folders = [runs["one"], runs["fleet-lambda0"], runs["fleet-lambda200"]]
    table = compare_table(folders, labels=["x", "y", "z"])
    s = [read_summary(f) for f in folders]
    assert table.loc[("savings", "", "delta"), "diff:z"] == pytest.approx(
        s[2]["savings"] - s[0]["savings"], rel=1e-9
    )
    # a unit present in one run only: value NaN elsewhere, no difference
    row = table.loc[("equivalent_full_cycles", "bess-a", "run")]
    assert row["x"] == pytest.approx(s[0]["equivalent_full_cycles"]["bess-a"])
    assert math.isnan(row["y"]) and math.isnan(row["diff:y"])


def test_terminal_table_has_units_and_values(runs):
    a, b = runs["fleet-lambda0"], runs["fleet-lambda200"]
    text = format_table(compare_table([a, b]), width=None)
    sb = read_summary(b)
    assert "curtailed_mwh [MWh]" in text
    assert "total_cost [CNY]" in text
    assert "emissions_displaced_tco2[marginal] [tCO2]" in text
    assert "equivalent_full_cycles[north-bess] [cycles]" in text
    assert f"{sb['savings']:,.0f}" in text


def test_narrow_table_fits_100_columns_with_labels_and_legend(runs):
    labels = ["fleet-lambda0", "fleet-lambda200", "one"]
    folders = [runs[k] for k in labels]
    table = compare_table(folders, force=True)
    text = format_table(table)
    assert max(len(line) for line in text.splitlines()) <= 100
    for letter, label in zip("ABC", labels, strict=True):
        assert f"{letter}  {label}" in text.splitlines()
    assert "solar curtailed [MWh]" in text and "emissions displaced (marginal) [tCO2]" in text
    sb = read_summary(runs["fleet-lambda200"])
    assert f"{sb['savings']:,.0f}" in text
    wide = format_table(table, width=None)
    assert max(len(line) for line in wide.splitlines()) > 100
    # every value of the wide table is in the narrow one (wrapped, not dropped)
    number = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?%?")
    assert set(number.findall(wide.split("(Δ")[0])) <= set(number.findall(text))
    res = CliRunner().invoke(cli, ["compare", *map(str, folders), "--force"])
    assert res.exit_code == 0
    assert max(len(line) for line in res.stdout.splitlines()) <= 100
    res = CliRunner().invoke(cli, ["compare", *map(str, folders), "--force", "--wide"])
    assert res.exit_code == 0 and "fleet-lambda200" in res.stdout.splitlines()[0]


def test_different_currency_refused_then_forced(runs):
    a, usd = runs["one"], runs["usd"]
    with pytest.raises(ResultsError, match=r"currenc.*one: CNY, usd: USD") as err:
        compare_table([a, usd])
    assert "\n" not in str(err.value)
    table = compare_table([a, usd], force=True)
    assert math.isnan(table.loc[("total_cost", "", "run"), "diff:usd"])
    assert math.isnan(table.loc[("savings", "", "delta"), "diff:usd"])
    assert table.loc[("import_mwh", "", "run"), "diff:usd"] == pytest.approx(0.0, abs=1e-9)
    assert table.loc[("total_cost", "", "run"), "unit"] == "CNY/USD"
    assert any("currenc" in n for n in table.attrs["notices"])


def test_different_horizon_refused(runs):
    with pytest.raises(ResultsError, match="different horizons"):
        compare_table([runs["one"], runs["late"]])
    table = compare_table([runs["one"], runs["late"]], force=True)
    assert table["diff:late"].isna().all()


def test_forced_blocking_is_per_run_against_the_first(runs):
    # "half" shares the first run's horizon and currency; "late" does not: only the
    # late run's differences are left blank
    one, half, late = runs["one"], runs["half"], runs["late"]
    table = compare_table([one, half, late], force=True)
    assert table["diff:late"].isna().all()
    expected = read_summary(half)["total_cost"] - read_summary(one)["total_cost"]
    assert table.loc[("total_cost", "", "run"), "diff:half"] == pytest.approx(expected, abs=1e-6)


def test_different_resolution_is_a_notice(runs):
    diffs = comparability([load_results(runs["one"]), load_results(runs["half"])])
    assert [d.aspect for d in diffs] == ["resolution"] and diffs[0].blocks is None
    table = compare_table([runs["one"], runs["half"]])
    assert "60 min" in table.attrs["notices"][0] and "30 min" in table.attrs["notices"][0]
    assert not table["diff:half"].isna().all()


def test_incomplete_and_missing_folders(tmp_path, runs):
    (tmp_path / "half-written").mkdir()
    with pytest.raises(ResultsError, match="not a complete run"):
        load_results(tmp_path / "half-written")
    with pytest.raises(ResultsError, match="no such results folder"):
        compare_table([runs["one"], tmp_path / "nope"])
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "index.parquet").write_bytes(b"")
    with pytest.raises(ResultsError, match="sweep folder"):
        load_results(sweep)


def test_scenario_diff_names_the_keys(runs):
    diff = dict(scenario_diff([runs["fleet-lambda0"], runs["fleet-lambda200"]]))
    assert diff["objective.carbon_price"] == (0, 200)
    assert diff["name"] == ("fleet-lambda0", "fleet-lambda200")
    assert diff["sites[pv-north].storage[north-bess].soc_initial"] == (0.5, 0.4)
    assert set(diff) == {
        "name",
        "objective.carbon_price",
        "sites[pv-north].storage[north-bess].soc_initial",
    }
    # a key one file lacks
    diff2 = dict(scenario_diff([runs["one"], runs["fleet-lambda0"]]))
    assert diff2["description"][0] is MISSING


def test_cli_compare_writes_csv_and_json(runs, tmp_path):
    a, b = runs["fleet-lambda0"], runs["fleet-lambda200"]
    csv, js, png = tmp_path / "t.csv", tmp_path / "t.json", tmp_path / "c.png"
    res = CliRunner().invoke(
        cli, ["compare", str(a), str(b), "--csv", str(csv), "--json", str(js), "--plot", str(png)]
    )
    assert res.exit_code == 0, res.output
    assert "total cost [CNY]" in res.output
    assert "objective.carbon_price" in res.output
    frame = pd.read_csv(csv, keep_default_na=False, na_values=[""])
    sa, sb = read_summary(a), read_summary(b)
    row = frame[(frame.figure == "savings") & (frame.basis == "delta")].iloc[0]
    assert row["diff:fleet-lambda200"] == pytest.approx(sb["savings"] - sa["savings"], rel=1e-9)
    doc = json.loads(js.read_text())
    assert [r["label"] for r in doc["runs"]] == ["fleet-lambda0", "fleet-lambda200"]
    keys = {d["key"] for d in doc["scenario_differences"]}
    assert "objective.carbon_price" in keys
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_compare_incomparable_exits_with_one_line(runs):
    res = CliRunner().invoke(cli, ["compare", str(runs["one"]), str(runs["usd"])])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "not comparable" in lines[0] and "--force" in lines[0]
    forced = CliRunner().invoke(cli, ["compare", str(runs["one"]), str(runs["usd"]), "--force"])
    assert forced.exit_code == 0 and "note: runs report money" in forced.output
