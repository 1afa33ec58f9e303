"""Public testing helpers: checks any dispatch result must pass, and a small builder.

Used by essdispatch's own tests and available to users who extend the model::

    from essdispatch.testing import assert_energy_balance, assert_soc_within_bounds
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from essdispatch.base.inputs import Inputs, default_voll
from essdispatch.model.lp import LinearProgram
from essdispatch.results.extract import BALANCE_TOL_MW, DispatchResult

__all__ = [
    "BALANCE_TOL_MW",
    "assert_energy_balance",
    "assert_lp_equal",
    "assert_results_folder",
    "assert_soc_within_bounds",
    "assert_storage_dynamics",
    "assert_terminal_rule",
    "assert_valid_result",
    "make_inputs",
]


def assert_lp_equal(a: LinearProgram, b: LinearProgram, tol: float = 1e-12) -> None:
    """Two programs are the same: matrix, row and column bounds, costs, integrality and
    row families (names, slices, owners), each number within ``tol`` relative.

    Explicit zeros in the matrix do not count (Pyomo drops them, the direct assembly
    may keep them); infinite bounds must match exactly.
    """

    def close(name: str, x: np.ndarray, y: np.ndarray) -> None:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.shape != y.shape:
            raise AssertionError(f"{name}: shapes {x.shape} and {y.shape} differ")
        inf = np.isinf(x) | np.isinf(y)
        if not np.array_equal(x[inf], y[inf]):
            k = int(np.flatnonzero(inf & (x != y))[0])
            raise AssertionError(f"{name}[{k}]: {x[k]} != {y[k]}")
        fin = ~inf
        err = np.abs(x[fin] - y[fin]) - tol * np.maximum(1.0, np.abs(y[fin]))
        if err.size and err.max() > 0:
            k = int(np.flatnonzero(fin)[int(err.argmax())])
            raise AssertionError(f"{name}[{k}]: {x[k]!r} != {y[k]!r} (tol {tol:g})")

    if a.A.shape != b.A.shape:
        raise AssertionError(f"matrix shapes {a.A.shape} and {b.A.shape} differ")
    diff = sp.csr_array(a.A) - sp.csr_array(b.A)
    diff.eliminate_zeros()
    if diff.nnz:
        scale = np.maximum(1.0, abs(sp.csr_array(b.A)).max() if b.A.nnz else 1.0)
        worst = float(abs(diff).max())
        if worst > tol * scale:
            r, c = (int(v[0]) for v in diff.nonzero())
            raise AssertionError(
                f"matrix differs by up to {worst:.3g}, first at row {r}, column {c}:"
                f" {a.A[r, c]!r} != {b.A[r, c]!r}"
            )
    close("c", a.c, b.c)
    close("offset", [a.offset], [b.offset])
    close("row_lower", a.row_lower, b.row_lower)
    close("row_upper", a.row_upper, b.row_upper)
    close("col_lower", a.col_lower, b.col_lower)
    close("col_upper", a.col_upper, b.col_upper)
    if not np.array_equal(a.integrality, b.integrality):
        raise AssertionError("integrality differs")
    if a.row_families != b.row_families:
        raise AssertionError(f"row families differ: {a.row_families} != {b.row_families}")
    for name, block in a.row_blocks.items():
        other = b.row_blocks.get(name)
        if other is None or (block.owner, block.width, block.labels) != (
            other.owner,
            other.width,
            other.labels,
        ):
            raise AssertionError(f"row family {name}: {block} != {other}")
        if not np.array_equal(block.owners, other.owners):
            raise AssertionError(f"row family {name}: owners {block.owners} != {other.owners}")
    if set(a.row_blocks) != set(b.row_blocks):
        raise AssertionError(f"row blocks {sorted(a.row_blocks)} != {sorted(b.row_blocks)}")


def assert_energy_balance(result: DispatchResult, tol_mw: float = BALANCE_TOL_MW) -> None:
    """Constraint 1 closes for every site and period within ``tol_mw`` [MW]."""
    resid = np.abs(result.balance_residual())
    worst = float(resid.max(initial=0.0))
    if worst > tol_mw:
        s, t = np.unravel_index(int(resid.argmax()), resid.shape)
        raise AssertionError(
            f"energy balance residual {worst:.3g} MW > {tol_mw:g} at site "
            f"{result.inputs.site_names[s]!r}, period {result.inputs.index[t]}"
        )


def assert_soc_within_bounds(result: DispatchResult, tol_mwh: float = 1e-6) -> None:
    """``smin·E ≤ e ≤ smax·E`` for every unit and time, and ``e[0] = s0·E``."""
    inp = result.inputs
    lo = (inp.soc_min * inp.energy)[:, None] - tol_mwh
    hi = (inp.soc_max * inp.energy)[:, None] + tol_mwh
    if not ((result.e >= lo).all() and (result.e <= hi).all()):
        raise AssertionError("stored energy outside [soc_min, soc_max]·E")
    if not np.allclose(result.e[:, 0], inp.soc_initial * inp.energy, atol=tol_mwh, rtol=0):
        raise AssertionError("initial stored energy differs from soc_initial·E")


def assert_terminal_rule(result: DispatchResult, tol_mwh: float = 1e-6) -> None:
    """The terminal rule of each unit holds (at_least_initial, cyclic, free)."""
    inp = result.inputs
    for b, mode in enumerate(inp.terminal):
        e0, eN = result.e[b, 0], result.e[b, -1]
        if mode == "at_least_initial" and eN < e0 - tol_mwh:
            raise AssertionError(f"{inp.unit_names[b]}: e[N]={eN} < e[0]={e0}")
        if mode == "cyclic" and abs(eN - e0) > tol_mwh:
            raise AssertionError(f"{inp.unit_names[b]}: e[N]={eN} != e[0]={e0}")


def assert_storage_dynamics(result: DispatchResult, tol_mwh: float = 1e-6) -> None:
    """Constraint 4 holds for every unit and period within ``tol_mwh``."""
    inp = result.inputs
    if not inp.n_units:
        return
    decay = ((1.0 - inp.self_discharge) ** inp.dt_h)[:, None]
    expected = (
        decay * result.e[:, :-1]
        + inp.eta_charge[:, None] * result.ch * inp.dt_h
        - result.dis * inp.dt_h / inp.eta_discharge[:, None]
    )
    worst = float(np.abs(result.e[:, 1:] - expected).max(initial=0.0))
    if worst > tol_mwh:
        raise AssertionError(f"storage energy equation violated by {worst:.3g} MWh")


def assert_valid_result(result: DispatchResult) -> None:
    """All the structural checks above."""
    assert_energy_balance(result)
    assert_soc_within_bounds(result)
    assert_terminal_rule(result)
    assert_storage_dynamics(result)


def assert_results_folder(folder: str | Path, tol_mw: float = BALANCE_TOL_MW) -> None:
    """Constraint 1 closes in a written ``dispatch.parquet`` (every site, every period)."""
    frame = pd.read_parquet(Path(folder) / "dispatch.parquet")
    sites = sorted({c.split("/")[0] for c in frame.columns if c.endswith("/pv")})
    units = {c.split("/")[0] for c in frame.columns if c.endswith("/ch")}
    unit_site = _unit_sites(Path(folder), units)
    for site in sites:
        net = (
            frame[f"{site}/pv"]
            - frame[f"{site}/cur"]
            + frame[f"{site}/imp"]
            + frame[f"{site}/shed"]
            - frame[f"{site}/load"]
            - frame[f"{site}/aux"]
            - frame[f"{site}/exp"]
        )
        for unit, s in unit_site.items():
            if s == site:
                net = net + frame[f"{unit}/dis"] - frame[f"{unit}/ch"]
        worst = float(net.abs().max())
        if worst > tol_mw:
            raise AssertionError(f"{folder}: balance residual {worst:.3g} MW at site {site!r}")


def _unit_sites(folder: Path, units: set[str]) -> dict[str, str]:
    import json

    summary = json.loads((folder / "summary.json").read_text())
    return {u: s for u, s in summary.get("unit_sites", {}).items() if u in units}


def make_inputs(
    pv: Sequence[float] | np.ndarray,
    buy_price: Sequence[float] | np.ndarray,
    sell_price: Sequence[float] | np.ndarray | None = None,
    *,
    load: Sequence[float] | np.ndarray | float = 0.0,
    carbon: Sequence[float] | np.ndarray | float = 0.0,
    marginal: Sequence[float] | np.ndarray | float | None = None,
    carbon_price: float = 0.0,
    steer_by: str | None = None,
    export_limit: float = np.inf,
    import_limit: float = np.inf,
    units: Sequence[dict] = (),
    dt_h: float = 1.0,
    exclusive: bool = False,
    voll: float | None = None,
    start: str = "2026-06-01 00:00",
    timezone: str = "Asia/Shanghai",
) -> Inputs:
    """A one-site :class:`Inputs` from plain lists (for tests and notebooks).

    ``units`` are dicts with the scenario's storage keys (``power_mw``,
    ``energy_mwh``, ``charge_efficiency``, ``discharge_efficiency`` and optional
    ``charge_power_mw, soc_min, soc_max, soc_initial, terminal,
    self_discharge_per_hour, aux_mw, degradation_cost, grid_charging, count,
    availability, name``).
    """
    pv = np.atleast_2d(np.asarray(pv, dtype=float))
    T = pv.shape[1]

    def row(v) -> np.ndarray:
        return np.broadcast_to(np.asarray(v, dtype=float), (1, T)).copy()

    buy = row(buy_price)
    sell = row(buy_price if sell_price is None else sell_price)
    carbon_map = {"average": row(carbon)}
    if marginal is not None:
        carbon_map["marginal"] = row(marginal)
    index = pd.date_range(start, periods=T, freq=pd.Timedelta(hours=dt_h), tz=timezone)
    u = list(units)

    def col(key: str, default: float | None = None) -> np.ndarray:
        return np.array([float(d.get(key, default)) for d in u])

    count = np.array([int(d.get("count", 1)) for d in u], dtype=np.int64)
    power = col("power_mw") * count if u else np.zeros(0)
    charge_power = (
        np.array([float(d.get("charge_power_mw", d["power_mw"])) for d in u]) * count
        if u
        else np.zeros(0)
    )
    availability = (
        np.vstack([np.broadcast_to(np.asarray(d.get("availability", 1.0), float), T) for d in u])
        if u
        else np.zeros((0, T))
    )
    return Inputs(
        name="test",
        index=index,
        dt_h=dt_h,
        currency="CNY",
        carbon_price=carbon_price,
        steer_by=steer_by or ("marginal" if marginal is not None else "average"),
        exclusive=exclusive,
        voll=default_voll(buy) if voll is None else voll,
        site_names=("site",),
        pv=pv,
        load=row(load),
        buy_price=buy,
        sell_price=sell,
        carbon=carbon_map,
        export_limit=np.array([export_limit], dtype=float),
        import_limit=np.array([import_limit], dtype=float),
        unit_names=tuple(d.get("name", f"unit{i}") for i, d in enumerate(u)),
        unit_site=np.zeros(len(u), dtype=np.int64),
        count=count,
        power=power,
        charge_power=charge_power,
        energy=col("energy_mwh") * count if u else np.zeros(0),
        eta_charge=col("charge_efficiency"),
        eta_discharge=col("discharge_efficiency"),
        self_discharge=col("self_discharge_per_hour", 0.0),
        soc_min=col("soc_min", 0.0),
        soc_max=col("soc_max", 1.0),
        soc_initial=col("soc_initial", 0.5),
        availability=availability,
        degradation_cost=col("degradation_cost", 0.0),
        grid_charging=np.array([bool(d.get("grid_charging", True)) for d in u], dtype=bool),
        aux=col("aux_mw", 0.0) * count if u else np.zeros(0),
        terminal=tuple(d.get("terminal", "at_least_initial") for d in u),
    )
