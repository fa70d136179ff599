"""The package's structure holds: one bindings module talks to the compiled
core, constants come from C, one error hierarchy, no module reads another
class's private attributes, command modules imported plainly."""

from __future__ import annotations

import ast
import builtins
import inspect
import pathlib

import pytest

import umasim
import umasim.errors as errors
from umasim import bindings
from umasim.model import program

PACKAGE = pathlib.Path(umasim.__file__).resolve().parent
SOURCES = sorted(p for p in PACKAGE.rglob("*.py"))


def _tree(path):
    return ast.parse(path.read_text(), str(path))


def test_only_the_bindings_import_the_compiled_core():
    importers = set()
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom):
                names = {a.name for a in node.names}
                if (node.module or "").endswith("_core") or "_core" in names:
                    importers.add(path.relative_to(PACKAGE).as_posix())
            elif isinstance(node, ast.Import):
                if any(a.name.endswith("._core") for a in node.names):
                    importers.add(path.relative_to(PACKAGE).as_posix())
    assert importers == {"bindings/__init__.py"}


def test_the_bindings_do_not_hand_out_ffi_or_lib():
    public = {n for n in dir(bindings) if not n.startswith("_")}
    assert not {"ffi", "lib"} & public
    for path in SOURCES:
        if path.parent.name == "bindings":
            continue
        text = path.read_text()
        assert "_ffi" not in text and "_lib." not in text, path


def test_no_module_reads_another_objects_private_attributes():
    offenders = []
    for path in SOURCES:
        if path.parent.name == "bindings":
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                    continue
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} .{node.attr}")
    assert offenders == []


def test_command_modules_are_imported_plainly():
    for path in SOURCES:
        assert "__import__(" not in path.read_text(), path


def test_every_operation_of_the_core_has_a_spec():
    assert set(program.SPECS) == set(bindings.OPCODES)


def test_constants_come_from_the_core():
    # FreeBSD 7's uma.h and uma_int.h values, as read from C.
    assert bindings.ZONE_FLAGS["hash"] == 0x0100 and bindings.ZFLAG_FULL == 0x40000000
    assert bindings.FLAG_NAMES[0x0200] == "secondary"
    assert bindings.ZONE_STATS.type_header == 120 and bindings.ZONE_STATS.percpu == 64
    assert bindings.ZONE_STATS.fields["uth_allocs"] == 72
    assert (bindings.MAXCPU, bindings.NAME_MAX, bindings.PCT_MAXDEPTH) == (64, 31, 16)
    assert set(bindings.CB_SLOTS) == {"ctor", "dtor", "init", "fini", "zinit", "zfini",
                                      "allocf", "freef"}
    assert len(set(bindings.CB_SLOTS.values())) == 8


def test_one_error_hierarchy():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if c.__module__ == errors.__name__ and c is not errors.Error]
    assert len(classes) >= 10
    for c in classes:
        assert issubclass(c, errors.Error), c
        builtin = [b for b in c.__mro__ if b.__module__ == "builtins" and b is not object
                   and b is not BaseException and b is not Exception]
        assert builtin and all(hasattr(builtins, b.__name__) for b in builtin), c
    assert issubclass(errors.ScenarioError, ValueError)
    assert issubclass(errors.SimPanicked, RuntimeError)
    assert issubclass(errors.WrongType, TypeError)


@pytest.mark.parametrize("code, cls", [
    (-2, errors.NoSuchThread), (-3, errors.SimPanicked), (-4, errors.SimBusy),
    (-5, errors.InvalidArgument), (-6, errors.HostMemory), (-7, errors.TooMany),
    (-8, errors.ScheduleError), (-1, errors.NotRunnable)])
def test_each_error_code_of_the_core_is_its_own_error(code, cls):
    with pytest.raises(cls):
        bindings.raise_for(code)
