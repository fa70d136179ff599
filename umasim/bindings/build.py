"""Out-of-line API-mode CFFI build of the simulator core (``umasim._core``).

setup.py names this file in ``cffi_modules``; every C source under csrc/
that makes up the simulated kernel and the UMA port is compiled
into the one extension module.  All C symbols are hidden except what CFFI
itself exports (the module's init function), so nothing in the core can
bind to, or be bound by, a libc or Python symbol of the same name.

UMASIM_SANITIZE=1 in the environment builds with AddressSanitizer and
UBSan (the context switch then tells ASan of every stack switch, see
csrc/kern/ctx.c).  Such a module runs only in an interpreter that has
libasan preloaded: scripts/check-c-core and docs/checking-c-core.md show
how.
"""

import os
import pathlib
import re

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


ffibuilder = FFI()
ffibuilder.cdef(_cdef())
_cflags, _ldflags, _macros = _flags()
ffibuilder.set_source(
    "umasim._core",
    '#include "umasim_api.h"\n',
    sources=_sources(),
    include_dirs=[str(CSRC.relative_to(ROOT))],
    extra_compile_args=_cflags,
    extra_link_args=_ldflags,
    define_macros=_macros,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
