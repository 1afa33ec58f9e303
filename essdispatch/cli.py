"""The ``essdispatch`` command: a thin layer over the library.

Exit status: 0 on success; 2 bad input (scenario, series, data); 3 the solver
did not reach an optimum; 4 results could not be written; 130 interrupted.
Errors print one line on stderr; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from essdispatch.exceptions import EssDispatchError, ResultsError, ScenarioError, SolveError

EXIT_BAD_INPUT = 2
EXIT_SOLVE = 3
EXIT_RESULTS = 4
EXIT_INTERRUPTED = 130


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, ScenarioError):
        return EXIT_BAD_INPUT
    if isinstance(exc, SolveError):
        return EXIT_SOLVE
    if isinstance(exc, ResultsError):
        return EXIT_RESULTS
    return 1


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that clean-up code runs."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def handle_errors(func: Callable) -> Callable:
    """Turn library errors into one line on stderr and an exit status."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = bool(ctx.find_root().params.get("debug")) or bool(kwargs.pop("debug", False))
        previous = None
        try:
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:  # not in the main thread (e.g. inside a test runner thread)
            previous = None
        try:
            return func(*args, **kwargs)
        except EssDispatchError as exc:
            if debug:
                raise
            click.echo(f"essdispatch: error: {exc}", err=True)
            ctx.exit(_exit_code(exc))
        except KeyboardInterrupt:
            if debug:
                raise
            click.echo(
                "essdispatch: interrupted (a results folder is either complete or untouched)",
                err=True,
            )
            ctx.exit(EXIT_INTERRUPTED)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper


def debug_option(func: Callable) -> Callable:
    return click.option("--debug", is_flag=True, help="Show the full traceback on errors.")(func)


