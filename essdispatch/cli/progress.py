"""Progress of a run on stderr: phase messages with elapsed time, a bar over sites and a
running clock during one long solve."""

from __future__ import annotations

import re
import sys
import threading
import time
from typing import Any

import click


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
