"""Stage 8 — analysis: read results folders (never the model).

``results_folder`` (a folder read, its summary typed), ``compare`` (tables across folders,
with ``compare_format`` and ``scenario_diff``), ``plots`` (figures), ``report`` (the one-file
HTML page, with ``report_headline``, ``report_sections``, ``report_chart``, ``report_html``),
``export`` (CSV and the workbook).
"""

from essdispatch._exports import lazy_exports

EXPORTS: dict[str, str] = {}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, __path__, None)
