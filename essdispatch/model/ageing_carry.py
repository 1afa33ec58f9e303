"""SOC segment energies (MODEL.md 13) carried into a rolling window: the settled state made
consistent with the window's usable energy (:func:`reconcile_segments`, used by
:func:`essdispatch.model.ageing.segment_initial` when ``Ageing.segment_start`` is set)."""

from __future__ import annotations

import numpy as np


def _group_before(values: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """(K,) sum of ``values`` over the earlier segments of the same unit (segments of a
    unit are contiguous, shallowest first)."""
    csum = np.cumsum(values) - values
    first = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]])
    start = np.repeat(csum[first], np.diff(np.r_[first, unit.size]))
    return csum - start


def reconcile_segments(
    start: np.ndarray, unit: np.ndarray, width: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """(K,) carried segment energies made consistent with a window [MWh].

    ``start`` (K,) settled energies, ``unit`` (K,) their units, ``width`` (K,) the window's
    ``W/J`` and ``target`` (B,) its ``s0·E − smin·E``. Each energy is clipped to its width;
    the residual ``target − Σ`` (nonzero only when the usable energy faded between windows,
    :class:`essdispatch.model.ageing.HealthTracker`: the window shrinks while the stored energy is kept) is added as
    a charge would add it, to the shallowest segments with room, or taken as a discharge
    would take it, from the shallowest non-empty segments. The depth memory of the settled
    state (which shallow segments are empty) is otherwise kept.
    """
    if start.size == 0:
        return np.zeros(0)
    x = np.clip(np.asarray(start, dtype=float), 0.0, width)
    have = np.bincount(unit, weights=x, minlength=target.size)
    total = np.clip(target, 0.0, np.bincount(unit, weights=width, minlength=target.size))
    delta = (total - have)[unit]
    room = width - x
    add = np.clip(np.maximum(delta, 0.0) - _group_before(room, unit), 0.0, room)
    take = np.clip(np.maximum(-delta, 0.0) - _group_before(x, unit), 0.0, x)
    return x + add - take
