"""The ``pvlib`` series form: a clear-sky plane-of-array solar profile (pvlib, imported
only when a profile is computed), cached in memory and on disk, with a seeded day-to-day
clearness draw and the rescaling to annual full-load hours (:func:`full_load_scale`)."""

from __future__ import annotations

import functools
import json
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from essdispatch.scenario.series_base import SeriesContext, _Form, _register

DAILY_CLEARNESS_CONCENTRATION = 8.0
"""κ of the seeded per-day clearness draw ``k_d ~ Beta(κ·c, κ·(1-c))`` (pvlib form)."""


# --------------------------------------------------------------------------- pvlib
class PvlibSpec(_Form):
    """Clear-sky per-unit solar profile computed with pvlib.

    ``p[t] = clip(POA(t_mid) / 1000 W/m², 0, 1) · k(t)``: POA is the plane-of-array
    irradiance at the period midpoint from ``Location(lat, lon, tz).get_clearsky``
    (Ineichen, Linke turbidity climatology) transposed by
    ``irradiance.get_total_irradiance(model="isotropic")`` (albedo 0.25).
    ``k = clearness`` without a seed; with a seed, each local calendar day d has
    ``k_d ~ Beta(κ·c, κ·(1-c))`` (κ = 8, mean c = clearness, drawn with
    ``numpy.random.default_rng([seed, year])`` for the 366 days of each year, so
    a date always gets the same factor). With ``annual_full_load_hours`` H the
    profile is multiplied by the scale s solving
    ``Σ_year clip(s·p_year, 0, 1)·Δt = H`` over the calendar year of the horizon
    start (same settings; sampled hourly when Δt < 1 h), found by Newton steps
    since clipping bends the sum.
    """

    tilt: float = Field(ge=0, le=90, description="panel tilt from horizontal [degrees]")
    azimuth: float = Field(
        ge=0, le=360, description="panel azimuth, clockwise from north (180 = south) [degrees]"
    )
    model: Literal["clearsky"] = Field("clearsky", description="irradiance model")
    clearness: float = Field(
        1.0, ge=0, le=1, description="mean fraction of clear-sky irradiance reaching the panel [-]"
    )
    seed: int | None = Field(None, ge=0, description="seed of the day-to-day clearness draw")
    annual_full_load_hours: float | None = Field(
        None, gt=0, lt=8784, description="rescale to this many full-load hours per year [h]"
    )


class PvlibSeries(_Form):
    """``{pvlib: {tilt, azimuth, model, clearness, seed, annual_full_load_hours}}``."""

    pvlib: PvlibSpec


def _daily_factor(spec: PvlibSpec, times: pd.DatetimeIndex) -> np.ndarray:
    """Clearness factor k per time (see :class:`PvlibSpec`)."""
    c = spec.clearness
    if spec.seed is None or c in (0.0, 1.0):
        return np.full(len(times), c)
    years = times.year.to_numpy()
    day = times.day_of_year.to_numpy() - 1
    out = np.empty(len(times))
    kappa = DAILY_CLEARNESS_CONCENTRATION
    for year in np.unique(years):  # one draw per calendar year, not per period
        draw = np.random.default_rng([spec.seed, int(year)]).beta(kappa * c, kappa * (1 - c), 366)
        sel = years == year
        out[sel] = draw[day[sel]]
    return out


#: clear-sky profiles computed in this process, by cache key (see :func:`_clearsky_per_unit`)
_CLEARSKY_MEMO: dict[str, np.ndarray] = {}
#: at most this many profiles are kept in memory
_CLEARSKY_MEMO_MAX = 256


def pvlib_cache_dir() -> Path | None:
    """Folder of the on-disk cache of clear-sky profiles (None: no disk cache).

    ``$ESSDISPATCH_CACHE_DIR/pvlib`` if set (an empty value turns the disk cache off),
    else ``$XDG_CACHE_HOME/essdispatch/pvlib``, else ``~/.cache/essdispatch/pvlib``.
    """
    env = os.environ.get("ESSDISPATCH_CACHE_DIR")
    if env is not None:
        return Path(env) / "pvlib" if env.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "essdispatch" / "pvlib"


