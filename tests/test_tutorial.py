"""The tutorial notebook (examples/tutorial-shaanxi-fleet.ipynb) runs end to end.

It is executed as a newcomer would run it, in a fresh kernel of this interpreter, writing its
results to a temporary folder; every cell must run without error, its own assertions included
(per-site savings add up to the fleet's, the sweep covers 1, 2 and 4 hours, the value of
foresight is what the rolling run gives up), and the pictures must come out.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "tutorial-shaanxi-fleet.ipynb"

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def _kernel_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec that starts this very interpreter (not whatever `python` is on PATH)."""
    from ipykernel.kernelspec import install

    install(kernel_name="essdispatch-tutorial", prefix=str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter" / "share" / "jupyter"))
    return "essdispatch-tutorial"


def test_notebook_matches_its_generator():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from make_tutorial import build
    finally:
        sys.path.pop(0)
    committed = nbformat.read(NOTEBOOK, as_version=4)
    sources = [c.source for c in committed.cells]
    assert sources == [c.source for c in build().cells]
    # the committed notebook carries its pictures
    images = [
        o
        for c in committed.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 4


@pytest.mark.slow
def test_tutorial_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESSDISPATCH_REPO", str(ROOT))
    monkeypatch.setenv("ESSDISPATCH_TUTORIAL_OUT", str(tmp_path / "results"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    kernel = _kernel_here(tmp_path, monkeypatch)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name=kernel, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 4  # dispatch, emissions, compare, sweep
    text = "".join(o.get("text", "") for o in outputs)
    assert "value of foresight" in text and "caution: this result rests on a synthetic" in text
    assert (tmp_path / "results" / "shaanxi-fleet-1100mwh-week" / "report.html").is_file()
