"""The ``essdispatch`` command: a thin layer over the library.

Exit status: 0 on success; 2 bad input (scenario, series, data, a bad argument or
results folder to read); 3 the solver
did not reach an optimum; 4 results could not be written; 130 interrupted.
Errors print one line on stderr; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import re
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from essdispatch.base.exceptions import (
    EssDispatchError,
    ResultsError,
    ResultsInputError,
    ScenarioError,
    SolveError,
)

EXIT_BAD_INPUT = 2
EXIT_SOLVE = 3
EXIT_RESULTS = 4
EXIT_INTERRUPTED = 130
#: bounds of the sweep's --workers and --retries (and of the sweep file's keys)
MAX_WORKERS = 256
MAX_RETRIES = 100


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, ScenarioError | ResultsInputError):
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
        except MemoryError:
            if debug:
                raise
            click.echo(
                "essdispatch: error: out of memory (shorten the horizon, coarsen the resolution"
                " or split the run)",
                err=True,
            )
            ctx.exit(EXIT_SOLVE)
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


class _Choice(click.Choice):
    """A choice whose error suggests the close names (``did you mean 'pyomo'?``)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            from essdispatch.base.exceptions import close_names

            hint = close_names(str(value), [str(c) for c in self.choices])
            if hint:
                exc.message = f"{exc.message.rstrip('.')}{hint}"
            raise


def debug_option(func: Callable) -> Callable:
    return click.option("--debug", is_flag=True, help="Show the full traceback on errors.")(func)


class _Phase:
    """Progress on stderr: phase messages with elapsed time, a bar over sites, and a
    running clock while one long solve has no steps to count.

    Messages ``"<label>: solving site k/n"`` / ``"<label>: solved site k/n ..."`` from
    :func:`essdispatch.solve.dispatch.solve_dispatch` drive a tqdm bar per label instead of
    printing one line per site. A message that starts a single solve (``"... solving joint
    problem"``, ``"... compiling and solving"``) starts a bar that shows the time spent so
    far (refreshed twice a second, on a terminal only) until the next message.
    """

    _SITE = re.compile(r"^(?P<label>.*?): solv(?:ing|ed) site (?P<k>\d+)/(?P<n>\d+)")
    _SINGLE = re.compile(r"solving joint problem|compiling and solving|solving in blocks")
    #: the running clock refreshes this often [s]
    TICK_S = 0.5

    def __init__(self, quiet: bool, clock: bool | None = None) -> None:
        self.quiet = quiet
        self.t0 = time.perf_counter()
        self.bar: Any = None
        self.bar_label = ""
        self.clock = sys.stderr.isatty() if clock is None else clock
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        match = self._SITE.match(message)
        if match:
            self._site(match["label"], int(match["k"]), int(match["n"]), message)
            return
        self.close()
        click.echo(f"[{time.perf_counter() - self.t0:7.1f} s] {message}", err=True)
        if self.clock and self._SINGLE.search(message):
            self._start_clock(message.split(":", 1)[0])

    def _start_clock(self, label: str) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=None,
            desc=f"{label}: solving",
            bar_format="{desc}: {elapsed} elapsed",
            file=sys.stderr,
            leave=False,
            dynamic_ncols=True,
        )
        self.bar_label = label
        self._stop.clear()
        bar = self.bar

        def tick() -> None:
            while not self._stop.wait(self.TICK_S):
                bar.refresh()

        self._ticker = threading.Thread(target=tick, name="essdispatch-clock", daemon=True)
        self._ticker.start()

    def _site(self, label: str, k: int, n: int, message: str) -> None:
        from tqdm import tqdm

        if self.bar is None or self.bar_label != label or self.bar.total is None:
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
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None
        if self.bar is not None:
            if self.bar.total is not None:
                self.bar.update(self.bar.total - self.bar.n)
            self.bar.close()
            self.bar = None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(package_name="essdispatch")
def cli(debug: bool) -> None:
    """Schedule battery-storage fleets next to solar: run, validate and compare scenarios."""


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


def _fill(text: str, indent: str = "  ", width: int = 100) -> str:
    """Wrap at spaces only (names with hyphens stay whole)."""
    return textwrap.fill(
        text, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )


