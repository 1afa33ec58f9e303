"""The options passed to HiGHS: :class:`SolverOptions`, MODEL.md's MIP gap, and
:func:`option_problems`, which checks every option (bounds, names, values HiGHS accepts, no
loosened gap) on a scratch HiGHS object before anything is solved."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np

from essdispatch.solve.highs_runtime import _Log, _new_highs

MIP_REL_GAP = 1e-6  # MODEL.md: exclusive mode is solved to a relative gap of at most 1e-6


@dataclass(frozen=True)
class SolverOptions:
    """Options passed to HiGHS.

    time_limit_s : wall-clock limit of one HiGHS solve [s] (None: no limit); a problem
        split by site or time block gives each part this limit
    threads : HiGHS threads (None: HiGHS default)
    highs : any other HiGHS option by name (e.g. ``{"solver": "ipm"}``)
    verbose : echo HiGHS's log on stderr
    allow_loose_gap : accept ``mip_rel_gap``/``mip_abs_gap`` looser than
        :data:`MIP_REL_GAP` (the result is then reported with its achieved gap)
    warm_start : when a group limit binds after the per-site solves, start the joint
        simplex from their optimal bases (False: solve it cold)
    """

    time_limit_s: float | None = None
    threads: int | None = None
    highs: dict[str, Any] = field(default_factory=dict)
    verbose: bool = False
    allow_loose_gap: bool = False
    warm_start: bool = True  # start a joint solve from per-site bases (issue 12)


#: most HiGHS threads accepted (HiGHS starts one OS thread per count at once)
MAX_THREADS = 256
#: longest time limit accepted [s] (about 31 years; beyond is a typo)
MAX_TIME_LIMIT_S = 1e9
#: gap options that loosen MODEL.md's optimality contract
_GAP_OPTIONS = ("mip_rel_gap", "mip_abs_gap")
#: options that change what the solve returns as "optimal" or "infeasible"
_REFUSED_OPTIONS = {
    "objective_bound": "HiGHS prunes every solution worse than the bound, so a feasible"
    " scenario reads as infeasible",
    "objective_target": "HiGHS stops at the first solution better than the target, which"
    " is not the optimum",
    "output_flag": "essdispatch captures HiGHS's log itself; use --verbose",
    "log_to_console": "essdispatch captures HiGHS's log itself; use --verbose",
}


def threads_problem(value: Any) -> str | None:
    """Why ``value`` is not a thread count (None: it is)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be a whole number of threads, got {value!r}"
    if not 1 <= value <= MAX_THREADS:
        return f"must be in 1..{MAX_THREADS}, got {value}"
    return None


def time_limit_problem(value: Any) -> str | None:
    """Why ``value`` is not a time limit [s] (None: it is)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number of seconds, got {value!r}"
    if not np.isfinite(value) or not 0 < value <= MAX_TIME_LIMIT_S:
        return f"must be a number of seconds in (0, {MAX_TIME_LIMIT_S:g}], got {value!r}"
    return None


_SCRATCH: dict[str, Any] = {}


def _coerced(h: highspy.Highs, key: str, value: Any) -> Any:
    """YAML 1.1 reads an unquoted ``on``/``off`` as true/false: give a string option
    (``presolve``, ``parallel``) its on/off text back."""
    if isinstance(value, bool):
        status, kind = h.getOptionType(key)
        if status == highspy.HighsStatus.kOk and kind == highspy.HighsOptionType.kString:
            return "on" if value else "off"
    return value


def option_problems(options: SolverOptions, prefix: str = "") -> list[tuple[str, str]]:
    """Every problem of ``options`` as ``(key, message)``, keys ``<prefix><name>``.

    Checks the thread count and time limit bounds, that every HiGHS option exists and
    HiGHS accepts its value (on a scratch object: nothing is started), and that no gap
    option loosens MODEL.md's 1e-6 unless ``allow_loose_gap``.
    """
    problems: list[tuple[str, str]] = []
    for key, value, check in (
        ("threads", options.threads, threads_problem),
        ("time_limit_s", options.time_limit_s, time_limit_problem),
    ):
        said = check(value) if value is not None else None
        if said:
            problems.append((f"{prefix}{key}", said))
    if not options.highs:
        return problems
    h = _SCRATCH.get("h")
    if h is None or _SCRATCH.get("pid") != os.getpid():
        h = _new_highs(banner_to=os.devnull)
        log = _Log(False)
        cb = getattr(h, "cbLogging", None)
        if cb is not None:
            cb.subscribe(log)
        h.setOptionValue("log_to_console", False)
        _SCRATCH.update(h=h, log=log, pid=os.getpid())
    log = _SCRATCH["log"]
    for key, value in options.highs.items():
        where = f"{prefix}options.{key}"
        if isinstance(value, float) and not np.isfinite(value):
            problems.append((where, f"must be finite, got {value!r}"))
            continue
        if key == "threads":
            said = threads_problem(value)
        elif key == "time_limit":
            said = time_limit_problem(value)
        else:
            said = None
        if said:
            problems.append((where, said))
            continue
        if key in _REFUSED_OPTIONS:
            problems.append((where, f"not supported: {_REFUSED_OPTIONS[key]}"))
            continue
        status, kind = h.getOptionType(key)
        if status != highspy.HighsStatus.kOk:
            problems.append((where, "not a HiGHS option (see HiGHS's list of options)"))
            continue
        log.lines.clear()
        value = _coerced(h, key, value)
        if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            detail = log.error_line()
            kind_name = str(kind).rsplit(".k", 1)[-1].lower()
            problems.append(
                (
                    where,
                    f"HiGHS rejects {value!r} for this {kind_name} option"
                    + (f": {detail}" if detail else ""),
                )
            )
            continue
        if (
            key in _GAP_OPTIONS
            and not options.allow_loose_gap
            and not isinstance(value, bool)
            and isinstance(value, int | float)
            and value > MIP_REL_GAP
        ):
            problems.append(
                (
                    where,
                    f"{value:g} is looser than the {MIP_REL_GAP:g} gap of MODEL.md (the result"
                    " would not be optimal); set solver.allow_loose_gap: true (or"
                    " --allow-loose-gap) to accept it",
                )
            )
    h.resetOptions()
    h.setOptionValue("log_to_console", False)
    return problems
