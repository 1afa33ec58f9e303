"""Sub-problems put back together, and the checks that decide whether that is enough:
:func:`stitch` (per-site results, with their duals, sized ratings and SOC segments, into
one result for the whole problem), :func:`groups_satisfied` (a stitched solution meets
every group limit) and :func:`group_binds_without_storage` (a group limit binds before any
storage acts, so the per-site route is not worth trying)."""

from __future__ import annotations

import numpy as np

from essdispatch.base.inputs import Inputs
from essdispatch.model.ageing import stitch_segments
from essdispatch.model.econ import stitch_sizes
from essdispatch.model.families import FAMILIES, time_extent
from essdispatch.model.lp import Layout
from essdispatch.results.extract import DispatchResult, extract

GROUP_TOLERANCE_MW = 1e-6


def stitch(inputs: Inputs, parts: list[tuple[np.ndarray, DispatchResult]]) -> DispatchResult:
    """Put per-site-subset results back together into one result for ``inputs``.

    Duals are stitched too; group rows get dual 0, which is right wherever this is
    used: only when the stitched solution leaves every group limit satisfied, so the
    per-site duals with zero group duals are an optimal dual solution of the joint LP.
    """
    S, B, T = inputs.n_sites, inputs.n_units, inputs.n_periods
    arrays = {k: np.zeros((S, T)) for k in ("cur", "imp", "exp", "shed")}
    arrays.update(ch=np.zeros((B, T)), dis=np.zeros((B, T)), e=np.zeros((B, T + 1)))
    owners = {"site": S, "unit": B, "group": inputs.n_groups}
    duals = {
        f.name: np.zeros(
            (
                owners.get(f.owner, 0),
                time_extent(f.time, T, inputs.n_months, inputs.n_days if f.time == "D" else 0),
            )
        )
        for f in FAMILIES
    }
    have_duals = all(part.duals for _, part in parts)
    objective = 0.0
    for sites, part in parts:
        units = np.flatnonzero(np.isin(inputs.unit_site, sites))
        for k in ("cur", "imp", "exp", "shed"):
            arrays[k][sites] = getattr(part, k)
        for k in ("ch", "dis", "e"):
            arrays[k][units] = getattr(part, k)
        if have_duals:
            for f in FAMILIES:
                if f.owner in ("site", "unit") and f.name in part.duals:
                    duals[f.name][sites if f.owner == "site" else units] = part.duals[f.name]
        objective += part.objective
    layout = Layout.of(inputs)
    x = np.zeros(layout.n_cols)
    for k, arr in arrays.items():
        x[layout.idx(k).ravel()] = arr.ravel()
    stitch_sizes(inputs, parts, x, layout)  # sized units (MODEL.md 9)
    stitch_segments(inputs, parts, x, layout)  # SOC segments (MODEL.md 13)
    result = extract(inputs, layout, x, objective)
    if have_duals:
        result.duals.update(duals)
        declared = {f.name for f in FAMILIES}
        for name in dict.fromkeys(k for _, p in parts for k in p.duals if k not in declared):
            # an extension's family, per site: its rows one after the other, site by site
            result.duals[name] = np.concatenate(
                [np.ravel(p.duals[name]) for _, p in parts if name in p.duals]
            )
    return result


def groups_satisfied(inputs: Inputs, result: DispatchResult) -> bool:
    """Whether ``result`` meets every group export/import limit (within 1e-6 MW)."""
    for g, members in enumerate(inputs.group_sites):
        members = np.asarray(members, dtype=np.int64)
        if result.exp[members].sum(axis=0).max(initial=0.0) > (
            inputs.group_export_limit[g] + GROUP_TOLERANCE_MW
        ):
            return False
        if result.imp[members].sum(axis=0).max(initial=0.0) > (
            inputs.group_import_limit[g] + GROUP_TOLERANCE_MW
        ):
            return False
    return True


def group_binds_without_storage(inputs: Inputs) -> bool:
    """Whether a group limit is exceeded by the sites' stand-alone no-storage dispatch.

    Without storage each period stands alone: a site exports
    ``min(X[s], max(0, pv − load − aux))`` when the effective sell price
    ``ps + λ·ci`` is positive and imports ``min(M[s], max(0, load + aux − pv))``.
    If those already break a group limit, the per-site route would break it too,
    so the joint problem is solved directly.
    """
    if not inputs.n_groups:
        return False
    net = inputs.pv - inputs.load - inputs.site_aux[:, None]
    pays = inputs.sell_price + inputs.carbon_price * inputs.steer_carbon > 0
    exp0 = np.where(pays, np.minimum(inputs.export_limit[:, None], np.maximum(net, 0.0)), 0.0)
    imp0 = np.minimum(inputs.import_limit[:, None], np.maximum(-net, 0.0))
    for g, members in enumerate(inputs.group_sites):
        members = np.asarray(members, dtype=np.int64)
        if (exp0[members].sum(axis=0) > inputs.group_export_limit[g] + GROUP_TOLERANCE_MW).any():
            return True
        if (imp0[members].sum(axis=0) > inputs.group_import_limit[g] + GROUP_TOLERANCE_MW).any():
            return True
    return False