def echo_diagnostics(summary: dict, quiet: bool = False) -> None:
    """Warnings and data caveats (always) and diagnostic headlines (unless quiet) on stderr."""
    from essdispatch.results.diagnostics import headlines

    for text in summary.get("warnings", []):
        click.echo(f"essdispatch: warning: {text}", err=True)
    for caveat in summary.get("data_caveats", []):
        click.echo(
            _fill(f"essdispatch: caution: {caveat['text']}", "  "),
            err=True,
        )
    if not quiet and "diagnostics" in summary:
        for line in headlines(summary["diagnostics"], summary.get("currency", "")):
            click.echo(f"  {line}", err=True)


def _broken_promises(summary: dict) -> list[str]:
    """Headline lines for what the run could not deliver: unserved energy and a terminal
    rule the rolling operation broke (both also warned about on stderr)."""
    lines = []
    unserved = (summary.get("diagnostics") or {}).get("unserved_energy") or {}
    total = unserved.get("total_mwh") or 0.0
    if isinstance(total, int | float) and total > 1e-6:
        lines.append(f"  UNSERVED ENERGY   {total:>16,.1f} MWh (load shed)")
    windows = summary.get("windows") if isinstance(summary.get("windows"), dict) else {}
    short = windows.get("terminal_shortfall_mwh") or 0.0
    if isinstance(short, int | float) and short > 1e-6:
        units = windows.get("terminal_shortfall_by_unit") or {}
        which = ", ".join(f"{u} {v:,.1f}" for u, v in units.items())
        lines.append(
            f"  TERMINAL RULE BROKEN {short:>13,.1f} MWh short at the end"
            + (f" ({which} MWh)" if which else "")
        )
    return lines


def format_headline(summary: dict, folder: Path | None) -> str:
    """A short human summary of a run (fits 100 columns)."""
    from essdispatch.results.finance import headline_lines

    cur = summary.get("currency", "")
    operation = summary.get("operation") or {}
    mode = operation.get("mode", "perfect_foresight")
    solver = summary["solver"]
    gap = solver.get("mip_gap")
    state = "optimal"
    if isinstance(gap, int | float):  # a MILP: say how close to optimal it is proven
        from essdispatch.solve.highs import MIP_REL_GAP

        state = (
            f"optimal (MIP gap {gap:.2g})"
            if gap <= MIP_REL_GAP
            else f"NOT proven optimal: MIP gap {gap:.3%} (looser than {MIP_REL_GAP:g}, allowed)"
        )
    lines = [
        f"{summary['scenario']['name']}: {state} "
        f"({solver['route']}, solve {solver['solve_seconds']:.2f} s)",
        *headline_lines(summary),  # cash first (MODEL.md economics; essdispatch.results.finance)
    ]
    if mode == "rolling":
        lines.append(
            f"  operation         rolling horizon: window {operation.get('window')}, lookahead "
            f"{operation.get('lookahead')}, forecasts of "
            f"{', '.join(operation.get('forecast') or []) or 'nothing'}"
        )
        if summary.get("value_of_foresight") is not None:
            lines.append(
                f"  value of foresight {summary['value_of_foresight']:>15,.0f} {cur} "
                "(rolling minus perfect-foresight total cost)"
            )
    else:
        lines.append("  operation         perfect foresight (one solve over the horizon)")
    lines += [
        f"  total cost        {summary['total_cost']:>16,.0f} {cur} "
        f"(baseline {summary['baseline']['total_cost']:,.0f}; savings {summary['savings']:,.0f})",
        f"  curtailment       {summary['curtailed_mwh']:>16,.1f} MWh "
        f"(absorbed {summary['curtailment_absorbed_mwh']:,.1f} MWh)",
        f"  charge/discharge  {summary['charge_mwh']:>16,.1f} / {summary['discharge_mwh']:,.1f} MWh",
    ]
    for series, val in summary["emissions_displaced_tco2"].items():
        lines.append(f"  emissions displaced ({series}) {val:,.1f} tCO2")
    from essdispatch.results.stored_carbon import split_lines

    lines += split_lines(summary)
    caveats = summary.get("data_caveats") or []
    if caveats:
        names = ", ".join(f"{c['preset']} ({c['reason']})" for c in caveats)
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
    from essdispatch.analysis.compare import (
        TERMINAL_WIDTH,
        compare_table,
        format_scenario_diff,
        format_table,
        scenario_diff,
        write_table,
    )

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
        from essdispatch.analysis.plots import compare_figure, save_png

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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="essdispatch")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
