"""Stage 1 — base: the hand-over object every stage shares and the files written safely.

``inputs`` (:class:`Inputs`: every parameter of docs/MODEL.md as arrays), ``exceptions``
(the error types and their exit codes), ``yamlio`` (the one bounded YAML reader),
``safe_write`` (the crash-safe results-folder swap), ``weather`` (the daily weather draw
shared by the spot preset and the modelled grid signals). Imports nothing above it.
"""

from essdispatch._exports import lazy_exports

EXPORTS: dict[str, str] = {
    "Inputs": "essdispatch.base.inputs",
    "ScenarioError": "essdispatch.base.exceptions",
    "SolveError": "essdispatch.base.exceptions",
    "ResultsError": "essdispatch.base.exceptions",
}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, __path__, None)
