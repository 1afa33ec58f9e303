"""Stage 4 — results: what a solution means.

``extract`` (:class:`DispatchResult` and every figure of docs/MODEL.md from a solution
vector, named duals), ``diagnostics`` (binding limits, shadow prices), ``stored_carbon``
(the carbon split and 24/7 matching), ``finance`` (NPV, IRR, LCOS), ``life`` (the battery-
life assessment), ``summary`` (the typed schema of ``summary.json``: :class:`Summary`,
:func:`read_summary` for readers, :func:`check_summary` for the writer; its blocks in
``summary_blocks`` and ``summary_features``).
"""

from essdispatch._exports import lazy_exports

EXPORTS: dict[str, str] = {
    "DispatchResult": "essdispatch.results.extract",
    "extract": "essdispatch.results.extract",
    "figures": "essdispatch.results.extract",
    "delta_figures": "essdispatch.results.extract",
    "named_duals": "essdispatch.results.extract",
    "Summary": "essdispatch.results.summary",
    "read_summary": "essdispatch.results.summary",
    "check_summary": "essdispatch.results.summary",
}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, __path__, "extract")
