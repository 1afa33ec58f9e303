"""Simplex bases as compact arrays, and the joint basis assembled from per-site bases.

When a group limit binds, the per-site optimum (every site solved alone, no group rows)
is dual feasible for the joint LP: the joint LP only adds rows. Handing HiGHS the
per-site bases concatenated, with the group rows basic, lets dual simplex repair only the
periods where a tie binds instead of solving the whole fleet again from scratch
(benchmarks/RESULTS.md, issue 12: 39 312 instead of 423 039 iterations at 20 × 8760).

A basis is two ``int8`` arrays of HiGHS basis-status codes (``kLower`` 0, ``kBasic`` 1,
``kUpper`` 2, ``kZero`` 3, ``kNonbasic`` 4). Columns of a site's sub-problem map to the
joint columns through :class:`~essdispatch.model.lp.Layout` (same variable families, the site's
rows of each); rows map by a key that needs no knowledge of the families: the family name
and the smallest and largest column the row touches (unique within a family for every
site-local family, and checked: an ambiguous or unmatched key refuses the warm start).
Joint rows that no site owns (the group rows) start basic, joint columns that no site owns
start at a bound. A basis that does not fit (wrong size, another structure) is refused and
the solve runs cold, with a note saying why.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from essdispatch.model.families import variable
from essdispatch.model.lp import Layout, LinearProgram

if TYPE_CHECKING:  # imported where a basis is read or set (not when the module is)
    import highspy

LOWER, BASIC, UPPER, ZERO, NONBASIC = 0, 1, 2, 3, 4


@functools.cache
def _status_objects() -> np.ndarray:
    """``highspy.HighsBasisStatus`` by code (object array, built on first use)."""
    import highspy

    out = np.empty(5, dtype=object)
    for code in range(5):
        out[code] = highspy.HighsBasisStatus(code)
    return out


@dataclass(frozen=True)
class Basis:
    """A simplex basis: HiGHS status codes of the columns and the rows."""

    col: np.ndarray  # int8, one per column
    row: np.ndarray  # int8, one per row

    @property
    def n_basic(self) -> int:
        return int(np.count_nonzero(self.col == BASIC) + np.count_nonzero(self.row == BASIC))

    def fits(self, lp: LinearProgram) -> str | None:
        """Why this basis cannot start ``lp`` (None when it can)."""
        if self.col.size != lp.n_cols or self.row.size != lp.n_rows:
            return (
                f"basis of {self.col.size} columns × {self.row.size} rows does not fit an LP of "
                f"{lp.n_cols} × {lp.n_rows}"
            )
        if self.n_basic != lp.n_rows:
            return f"basis has {self.n_basic} basic variables for {lp.n_rows} rows"
        return None


@dataclass(frozen=True)
class RowKeys:
    """What identifies each row of an LP: its family and the columns it spans."""

    families: tuple[str, ...]  # family name per family id
    family_id: np.ndarray  # (n_rows,) int16
    first_col: np.ndarray  # (n_rows,) int64, -1 for an empty row
    last_col: np.ndarray  # (n_rows,) int64, -1 for an empty row


def basis_of(h: highspy.Highs) -> Basis | None:
    """The optimal basis HiGHS holds, as arrays (None when it has no valid basis)."""
    b = h.getBasis()
    if not b.valid:
        return None
    col = np.fromiter(map(int, b.col_status), dtype=np.int8, count=len(b.col_status))
    row = np.fromiter(map(int, b.row_status), dtype=np.int8, count=len(b.row_status))
    return Basis(col, row)


def apply_basis(h: highspy.Highs, lp: LinearProgram, basis: Basis) -> str | None:
    """Start ``h`` (holding ``lp``) from ``basis``; a note when it is refused (then cold)."""
    why = basis.fits(lp)
    if why is None:
        import highspy

        status = _status_objects()
        hb = highspy.HighsBasis()
        hb.col_status = status[basis.col].tolist()
        hb.row_status = status[basis.row].tolist()
        hb.valid = True
        if h.setBasis(hb) == highspy.HighsStatus.kOk:
            return None
        why = "HiGHS refused it"
    return f"warm start refused ({why}): solved cold"


def row_keys(lp: LinearProgram) -> RowKeys:
    """The :class:`RowKeys` of ``lp`` (vectorised over the rows)."""
    names = tuple(lp.row_families)
    family_id = np.full(lp.n_rows, -1, dtype=np.int16)
    for k, name in enumerate(names):
        family_id[lp.row_families[name]] = k
    import scipy.sparse as sp

    A = sp.csr_array(lp.A)
    A.sort_indices()
    starts, ends = A.indptr[:-1], A.indptr[1:]
    nonempty = ends > starts
    first = np.full(lp.n_rows, -1, dtype=np.int64)
    last = np.full(lp.n_rows, -1, dtype=np.int64)
    first[nonempty] = A.indices[starts[nonempty]]
    last[nonempty] = A.indices[ends[nonempty] - 1]
    return RowKeys(names, family_id, first, last)


def site_columns(full: Layout, sub: Layout, sites: np.ndarray, units: np.ndarray) -> np.ndarray:
    """For each column of the sub-problem of ``sites`` (with their ``units``), its column in
    the full problem, by the owner each column block declares (:mod:`essdispatch.model.families`).
    Raises ValueError for a block owned by anything else (then no warm start)."""
    out = np.empty(sub.n_cols, dtype=np.int64)
    for name, (rows, cols) in sub.shapes.items():
        if rows * cols == 0:
            continue
        declared = variable(name)
        owner = declared.owner if declared is not None else None
        owners = {
            "site": sites,
            "unit": units,
            "segment": np.flatnonzero(np.isin(full.segment_unit, units)),  # MODEL.md 13
        }.get(owner)
        if owners is None or owners.size != rows:
            raise ValueError(f"column block {name!r} (owner {owner}) has no per-site counterpart")
        start = sub.offsets[name]
        out[start : start + rows * cols] = full.idx(name)[owners].ravel()
    return out


def _encode(family_id: np.ndarray, first: np.ndarray, last: np.ndarray, n_cols: int) -> np.ndarray:
    base = n_cols + 1
    return (family_id.astype(np.int64) * base + (first + 1)) * base + (last + 1)


def joint_basis(
    lp: LinearProgram,
    parts: list[tuple[np.ndarray, Basis, RowKeys]],
) -> tuple[Basis | None, str | None]:
    """The basis of the joint ``lp`` assembled from per-part bases.

    ``parts``: for each sub-problem, the map of its columns to ``lp``'s columns
    (:func:`site_columns`), its optimal basis and its :func:`row_keys`. Returns the basis,
    or None and the reason it could not be assembled.
    """
    n_fam = len(lp.row_families) + 1
    if n_fam * float(lp.n_cols + 1) ** 2 >= 2.0**62:
        return None, "LP too large to key its rows"
    keys = row_keys(lp)
    joint_key = _encode(keys.family_id, keys.first_col, keys.last_col, lp.n_cols)
    order = np.argsort(joint_key, kind="stable")
    sorted_key = joint_key[order]
    if (np.diff(sorted_key) == 0).any():
        return None, "rows of one family share their key"
    fam_pos = {name: k for k, name in enumerate(keys.families)}

    col = _at_bound(lp)
    row = np.full(lp.n_rows, BASIC, dtype=np.int8)
    taken = np.zeros(lp.n_rows, dtype=bool)
    for colmap, basis, sub_keys in parts:
        if basis.col.size != colmap.size or basis.row.size != sub_keys.family_id.size:
            return None, "a part's basis does not fit its sub-problem"
        col[colmap] = basis.col
        remap = np.array([fam_pos.get(name, -1) for name in sub_keys.families], dtype=np.int64)
        fid = remap[sub_keys.family_id] if sub_keys.family_id.size else np.zeros(0, np.int64)
        if (fid < 0).any():
            return None, "a part has a row family the joint problem lacks"
        empty = sub_keys.first_col < 0
        first = np.where(empty, -1, colmap[np.maximum(sub_keys.first_col, 0)])
        last = np.where(empty, -1, colmap[np.maximum(sub_keys.last_col, 0)])
        want = _encode(fid, first, last, lp.n_cols)
        pos = np.searchsorted(sorted_key, want)
        pos = np.minimum(pos, sorted_key.size - 1)
        if sorted_key.size == 0 or (sorted_key[pos] != want).any():
            return None, "a part's row has no counterpart in the joint problem"
        target = order[pos]
        if taken[target].any():
            return None, "two parts claim one joint row"
        taken[target] = True
        row[target] = basis.row
    basis = Basis(col, row)
    why = basis.fits(lp)
    return (basis, None) if why is None else (None, why)


def _at_bound(lp: LinearProgram) -> np.ndarray:
    """Nonbasic statuses for columns no part owns: at a finite bound, else zero (free)."""
    lo_finite = np.isfinite(lp.col_lower)
    hi_finite = np.isfinite(lp.col_upper)
    return np.where(lo_finite, LOWER, np.where(hi_finite, UPPER, ZERO)).astype(np.int8)


# ------------------------------------------------------------------ bases across related solves
class BasisCache:
    """Optimal bases of solved LPs by structure (matrix pattern and row families), so that a
    related solve in the same process (a sweep case with other costs or bounds) starts from
    the basis of one already solved. Thread-safe; keeps the ``max_entries`` newest."""

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._bases: dict[bytes, Basis] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(lp: LinearProgram) -> bytes:
        """The structure of ``lp``: sizes, sparsity pattern, row families, integrality."""
        A = lp.A
        h = hashlib.blake2b(digest_size=20)
        h.update(np.array([lp.n_cols, lp.n_rows, A.nnz], dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(A.indptr).astype(np.int64).tobytes())
        h.update(np.ascontiguousarray(A.indices).astype(np.int64).tobytes())
        h.update(repr([(k, s.start, s.stop) for k, s in lp.row_families.items()]).encode())
        h.update(np.packbits(lp.integrality).tobytes())
        return h.digest()

    def get(self, lp: LinearProgram) -> Basis | None:
        key = self.key(lp)
        with self._lock:
            basis = self._bases.get(key)
            if basis is None:
                self.misses += 1
            else:
                self.hits += 1
                self._bases[key] = self._bases.pop(key)  # newest last
            return basis

    def put(self, lp: LinearProgram, basis: Basis) -> None:
        key = self.key(lp)
        with self._lock:
            self._bases.pop(key, None)
            self._bases[key] = basis
            while len(self._bases) > self.max_entries:
                self._bases.pop(next(iter(self._bases)))


_PROCESS_CACHE = BasisCache()
_active: ContextVar[BasisCache | None] = ContextVar("essdispatch_basis_cache", default=None)


@contextmanager
def shared_bases(cache: BasisCache | None = None) -> Iterator[BasisCache]:
    """Within this block, LP solves of this thread start from the basis of an earlier solve
    of the same structure in this process (default: the process's own cache, which outlives
    the block, so the cases a sweep worker runs one after another share it)."""
    cache = cache if cache is not None else _PROCESS_CACHE
    token = _active.set(cache)
    try:
        yield cache
    finally:
        _active.reset(token)


def active_cache() -> BasisCache | None:
    """The cache of the enclosing :func:`shared_bases` block, if any."""
    return _active.get()
