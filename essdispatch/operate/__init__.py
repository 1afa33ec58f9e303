"""Stage 6 — operate: rolling-horizon operation on forecasts, settled on actuals."""

from essdispatch._exports import lazy_exports

EXPORTS: dict[str, str] = {
    "run_rolling": "essdispatch.operate.rolling",
}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, __path__, None)
