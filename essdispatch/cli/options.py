"""Command-line values checked and converted: HiGHS solver options, the output folder, ISO
times, image size and resolution of ``plot``; the cases of a sweep checked as ``run`` would."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from essdispatch.base.exceptions import ScenarioError


def cli_solver_options(
    time_limit: float | None,
    threads: int | None,
    solver_option: tuple[str, ...],
    verbose: bool = False,
    allow_loose_gap: bool = False,
) -> Any:
    """The run's :class:`~essdispatch.solve.highs.SolverOptions` from the command line, every
    value checked (bounds, HiGHS option names and values): ScenarioError (exit 2) naming
    the option otherwise."""
    from essdispatch.solve.highs import SolverOptions, option_problems

    options = SolverOptions(
        time_limit_s=time_limit,
        threads=threads,
        highs=_parse_solver_options(solver_option),
        verbose=verbose,
        allow_loose_gap=allow_loose_gap,
    )
    names = {"threads": "--threads", "time_limit_s": "--time-limit"}
    problems = [
        (names.get(key, key.replace("options.", "--solver-option ", 1)), message)
        for key, message in option_problems(options)
    ]
    if problems:
        raise ScenarioError(None, problems)
    return options


def _parse_solver_options(items: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise ScenarioError(
                None, [("--solver-option", f"{item!r}: expected KEY=VALUE, e.g. solver=ipm")]
            )
        key, raw = item.split("=", 1)
        value: Any = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        out[key.strip()] = value
    return out


def _out_folder_option(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Keep ``--out`` as given (``Path("")`` would silently become the working directory);
    :func:`_out_path` checks it inside the command, for a one-line error."""
    return value


def _out_path(value: str) -> Path:
    if value.strip() == "" or "\x00" in value:
        raise ScenarioError(None, [("--out", f"{value!r} is not a folder name; give e.g. results")])
    return Path(value)


_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?$")


def _iso_time(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Accept ISO 8601 local dates and times only (``2026-07-16``, ``2026-07-16T06:00``)."""
    if value is None:
        return None
    text = value.strip()
    if not _ISO_TIME.match(text):
        raise click.BadParameter(
            f"{value!r}: expected an ISO date YYYY-MM-DD or date and time YYYY-MM-DDTHH:MM "
            "(local time), e.g. 2026-07-16 or 2026-07-16T06:00",
        )
    try:
        import pandas as pd

        pd.Timestamp(text)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: not a valid date: {exc}") from None
    return text


def _parse_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected WIDTHxHEIGHT in pixels", "--size") from None
    if w < 200 or h < 150:
        raise click.BadParameter(f"{text!r}: at least 200x150 pixels", param_hint="--size")
    if w > MAX_IMAGE_SIDE_PX or h > MAX_IMAGE_SIDE_PX:
        raise ScenarioError(
            None,
            [("--size", f"{text!r}: at most {MAX_IMAGE_SIDE_PX}x{MAX_IMAGE_SIDE_PX} pixels")],
        )
    return w, h


#: largest image side [px] and dots per inch accepted by ``plot``
MAX_IMAGE_SIDE_PX = 16000
MIN_DPI, MAX_DPI = 10.0, 1200.0


def _check_dpi(dpi: float) -> None:
    import math

    if not math.isfinite(dpi) or not MIN_DPI <= dpi <= MAX_DPI:
        raise ScenarioError(None, [("--dpi", f"must be in {MIN_DPI:g}..{MAX_DPI:g}, got {dpi!r}")])


def _preflight_cases(sweep: Any) -> None:
    """Check every case as ``run`` would (solver options, operation) before anything runs."""
    from essdispatch.base.exceptions import ScenarioError as _ScenarioError
    from essdispatch.run import preflight

    problems: list[tuple[str, str]] = []
    for case in sweep.cases:
        try:
            preflight(case.scenario)
        except _ScenarioError as exc:
            problems += [
                (f"case {case.name}: {k}" if k else f"case {case.name}", m) for k, m in exc.problems
            ]
    if problems:
        raise ScenarioError(str(sweep.file), problems[:30])
