"""Parsing of program operations (docs/design.md, "Programs").

Each operation is one string.  parse_op() turns it into a ParsedOp whose
operands are still names or numbers, possibly templated with "{i}" (the
iteration of the thread's `repeat`).  compile_ops() turns parsed ops into
the core's form when a Sim spawns the thread, the Sim resolving names to
the ids of simulator objects.

Each op is described by a spec: a tuple of operand kinds.  Kinds:
  "mtx"  a mutex name          "chan" a wait-channel name
  "var"  a variable name       "int"  a non-negative integer
  "int?" an optional integer (0 when left out)
Every operation of the core (csrc/kern/ops.def) has its spec below; the
bindings read the operation codes from C.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from typing import Callable

from umasim.bindings import NAME_MAX, OPCODES, OP_FLAGS
from umasim.errors import InvalidArgument, WrongType
from umasim.model import zones

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TEMPLATE = "{i}"


@dataclass(frozen=True)
class OpSpec:
    name: str
    operands: tuple[str, ...]
    flags: tuple[str, ...] = ()      # bare words allowed after the operands
    output: bool = False             # takes "-> VAR"
    keywords: tuple[str, ...] = ()   # key=value words; a trailing "!" marks required
    exclusive: tuple[tuple[str, ...], ...] = ()   # flags that exclude each other


@dataclass(frozen=True)
class ParsedOp:
    """A parsed operation (shared between callers: parse_op caches them,
    so nothing may change one)."""
    name: str
    operands: tuple[str | int, ...]
    flags: frozenset[str] = frozenset()
    output: str | None = None
    text: str = ""
    keywords: dict[str, str] = field(default_factory=dict)


SPECS: dict[str, OpSpec] = {}

# Bits of struct umasim_op.flags, from the core.
FLAG_BITS = dict(OP_FLAGS)


def register_op(spec: OpSpec) -> None:
    SPECS[spec.name] = spec


for _spec in (
    OpSpec("lock", ("mtx",)),
    OpSpec("unlock", ("mtx",)),
    OpSpec("crit_enter", ()),
    OpSpec("crit_exit", ()),
    OpSpec("tsleep", ("chan", "int?")),
    OpSpec("wakeup", ("chan",)),
    OpSpec("sleep", ("int",)),
    OpSpec("yield", ()),
    OpSpec("recurse", ("int",)),
    OpSpec("vm_free_pages", ("int",)),
    OpSpec("vm_fail", ("int",)),
    OpSpec("kmem_alloc", ("int",), flags=("nowait", "waitok"), output=True,
           exclusive=(("nowait", "waitok"),)),
    OpSpec("kmem_free", ("var",)),
    OpSpec("alloc", ("zone",), flags=("waitok", "nowait", "zero", "novm"), output=True,
           exclusive=(("nowait", "waitok"),)),
    OpSpec("free", ("var", "zone?")),
    OpSpec("malloc", ("int",), flags=("nowait", "zero", "waitok"), output=True),
    OpSpec("malloc_large", ("int",), flags=("nowait",), output=True),
    OpSpec("free_large", ("var",)),
    OpSpec("zcreate", ("zone",), keywords=("size!", "align", "flags")),
    OpSpec("zsecond", ("zone",), keywords=("master!",)),
    OpSpec("zdestroy", ("zone",)),
    OpSpec("setmax", ("zone", "int")),
    OpSpec("setobj", ("zone", "int")),
    OpSpec("prealloc", ("zone", "int")),
    OpSpec("drain", ("zone",)),
    OpSpec("reclaim", ()),
    OpSpec("timeout", ()),
    OpSpec("refcnt", ("var",)),
    OpSpec("touch", ("var",)),
    OpSpec("sysctl", ()),
    OpSpec("show_uma", ()),
    OpSpec("print_stats", ()),
):
    register_op(_spec)


def _check_name(word: str, what: str) -> str:
    if not _NAME.match(word.replace(TEMPLATE, "i")):
        raise InvalidArgument(f"bad {what} name {word!r}")
    if len(word.replace(TEMPLATE, "0")) > NAME_MAX:
        raise InvalidArgument(f"{what} name {word!r} is longer than {NAME_MAX} characters")
    return word


def _check_int(word: str) -> str | int:
    if TEMPLATE in word:
        probe = word.replace(TEMPLATE, "0")
        if not probe.isdigit():
            raise InvalidArgument(f"bad number {word!r}")
        return word
    if not word.isdigit():
        if word.startswith("-") and word[1:].isdigit():
            raise InvalidArgument(f"{word} is negative")
        raise InvalidArgument(f"bad number {word!r}")
    return int(word)


def parse_op(text: str) -> ParsedOp:
    """Parses one operation; raises ValueError with what is wrong."""
    if not isinstance(text, str):
        raise WrongType(f"an operation is a string, not {type(text).__name__}")
    return _parse_op(text)


@functools.lru_cache(maxsize=8192)
def _parse_op(text: str) -> ParsedOp:
    words = text.split()
    if not words:
        raise InvalidArgument("empty operation")
    output = None
    if "->" in words:
        at = words.index("->")
        if at != len(words) - 2:
            raise InvalidArgument("'->' must be followed by exactly one variable name")
        output = _check_name(words[-1], "variable")
        words = words[:at]
    name, rest = words[0], words[1:]
    spec = SPECS.get(name)
    if spec is None:
        raise InvalidArgument(f'unknown op "{name}"')
    if output is not None and not spec.output:
        raise InvalidArgument(f'"{name}" has no result to store with ->')
    if output is None and spec.output:
        raise InvalidArgument(f'"{name}" needs "-> VAR" to store its result')
    keywords: dict[str, str] = {}
    allowed = {k.rstrip("!") for k in spec.keywords}
    plain = []
    for word in rest:
        if "=" in word and spec.keywords:
            key, _, value = word.partition("=")
            if key not in allowed:
                raise InvalidArgument(f'"{name}" has no option "{key}" '
                                 f'(options: {", ".join(sorted(allowed))})')
            if key in keywords:
                raise InvalidArgument(f'"{key}=" given twice')
            if not value:
                raise InvalidArgument(f'"{key}=" needs a value')
            keywords[key] = value
        else:
            plain.append(word)
    for k in spec.keywords:
        if k.endswith("!") and k[:-1] not in keywords:
            raise InvalidArgument(f'"{name}" needs {k[:-1]}=...')
    rest = plain
    operands: list[str | int | None] = []
    i = 0
    for kind in spec.operands:
        optional = kind.endswith("?")
        kind = kind.rstrip("?")
        if i >= len(rest) or (optional and rest[i] in spec.flags):
            if optional:
                operands.append(None if kind != "int" else 0)
                continue
            raise InvalidArgument(f'"{name}" needs a {kind_label(kind)}')
        word = rest[i]
        i += 1
        if kind == "int":
            operands.append(_check_int(word))
        else:
            operands.append(_check_name(word, kind_label(kind)))
    flags = set()
    for word in rest[i:]:
        if word not in spec.flags:
            raise InvalidArgument(f'unexpected "{word}" in "{name}"')
        if word in flags:
            raise InvalidArgument(f'"{word}" given twice')
        flags.add(word)
    for group in spec.exclusive:
        both = [w for w in group if w in flags]
        if len(both) > 1:
            raise InvalidArgument(f'"{both[0]}" and "{both[1]}" exclude each other')
    return ParsedOp(name, tuple(operands), frozenset(flags), output, text, keywords)


def kind_label(kind: str) -> str:
    return {"mtx": "mutex", "chan": "channel", "var": "variable",
            "int": "number", "zone": "zone"}.get(kind, kind)


def expand(word: str | int, iteration: int) -> str | int:
    """The operand as iteration `iteration` of the thread sees it."""
    if isinstance(word, int):
        return word
    if TEMPLATE not in word:
        return word
    out = word.replace(TEMPLATE, str(iteration))
    return int(out) if out.isdigit() else out


# ---- names ---------------------------------------------------------------------

THREAD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
ZONE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Names the kernel's own threads and contexts take.
RESERVED_THREADS = ("softclock", "pagedaemon", "kernel")


def check_thread_name(name) -> str:
    """A thread's name: a letter or _, then letters, digits, _ . or -, at
    most NAME_MAX characters, and not a kernel thread's."""
    if not isinstance(name, str):
        raise WrongType(f"a thread name is a string, not {type(name).__name__}")
    if not THREAD_NAME.fullmatch(name) or len(name) > NAME_MAX:
        raise InvalidArgument(f"bad thread name {name!r} (a letter or _, then letters, "
                              f"digits, _ . or -; {NAME_MAX} characters at most)")
    if name in RESERVED_THREADS:
        raise InvalidArgument(f'thread "{name}" already exists (a kernel thread\'s name)')
    return name


