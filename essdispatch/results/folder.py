"""The results folder on disk: checked before solving (writable, room on the disk), its name
locked for the whole run, and written atomically (a hidden folder swapped into place)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from essdispatch.base.exceptions import ResultsError
from essdispatch.base.inputs import Inputs

if TYPE_CHECKING:
    from essdispatch.results.extract import DispatchResult


def check_writable(out_dir: Path) -> None:
    """Fail before solving when results cannot be written under ``out_dir``.

    Creates nothing: the nearest existing folder on the way must be a writable folder.
    """
    if str(out_dir).strip() == "":
        raise ResultsError("--out: empty folder name (give a folder, e.g. results)")
    probe = Path(os.path.abspath(out_dir))
    while not (probe.exists() or probe.is_symlink()):
        if probe.parent == probe:
            break
        probe = probe.parent
    target = Path(os.path.abspath(out_dir))
    if probe.exists() and not probe.is_dir():
        why = "a file, not a folder" if probe == target else f"{probe} is a file"
        raise ResultsError(f"{out_dir}: results folder is not writable ({why})")
    if not probe.exists():
        raise ResultsError(f"{out_dir}: results folder is not writable ({probe}: broken link)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ResultsError(
            f"{out_dir}: results folder is not writable ({probe}: permission denied)"
        )


@contextlib.contextmanager
def _out_folder(out_dir: Path, name: str) -> Iterator[None]:
    """Create ``out_dir`` (removed again if the run fails and it is still empty) and hold
    the lock of ``<out_dir>/<name>`` for the whole run."""
    from essdispatch.base.safe_write import name_lock, recover

    created: list[Path] = []
    probe = Path(os.path.abspath(out_dir))
    while not probe.exists() and probe.parent != probe:
        created.append(probe)
        probe = probe.parent
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".write-test-"):
            pass
    except OSError as exc:
        _remove_empty(created)
        raise ResultsError(
            f"{out_dir}: results folder is not writable: {exc.strerror or exc}"
        ) from exc
    try:
        with name_lock(out_dir, name):
            try:  # what a crash inside an earlier swap left, repaired before anything else
                recover(out_dir, name)
            except OSError as exc:
                raise ResultsError(
                    f"{out_dir / name}: cannot repair an interrupted earlier write:"
                    f" {exc.strerror or exc}"
                ) from exc
            yield
    except BaseException:
        _remove_empty(created)
        raise


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            return


#: room kept free on the disk beyond the estimated size of the results [bytes]
DISK_MARGIN_BYTES = 16 * 2**20


def results_size(inputs: Inputs, csv: bool = False) -> int:
    """Rough upper estimate of a results folder's size [bytes] (uncompressed columns)."""
    columns = 10 * inputs.n_sites + 4 * inputs.n_units + len(inputs.carbon) * inputs.n_sites
    cells = inputs.n_periods * columns
    return int(cells * 8 * 2 + (cells * 48 if csv else 0) + 2**20)


def check_free_space(out_dir: Path, need: int) -> None:
    """Fail before solving when the disk under ``out_dir`` cannot hold ``need`` bytes."""
    try:
        free = shutil.disk_usage(out_dir).free
    except OSError:
        return  # cannot tell; the write reports a full disk itself
    if free < need + DISK_MARGIN_BYTES:
        raise ResultsError(
            f"{out_dir}: not enough free disk space for the results: {free / 2**20:.1f} MiB"
            f" free, about {(need + DISK_MARGIN_BYTES) / 2**20:.1f} MiB needed"
        )


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back (delivered on exit) so a step cannot be cut in half."""
    block = (
        hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    )
    if not block:
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def check_written_summary(target: Path, summary: dict) -> None:
    """Validate ``summary`` against the schema of summary.json
    (:func:`essdispatch.results.summary.check_summary`) before it is written."""
    from essdispatch.results.summary import SummaryError, check_summary  # keeps `validate` fast

    try:
        check_summary(summary)
    except SummaryError as exc:
        raise ResultsError(
            f"{target / 'summary.json'}: not written, off its schema: {exc}"
        ) from None


def write_results(
    out_dir: Path,
    name: str,
    summary: dict,
    run: DispatchResult,
    baseline: DispatchResult,
    scenario_text: str,
    csv: bool = False,
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write the results folder atomically; returns its path.

    Everything goes into a hidden ``.<name>.tmp-*`` folder first; the swap
    (:func:`essdispatch.base.safe_write.swap_into_place`: an atomic exchange of the two
    folders where the kernel offers one) runs with SIGINT/SIGTERM held back, under the
    name's lock, after repairing what an earlier crash left
    (:func:`essdispatch.base.safe_write.recover`). An interrupt or a kill leaves either the
    earlier results or the new ones at ``<out_dir>/<name>``, never neither for good.
    """
    from essdispatch.base.safe_write import name_lock, recover, swap_into_place

    target = out_dir / name
    check_written_summary(target, summary)  # a writer's bug fails here, nothing written
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsError(f"{target}: could not write results: {exc.strerror or exc}") from exc
    tmp = out_dir / f".{name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        with name_lock(out_dir, name):
            recover(out_dir, name)
            try:
                tmp.mkdir()
                frame = run.to_frame()
                frame.to_parquet(tmp / "dispatch.parquet")
                baseline.to_frame().to_parquet(tmp / "baseline.parquet")
                if csv:
                    frame.to_csv(tmp / "dispatch.csv")
                    baseline.to_frame().to_csv(tmp / "baseline.csv")
                (tmp / "scenario.yaml").write_text(scenario_text, encoding="utf-8")
                for fname, text in (extra_files or {}).items():  # e.g. cashflows.csv
                    (tmp / fname).write_text(text, encoding="utf-8")
                # summary.json last: its presence marks a complete folder
                with open(tmp / "summary.json", "w", encoding="utf-8") as fh:
                    json.dump(summary, fh, indent=2, ensure_ascii=False)
                    fh.flush()
                    os.fsync(fh.fileno())
                with _signals_blocked():
                    swap_into_place(tmp, target)
            finally:
                if tmp.exists() or tmp.is_symlink():
                    with _signals_blocked():
                        shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        raise ResultsError(f"{target}: could not write results: {exc.strerror or exc}") from exc
    return target


def _existing(path: Path) -> Path:
    probe = Path(os.path.abspath(path))
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return probe
