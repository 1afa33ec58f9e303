"""Stage 9 — sweeps: many cases of one scenario (a sweep file, its runs, its figures)."""

from essdispatch._exports import lazy_exports

EXPORTS: dict[str, str] = {}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, __path__, None)