def check_zone_name(name) -> str:
    """A zone's name: a letter or _, then letters, digits or _, at most
    NAME_MAX characters ("{i}" stands for the iteration in programs)."""
    if not isinstance(name, str):
        raise WrongType(f"a zone is named by a string, not {type(name).__name__}")
    probe = name.replace(TEMPLATE, "0")
    if not ZONE_NAME.fullmatch(name.replace(TEMPLATE, "i")) or len(probe) > NAME_MAX:
        raise InvalidArgument(f"bad zone name {name!r}")
    return name


# ---- compiling ----------------------------------------------------------------

class _Unroll(Exception):
    pass


Resolver = Callable[[str, "str | int | None"], int]


def compile_ops(parsed: list[ParsedOp], repeat: int, resolve: Resolver) -> list[tuple]:
    """The core's form of a program: (code, a, a_stride, b, b_stride, c,
    flags) per op.  `resolve(kind, name)` gives the core's id of a zone,
    mutex, channel or variable.  Operands with "{i}" become base + stride *
    i, or the program is unrolled when their ids do not follow such a
    line."""
    try:
        return [_compile_op(op, repeat, None, resolve) for op in parsed]
    except _Unroll:
        return [_compile_op(op, repeat, i, resolve) for i in range(repeat) for op in parsed]


