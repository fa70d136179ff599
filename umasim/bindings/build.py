"""Out-of-line API-mode CFFI build of the simulator core (``umasim._core``).

setup.py names this file in ``cffi_modules``; every C source under csrc/
that makes up the simulated kernel and the UMA port is compiled
into the one extension module.  All C symbols are hidden except what CFFI
itself exports (the module's init function), so nothing in the core can
bind to, or be bound by, a libc or Python symbol of the same name.

The port's own source text is compiled in too (`_port_sources`): the files
of csrc/vm/ and csrc/kern/ and where each preemption point stands in them,
zlib-compressed JSON behind one static function, so that what a report
shows as "the port's source line" is the text this very module was built
from, from a wheel as from a checkout.

UMASIM_SANITIZE=1 in the environment builds with AddressSanitizer and
UBSan (the context switch then tells ASan of every stack switch, see
csrc/kern/ctx.c).  Such a module runs only in an interpreter that has
libasan preloaded: scripts/check-c-core and docs/checking-c-core.md show
how.
"""

import json
import os
import pathlib
import re
import zlib

from cffi import FFI

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
CSRC = ROOT / "csrc"


def _cdef() -> str:
    text = (CSRC / "umasim_api.h").read_text()
    m = re.search(r"/\* CDEF BEGIN \*/(.*)/\* CDEF END \*/", text, re.S)
    if m is None:
        raise RuntimeError("csrc/umasim_api.h lacks its CDEF markers")
    return m.group(1)


def _sources() -> list[str]:
    files = sorted((CSRC / "kern").rglob("*.c")) + sorted((CSRC / "vm").rglob("*.c"))
    return [str(p.relative_to(ROOT)) for p in files]


# How the C core is compiled; bench/uma.py compiles its native baseline of
# the UMA port (csrc/native/) with the same flags.  The initial-exec TLS
# model makes each read of the thread-local 'cursim' two loads instead of a
# call to __tls_get_addr (the module's few bytes of TLS fit the static TLS
# block that glibc keeps for modules loaded with dlopen).
CFLAGS = ["-std=gnu11", "-O2", "-fvisibility=hidden", "-fno-strict-aliasing",
          "-fstack-clash-protection", "-ftls-model=initial-exec", "-Wall",
          "-Wno-unused-function"]


def _flags() -> tuple[list[str], list[str], list[tuple[str, str | None]]]:
    cflags = list(CFLAGS)
    ldflags: list[str] = []
    macros: list[tuple[str, str | None]] = []
    if os.environ.get("UMASIM_SANITIZE") == "1":
        san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
               "-fno-sanitize-recover=undefined"]
        cflags += san + ["-O1", "-g"]
        ldflags += san
        macros += [("UMASIM_SANITIZE", "1")]
    if os.environ.get("UMASIM_COVERAGE") == "1":
        cflags += ["--coverage", "-O0", "-g"]
        ldflags += ["--coverage"]
    return cflags, ldflags, macros


# ---- the port's sources, embedded ------------------------------------------------

# Where a preemption point stands: a call that stops (or, for sched_block,
# blocks) at PT_<ID>, or the thread's own record of it.  The stale_cache
# bug's window is a macro whose argument is not the point it stops at.
_POINT_USE = re.compile(r"\b(UMA_POINT|UMA_FINE_POINT|sched_point|sched_block|wakeup_common|"
                        r"uma_sim_fine_point|sched_fine_point_always|td_point\s*=)"
                        r"\s*\(?[^;]*?\bPT_([A-Z0-9_]+)")
_STALE_WINDOW = re.compile(r"\bUMA_BUG_STALE_WINDOW\(")
# A function definition in style(9): the name at the start of a line.
_FUNC_DEF = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(")
_POINT_DEF = re.compile(r'^POINT\((\w+),\s*"([^"]+)",\s*"([^"]*)"', re.M)


def _source_files() -> list[pathlib.Path]:
    """The files a point can stand in: csrc/vm/ and csrc/kern/ (not their
    subdirectories), C sources and headers."""
    out = []
    for d in ("vm", "kern"):
        out += sorted(p for p in (CSRC / d).iterdir() if p.suffix in (".c", ".h"))
    return out


def port_sources() -> dict:
    """{"files": {path under csrc/: text}, "points": {point name: [[path,
    line, function, how], ...]}}: every place in the port where a point
    stands; `how` is "block" where a thread blocks (a mutex, a sleep) and
    "point" where it stops.  The op:* points stand at the interpreter's
    stop before each operation.  Macro definitions are not places."""
    defs = {m.group(1): m.group(2)
            for m in _POINT_DEF.finditer((CSRC / "kern" / "points.def").read_text())}
    files: dict[str, str] = {}
    points: dict[str, list] = {}
    for path in _source_files():
        rel = str(path.relative_to(CSRC))
        text = path.read_text(encoding="utf-8")
        files[rel] = text
        func = None
        for n, line in enumerate(text.splitlines(), 1):
            m = _FUNC_DEF.match(line)
            if m:
                func = m.group(1)
            if line.rstrip().endswith("\\") or line.lstrip().startswith("#"):
                continue
            found = []
            if _STALE_WINDOW.search(line):
                found.append(("STALE_WINDOW", "point"))
            else:
                found += [(m.group(2), "block" if m.group(1) == "sched_block" else "point")
                          for m in _POINT_USE.finditer(line)]
            for pid, how in found:
                if pid in defs:
                    points.setdefault(defs[pid], []).append([rel, n, func, how])
            if "sched_point(op_point[" in line:
                for name in defs.values():
                    if name.startswith("op:"):
                        points.setdefault(name, []).append([rel, n, func, "point"])
    return {"files": files, "points": points}


def _port_sources_c() -> str:
    blob = zlib.compress(json.dumps(port_sources(), sort_keys=True).encode(), 9)
    rows = ",".join(str(b) for b in blob)
    return ("static const unsigned char umasim_port_sources_blob[] = {" + rows + "};\n"
            "static size_t umasim_port_sources(const unsigned char **p)\n"
            "{ *p = umasim_port_sources_blob; return sizeof(umasim_port_sources_blob); }\n")


ffibuilder = FFI()
ffibuilder.cdef(_cdef() + "size_t umasim_port_sources(const unsigned char **p);\n")
_cflags, _ldflags, _macros = _flags()
ffibuilder.set_source(
    "umasim._core",
    '#include "umasim_api.h"\n' + _port_sources_c(),
    sources=_sources(),
    include_dirs=[str(CSRC.relative_to(ROOT))],
    extra_compile_args=_cflags,
    extra_link_args=_ldflags,
    define_macros=_macros,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