@functools.lru_cache(maxsize=1)
def _pvlib_version() -> str:
    """pvlib's version without importing it (its import takes over a second)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pvlib")
    except PackageNotFoundError:  # the computation fails later with its own message
        return "?"


def _clearsky_key(
    spec: PvlibSpec, lat: float, lon: float, index: pd.DatetimeIndex, dt_h: float
) -> str:
    parts = {"v": 1, "pvlib": _pvlib_version(), "tilt": spec.tilt, "azimuth": spec.azimuth}
    parts.update(model=spec.model, lat=lat, lon=lon, tz=str(index.tz), dt_h=dt_h)
    return profile_key(parts, index)


def profile_key(parts: Mapping[str, Any], index: pd.DatetimeIndex) -> str:
    """Cache key of a profile over ``index`` computed from ``parts`` (JSON-able inputs)."""
    import hashlib

    # every timestamp (not only the first and the step): a DST zone's index is irregular
    stamps = hashlib.sha256(index.asi8.tobytes()).hexdigest()
    text = json.dumps({**parts, "n": len(index), "index": stamps}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _clearsky_per_unit(
    spec: PvlibSpec, lat: float, lon: float, index: pd.DatetimeIndex, dt_h: float
) -> np.ndarray:
    """``clip(POA / 1000 W/m², 0, 1)`` at the period midpoints, cached.

    pvlib's solar position and clear-sky model cost about 0.1 s per site-year and pvlib's
    import over a second; the result depends only on the key of :func:`_clearsky_key`, so it
    is kept in memory and in :func:`pvlib_cache_dir` (see :func:`cached_profile`).
    """
    return cached_profile(
        _clearsky_key(spec, lat, lon, index, dt_h),
        len(index),
        lambda: _clearsky_compute(spec, lat, lon, index, dt_h),
        _CLEARSKY_MEMO,
    )


def cached_profile(
    key: str, n: int, compute: Callable[[], np.ndarray], memo: dict[str, np.ndarray]
) -> np.ndarray:
    """The read-only float array of ``n`` values cached under ``key``, else ``compute()``.

    Looked up in ``memo`` (this process), then in :func:`pvlib_cache_dir` (a ``.npy`` per
    key, written atomically; a file that cannot be read, has another shape or a non-finite
    value, or a folder that cannot be written, is ignored). ``key`` must change with every
    input of ``compute`` and with its code (callers hash a version number into it). The
    ``.npy`` round trip is exact, so a cached value equals the computed one bit for bit.
    """
    hit = memo.get(key)
    if hit is not None:
        return hit
    folder = pvlib_cache_dir()
    path = folder / f"{key}.npy" if folder is not None else None
    if path is not None and path.is_file():
        try:
            arr = np.load(path, allow_pickle=False)
            if arr.shape == (n,) and arr.dtype == np.float64 and np.isfinite(arr).all():
                arr.setflags(write=False)
                _remember(memo, key, arr)
                return arr
        except (OSError, ValueError):
            pass
    arr = np.asarray(compute(), dtype=np.float64)
    arr.setflags(write=False)
    _remember(memo, key, arr)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
            np.save(tmp, arr, allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            pass
    return arr


def _remember(memo: dict[str, np.ndarray], key: str, arr: np.ndarray) -> None:
    if len(memo) >= _CLEARSKY_MEMO_MAX:
        memo.pop(next(iter(memo)))
    memo[key] = arr


def _clearsky_compute(
    spec: PvlibSpec, lat: float, lon: float, index: pd.DatetimeIndex, dt_h: float
) -> np.ndarray:
    mid = index + pd.Timedelta(hours=dt_h / 2)
    return clearsky_poa(lat, lon, spec.tilt, spec.azimuth, mid)


def clearsky_poa(
    lat: float, lon: float, tilt: float, azimuth: float, mid: pd.DatetimeIndex
) -> np.ndarray:
    """Per-unit clear-sky plane-of-array irradiance (pvlib: Ineichen clear sky, isotropic
    transposition, 1000 W/m² = 1) at the tz-aware instants ``mid`` (period midpoints), in
    [0, 1]; shared by the ``pvlib`` series form and the grid model's solar shape."""
    import pvlib  # heavy import, only when a clear-sky profile is computed

    loc = pvlib.location.Location(lat, lon, tz=str(mid.tz))
    with warnings.catch_warnings():  # pvlib 0.16 still calls DatetimeIndex.dayofyear
        warnings.filterwarnings("ignore", message=".*dayofyear is deprecated.*")
        sun = loc.get_solarposition(mid)
        sky = loc.get_clearsky(mid, model="ineichen", solar_position=sun)
    poa = pvlib.irradiance.get_total_irradiance(
        tilt,
        azimuth,
        sun["apparent_zenith"],
        sun["azimuth"],
        sky["dni"],
        sky["ghi"],
        sky["dhi"],
        model="isotropic",
    )["poa_global"].to_numpy(dtype=np.float64)
    return np.clip(np.nan_to_num(poa / 1000.0), 0.0, 1.0)


