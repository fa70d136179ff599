"""The notebooks in notebooks/ run from top to bottom, in a fresh
Jupyter kernel, without raising; each within its time budget.

They need the `notebooks` extra (matplotlib, nbclient, nbformat, ipykernel),
which the `test` extra includes, so `pip install -e '.[test]' && pytest`
executes them.  matplotlib uses its Agg backend (no display)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = ["01_tour.ipynb", "02_migration_race.ipynb", "03_zonelimit.ipynb",
            "04_memory_pressure.ipynb", "05_fuzzing.ipynb"]
# Seconds one notebook may take, kernel start included ("well under a minute").
BUDGET = 45
# Seconds one cell may take before nbclient gives up on it.
CELL_TIMEOUT = 120

_REASON = ("the notebooks extra is not installed "
           "(pip install -e '.[notebooks]', or '.[test]', which includes it)")


def _need(module: str):
    return pytest.importorskip(module, reason=f"{module} missing: {_REASON}")


def test_the_notebooks_are_there():
    assert set(EXPECTED) <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_errors(path):
    """No stale error output is committed (outputs, if any, come from a
    clean run)."""
    nbformat = _need("nbformat")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"{path.name}: cell {i} has an error output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch):
    nbformat = _need("nbformat")
    nbclient = _need("nbclient")
    _need("ipykernel")
    _need("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    start = time.monotonic()
    client.execute()            # raises CellExecutionError, naming the cell, on an error
    took = time.monotonic() - start
    assert took < BUDGET, f"{path.name} took {took:.1f} s (budget {BUDGET} s)"
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert ran and all(c.get("execution_count") for c in ran)
