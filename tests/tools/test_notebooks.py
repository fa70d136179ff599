"""The notebooks in notebooks/ run from top to bottom, in a fresh
Jupyter kernel, without raising (a cell that hangs is stopped by
nbclient's timeout; how long they take is not asserted).  They are
stored executed (scripts/regen-notebooks), with their outputs and
pictures: executing one again gives the text outputs stored, once what
legitimately varies (timings, Python object addresses, temporary
directory names) is normalised, and a picture wherever one is stored (the
pictures are regenerated, their bytes not compared).

They need the `notebooks` extra (matplotlib, nbclient, nbformat, ipykernel),
which the `test` extra includes, so `pip install -e '.[test]' && pytest`
executes them.  matplotlib uses its Agg backend (no display)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = ["01_tour.ipynb", "02_migration_race.ipynb", "03_zonelimit.ipynb",
            "04_memory_pressure.ipynb", "05_fuzzing.ipynb", "06_explaining_a_failure.ipynb"]
# Seconds one cell may take before nbclient gives up on it.
CELL_TIMEOUT = 120

_REASON = ("the notebooks extra is not installed "
           "(pip install -e '.[notebooks]', or '.[test]', which includes it)")


def _need(module: str):
    return pytest.importorskip(module, reason=f"{module} missing: {_REASON}")


def _regen():
    """scripts/regen-notebooks as a module: its normalise and text_outputs."""
    loader = importlib.machinery.SourceFileLoader("regen_notebooks",
                                                  str(ROOT / "scripts" / "regen-notebooks"))
    spec = importlib.util.spec_from_loader("regen_notebooks", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_normalise_keeps_simulated_addresses():
    n = _regen().normalise
    assert n("random: 3000 runs in 0.07 s (44,965 runs/s)") == \
        "random: 3000 runs in N s (N runs/s)"
    assert n("<Thread object at 0x7f3a12bc4d90>") == "<Thread object at 0x...>"
    assert n("item 0xfffff80000040000 after 51 steps") == \
        "item 0xfffff80000040000 after 51 steps"
    assert n("trace: /tmp/umasim-nb05-hr6i214s/x.trace") == \
        "trace: TMP/umasim-nb05-XXXXXXXX/x.trace"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_executed(path):
    """Every code cell was executed and stored with its outputs."""
    nbformat = _need("nbformat")
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), \
        f"{path.name} is stored unexecuted: run scripts/regen-notebooks"
    assert any(c.get("outputs") for c in code)


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
    regen = _regen()
    stored = regen.text_outputs(nb)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     record_timing=False,
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()            # raises CellExecutionError, naming the cell, on an error
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert ran and all(c.get("execution_count") for c in ran)
    fresh = regen.text_outputs(nb)
    assert len(fresh) == len(stored)
    for i, (want, got) in enumerate(zip(stored, fresh)):
        assert got == want, (f"{path.name}: code cell {i} prints something else than the "
                             "stored notebook (run scripts/regen-notebooks if the change is "
                             "meant)")