def _pvlib_profile(
    spec: PvlibSpec, lat: float, lon: float, index: pd.DatetimeIndex, dt_h: float
) -> np.ndarray:
    """Per-unit clear-sky plane-of-array profile at the period midpoints (no scaling)."""
    mid = index + pd.Timedelta(hours=dt_h / 2)
    return _clearsky_per_unit(spec, lat, lon, index, dt_h) * _daily_factor(spec, mid)


def full_load_scale(profile: np.ndarray, dt_h: float, target_h: float) -> float:
    """Scale s with ``Σ clip(s·profile, 0, 1)·Δt = target_h`` [h].

    Newton's method on the concave, piecewise-linear left side, started from the
    unclipped solution below the root, so it rises monotonically to the root.
    Raises ``ValueError`` when the target exceeds the hours with any sun.
    """
    reachable = float(np.count_nonzero(profile > 0)) * dt_h
    if target_h >= reachable:
        raise ValueError(
            f"annual_full_load_hours {target_h:g} h is not reachable: at most"
            f" {reachable:g} h of the year have any sun"
        )
    scale = target_h / (float(profile.sum()) * dt_h)
    for _ in range(100):
        scaled = scale * profile
        got = float(np.clip(scaled, 0.0, 1.0).sum()) * dt_h
        if abs(got - target_h) <= 1e-9 * target_h:
            break
        slope = float(profile[scaled < 1.0].sum()) * dt_h
        scale += (target_h - got) / slope
    return scale


@_register("pvlib", PvlibSeries, "{pvlib: {tilt: 30, azimuth: 180, clearness: 0.75, seed: 1}}")
def _eval_pvlib(spec: PvlibSeries, ctx: SeriesContext) -> np.ndarray:
    if not ctx.solar:
        raise ctx.error("the pvlib form is only for a solar profile (solar.profile)")
    if ctx.lat is None or ctx.lon is None:
        raise ctx.error("the pvlib form needs the site's location: {lat, lon}")
    p = spec.pvlib
    profile = _pvlib_profile(p, ctx.lat, ctx.lon, ctx.index, ctx.dt_h)
    if p.annual_full_load_hours is not None:
        year = ctx.index[0].year
        ref_dt_h = max(ctx.dt_h, 1.0)  # sub-hourly: an hourly reference year, for speed
        try:
            year_index = pd.date_range(
                pd.Timestamp(year, 1, 1),
                pd.Timestamp(year + 1, 1, 1),
                freq=pd.Timedelta(hours=ref_dt_h),
                inclusive="left",
                tz=ctx.index.tz,
            )
        except (ValueError, OverflowError) as e:  # pandas' OutOfBoundsDatetime is a ValueError
            raise ctx.error(
                f"no reference year {year} for the rescaling: {e}", "pvlib.annual_full_load_hours"
            ) from None
        if year_index.equals(ctx.index):
            reference = profile
        else:
            reference = _pvlib_profile(p, ctx.lat, ctx.lon, year_index, ref_dt_h)
        try:
            scale = full_load_scale(reference, ref_dt_h, p.annual_full_load_hours)
        except ValueError as e:
            raise ctx.error(str(e), "pvlib.annual_full_load_hours") from None
        profile = np.clip(profile * scale, 0.0, 1.0)
    return profile