def _compile_op(op: ParsedOp, repeat: int, it: int | None, resolve: Resolver) -> tuple:
    spec = SPECS[op.name]
    vals: list[tuple[int, int]] = []
    kinds = [k.rstrip("?") for k in spec.operands]
    for kind, word in zip(kinds, op.operands):
        vals.append(_operand(kind, word, repeat, it, resolve))
    if op.output is not None:
        vals.append(_operand("var", op.output, repeat, it, resolve))
    flags = sum(FLAG_BITS[f] for f in op.flags)
    if op.name == "zcreate":
        size = op.keywords["size"]
        if not size.isdigit() or not 1 <= int(size) <= 1 << 24:
            raise InvalidArgument(f"size must be 1 to {1 << 24}, not {size}")
        vals.append((int(size), 0))
        vals.append((zones.parse_align(op.keywords.get("align", "ptr")), 0))
        flags = zones.parse_flags(op.keywords.get("flags", ""))
    elif op.name == "zsecond":
        vals.append((resolve("zone", op.keywords["master"]), 0))
    while len(vals) < 3:
        vals.append((0, 0))
    return (OPCODES[op.name], vals[0][0], vals[0][1], vals[1][0], vals[1][1],
            vals[2][0], flags)


def _operand(kind: str, word, repeat: int, it: int | None, resolve: Resolver) -> tuple[int, int]:
    if word is None:
        return (resolve(kind, None), 0)
    if it is not None or isinstance(word, int) or TEMPLATE not in word:
        return (resolve(kind, expand(word, it or 0)), 0)
    values = [resolve(kind, expand(word, i)) for i in range(max(repeat, 1))]
    stride = values[1] - values[0] if len(values) > 1 else 0
    if any(values[i] != values[0] + stride * i for i in range(len(values))):
        raise _Unroll()
    return (values[0], stride)
