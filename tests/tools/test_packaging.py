"""The wheel carries the whole package: built, installed in a fresh virtual
environment and run from outside the checkout (scripts/check-wheel), since
an editable install hides a wheel that lacks a subpackage."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    env = dict(os.environ, PYTHON=sys.executable)
    out = subprocess.run([str(ROOT / "scripts" / "check-wheel"), str(tmp_path / "work")],
                         capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "check-wheel: PASS" in out.stdout
    assert "every subpackage imports from " + str(tmp_path / "work" / "venv") in out.stdout
