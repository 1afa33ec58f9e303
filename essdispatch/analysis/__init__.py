"""Stage 8 — analysis: read results folders (never the model).

``compare`` (tables across folders), ``plots`` (figures), ``report`` (the one-file HTML
page), ``export`` (CSV and the workbook).
"""

from essdispatch._exports import lazy_exports

EXPORTS: dict[str, str] = {}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, __path__, None)
