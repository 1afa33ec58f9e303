"""The look every figure shares: colours, resolution and matplotlib style; a Figure on its own
Agg canvas, saved as PNG; step-plot edges, time axes, legends and titles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from essdispatch.analysis.results_folder import Results
from essdispatch.base.exceptions import ResultsError

#: default resolution of saved figures [dots per inch]
DPI = 150

#: (label, colour) of the power-flow categories, sources first, then sinks
SOURCES = {
    "solar_used": ("Solar used", "#f2b701"),
    "discharge": ("Storage discharge", "#2a9d8f"),
    "import": ("Grid import", "#6c757d"),
    "unserved": ("Unserved load", "#d62828"),
    "curtailed": ("Solar curtailed", "#fde68a"),
}
SINKS = {
    "load": ("Load + aux", "#8d5a3b"),
    "charge": ("Storage charge", "#1d6fa5"),
    "export": ("Grid export", "#7b4fa0"),
}
CARBON_COLOURS = {"average": "#2b9348", "marginal": "#bc4749"}
RUN_COLOUR, BASELINE_COLOUR = "#1d6fa5", "#f4a261"

_RC = {
    "font.size": 10,
    "axes.titlesize": 12,
    "figure.titlesize": 12,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.alpha": 0.3,
}


def new_figure(figsize: tuple[float, float], dpi: float = DPI) -> Figure:
    """A Figure on its own Agg canvas with constrained layout (no pyplot)."""
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | Path, dpi: float | None = None) -> Path:
    """Write ``fig`` as PNG at its own size (width × height = figsize × dpi pixels)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=dpi or fig.dpi)
    except OSError as exc:
        raise ResultsError(f"{path}: cannot write figure: {exc.strerror or exc}") from exc
    return path


def figsize_px(width_px: int, height_px: int, dpi: float = DPI) -> tuple[float, float]:
    """Figure size in inches for an image of ``width_px × height_px`` pixels at ``dpi``."""
    return width_px / dpi, height_px / dpi


# --------------------------------------------------------------------------- axes helpers
def _edges(index: pd.DatetimeIndex, dt_h: float) -> pd.DatetimeIndex:
    """Period starts plus the end of the last period (for step plots)."""
    return index.append(pd.DatetimeIndex([index[-1] + pd.Timedelta(hours=dt_h)]))


def _step(values: pd.Series | np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return np.append(v, v[-1]) if len(v) else v


def _time_axis(ax: Axes, tz: Any) -> None:
    locator = AutoDateLocator(tz=tz, minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=tz))


def _legend_right(ax: Axes, handles: list | None = None, labels: list | None = None) -> None:
    kw: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False}
    if handles is not None:
        ax.legend(handles, labels, **kw)
    else:
        ax.legend(**kw)


def _where(res: Results, site: str | None) -> str:
    return f"site {site}" if site else ("fleet total" if len(res.sites) > 1 else res.sites[0])


def _span(index: pd.DatetimeIndex, dt_h: float) -> str:
    end = index[-1] + pd.Timedelta(hours=dt_h)
    same_day = end.normalize() == index[0].normalize()
    shown = f"{end:%H:%M}" if same_day else f"{end:%Y-%m-%d %H:%M}"
    return f"{index[0]:%Y-%m-%d %H:%M} – {shown} ({index.tz})"


_thousands = FuncFormatter(lambda v, _p: f"{v:,.0f}")


class _rc:
    """Apply the figure style for the duration of a block (restores the caller's)."""

    def __enter__(self) -> None:
        import matplotlib

        self._ctx = matplotlib.rc_context(_RC)
        self._ctx.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)
