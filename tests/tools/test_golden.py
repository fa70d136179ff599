"""Golden traces and timelines: every shipped scenario (and the built-in
default) gives, byte for byte, the trace and the timeline stored in
tests/tools/golden/.  scripts/regen-golden rewrites them, in a commit that changes
traces on purpose and says why."""

import contextlib
import io
import pathlib

import pytest

from umasim.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = pathlib.Path(__file__).resolve().parent / "golden"
CASES = [("default", None)] + [(p.stem, p) for p in sorted((ROOT / "scenarios").glob("*.toml"))]


def test_every_shipped_scenario_has_golden_files():
    names = {n for n, _ in CASES}
    stored = {p.name.split(".")[0] for p in GOLDEN.iterdir()}
    assert names == stored


@pytest.mark.parametrize("name,path", CASES, ids=[n for n, _ in CASES])
def test_trace_and_timeline_are_byte_identical_to_the_golden_ones(name, path, tmp_path):
    trace, timeline = tmp_path / "t.trace", tmp_path / "t.json"
    args = ["run"] + ([str(path)] if path else []) + ["--trace", str(trace),
                                                      "--timeline", str(timeline)]
    with contextlib.redirect_stdout(io.StringIO()):
        main(args)
    assert trace.read_bytes() == (GOLDEN / f"{name}.trace").read_bytes()
    assert timeline.read_bytes() == (GOLDEN / f"{name}.timeline.json").read_bytes()
