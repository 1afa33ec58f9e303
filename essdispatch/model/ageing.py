"""Battery life that dispatch respects: MODEL.md 13 (depth-aware ageing cost) and 14
(cycle and throughput limits), and the data of the life assessment (:mod:`essdispatch.results.life`).

A storage unit opts in with an ``ageing:`` block
(:class:`essdispatch.scenario.ageing_keys.AgeingSpec`, docs/SCENARIOS.md "Ageing keys"). :func:`build_ageing` turns the blocks of a scenario into an
:class:`Ageing` (arrays aligned with the units of :class:`~essdispatch.base.inputs.Inputs`,
riding on ``Inputs.ageing``; ``None`` when no unit has the block, so such a scenario
builds exactly the LP it always did).

Depth-aware cost (B. Xu, J. Zhao, T. Zheng, E. Litvinov, D. S. Kirschen, "Factoring the
cycle aging cost of batteries participating in electricity markets", IEEE Trans. Power
Systems 33(2), 2018, 2248–2259): the usable window ``W = (smax − smin)·E`` is split into
``J`` segments of ``W/J``; segment ``j`` (1 = shallowest) is charged and discharged by
its own variables and its discharge costs

    ``c_j = R·J / (ηd·(smax − smin)) · [Φ(j/J) − Φ((j−1)/J)]``  [currency/MWh discharged]

where ``Φ(δ) = 1/N(δ)`` is the share of the unit's life that one cycle of depth ``δ``
(fraction of W) uses, ``N(δ)`` the cycle-life-vs-depth curve (cycles to the end-of-life
state of health) and ``R`` the cell replacement cost per MWh of capacity. Φ convex
makes ``c_j`` rise with ``j``, so the LP takes energy from the shallow (cheap) segments
first; with a linear Φ every segment has the same price and the cost equals the linear
``cdeg`` (B. Xu, A. Oudalov, A. Ulbig, G. Andersson, D. S. Kirschen, "Modeling of
lithium-ion battery degradation for cell life assessment", IEEE Trans. Smart Grid 9(2),
2018, 1131–1140, give Φ and its fit).

What a solved dispatch says about ageing (costs, shadow prices of the limits, figures) is in
:mod:`essdispatch.model.ageing_figures`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from essdispatch._exports import lazy_names
from essdispatch.model.ageing_carry import reconcile_segments

if TYPE_CHECKING:
    from essdispatch.base.inputs import Inputs
    from essdispatch.scenario.ageing_keys import AgeingSpec

KW_PER_MW = 1000.0
HOURS_PER_YEAR = 8760.0
CURVES_FILE = Path(__file__).parents[1] / "data" / "ageing_curves.yaml"
#: depths at which a curve is sampled for the figures (fractions of the window)
CURVE_SAMPLES = np.linspace(0.0, 1.0, 101)


@functools.cache
def curve_presets() -> dict[str, dict[str, Any]]:
    """The cycle-life presets of data/ageing_curves.yaml, each with its source."""
    with open(CURVES_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["curves"]


# =========================================================================== curves
def nrel_cycle_phi(
    depth: np.ndarray,
    params: dict[str, float],
    temperature_c: float,
    c_rate: float | None,
    loss: float,
) -> np.ndarray:
    """Φ(δ) of the NREL BLAST-Lite LFP cycle-fade term (data/ageing_curves.yaml).

    ``kcyc(δ) = (p4 + p5·δ + p6·C)·(exp(p7/T) + exp(−p8/T))`` and ``q_loss = kcyc·EFC^pcyc``:
    cycles of depth δ reach the loss ``L = 1 − SOH_eol`` after ``EFC = (L/kcyc)^(1/pcyc)``
    equivalent full cycles, i.e. ``N(δ) = EFC/δ`` cycles, so ``Φ(δ) = δ·(kcyc(δ)/L)^(1/pcyc)``.
    BLAST's C is the time-average ``|dSOC/dt|`` of a day (rest included); ``c_rate=None``
    takes one cycle of depth δ a day, ``C = 2δ/24`` per hour.
    """
    p = params
    T = temperature_c + 273.15
    depth = np.asarray(depth, dtype=float)
    c = 2.0 * depth / 24.0 if c_rate is None else c_rate
    k = (p["p4"] + p["p5"] * depth + p["p6"] * c) * (np.exp(p["p7"] / T) + np.exp(-p["p8"] / T))
    return depth * (k / loss) ** (1.0 / p["pcyc"])


def phi_of(spec: AgeingSpec) -> Any:
    """Φ(δ) for a unit: share of life one cycle of depth δ (fraction of W) uses."""
    loss = 1.0 - spec.end_of_life_soh
    if spec.cycle_life is not None:
        cl = spec.cycle_life
        if cl.cycles_at_full_depth is not None:
            n1, k = float(cl.cycles_at_full_depth), float(cl.exponent or 0.0)
            return lambda d: np.asarray(d, dtype=float) ** k / n1
        depth = np.concatenate([[0.0], np.asarray(cl.depth, dtype=float)])
        phi = np.concatenate([[0.0], np.asarray(cl.depth) / np.asarray(cl.cycles)])
        if depth[-1] < 1.0:  # extend the last segment's slope to full depth
            slope = (phi[-1] - phi[-2]) / (depth[-1] - depth[-2])
            depth = np.append(depth, 1.0)
            phi = np.append(phi, phi[-1] + slope * (1.0 - depth[-2]))
        return lambda d: np.interp(np.asarray(d, dtype=float), depth, phi)
    preset = curve_presets()[spec.curve]
    params = {k: float(v) for k, v in preset["params"].items()}
    return lambda d: nrel_cycle_phi(d, params, spec.temperature_c, None, loss)


def segment_costs(
    phi: Any, segments: int, replacement_per_mwh: float, eta_d: float, window: float
) -> np.ndarray:
    """(J,) ``c_j = R·J/(ηd·(smax−smin))·[Φ(j/J) − Φ((j−1)/J)]`` [currency/MWh discharged]
    (MODEL.md 13), ``window = smax − smin``."""
    edges = phi(np.linspace(0.0, 1.0, segments + 1))
    return replacement_per_mwh * segments / (eta_d * window) * np.diff(edges)


# =========================================================================== data
@dataclass(frozen=True, eq=False)
class Ageing:
    """Parameters of MODEL.md 13–14 and the life assessment, per unit (B,) unless noted.

    has : unit has an ``ageing:`` block; depth_aware : ``cost: depth_aware``
    segments : J (0 for other units); replacement_per_mwh : R [currency/MWh of capacity]
    end_of_life_soh, temperature_c, max_years, assess : life assessment settings
    max_cycles_day, max_cycles_year, max_throughput_year : limits (NaN: none) [cycles, MWh]
    curve_phi : (B, 101) Φ sampled at :data:`CURVE_SAMPLES` (0 for units without the block)
    curve_names : B names of the curve (preset or ``scenario``)
    segment_unit, segment_pos : (K,) unit and position j−1 of each SOC segment
    segment_cost : (K,) c_j [currency/MWh discharged]
    segment_start : (K,) segment energies carried in at the start of the horizon [MWh]
        (a rolling window starts where the settled operation left them,
        :func:`segment_initial`); None: the fresh fill from ``s0``
    """

    has: np.ndarray
    depth_aware: np.ndarray
    segments: np.ndarray
    replacement_per_mwh: np.ndarray
    end_of_life_soh: np.ndarray
    temperature_c: np.ndarray
    max_years: np.ndarray
    assess: np.ndarray
    max_cycles_day: np.ndarray
    max_cycles_year: np.ndarray
    max_throughput_year: np.ndarray
    curve_phi: np.ndarray
    curve_names: tuple[str, ...]
    segment_unit: np.ndarray
    segment_pos: np.ndarray
    segment_cost: np.ndarray
    segment_start: np.ndarray | None = None

    _UNIT_FIELDS = (
        "has",
        "depth_aware",
        "segments",
        "replacement_per_mwh",
        "end_of_life_soh",
        "temperature_c",
        "max_years",
        "assess",
        "max_cycles_day",
        "max_cycles_year",
        "max_throughput_year",
        "curve_phi",
    )

    @property
    def n_segments(self) -> int:
        return int(self.segment_unit.size)

    def take(self, units: np.ndarray) -> Ageing:
        """The parameters of the given unit indices (renumbered 0..len−1)."""
        units = np.asarray(units, dtype=np.int64)
        remap = -np.ones(self.has.size, dtype=np.int64)
        remap[units] = np.arange(units.size)
        keep = np.isin(self.segment_unit, units)
        return replace(
            self,
            **{k: getattr(self, k)[units] for k in self._UNIT_FIELDS},
            curve_names=tuple(self.curve_names[i] for i in units),
            segment_unit=remap[self.segment_unit[keep]],
            segment_pos=self.segment_pos[keep],
            segment_cost=self.segment_cost[keep],
            segment_start=None if self.segment_start is None else self.segment_start[keep],
        )

    def segment_indices(self, units: np.ndarray) -> np.ndarray:
        """Indices of the segments of the given units, in segment order."""
        return np.flatnonzero(np.isin(self.segment_unit, units))

    def n_days(self, index: pd.DatetimeIndex) -> int:
        """Local calendar days of ``index`` (the extent of the ``cycles_day`` duals)."""
        return day_structure(index)[1].size


def day_structure(index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """(T,) day of each period and (D,) starts of the local calendar days it touches."""
    codes, days = pd.factorize(index.normalize(), sort=True)
    return np.asarray(codes, dtype=np.int64), np.asarray(days)


def day_fraction(index: pd.DatetimeIndex, dt_h: float) -> np.ndarray:
    """(D,) share of each local calendar day inside the horizon (hours inside / day's
    length, so a daylight-saving day of 23 or 25 hours counts 1 when whole)."""
    codes, _ = day_structure(index)
    days = pd.DatetimeIndex(index.normalize()).unique().sort_values()
    length = (days + pd.DateOffset(days=1) - days) / pd.Timedelta(hours=1)
    inside = np.bincount(codes, minlength=len(days)) * dt_h
    return inside / np.asarray(length, dtype=float)


def horizon_fraction(inputs: Inputs) -> float:
    """H = N·Δt / 8760."""
    return inputs.n_periods * inputs.dt_h / HOURS_PER_YEAR


def window_mwh(inputs: Inputs) -> np.ndarray:
    """(B,) W = (smax − smin)·E [MWh]."""
    return (inputs.soc_max - inputs.soc_min) * inputs.energy


def build_ageing(
    model: Any,
    eta_d: np.ndarray,
    soc_min: np.ndarray,
    soc_max: np.ndarray,
) -> Ageing | None:
    """An :class:`Ageing` for the units of a validated scenario model (None: no block).

    ``eta_d``, ``soc_min``, ``soc_max`` are the units' arrays of
    :class:`~essdispatch.base.inputs.Inputs` (the segment costs are per MWh discharged).
    """
    specs = [u.ageing for site in model.sites for u in site.storage]
    if not any(s is not None for s in specs):
        return None
    B = len(specs)
    nan = np.full(B, np.nan)
    has = np.array([s is not None for s in specs], dtype=bool)
    out: dict[str, Any] = {
        "has": has,
        "depth_aware": np.array([s is not None and s.cost == "depth_aware" for s in specs]),
        "segments": np.array(
            [s.segments if s is not None and s.cost == "depth_aware" else 0 for s in specs],
            dtype=np.int64,
        ),
        "replacement_per_mwh": np.array(
            [KW_PER_MW * s.replacement_cost_per_kwh if s else 0.0 for s in specs]
        ),
        "end_of_life_soh": np.array([s.end_of_life_soh if s else 0.8 for s in specs]),
        "temperature_c": np.array([s.temperature_c if s else 25.0 for s in specs]),
        "max_years": np.array([s.max_years if s else 0.0 for s in specs]),
        "assess": np.array([bool(s and s.assess) for s in specs], dtype=bool),
        "max_cycles_day": nan.copy(),
        "max_cycles_year": nan.copy(),
        "max_throughput_year": nan.copy(),
    }
    phi_rows, costs, seg_unit, seg_pos, names = [], [], [], [], []
    for b, s in enumerate(specs):
        if s is None:
            phi_rows.append(np.zeros(CURVE_SAMPLES.size))
            names.append("")
            continue
        for key, field in (
            ("max_cycles_day", "max_cycles_per_day"),
            ("max_cycles_year", "max_cycles_per_year"),
            ("max_throughput_year", "max_throughput_mwh_per_year"),
        ):
            value = getattr(s, field)
            if value is not None:
                out[key][b] = float(value)
        phi = phi_of(s)
        phi_rows.append(phi(CURVE_SAMPLES))
        names.append("scenario" if s.cycle_life is not None else s.curve)
        if s.cost == "depth_aware":
            window = float(soc_max[b] - soc_min[b])
            c = (
                segment_costs(
                    phi, s.segments, KW_PER_MW * s.replacement_cost_per_kwh, float(eta_d[b]), window
                )
                if window > 0
                else np.zeros(s.segments)
            )
            costs.append(c)
            seg_unit.append(np.full(s.segments, b, dtype=np.int64))
            seg_pos.append(np.arange(s.segments, dtype=np.int64))

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    return Ageing(
        **out,
        curve_phi=np.vstack(phi_rows),
        curve_names=tuple(names),
        segment_unit=cat(seg_unit, np.int64),
        segment_pos=cat(seg_pos, np.int64),
        segment_cost=cat(costs, float),
    )


# =========================================================================== segments
def segment_width(inputs: Inputs) -> np.ndarray:
    """(K,) ``W/J`` of each segment's unit [MWh]."""
    a = inputs.ageing
    units = a.segment_unit
    return window_mwh(inputs)[units] / a.segments[units]


