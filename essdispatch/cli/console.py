"""The console view of a run's ``summary.json``: the headline, the promises the run could not
keep, warnings, data caveats and diagnostic headlines (on stderr)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the schema is imported when a run is shown (keeps `validate` fast)
    from essdispatch.results.summary import Summary


def _typed(summary: Summary | dict) -> Summary:
    from essdispatch.results.summary import as_summary

    return as_summary(summary)


def _fill(text: str, indent: str = "  ", width: int = 100) -> str:
    """Wrap at spaces only (names with hyphens stay whole)."""
    return textwrap.fill(
        text, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )


def echo_diagnostics(summary: Summary | dict, quiet: bool = False) -> None:
    """Warnings and data caveats (always) and diagnostic headlines (unless quiet) on stderr."""
    from essdispatch.results.diagnostics import headlines

    summary = _typed(summary)
    for text in summary.warnings or []:
        click.echo(f"essdispatch: warning: {text}", err=True)
    for caveat in summary.data_caveats or []:
        click.echo(
            _fill(f"essdispatch: caution: {caveat.text}", "  "),
            err=True,
        )
    if not quiet and summary.diagnostics is not None:
        # headlines reads the diagnostics block as diagnose() returns it: the block as written
        diagnostics = summary.diagnostics.model_dump(mode="json", exclude_unset=True)
        for line in headlines(diagnostics, summary.currency or ""):
            click.echo(f"  {line}", err=True)


def _broken_promises(summary: Summary) -> list[str]:
    """Headline lines for what the run could not deliver: unserved energy and a terminal
    rule the rolling operation broke (both also warned about on stderr)."""
    lines = []
    diagnostics = summary.diagnostics
    unserved = diagnostics.unserved_energy if diagnostics is not None else None
    total = (unserved.total_mwh if unserved is not None else None) or 0.0
    if total > 1e-6:
        lines.append(f"  UNSERVED ENERGY   {total:>16,.1f} MWh (load shed)")
    windows = summary.windows
    short = (windows.terminal_shortfall_mwh if windows is not None else None) or 0.0
    if short > 1e-6:
        units = windows.terminal_shortfall_by_unit or {}
        which = ", ".join(f"{u} {v:,.1f}" for u, v in units.items())
        lines.append(
            f"  TERMINAL RULE BROKEN {short:>13,.1f} MWh short at the end"
            + (f" ({which} MWh)" if which else "")
        )
    return lines


def format_headline(summary: Summary | dict, folder: Path | None) -> str:
    """A short human summary of a run (fits 100 columns)."""
    from essdispatch.results.finance import headline_lines
    from essdispatch.results.summary import Operation, Solver

    summary = _typed(summary)
    cur = summary.currency if summary.currency is not None else ""
    operation = summary.operation or Operation()
    mode = operation.mode if operation.mode is not None else "perfect_foresight"
    solver = summary.solver or Solver()
    gap = solver.mip_gap
    state = "optimal"
    if isinstance(gap, int | float):  # a MILP: say how close to optimal it is proven
        from essdispatch.solve.highs import MIP_REL_GAP

        state = (
            f"optimal (MIP gap {gap:.2g})"
            if gap <= MIP_REL_GAP
            else f"NOT proven optimal: MIP gap {gap:.3%} (looser than {MIP_REL_GAP:g}, allowed)"
        )
    lines = [
        f"{summary.scenario.name}: {state} ({solver.route}, solve {solver.solve_seconds:.2f} s)",
        *headline_lines(summary),  # cash first (MODEL.md economics; essdispatch.results.finance)
    ]
    if mode == "rolling":
        lines.append(
            f"  operation         rolling horizon: window {operation.window}, lookahead "
            f"{operation.lookahead}, forecasts of "
            f"{', '.join(operation.forecast or []) or 'nothing'}"
        )
        if summary.value_of_foresight is not None:
            lines.append(
                f"  value of foresight {summary.value_of_foresight:>15,.0f} {cur} "
                "(rolling minus perfect-foresight total cost)"
            )
    else:
        lines.append("  operation         perfect foresight (one solve over the horizon)")
    lines += [
        f"  total cost        {summary.total_cost:>16,.0f} {cur} "
        f"(baseline {summary.baseline.total_cost:,.0f}; savings {summary.savings:,.0f})",
        f"  curtailment       {summary.curtailed_mwh:>16,.1f} MWh "
        f"(absorbed {summary.curtailment_absorbed_mwh:,.1f} MWh)",
        f"  charge/discharge  {summary.charge_mwh:>16,.1f} / {summary.discharge_mwh:,.1f} MWh",
    ]
    for series, val in (summary.emissions_displaced_tco2 or {}).items():
        lines.append(f"  emissions displaced ({series}) {val:,.1f} tCO2")
    from essdispatch.results.stored_carbon import split_lines

    lines += split_lines(summary)
    caveats = summary.data_caveats or []
    if caveats:
        names = ", ".join(f"{c.preset} ({c.reason})" for c in caveats)
        lines.append(_fill(f"  rests on: {names}", "    "))
    lines.extend(_broken_promises(summary))
    from essdispatch.results.life import life_lines  # battery life (MODEL.md 13–14)

    lines.extend(life_lines(summary))
    if folder is not None:
        lines.append(f"  results: {folder}")
    return "\n".join(_fit(line) for line in lines)


def _fit(line: str) -> str:
    """A console line wrapped to 100 columns, continuation indented under its text."""
    if all(len(part) <= 100 for part in line.split("\n")):
        return line
    return _fill(line, " " * (len(line) - len(line.lstrip()) + 2))
