"""Numerical hygiene: the problem size before anything is built, and coefficient ranges.

:func:`estimate_size` counts the columns, rows and nonzeros of the LP that
:func:`essdispatch.model.lp.assemble_lp` would build for S sites, B units and T periods
(from the declarations of :mod:`essdispatch.model.families`: each variable block's shape
and each family's ``size``),
and the bytes the build and the solve need at their peak. :func:`size_problems`
compares that with the memory available (``psutil.virtual_memory().available``)
and with what HiGHS can index (32-bit), so an enormous horizon is refused with
the numbers, at the ``horizon`` key, before any array of length T exists.

:func:`coefficient_warnings` looks at the ranges of the objective, matrix and
bound coefficients of a prepared problem and returns warnings (not errors) when
they span more than HiGHS handles well (objective coefficients from each declared
variable's ``cost``, matrix coefficients from each family's ``coefficients``). Nothing here rounds or rescales the
model: results are rounded only when they are printed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from essdispatch.base.inputs import Inputs
from essdispatch.model.families import FAMILIES, VARIABLES, Counts

#: HiGHS indexes with 32-bit integers
MAX_HIGHS_INDEX = 2**31 - 1
#: bytes at peak per nonzero (COO triplets, their concatenation, CSC, the copy HiGHS
#: holds, presolve's copy and the factorisation), per column (bounds, cost, solution,
#: result arrays) and per row (bounds, duals, basis). Calibrated on the measured peak
#: RSS of benchmarks/RESULTS.md (20×35040: 4159 MiB; 100×8760: 5144 MiB), which the
#: earlier 100/96/64 underestimated about 3× (issue 16: a 10-year 1-minute run passed
#: the guard on a 24 GiB machine and then ran out of memory inside HiGHS)
BYTES_PER_NONZERO = 310
BYTES_PER_COLUMN = 300
BYTES_PER_ROW = 200
#: input arrays per site-period (pv, load, prices, carbon, limits) and per unit-period
BYTES_PER_SITE_PERIOD = 14 * 8
BYTES_PER_UNIT_PERIOD = 3 * 8
#: wall-clock series (hourly, tou) are evaluated on a minute grid: int8 month, int16
#: minute of day and the float64 values looked up, per minute of the horizon
BYTES_PER_HORIZON_MINUTE = 11

#: ratio of the largest to the smallest nonzero above which a warning is given
COST_RANGE_WARN = 1e9
MATRIX_RANGE_WARN = 1e7
#: absolute sizes above which a warning is given
LARGE_COST_WARN = 1e9
LARGE_BOUND_WARN = 1e7


@dataclass(frozen=True)
class ProblemSize:
    """Size of the dispatch LP (the run; the baseline is smaller and solved after it)."""

    sites: int
    units: int
    periods: int
    groups: int
    columns: int
    rows: int
    nonzeros: int
    bytes: int

    def describe(self) -> str:
        return (
            f"{self.columns:,} columns, {self.rows:,} rows, {self.nonzeros:,} nonzeros for "
            f"{self.sites} sites, {self.units} storage units and {self.periods:,} periods"
        )


def _gb(n: float) -> str:
    return f"{n / 1e9:.3g} GB"


def estimate_size(
    sites: int,
    units: int,
    periods: int,
    *,
    group_members: int = 0,
    group_rows: int = 0,
    no_grid_charge_sites: int = 0,
    no_grid_charge_units: int = 0,
    exclusive: bool = False,
    period_minutes: float = 60.0,
    wall_clock_series: bool = True,
) -> ProblemSize:
    """Columns, rows, nonzeros and peak bytes of the LP (see :mod:`essdispatch.model.lp`).

    Parameters
    ----------
    sites, units, periods : S, B, T
    group_members : Σ_g |g| over groups with a finite export or import limit, per limit
    group_rows : number of finite group limits (export and import counted separately)
    no_grid_charge_sites, no_grid_charge_units : S⁰ and |B⁰|
    exclusive : exclusive_charge_discharge (binaries and two more row families)
    period_minutes : Δt [min], for the minute grid of hourly/tou series
    wall_clock_series : whether an hourly or tou series will be evaluated
    """
    counts = Counts(
        n_sites=int(sites),
        n_units=int(units),
        n_periods=int(periods),
        exclusive=bool(exclusive),
        group_members=int(group_members),
        group_rows=int(group_rows),
        no_grid_charge_sites=int(no_grid_charge_sites),
        no_grid_charge_units=int(no_grid_charge_units),
    )
    return size_of(counts, period_minutes=period_minutes, wall_clock_series=wall_clock_series)


def size_of(
    counts: Counts, *, period_minutes: float = 60.0, wall_clock_series: bool = True
) -> ProblemSize:
    """:func:`estimate_size` from a :class:`~essdispatch.model.families.Counts`."""
    S, B, T = counts.n_sites, counts.n_units, counts.n_periods
    columns = sum(int(np.prod(v.shape(counts))) for v in VARIABLES)
    rows = nonzeros = 0
    for fam in FAMILIES:
        r, nz = fam.size(counts)
        rows += int(r)
        nonzeros += int(nz)
    size = (
        nonzeros * BYTES_PER_NONZERO
        + columns * BYTES_PER_COLUMN
        + rows * BYTES_PER_ROW
        + T * (S * BYTES_PER_SITE_PERIOD + B * BYTES_PER_UNIT_PERIOD)
    )
    if wall_clock_series:
        size = max(size, int(T * period_minutes * BYTES_PER_HORIZON_MINUTE))
    return ProblemSize(S, B, T, counts.group_rows, columns, rows, nonzeros, int(size))


def available_memory() -> int:
    """Bytes of memory available to this process now."""
    import psutil

    return int(psutil.virtual_memory().available)


def size_problems(size: ProblemSize, available: int | None = None) -> list[tuple[str, str]]:
    """``[("horizon", message)]`` when the problem cannot be built here, else ``[]``."""
    available = available_memory() if available is None else int(available)
    hint = "shorten the horizon, coarsen the resolution or split the run"
    if max(size.columns, size.rows, size.nonzeros) > MAX_HIGHS_INDEX:
        return [
            (
                "horizon",
                f"the problem is too large for HiGHS ({size.describe()}; HiGHS indexes at most "
                f"{MAX_HIGHS_INDEX:,}); {hint}",
            )
        ]
    if size.bytes > available:
        return [
            (
                "horizon",
                f"the problem would need about {_gb(size.bytes)} of memory ({size.describe()})"
                f" but {_gb(available)} is available; {hint}",
            )
        ]
    return []


def inputs_size(inputs: Inputs) -> ProblemSize:
    """:func:`estimate_size` for a prepared problem."""
    return size_of(Counts.of(inputs), period_minutes=inputs.dt_h * 60.0, wall_clock_series=False)


# --------------------------------------------------------------------------- ranges
def _span(values: np.ndarray) -> tuple[float, float]:
    """(smallest, largest) nonzero absolute value; (0, 0) when all are zero."""
    a = np.abs(np.asarray(values, dtype=float).ravel())
    a = a[np.isfinite(a) & (a > 0)]
    if a.size == 0:
        return 0.0, 0.0
    return float(a.min()), float(a.max())


def coefficient_warnings(inputs: Inputs) -> list[str]:
    """Warnings about coefficient ranges that HiGHS handles badly (empty when fine).

    Looks at the objective coefficients ``Δt·(pb + λ·ci)``, ``Δt·(ps + λ·ci)``,
    ``Δt·voll``, ``Δt·cdeg``; the matrix coefficients ``ηc·Δt``, ``Δt/ηd`` and
    ``(1−σ)^Δt``; and the finite bounds (limits, ratings, energies, loads). Also
    warns when ``voll`` is below the highest buy price (shedding load is then
    cheaper than importing).
    """
    out: list[str] = []
    costs = [np.ravel(v.cost(inputs)) for v in VARIABLES if v.cost is not None]
    lo, hi = _span(np.concatenate(costs) if costs else np.zeros(0))
    if hi > LARGE_COST_WARN:
        out.append(
            f"objective coefficients reach {hi:.3g} {inputs.currency} per period-MW (prices ×"
            f" Δt, voll {inputs.voll:.3g}); above {LARGE_COST_WARN:.0e} HiGHS loses accuracy"
        )
    if lo > 0 and hi / lo > COST_RANGE_WARN:
        out.append(
            f"objective coefficients span {lo:.3g} to {hi:.3g} (ratio {hi / lo:.1e}, prices and"
            f" voll {inputs.voll:.3g} × Δt): more than HiGHS handles well ({COST_RANGE_WARN:.0e});"
            " round tiny prices to 0 or lower voll"
        )
    for fam in FAMILIES:
        lo, hi = _span(fam.coefficients(inputs))
        if lo > 0 and hi / lo > MATRIX_RANGE_WARN:
            out.append(
                f"{fam.name} coefficients (constraint {fam.constraint}) span {lo:.3g} to"
                f" {hi:.3g} (ratio {hi / lo:.1e}; check very small efficiencies or ratings):"
                " more than HiGHS handles well"
            )
    bounds = np.concatenate(
        [
            inputs.export_limit,
            inputs.import_limit,
            inputs.group_export_limit,
            inputs.group_import_limit,
            inputs.power,
            inputs.charge_power,
            inputs.energy,
            np.ravel(inputs.pv),
            np.ravel(inputs.load),
        ]
    )
    _, hi = _span(bounds)
    if hi > LARGE_BOUND_WARN:
        out.append(
            f"a limit, rating, energy or load reaches {hi:.3g} (MW or MWh); above"
            f" {LARGE_BOUND_WARN:.0e} HiGHS tolerances (1e-7) become coarse"
        )
    top_buy = float(np.max(inputs.buy_price)) if inputs.buy_price.size else 0.0
    if inputs.voll < top_buy and float(np.max(inputs.load, initial=0.0)) > 0:
        out.append(
            f"objective.voll {inputs.voll:g} is below the highest buy price {top_buy:g}: load"
            " is shed rather than served from the grid in those periods"
        )
    return out