def segment_floor_loss(inputs: Inputs) -> np.ndarray:
    """(K,) energy the SOC floor loses to self-discharge per period, shared by the unit's
    segments: ``(1 − (1−σ)^Δt)·smin·E/J`` [MWh]."""
    a = inputs.ageing
    u = a.segment_unit
    decay = (1.0 - inputs.self_discharge[u]) ** inputs.dt_h
    return (1.0 - decay) * inputs.soc_min[u] * inputs.energy[u] / a.segments[u]


def segment_initial(inputs: Inputs) -> np.ndarray:
    """(K,) initial energy of each segment [MWh].

    Fresh: ``s0·E − smin·E`` filled from the shallowest (cheapest) segment down. Carried
    (``ageing.segment_start`` set, a rolling window): the settled segment energies,
    reconciled with the window's own totals by :func:`reconcile_segments`.
    """
    a = inputs.ageing
    u = a.segment_unit
    w = segment_width(inputs)
    if a.segment_start is not None:
        target = (inputs.soc_initial - inputs.soc_min) * inputs.energy
        return reconcile_segments(a.segment_start, u, w, target)
    above = (inputs.soc_initial[u] - inputs.soc_min[u]) * inputs.energy[u]
    return np.clip(above - a.segment_pos * w, 0.0, w)


