"""Rolling operation with depth-aware units (MODEL.md 13; docs/MODEL.md "State of health
over years"): each window starts its SOC segments where the settled operation left them
(:func:`carry_segments`), and the settlement keeps the committed segment flows
(:func:`tie_segments`), so the next window starts from the planned split.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from essdispatch.base.inputs import Inputs
from essdispatch.model.lp import LinearProgram


def carry_segments(window: Inputs, seg_now: np.ndarray | None) -> Inputs:
    """The window's inputs starting its SOC segments (MODEL.md 13) from the settled
    energies ``seg_now`` (:func:`essdispatch.model.ageing.segment_initial` reconciles them with
    the window's usable energy) instead of a fresh fill from ``s0``."""
    if seg_now is None or window.ageing is None:
        return window
    return replace(window, ageing=replace(window.ageing, segment_start=seg_now))


def tie_segments(
    lp: LinearProgram, seg_plan: tuple[np.ndarray, np.ndarray], cost: float
) -> LinearProgram:
    """``lp`` with ``seg_ch``, ``seg_dis`` tied to the committed values:
    ``x + d⁻ − d⁺ = x*``, ``d⁻, d⁺ ≥ 0`` costing ``cost`` per MW (see
    :func:`essdispatch.operate.rolling.settlement_lp`)."""
    import scipy.sparse as sp  # here, not at import: validate reads the operate stage

    lay = lp.layout
    tied = np.concatenate([lay.idx("seg_ch").ravel(), lay.idx("seg_dis").ravel()])
    target = np.concatenate([np.asarray(p, dtype=float).ravel() for p in seg_plan])
    K, n0, m0 = tied.size, lp.c.size, lp.A.shape[0]
    r = np.arange(K)
    extra = sp.coo_array(
        (
            np.concatenate([np.ones(2 * K), -np.ones(K)]),
            (np.concatenate([r, r, r]), np.concatenate([tied, n0 + r, n0 + K + r])),
        ),
        shape=(K, n0 + 2 * K),
    )
    A = sp.csc_array(sp.vstack([sp.hstack([lp.A, sp.csc_array((m0, 2 * K))]), extra]))
    return replace(
        lp,
        c=np.concatenate([lp.c, np.full(2 * K, cost)]),
        A=A,
        row_lower=np.concatenate([lp.row_lower, target]),
        row_upper=np.concatenate([lp.row_upper, target]),
        col_lower=np.concatenate([lp.col_lower, np.zeros(2 * K)]),
        col_upper=np.concatenate([lp.col_upper, np.full(2 * K, np.inf)]),
        integrality=np.zeros(n0 + 2 * K, dtype=bool),
        row_families={**lp.row_families, "settle_segment_tie": slice(m0, m0 + K)},
    )