class _Phase:
    """Progress on stderr: phase messages with elapsed time, and a bar over sites.

    Messages ``"<label>: solving site k/n"`` / ``"<label>: solved site k/n ..."`` from
    :func:`essdispatch.dispatch.solve_dispatch` drive a tqdm bar per label instead of
    printing one line per site.
    """

    _SITE = re.compile(r"^(?P<label>.*?): solv(?:ing|ed) site (?P<k>\d+)/(?P<n>\d+)")

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.t0 = time.perf_counter()
        self.bar: Any = None
        self.bar_label = ""

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        match = self._SITE.match(message)
        if match:
            self._site(match["label"], int(match["k"]), int(match["n"]), message)
            return
        self.close()
        click.echo(f"[{time.perf_counter() - self.t0:7.1f} s] {message}", err=True)

    def _site(self, label: str, k: int, n: int, message: str) -> None:
        from tqdm import tqdm

        if self.bar is None or self.bar_label != label:
            self.close()
            self.bar = tqdm(
                total=n,
                desc=f"{label}: sites",
                unit="site",
                file=sys.stderr,
                leave=True,
                dynamic_ncols=True,
            )
            self.bar_label = label
        done = k if "solved" in message else k - 1
        self.bar.update(max(0, done - self.bar.n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.bar.total - self.bar.n)
            self.bar.close()
            self.bar = None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(package_name="essdispatch")
def cli(debug: bool) -> None:
    """Schedule battery-storage fleets next to solar: run, validate and compare scenarios."""


def _parse_solver_options(items: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise click.BadParameter(f"{item!r}: expected key=value", param_hint="--solver-option")
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


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder that receives <name>/.",
)
@click.option("--csv", is_flag=True, help="Also write dispatch.csv.")
@click.option(
    "--time-limit",
    type=float,
    default=None,
    help="Time limit of each HiGHS solve [s] (per site or block when the problem is split).",
)
@click.option("--threads", type=int, default=None, help="HiGHS threads.")
@click.option(
    "--solver-option",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any HiGHS option, e.g. --solver-option solver=ipm (repeatable).",
)
@click.option(
    "--backend",
    type=click.Choice(["direct", "pyomo"]),
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
    out: Path,
    csv: bool,
    time_limit: float | None,
    threads: int | None,
    solver_option: tuple[str, ...],
    backend: str,
    no_decompose: bool,
    extend: str | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Solve SCENARIO and its no-storage baseline; write OUT/<name>/."""
    from essdispatch.run import run_scenario
    from essdispatch.solve import SolverOptions

    options = SolverOptions(
        time_limit_s=time_limit,
        threads=threads,
        highs=_parse_solver_options(solver_option),
        verbose=verbose,
    )
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
    click.echo(format_headline(outcome.summary, outcome.folder))
    echo_diagnostics(outcome.summary, quiet)


def echo_diagnostics(summary: dict, quiet: bool = False) -> None:
    """Warnings (always) and diagnostic headlines (unless quiet) on stderr."""
    from essdispatch.diagnostics import headlines

    for text in summary.get("warnings", []):
        click.echo(f"essdispatch: warning: {text}", err=True)
    if not quiet and "diagnostics" in summary:
        for line in headlines(summary["diagnostics"], summary.get("currency", "")):
            click.echo(f"  {line}", err=True)


def format_headline(summary: dict, folder: Path | None) -> str:
    """A short human summary of a run."""
    from essdispatch.finance import headline_lines

    cur = summary.get("currency", "")
    lines = [
        f"{summary['scenario']['name']}: optimal "
        f"({summary['solver']['route']}, solve {summary['solver']['solve_seconds']:.2f} s)",
        *headline_lines(summary),  # cash first (MODEL.md economics; essdispatch.finance)
        f"  total cost        {summary['total_cost']:>16,.0f} {cur} "
        f"(baseline {summary['baseline']['total_cost']:,.0f}; savings {summary['savings']:,.0f})",
        f"  curtailment       {summary['curtailed_mwh']:>16,.1f} MWh "
        f"(absorbed {summary['curtailment_absorbed_mwh']:,.1f} MWh)",
        f"  charge/discharge  {summary['charge_mwh']:>16,.1f} / {summary['discharge_mwh']:,.1f} MWh",
    ]
    for series, val in summary["emissions_displaced_tco2"].items():
        lines.append(f"  emissions displaced ({series}) {val:,.1f} tCO2")
    from essdispatch.life import life_lines  # battery life (MODEL.md 13–14)

    lines.extend(life_lines(summary))
    if folder is not None:
        lines.append(f"  results: {folder}")
    return "\n".join(lines)


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@debug_option
@handle_errors
def validate(scenario: Path) -> None:
    """Check SCENARIO (every key, series and rule); solve nothing."""
    from essdispatch.scenario import load_scenario, prepare_inputs

    sc = load_scenario(scenario)
    inputs = prepare_inputs(sc)
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
@debug_option
@handle_errors
def compare(
    folders: tuple[Path, ...],
    csv_path: Path | None,
    json_path: Path | None,
    plot_path: Path | None,
    force: bool,
) -> None:
    """Figures of results FOLDERS side by side, with differences against the first.

    A single sweep folder (results/sweeps/NAME) gives one table for the whole sweep,
    and --plot draws the headline figures against the swept parameters.
    """
    from essdispatch.sweep_plots import compare_sweep, is_sweep_folder

    if len(folders) == 1 and is_sweep_folder(folders[0]):
        click.echo(compare_sweep(folders[0], csv=csv_path, json_path=json_path, plot=plot_path))
        for path in (csv_path, json_path, plot_path):
            if path is not None:
                click.echo(f"wrote {path}", err=True)
        return
    from essdispatch.compare import (
        compare_table,
        format_scenario_diff,
        format_table,
        scenario_diff,
        write_table,
    )

    table = compare_table(list(folders), force=force)
    labels = table.attrs["labels"]
    for notice in table.attrs["notices"]:
        click.echo(f"note: {notice}")
    click.echo(format_table(table))
    diff = scenario_diff(list(folders)) if len(folders) > 1 else []
    if len(folders) > 1:
        click.echo("")
        click.echo(format_scenario_diff(diff, labels))
    write_table(table, csv=csv_path, json_path=json_path, scenario_differences=diff)
    if plot_path is not None:
        from essdispatch.plots import compare_figure, save_png

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
    from essdispatch.presets import presets_table_text

    click.echo(presets_table_text(filter))


def _parse_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected WIDTHxHEIGHT in pixels", "--size") from None
    if w < 200 or h < 150:
        raise click.BadParameter(f"{text!r}: at least 200x150 pixels", param_hint="--size")
    return w, h


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(["dispatch", "curtailment", "emissions"]),
    default="dispatch",
    show_default=True,
    help="dispatch: power flows, state of charge, price and carbon; curtailment: baseline "
    "against run; emissions: displaced on the average and marginal basis.",
)
@click.option("--from", "start", default=None, help="Window start, local time (2026-06-03).")
@click.option(
    "--to", "end", default=None, help="Window end, inclusive; a bare date includes the whole day."
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
    from essdispatch.plots import FIGURES, figsize_px, save_png

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
    from essdispatch.report import write_report

    click.echo(f"wrote {write_report(folder, out)}")


@cli.command()
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder that receives sweeps/<name>/.",
)
@click.option("--scheduler", default=None, metavar="ADDRESS", help="A running Dask scheduler.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Local worker processes.")
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=None,
    help="Re-runs of a case whose worker died.",
)
@click.option("--inline", is_flag=True, help="Run the cases one by one in this process (no Dask).")
@click.option("--dry-run", is_flag=True, help="Validate every case and list them; solve nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@debug_option
@handle_errors
def sweep(
    sweep_file: Path,
    out: Path,
    scheduler: str | None,
    workers: int | None,
    retries: int | None,
    inline: bool,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Run every case of SWEEP_FILE (resumable); write OUT/sweeps/<name>/."""
    from essdispatch.sweep import load_sweep, run_sweep
    from essdispatch.sweep_plots import dry_run_text, sweep_summary_text

    sw = load_sweep(sweep_file)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
