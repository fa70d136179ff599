"""Test configuration: the Hypothesis settings profile.

UMASIM_HYPOTHESIS_PROFILE names it (ci, dev or deep, registered in
umasim.search.strategies); without it: ci when CI=true, dev otherwise.  ci is
derandomized with a modest max_examples and no example database; dev and
deep keep their examples in .hypothesis/.
"""

from umasim.search.strategies import load_profile

PROFILE = load_profile()


def assert_keeps_properties(case, **kw):
    """check_case, and on a failure the artefacts of every failure (issue
    6): a scenario file plus a trace under .umasim/failures/, with the
    exact replay command in the test's failure message.  (Hypothesis runs
    a failing test again while shrinking; files are named by content, so
    the final, shrunk example is among them.)"""
    import pytest

    from umasim.search.fuzz import Failure, write_artefacts
    from umasim.search.properties import check_case
    v = check_case(case, **kw)
    if v.ok:
        return v
    art = write_artefacts(Failure(case, v))
    pytest.fail(f"{v.kind}: {v.message}\n{case.describe()}\n"
                f"written: {art.scenario_path}\nreplay: {art.replay_command}")


def pytest_collection_modifyitems(config, items):
    """Under ASan + UBSan (or valgrind) the free_null_bucket switch's NULL
    load is the sanitizer's own finding, which ends the process: the tests
    that run it are skipped there, saying why."""
    import pytest

    from umasim.bindings import SANITIZE, on_valgrind
    if not (SANITIZE or on_valgrind()):
        return
    skip = pytest.mark.skip(reason="a host fault on purpose (free_null_bucket): ASan, UBSan "
                            "and valgrind report the NULL load themselves and end the process")
    for item in items:
        if "free_null_bucket" in item.nodeid or "host_fault" in item.nodeid:
            item.add_marker(skip)
