"""A system OpenBLAS for MLX's CPU build: found, and preloaded by re-executing the process.

MLX's Linux CPU wheel prefills prompts at a few tokens/s with its bundled BLAS;
with a system OpenBLAS preloaded it is 30-100x faster. A library can only be
preloaded before the process starts, so the CLI re-executes itself once with
`LD_PRELOAD` set (and a guard variable that stops any second re-exec), before
anything is printed or written. Nothing here is a tip for the user to act on.
"""
from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

GUARD_ENV = "ESSO_NGS_REEXECUTED"  # set in the re-executed process: never re-exec twice
OVERRIDE_ENV = "ESSO_NGS_OPENBLAS"  # a library path to use, or "none" to never preload one

# Debian/Ubuntu (pthread and openmp variants, both arches), Fedora/RHEL, Arch, Alpine.
COMMON_PATHS = (
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
    "/usr/lib64/libopenblas.so.0",
    "/usr/lib/libopenblas.so.0",
    "/usr/local/lib/libopenblas.so.0",
)


def _from_ldconfig() -> list[str]:
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=5,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    # "	libopenblas.so.0 (libc6,x86-64) => /lib/x86_64-linux-gnu/libopenblas.so.0"
    return [line.split("=>")[-1].strip() for line in out.splitlines()
            if "libopenblas" in line and "=>" in line]


def find_openblas() -> Path | None:
    """The system OpenBLAS shared library, or None (none installed, not Linux, or disabled)."""
    override = os.environ.get(OVERRIDE_ENV, "")
    if override.lower() == "none" or not sys.platform.startswith("linux"):
        return None
    candidates = [override] if override else []
    candidates += _from_ldconfig() + list(COMMON_PATHS)
    candidates += sorted(glob.glob("/usr/lib*/*/libopenblas*.so*") + glob.glob("/usr/lib*/*/*/libopenblas*.so*"))
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c).resolve()
    return None


def preloaded(lib: Path | None = None) -> bool:
    """Whether this process started with an OpenBLAS (or `lib`) in LD_PRELOAD."""
    pre = os.environ.get("LD_PRELOAD", "")
    return ("openblas" in pre) if lib is None else any(
        Path(p).resolve() == lib for p in pre.replace(" ", ":").split(":") if p)


def preload_env(lib: Path) -> dict[str, str]:
    """The variables that preload `lib`: LD_PRELOAD, and one OpenBLAS thread unless
    the user chose otherwise (measured on a shared 2-core machine: more threads
    make both prefill and decoding slower once other processes compete, as
    torch's do; ESSO_NGS_TORCH_THREADS is the same choice for torch)."""
    env = {"LD_PRELOAD": ":".join(p for p in (str(lib), os.environ.get("LD_PRELOAD", "")) if p)}
    if "OPENBLAS_NUM_THREADS" not in os.environ:
        env["OPENBLAS_NUM_THREADS"] = os.environ.get("ESSO_NGS_TORCH_THREADS", "1")
    return env


def reexec_with_preload(lib: Path, note: str = "") -> None | NoReturn:
    """Replace this process by itself with `lib` preloaded; returns (doing nothing)
    when it is preloaded already or when this process is a re-execution."""
    if os.environ.get(GUARD_ENV) or preloaded(lib):
        return None
    env = dict(os.environ)
    env[GUARD_ENV] = note or "1"
    env.update(preload_env(lib))
    argv = list(getattr(sys, "orig_argv", []) or [sys.executable, *sys.argv])
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *argv[1:]], env)
