"""Carbon series in scenarios: csv ``unit:``, modelled presets, ``carbon_free_share``, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from essdispatch.base.exceptions import ScenarioError
from essdispatch.scenario.grid_model import grid_signal
from essdispatch.scenario.load import prepare_inputs, scenario_from_dict

BASE = {
    "name": "c",
    "horizon": {
        "start": "2026-06-01 00:00",
        "end": "2026-06-02 00:00",
        "resolution": "60min",
        "timezone": "Asia/Shanghai",
    },
    "signals": {"price": 300},
    "sites": [
        {
            "name": "f",
            "load": 5,
            "storage": [
                {
                    "name": "b",
                    "power_mw": 1,
                    "energy_mwh": 2,
                    "charge_efficiency": 0.95,
                    "discharge_efficiency": 0.95,
                }
            ],
        }
    ],
}


def _csv(tmp_path: Path, values: np.ndarray) -> None:
    stamps = [f"2026-06-01 {h:02d}:00" for h in range(24)]
    text = "timestamp,ci\n" + "".join(f"{s},{v}\n" for s, v in zip(stamps, values, strict=True))
    (tmp_path / "ci.csv").write_text(text)


def _with_carbon(carbon: dict) -> dict:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["signals"]["carbon"] = carbon
    return data


@pytest.mark.parametrize(
    ("unit", "factor"),
    [
        (None, 1.0),
        ("tCO2/MWh", 1.0),
        ("kgCO2/MWh", 1e-3),
        ("gCO2/kWh", 1e-3),
        ("lbCO2/MWh", 0.45359237e-3),
    ],
)
def test_csv_carbon_units(tmp_path: Path, unit: str | None, factor: float) -> None:
    raw = np.linspace(0.5, 0.9, 24) if factor == 1.0 else np.linspace(500, 900, 24)
    if unit == "lbCO2/MWh":
        raw = np.linspace(1100, 2000, 24)
    _csv(tmp_path, raw)
    spec = {"csv": "ci.csv", "column": "ci"} | ({"unit": unit} if unit else {})
    inputs = prepare_inputs(scenario_from_dict(_with_carbon({"average": spec}), tmp_path))
    np.testing.assert_allclose(inputs.carbon["average"][0], raw * factor, rtol=1e-12)


def test_g_per_kwh_column_without_unit_is_an_error_with_the_hint(tmp_path: Path) -> None:
    _csv(tmp_path, np.linspace(500, 900, 24))
    with pytest.raises(ScenarioError) as err:
        scenario = scenario_from_dict(
            _with_carbon({"average": {"csv": "ci.csv", "column": "ci"}}), tmp_path
        )
        prepare_inputs(scenario)
    text = str(err.value)
    assert "signals.carbon.average" in text and "gCO2/kWh" in text and "unit:" in text


def test_unit_on_a_price_csv_is_an_error(tmp_path: Path) -> None:
    _csv(tmp_path, np.full(24, 300.0))
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["signals"]["price"] = {"csv": "ci.csv", "column": "ci", "unit": "gCO2/kWh"}
    with pytest.raises(ScenarioError, match=r"signals\.price\.unit: unit: is for carbon"):
        prepare_inputs(scenario_from_dict(data, tmp_path))


def test_bad_unit_is_rejected(tmp_path: Path) -> None:
    _csv(tmp_path, np.full(24, 0.5))
    with pytest.raises(ScenarioError, match="unit"):
        scenario_from_dict(
            _with_carbon({"average": {"csv": "ci.csv", "column": "ci", "unit": "t/MWh"}}),
            tmp_path,
        )


def test_modelled_presets_and_carbon_free_share(tmp_path: Path) -> None:
    carbon = {
        "average": {"preset": "cn-grid-hourly-average/shaanxi", "params": {"seed": 7}},
        "marginal": {"preset": "cn-grid-hourly-marginal/shaanxi", "params": {"seed": 7}},
        "carbon_free_share": {"preset": "cn-grid-carbon-free-share/shaanxi", "params": {"seed": 7}},
    }
    inputs = prepare_inputs(scenario_from_dict(_with_carbon(carbon), tmp_path))
    for key, sig in (("average", "average"), ("marginal", "marginal")):
        np.testing.assert_array_equal(
            inputs.carbon[key][0], grid_signal("shaanxi", sig, inputs.index, 1.0, seed=7)
        )
    assert inputs.carbon_free_share is not None
    np.testing.assert_array_equal(
        inputs.carbon_free_share[0],
        grid_signal("shaanxi", "carbon-free-share", inputs.index, 1.0, seed=7),
    )
    assert inputs.subset_periods(slice(0, 5)).carbon_free_share.shape == (1, 5)


def test_carbon_free_share_out_of_range(tmp_path: Path) -> None:
    carbon = {"average": 0.6, "carbon_free_share": 1.5}
    with pytest.raises(ScenarioError, match=r"carbon_free_share: must be in \[0, 1\]"):
        prepare_inputs(scenario_from_dict(_with_carbon(carbon), tmp_path))


def test_cli_bad_unit_exits_2_one_line_nothing_written(tmp_path: Path) -> None:
    _csv(tmp_path, np.linspace(500, 900, 24))
    data = _with_carbon({"average": {"csv": "ci.csv", "column": "ci"}})
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "essdispatch.cli",
            "run",
            str(tmp_path / "s.yaml"),
            "--out",
            str(out),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "s.yaml" in lines[0] and "signals.carbon.average" in lines[0]
    assert not (out / "c").exists()
