"""The ``essdispatch`` command: a thin layer over the library.

Exit status: 0 on success; 2 bad input (scenario, series, data, a bad argument or
results folder to read); 3 the solver
did not reach an optimum; 4 results could not be written; 130 interrupted.
Errors print one line on stderr; ``--debug`` shows the traceback instead.

This module holds the command group and its commands (``essdispatch.cli:main`` is the
console script); ``errors`` (exit statuses, one-line errors), ``options`` (values
checked), ``progress`` (stderr progress) and ``console`` (the headline of a run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from essdispatch.base.exceptions import ScenarioError
from essdispatch.cli.console import _fill, echo_diagnostics, format_headline
from essdispatch.cli.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_RESULTS,
    EXIT_SOLVE,
    _Choice,
    debug_option,
    handle_errors,
)
from essdispatch.cli.options import (
    _check_dpi,
    _iso_time,
    _out_folder_option,
    _out_path,
    _parse_size,
    _preflight_cases,
    cli_solver_options,
)
from essdispatch.cli.progress import _Phase

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_RESULTS",
    "EXIT_SOLVE",
    "cli",
    "cli_solver_options",
    "echo_diagnostics",
    "format_headline",
    "handle_errors",
    "main",
]

#: bounds of the sweep's --workers and --retries (and of the sweep file's keys)
MAX_WORKERS = 256
MAX_RETRIES = 100


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(package_name="essdispatch")
def cli(debug: bool) -> None:
    """Schedule battery-storage fleets next to solar: run, validate and compare scenarios."""


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    default="results",
    show_default=True,
    type=str,
    callback=_out_folder_option,
    help="Folder that receives <name>/.",
)
@click.option("--csv", is_flag=True, help="Also write dispatch.csv and baseline.csv.")
@click.option(
    "--xlsx",
    is_flag=True,
    help="Also write results.xlsx: summary, per site, per unit, dispatch, baseline, units.",
)
@click.option(
    "--time-limit",
    type=float,
    default=None,
    help="Time limit of each HiGHS solve [s] (per site or block when the problem is split).",
)
@click.option("--threads", type=int, default=None, help="HiGHS threads (1..256).")
@click.option(
    "--solver-option",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any HiGHS option, e.g. --solver-option solver=ipm (repeatable).",
)
@click.option(
    "--allow-loose-gap",
    is_flag=True,
    help="Accept mip_rel_gap/mip_abs_gap looser than 1e-6 (the headline shows the gap).",
)
@click.option(
    "--backend",
    type=_Choice(["direct", "pyomo"]),
    default="direct",
    show_default=True,
    help="direct: vectorised matrices to HiGHS; pyomo: build the Pyomo model and "
    "compile it (slower, same optimum).",
)
@click.option(
    "--no-decompose",
    is_flag=True,
    help="Always solve all sites jointly (default: per site when no group limit binds).",
)
@click.option(
    "--extend",
    metavar="MODULE:FUNCTION",
    default=None,
    help="Extension hook fn(model, inputs) that adds Pyomo components to every model "
    "built (run, baseline, rolling windows); MODULE may be a file.py.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
@click.option("--verbose", "-v", is_flag=True, help="Show HiGHS's own log while it solves.")
@debug_option
@handle_errors
def run(
    scenario: Path,
    out: Any,
    csv: bool,
    xlsx: bool,
    time_limit: float | None,
    threads: int | None,
    solver_option: tuple[str, ...],
    backend: str,
    no_decompose: bool,
    extend: str | None,
    quiet: bool,
    verbose: bool,
    allow_loose_gap: bool,
) -> None:
    """Solve SCENARIO and its no-storage baseline; write OUT/<name>/."""
    from essdispatch.run import run_scenario

    out = _out_path(out)
    options = cli_solver_options(time_limit, threads, solver_option, verbose, allow_loose_gap)
    phase = _Phase(quiet)
    try:
        outcome = run_scenario(
            scenario,
            out,
            csv=csv,
            options=options,
            backend=backend,
            decompose=not no_decompose,
            progress=phase,
            extend=extend,
        )
    finally:
        phase.close()
    if xlsx and outcome.folder is not None:
        from essdispatch.analysis.export import write_workbook

        write_workbook(outcome.folder)
    click.echo(format_headline(outcome.summary, outcome.folder))
    echo_diagnostics(outcome.summary, quiet)


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@debug_option
@handle_errors
def validate(scenario: Path) -> None:
    """Check SCENARIO (every key, series and rule); solve nothing."""
    from essdispatch.run import preflight
    from essdispatch.scenario.load import load_scenario

    sc = load_scenario(scenario)
    inputs, _, _ = preflight(sc)  # everything `run` reads: series, solver, operation
    click.echo(
        f"{scenario}: valid ({inputs.n_sites} sites, {inputs.n_units} storage units, "
        f"{inputs.n_periods} periods of {inputs.dt_h:g} h)"
    )


@cli.command()
@click.argument(
    "folders", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the table as CSV.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the table, notices and scenario differences as JSON.",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write bar charts of the headline figures (PNG).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Show runs with a different horizon or currency side by side anyway "
    "(without the differences that cannot be computed).",
)
@click.option(
    "--wide",
    is_flag=True,
    help="One table with a column per run and difference, however wide "
    "(default: runs lettered A, B, ... and wrapped to 100 columns).",
)
@debug_option
@handle_errors
def compare(
    folders: tuple[Path, ...],
    csv_path: Path | None,
    json_path: Path | None,
    plot_path: Path | None,
    force: bool,
    wide: bool,
) -> None:
    """Figures of results FOLDERS side by side, with differences against the first.

    A single sweep folder (results/sweeps/NAME) gives one table for the whole sweep,
    and --plot draws the headline figures against the swept parameters.
    """
    from essdispatch.sweeps.sweep_plots import compare_sweep, is_sweep_folder

    if len(folders) == 1 and is_sweep_folder(folders[0]):
        click.echo(
            compare_sweep(folders[0], csv=csv_path, json_path=json_path, plot=plot_path, wide=wide)
        )
        for path in (csv_path, json_path, plot_path):
            if path is not None:
                click.echo(f"wrote {path}", err=True)
        return
    from essdispatch.analysis.compare import compare_table
    from essdispatch.analysis.compare_format import (
        TERMINAL_WIDTH,
        format_scenario_diff,
        format_table,
        write_table,
    )
    from essdispatch.analysis.scenario_diff import scenario_diff

    table = compare_table(list(folders), force=force)
    labels = table.attrs["labels"]
    width = None if wide else TERMINAL_WIDTH
    for notice in table.attrs["notices"]:
        text = f"note: {notice}"
        click.echo(text if wide else _fill(text, "  "))
    click.echo(format_table(table, width=width))
    diff = scenario_diff(list(folders)) if len(folders) > 1 else []
    if len(folders) > 1:
        click.echo("")
        click.echo(format_scenario_diff(diff, labels, width=width))
    write_table(table, csv=csv_path, json_path=json_path, scenario_differences=diff)
    if plot_path is not None:
        from essdispatch.analysis.plot_panels import compare_figure
        from essdispatch.analysis.plot_style import save_png

        save_png(compare_figure(table), plot_path)
    for path in (csv_path, json_path, plot_path):
        if path is not None:
            click.echo(f"wrote {path}", err=True)


@cli.command()
@click.argument("filter", required=False)
@debug_option
@handle_errors
def presets(filter: str | None) -> None:
    """List built-in data (emission factors, tariffs, prices) with sources.

    FILTER: part of a name or kind (e.g. ``northwest``, ``tou``), or an exact
    preset name for its full provenance. Use a preset in a scenario as
    ``{preset: NAME}``.
    """
    from essdispatch.scenario.presets import presets_table_text

    try:
        text = presets_table_text(filter)
    except KeyError as exc:
        click.echo(f"essdispatch: error: {exc.args[0]}", err=True)
        click.get_current_context().exit(EXIT_BAD_INPUT)
    click.echo(text)


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=_Choice(["dispatch", "curtailment", "emissions", "sites"]),
    default="dispatch",
    show_default=True,
    help="dispatch: power flows, state of charge, price and carbon; curtailment: baseline "
    "against run; emissions: displaced on the average and marginal basis; sites: one small "
    "panel per site.",
)
@click.option(
    "--from",
    "start",
    default=None,
    callback=_iso_time,
    help="Window start, ISO local time (2026-06-03 or 2026-06-03T06:00).",
)
@click.option(
    "--to",
    "end",
    default=None,
    callback=_iso_time,
    help="Window end, inclusive, ISO local time; a bare date includes the whole day.",
)
@click.option("--site", default=None, help="One site (default: the fleet total).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PNG file to write [default: FOLDER/<kind>.png].",
)
@click.option("--size", default=None, metavar="WxH", help="Image size in pixels, e.g. 1600x900.")
@click.option("--dpi", type=float, default=150.0, show_default=True, help="Dots per inch.")
@debug_option
@handle_errors
def plot(
    folder: Path,
    kind: str,
    start: str | None,
    end: str | None,
    site: str | None,
    out: Path | None,
    size: str | None,
    dpi: float,
) -> None:
    """Draw a figure of the run in results FOLDER as PNG."""
    from essdispatch.analysis.plots import FIGURES, figsize_px, save_png

    _check_dpi(dpi)
    pixels = _parse_size(size)
    kwargs: dict[str, Any] = {"dpi": dpi}
    if pixels is not None:
        kwargs["figsize"] = figsize_px(*pixels, dpi=dpi)
    fig = FIGURES[kind](folder, site, start, end, **kwargs)
    path = save_png(fig, out if out is not None else folder / f"{kind}.png", dpi=dpi)
    click.echo(f"wrote {path}")


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="HTML file to write [default: FOLDER/report.html].",
)
@debug_option
@handle_errors
def report(folder: Path, out: Path | None) -> None:
    """Write a self-contained HTML page of the run in results FOLDER."""
    from essdispatch.analysis.report import write_report

    click.echo(f"wrote {write_report(folder, out)}")


@cli.command()
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    default="results",
    show_default=True,
    type=str,
    callback=_out_folder_option,
    help="Folder that receives sweeps/<name>/.",
)
@click.option("--scheduler", default=None, metavar="ADDRESS", help="A running Dask scheduler.")
@click.option("--workers", type=int, default=None, help="Local worker processes (1..256).")
@click.option(
    "--retries",
    type=int,
    default=None,
    help="Re-runs of a case whose worker died (0..100).",
)
@click.option("--inline", is_flag=True, help="Run the cases one by one in this process (no Dask).")
@click.option("--dry-run", is_flag=True, help="Validate every case and list them; solve nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@debug_option
@handle_errors
def sweep(
    sweep_file: Path,
    out: Any,
    scheduler: str | None,
    workers: int | None,
    retries: int | None,
    inline: bool,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Run every case of SWEEP_FILE (resumable); write OUT/sweeps/<name>/."""
    from essdispatch.sweeps.sweep import load_sweep, run_sweep
    from essdispatch.sweeps.sweep_plots import dry_run_text, sweep_summary_text

    out = _out_path(out)
    bad = [
        (name, f"must be in {low}..{high}, got {value}")
        for name, value, low, high in (
            ("--workers", workers, 1, MAX_WORKERS),
            ("--retries", retries, 0, MAX_RETRIES),
        )
        if value is not None and not low <= value <= high
    ]
    if bad:
        raise ScenarioError(None, bad)
    sw = load_sweep(sweep_file)
    _preflight_cases(sw)
    if dry_run:
        click.echo(dry_run_text(sw, out))
        return
    report = run_sweep(
        sw,
        out,
        scheduler=scheduler,
        workers=workers,
        retries=retries,
        inline=inline,
        progress=not quiet,
    )
    click.echo(sweep_summary_text(report))
    if report.failed:
        click.get_current_context().exit(EXIT_SOLVE)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="essdispatch")
