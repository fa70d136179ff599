"""Parsing of program operations (design.md, "Programs").

Each operation is one string.  parse_op() turns it into a ParsedOp whose
operands are still names or numbers, possibly templated with "{i}" (the
iteration of the thread's `repeat`).  Sim resolves names to the ids of
simulator objects when the thread is spawned.

Each op is described by a spec: a tuple of operand kinds.  Kinds:
  "mtx"  a mutex name          "chan" a wait-channel name
  "var"  a variable name       "int"  a non-negative integer
  "int?" an optional integer (0 when left out)
Later subsystems register their operations with register_op().
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from umasim.bindings import NAME_MAX, OP_FLAGS
from umasim.errors import InvalidArgument, WrongType

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


@dataclass
class ParsedOp:
    name: str
    operands: list[str | int]
    flags: set[str] = field(default_factory=set)
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
    OpSpec("malloc", ("int",), flags=("nowait", "zero"), output=True),
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
    return ParsedOp(name, operands, flags, output, text, keywords)


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