def stitch_segments(inputs: Inputs, parts: list, x: np.ndarray, layout: Any) -> None:
    """Write the segment columns of per-site results into the joint solution ``x``."""
    a = inputs.ageing
    if a is None or a.n_segments == 0:
        return
    for sites, part in parts:
        units = np.flatnonzero(np.isin(inputs.unit_site, sites))
        segs = a.segment_indices(units)
        for name, arr in getattr(part, "extra", {}).items():
            if name.startswith("seg_") and arr.shape[0] == segs.size:
                x[layout.idx(name)[segs].ravel()] = arr.ravel()


# =========================================================================== rolling
@dataclass
class HealthTracker:
    """State of health carried between rolling windows from realised cycles (docs/MODEL.md
    "State of health over years"): after each settled window the ageing cost it realised
    (linear ``cdeg`` and segment costs) is a share of the unit's life, ``cost / (R·E)``;
    ``SOH = 1 − (1 − SOH_eol)·Σ share``. The next window plans and settles with usable
    energy ``E·SOH`` (stored energy kept) and segment costs ``c_j / SOH`` (the same share
    of life per cycle moves less energy). Units without ``R`` keep SOH 1."""

    soh: np.ndarray
    used: np.ndarray
    active: np.ndarray
    history: list[list[float]]

    @classmethod
    def of(cls, inputs: Inputs) -> HealthTracker | None:
        a = inputs.ageing
        if a is None:
            return None
        active = a.has & (a.replacement_per_mwh > 0) & (inputs.energy > 0)
        if not active.any():
            return None
        B = inputs.n_units
        return cls(np.ones(B), np.zeros(B), active, [])

    def apply(self, window: Inputs) -> Inputs:
        """The window's inputs with faded usable energy and raised segment costs."""
        a = window.ageing
        soh = np.where(self.active, self.soh, 1.0)
        return replace(
            window,
            energy=window.energy * soh,
            soc_initial=np.minimum(window.soc_max, window.soc_initial / soh),
            ageing=replace(a, segment_cost=a.segment_cost / soh[a.segment_unit]),
        )

    def update(self, window: Inputs, dis: np.ndarray, seg_dis: np.ndarray | None) -> None:
        """Add the life share a settled window used (``window`` as :meth:`apply` gave it)."""
        a = window.ageing
        cost = window.dt_h * window.degradation_cost * dis.sum(axis=1)
        if seg_dis is not None and a.n_segments:
            per_seg = window.dt_h * a.segment_cost * seg_dis.sum(axis=1)
            np.add.at(cost, a.segment_unit, per_seg)
        energy_new = window.energy / np.where(self.active, self.soh, 1.0)  # E before fading
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(self.active, cost / (a.replacement_per_mwh * energy_new), 0.0)
        self.used += np.nan_to_num(share)
        self.soh = np.clip(1.0 - (1.0 - a.end_of_life_soh) * self.used, 0.05, 1.0)
        self.history.append([float(v) for v in self.soh])

    def describe(self, unit_names: tuple[str, ...]) -> dict[str, Any]:
        """The ``state_of_health`` block of a rolling run's summary."""
        return {
            "by_window": {
                name: [h[b] for h in self.history]
                for b, name in enumerate(unit_names)
                if self.active[b]
            },
            "rule": "SOH = 1 − (1 − end_of_life_soh)·Σ realised ageing cost / (R·E); next"
            " window: usable energy E·SOH, segment costs c_j/SOH",
        }


#: names that moved to :mod:`essdispatch.model.ageing_figures` (they read a solved dispatch;
#: that module imports this one), answered on first access
__getattr__ = lazy_names(
    __name__,
    dict.fromkeys(
        (
            "ageing_figures",
            "depth_ageing_cost",
            "depth_ageing_cost_by_unit",
            "limit_shadow_prices",
            "segment_discharge",
        ),
        "essdispatch.model.ageing_figures",
    ),
)
