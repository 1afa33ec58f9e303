"""Every series form: values on the horizon and the errors of bad specs and data.

Tolerances: exact arithmetic (tables, means of a few numbers) uses
``pytest.approx(..., abs=1e-12)``; pvlib figures use the tolerance stated at the test.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from essdispatch.base.exceptions import ScenarioError
from essdispatch.scenario.series import (
    SERIES_FORMS,
    SeriesContext,
    evaluate_series,
    full_load_scale,
    parse_series,
)

EXACT = 1e-12


def ctx_for(
    start: str = "2026-06-01",
    end: str = "2026-06-02",
    freq: str = "60min",
    tz: str = "Asia/Shanghai",
    base_dir: Path = Path("."),
    **kw,
) -> SeriesContext:
    index = pd.date_range(start, end, freq=freq, inclusive="left", tz=tz)
    dt_h = pd.Timedelta(freq) / pd.Timedelta(hours=1)
    return SeriesContext(index, dt_h, base_dir, file="sc.yaml", key="signals.price", **kw)


def evaluate(value, ctx: SeriesContext) -> np.ndarray:
    return evaluate_series(parse_series(value, ctx), ctx)


def error_of(value, ctx: SeriesContext) -> str:
    with pytest.raises(ScenarioError) as info:
        evaluate(value, ctx)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("sc.yaml: signals.price")
    return text


# --------------------------------------------------------------------------- registry
def test_registry_holds_every_form():
    assert set(SERIES_FORMS) == {"number", "hourly", "tou", "csv", "pvlib", "preset"}


def test_number_is_constant():
    ctx = ctx_for()
    assert evaluate(3.5, ctx) == pytest.approx(np.full(24, 3.5), abs=EXACT)
    assert evaluate(2, ctx).dtype == np.float64


@pytest.mark.parametrize("bad", [{"foo": 1}, True, "abc", [1, 2], {"hourly": [0] * 24, "csv": "x"}])
def test_unknown_form_lists_the_accepted_forms(bad):
    text = error_of(bad, ctx_for())
    assert "not a series" in text
    for name in ("hourly", "tou", "csv", "pvlib", "preset"):
        assert name in text


def test_tag_is_stripped_from_key_paths():
    text = error_of({"csv": "a.csv", "column": "x", "colum": "y"}, ctx_for())
    assert "signals.price.colum: unknown key (allowed here: csv, column, unit)" in text
    assert "series=" not in text


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_number_rejected(bad):
    assert "finite" in error_of(bad, ctx_for())


# --------------------------------------------------------------------------- hourly
def test_hourly_by_local_hour():
    shape = list(range(24))
    assert evaluate({"hourly": shape}, ctx_for()) == pytest.approx(np.arange(24.0), abs=EXACT)


def test_hourly_at_30min_repeats_each_hour():
    out = evaluate({"hourly": list(range(24))}, ctx_for(freq="30min"))
    assert out == pytest.approx(np.repeat(np.arange(24.0), 2), abs=EXACT)


def test_hourly_on_dst_days_follows_wall_clock():
    shape = {"hourly": list(range(24))}
    spring = evaluate(shape, ctx_for("2026-03-29", "2026-03-30", tz="Europe/Berlin"))
    assert len(spring) == 23
    assert spring == pytest.approx(np.array([0.0, 1.0] + list(range(3, 24))), abs=EXACT)
    autumn = evaluate(shape, ctx_for("2026-10-25", "2026-10-26", tz="Europe/Berlin"))
    assert len(autumn) == 25
    assert autumn == pytest.approx(np.array([0.0, 1.0, 2.0, 2.0] + list(range(3, 24))), abs=EXACT)


def test_hourly_needs_24_values():
    assert "at least 24" in error_of({"hourly": [1.0] * 23}, ctx_for())


# --------------------------------------------------------------------------- tou
TOU = {
    "periods": {"peak": 1.7, "flat": 1.0, "valley": 0.3},
    "hours": {"peak": [[16, 23]], "valley": [[23, 7]]},
    "default": "flat",
}


def test_tou_ranges_wrap_past_midnight():
    out = evaluate({"tou": TOU}, ctx_for())
    expected = np.array([0.3] * 7 + [1.0] * 9 + [1.7] * 7 + [0.3])
    assert out == pytest.approx(expected, abs=EXACT)


def test_tou_hhmm_boundary_gives_time_weighted_mean():
    spec = {
        "tou": {
            "periods": {"peak": 2.0, "valley": 0.0},
            "hours": {"peak": [["11:30", "14:00"]]},
            "default": "valley",
        }
    }
    hourly = evaluate(spec, ctx_for())
    assert hourly[11] == pytest.approx(1.0, abs=EXACT)  # half valley, half peak
    assert hourly[12:14] == pytest.approx([2.0, 2.0], abs=EXACT)
    assert hourly[10] == pytest.approx(0.0, abs=EXACT) and hourly[14] == pytest.approx(0.0)
    half = evaluate(spec, ctx_for(freq="30min"))
    assert half[22:29] == pytest.approx([0.0, 2.0, 2.0, 2.0, 2.0, 2.0, 0.0], abs=EXACT)


def test_tou_seasons_replace_base_hours():
    spec = {
        "tou": {
            **TOU,
            "seasons": [{"months": [7, 8], "hours": {"peak": [[19, 21]]}}],
        }
    }
    out = evaluate(spec, ctx_for("2026-06-30", "2026-07-02"))
    june, july = out[:24], out[24:]
    assert june[16] == pytest.approx(1.7, abs=EXACT)
    assert june[3] == pytest.approx(0.3, abs=EXACT)
    # July: season hours replace base entirely (no valley range), default from the base
    expected_july = np.array([1.0] * 19 + [1.7] * 2 + [1.0] * 3)
    assert july == pytest.approx(expected_july, abs=EXACT)


def test_tou_season_default_overrides():
    spec = {
        "tou": {
            **TOU,
            "seasons": [{"months": [6], "hours": {"peak": [[0, 12]]}, "default": "valley"}],
        }
    }
    out = evaluate(spec, ctx_for())
    assert out == pytest.approx(np.array([1.7] * 12 + [0.3] * 12), abs=EXACT)


def test_tou_follows_wall_clock_on_dst_day():
    spec = {"tou": {"periods": {"a": 1.0, "b": 0.0}, "hours": {"a": [[3, 4]]}, "default": "b"}}
    out = evaluate(spec, ctx_for("2026-03-29", "2026-03-30", tz="Europe/Berlin"))
    assert len(out) == 23 and out[2] == pytest.approx(1.0) and out.sum() == pytest.approx(1.0)


def test_tou_overlap_names_both_ranges():
    spec = {"tou": {**TOU, "hours": {"peak": [[16, 23]], "valley": [[22, 7]]}}}
    text = error_of(spec, ctx_for())
    assert "signals.price.tou.hours:" in text
    assert "hours.valley[0]" in text and "hours.peak[0]" in text and "overlaps" in text


def test_tou_overlap_inside_a_season():
    spec = {
        "tou": {
            **TOU,
            "seasons": [{"months": [7], "hours": {"peak": [[8, 12], [11, 13]]}}],
        }
    }
    assert "signals.price.tou.seasons[0].hours:" in error_of(spec, ctx_for())


def test_tou_period_names_must_be_defined():
    spec = {"tou": {**TOU, "hours": {"peek": [[16, 23]]}}}
    assert "signals.price.tou.hours.peek: period 'peek' is not in periods" in error_of(
        spec, ctx_for()
    )
    spec = {"tou": {**TOU, "default": "mid"}}
    assert "signals.price.tou.default: period 'mid'" in error_of(spec, ctx_for())


def test_tou_uncovered_hours_need_a_default():
    spec = {"tou": {"periods": {"peak": 1.0}, "hours": {"peak": [[8, 20]]}}}
    assert "signals.price.tou.default:" in error_of(spec, ctx_for())


def test_tou_month_in_two_seasons():
    spec = {
        "tou": {
            **TOU,
            "seasons": [
                {"months": [7, 8], "hours": {"peak": [[19, 21]]}},
                {"months": [8], "hours": {"peak": [[18, 20]]}},
            ],
        }
    }
    assert "signals.price.tou.seasons[1].months: month 8 is also in seasons[0]" in error_of(
        spec, ctx_for()
    )


@pytest.mark.parametrize(
    ("bound", "fragment"),
    [(25, "0..24"), ("7:75", "HH:MM"), (690, "quote it: '11:30'"), (True, "HH:MM")],
)
def test_tou_bad_bounds(bound, fragment):
    spec = {"tou": {**TOU, "hours": {"peak": [[bound, 23]]}}}
    text = error_of(spec, ctx_for())
    assert "signals.price.tou.hours.peak[0][0]" in text and fragment in text


def test_tou_empty_range():
    spec = {"tou": {**TOU, "hours": {"peak": [[8, 8]]}}}
    assert "signals.price.tou.hours.peak[0]: empty range" in error_of(spec, ctx_for())


# --------------------------------------------------------------------------- csv
def write_csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_mean_of_finer_data(tmp_path):
    stamps = pd.date_range("2026-06-01", periods=96, freq="15min")
    values = np.arange(96.0)
    write_csv(
        tmp_path,
        "time,price\n" + "".join(f"{t},{v}\n" for t, v in zip(stamps, values, strict=True)),
    )
    out = evaluate({"csv": "data.csv", "column": "price"}, ctx_for(base_dir=tmp_path))
    assert out == pytest.approx(values.reshape(24, 4).mean(axis=1), abs=EXACT)


def test_csv_forward_fills_coarser_data(tmp_path):
    text = (
        "time,x\n2026-06-01 00:00,1\n2026-06-01 06:00,2\n2026-06-01 18:00,3\n2026-06-01 23:00,4\n"
    )
    write_csv(tmp_path, text)
    out = evaluate({"csv": "data.csv", "column": "x"}, ctx_for(base_dir=tmp_path))
    assert out == pytest.approx(np.array([1.0] * 6 + [2.0] * 12 + [3.0] * 5 + [4.0]), abs=EXACT)


def test_csv_utc_offset_is_converted(tmp_path):
    # 16:00 UTC on May 31 is 00:00 in Shanghai on June 1
    stamps = pd.date_range("2026-05-31 16:00", periods=24, freq="60min", tz="UTC")
    text = "time,x\n" + "".join(f"{t.isoformat()},{i}\n" for i, t in enumerate(stamps))
    write_csv(tmp_path, text)
    out = evaluate({"csv": "data.csv", "column": "x"}, ctx_for(base_dir=tmp_path))
    assert out == pytest.approx(np.arange(24.0), abs=EXACT)


def test_csv_naive_stamps_are_local_time(tmp_path):
    stamps = pd.date_range("2026-03-29", periods=23, freq="60min", tz="Europe/Berlin")
    text = "time,x\n" + "".join(
        f"{t.tz_localize(None)},{t.hour}\n" for t in stamps
    )  # wall-clock, no offset
    write_csv(tmp_path, text)
    ctx = ctx_for("2026-03-29", "2026-03-30", tz="Europe/Berlin", base_dir=tmp_path)
    out = evaluate({"csv": "data.csv", "column": "x"}, ctx)
    assert out == pytest.approx(np.array([0.0, 1.0] + list(range(3, 24))), abs=EXACT)


@pytest.mark.parametrize("stamp", ["2026-10-25 02:30", "2026-03-29 02:30"])
def test_csv_dst_ambiguous_or_nonexistent_local_stamp(tmp_path, stamp):
    write_csv(tmp_path, f"time,x\n2026-03-01 00:00,1\n{stamp},2\n2026-12-01 00:00,3\n")
    ctx = ctx_for("2026-06-01", "2026-06-02", tz="Europe/Berlin", base_dir=tmp_path)
    text = error_of({"csv": "data.csv", "column": "x"}, ctx)
    assert "signals.price.csv" in text and "line 3" in text and "UTC offset" in text


def test_csv_must_cover_the_horizon(tmp_path):
    # each row stands for one step of the file's own spacing
    write_csv(tmp_path, "time,x\n2026-06-01 01:00,1\n2026-06-01 23:00,2\n")
    text = error_of({"csv": "data.csv", "column": "x"}, ctx_for(base_dir=tmp_path))
    assert "covers 2026-06-01 01:00+08:00 to" in text
    assert "needs 2026-06-01 00:00+08:00 to 2026-06-02 00:00+08:00" in text
    write_csv(tmp_path, "time,x\n2026-06-01 00:00,1\n2026-06-01 21:00,2\n2026-06-01 22:00,2\n")
    text = error_of({"csv": "data.csv", "column": "x"}, ctx_for(base_dir=tmp_path))
    assert "covers 2026-06-01 00:00+08:00 to 2026-06-01 23:00+08:00" in text


def test_hourly_csv_covers_a_day_at_15_min(tmp_path):
    rows = "".join(f"2026-06-01 {h:02d}:00,{h}\n" for h in range(24))
    write_csv(tmp_path, "time,x\n" + rows)
    ctx = ctx_for(freq="15min", base_dir=tmp_path)
    out = evaluate({"csv": "data.csv", "column": "x"}, ctx)
    assert out == pytest.approx(np.repeat(np.arange(24.0), 4), abs=0)


GOOD_HEAD = "time,x,y\n2026-06-01 00:00,1,1\n"


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        (GOOD_HEAD + "2026-06-01 23:00,,1\n", "column", "empty cell at line 3"),
        (GOOD_HEAD + "2026-06-01 23:00,abc,1\n", "column", "'abc' is not a finite number"),
        (GOOD_HEAD + "2026-06-01 23:00,nan,1\n", "column", "'nan' is not a finite number"),
        (GOOD_HEAD + "2026-06-01 00:00,2,1\n", "csv", "duplicated timestamp"),
        (
            "time,x\n2026-06-01 23:00,1\n2026-06-01 00:00,2\n",
            "csv",
            "not in increasing order at line 3",
        ),
        (GOOD_HEAD + ",2,1\n", "csv", "missing timestamp at line 3"),
        (GOOD_HEAD + "tomorrow,2,1\n", "csv", "cannot read timestamp 'tomorrow' at line 3"),
        (
            GOOD_HEAD + "2026-06-01T23:00+08:00,2,1\n",
            "csv",
            "has a UTC offset but line 2 has none",
        ),
        ("", "csv", "cannot read"),
    ],
)
def test_csv_bad_data(tmp_path, text, key, fragment):
    write_csv(tmp_path, text)
    message = error_of({"csv": "data.csv", "column": "x"}, ctx_for(base_dir=tmp_path))
    assert f"signals.price.{key}:" in message and fragment in message


def test_csv_missing_column_lists_columns(tmp_path):
    write_csv(tmp_path, GOOD_HEAD + "2026-06-01 23:00,2,2\n")
    text = error_of({"csv": "data.csv", "column": "price"}, ctx_for(base_dir=tmp_path))
    assert "signals.price.column: no column 'price'" in text and "value columns: x, y" in text


def test_csv_missing_file_and_directory(tmp_path):
    text = error_of({"csv": "nope.csv", "column": "x"}, ctx_for(base_dir=tmp_path))
    assert "signals.price.csv: file not found" in text and "nope.csv" in text
    (tmp_path / "adir").mkdir()
    text = error_of({"csv": "adir", "column": "x"}, ctx_for(base_dir=tmp_path))
    assert "is a directory" in text


# --------------------------------------------------------------------------- pvlib
YULIN = {"lat": 38.29, "lon": 109.73}


def pv_ctx(start="2026-06-01", end="2026-06-03", **kw) -> SeriesContext:
    return ctx_for(start, end, solar=True, **YULIN, **kw)


def test_pvlib_zero_at_night_positive_at_noon():
    out = evaluate({"pvlib": {"tilt": 30, "azimuth": 180}}, pv_ctx())
    assert out[[0, 1, 2, 22, 23]] == pytest.approx(np.zeros(5), abs=EXACT)
    assert out[12] > 0.7  # clear-sky June noon on a 30° south plane, ~0.9 per-unit
    assert out.max() <= 1.0


def test_pvlib_clearness_scales():
    full = evaluate({"pvlib": {"tilt": 30, "azimuth": 180}}, pv_ctx())
    half = evaluate({"pvlib": {"tilt": 30, "azimuth": 180, "clearness": 0.5}}, pv_ctx())
    assert half == pytest.approx(0.5 * full, abs=1e-12)


def test_pvlib_seed_is_deterministic_and_varies_by_day():
    spec = {"pvlib": {"tilt": 30, "azimuth": 180, "clearness": 0.7, "seed": 1}}
    a = evaluate(spec, pv_ctx(end="2026-06-08"))
    b = evaluate(spec, pv_ctx(end="2026-06-08"))
    assert a == pytest.approx(b, abs=0.0)
    clear = evaluate({"pvlib": {"tilt": 30, "azimuth": 180}}, pv_ctx(end="2026-06-08"))
    ratios = (a / np.where(clear > 0, clear, np.nan)).reshape(7, 24)
    daily = np.nanmean(ratios, axis=1)
    assert np.nanstd(ratios, axis=1) == pytest.approx(np.zeros(7), abs=1e-9)  # one factor a day
    assert daily.std() > 0.01
    other = evaluate({"pvlib": {**spec["pvlib"], "seed": 2}}, pv_ctx(end="2026-06-08"))
    assert not np.allclose(a, other)
    # the same date gets the same factor whatever the horizon start
    later = evaluate(spec, pv_ctx(start="2026-06-03", end="2026-06-04"))
    assert later == pytest.approx(a[48:72], abs=1e-12)


def test_pvlib_annual_full_load_hours():
    spec = {"pvlib": {"tilt": 30, "azimuth": 180, "annual_full_load_hours": 3000}}
    year = evaluate(spec, pv_ctx("2026-01-01", "2027-01-01"))
    assert year.sum() * 1.0 == pytest.approx(3000.0, rel=1e-6)
    assert year.max() == pytest.approx(1.0, abs=1e-12)  # clipping bites at 3000 h
    week = evaluate(spec, pv_ctx("2026-06-01", "2026-06-08"))
    assert week == pytest.approx(year[151 * 24 : 158 * 24], abs=1e-12)


def test_full_load_scale_iterates_past_clipping():
    profile = np.array([0.2, 0.5, 0.9, 0.0])
    scale = full_load_scale(profile, 1.0, 2.5)
    assert np.clip(scale * profile, 0, 1).sum() == pytest.approx(2.5, rel=1e-9)
    with pytest.raises(ValueError, match="not reachable"):
        full_load_scale(profile, 1.0, 3.0)


def test_pvlib_unreachable_full_load_hours():
    spec = {"pvlib": {"tilt": 30, "azimuth": 180, "annual_full_load_hours": 8000}}
    text = error_of(spec, pv_ctx())
    assert "signals.price.pvlib.annual_full_load_hours: " in text


def test_pvlib_is_solar_only_and_needs_a_location():
    spec = {"pvlib": {"tilt": 30, "azimuth": 180}}
    assert "only for a solar profile" in error_of(spec, ctx_for(**YULIN))
    assert "location" in error_of(spec, ctx_for(solar=True))


def test_pvlib_unknown_model():
    text = error_of({"pvlib": {"tilt": 30, "azimuth": 180, "model": "cloudy"}}, pv_ctx())
    assert "signals.price.pvlib.model:" in text


# --------------------------------------------------------------------------- preset
@pytest.fixture
def fake_presets(monkeypatch):
    def resolve_preset(name, params):
        table = {
            "flat": lambda: 0.5 * params.get("scale", 1.0),
            "tou": lambda: {"tou": {**TOU}},
            "ramp": lambda: lambda index, dt_h: np.arange(len(index)) * dt_h,
            "short": lambda: lambda index, dt_h: np.zeros(3),
            "nan": lambda: lambda index, dt_h: np.full(len(index), np.nan),
            "broken": lambda: {"tou": {"periods": {}}},
            "picky": lambda: (_ for _ in ()).throw(ValueError("needs param 'adder'")),
        }
        if name not in table:
            raise KeyError(f"unknown preset {name!r}")
        return table[name]()

    module = types.ModuleType("essdispatch.scenario.presets")
    module.resolve_preset = resolve_preset
    monkeypatch.setitem(sys.modules, "essdispatch.scenario.presets", module)


def test_preset_float_dict_and_callable(fake_presets):
    ctx = ctx_for(freq="30min")
    assert evaluate({"preset": "flat"}, ctx) == pytest.approx(np.full(48, 0.5), abs=EXACT)
    scaled = evaluate({"preset": "flat", "params": {"scale": 4}}, ctx)
    assert scaled == pytest.approx(np.full(48, 2.0), abs=EXACT)
    assert evaluate({"preset": "tou"}, ctx) == pytest.approx(evaluate({"tou": TOU}, ctx))
    assert evaluate({"preset": "ramp"}, ctx) == pytest.approx(np.arange(48) * 0.5, abs=EXACT)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("nope", "preset 'nope': unknown preset 'nope'"),
        ("picky", "preset 'picky': needs param 'adder'"),
        ("short", "shape (3,)"),
        ("nan", "not finite"),
        ("broken", "preset 'broken' returned an invalid series"),
    ],
)
def test_preset_errors(fake_presets, name, fragment):
    assert fragment in error_of({"preset": name}, ctx_for())


def test_preset_params_must_be_numbers():
    assert "signals.price.params.x" in error_of({"preset": "a", "params": {"x": "y"}}, ctx_for())
