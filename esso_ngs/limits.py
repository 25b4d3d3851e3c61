"""The limits that keep hostile or broken input from crashing, hanging or exhausting the machine.

One table, read by the loaders, the CLI and the README (section "Limits and exit
statuses"). Inputs beyond a size or depth limit are refused with one line and exit
status 2; budgets stop work cleanly and report where it stopped.
"""
from __future__ import annotations

import os

# Nodes of a YAML/JSON document after alias expansion (mappings, sequences, scalars).
# The bundled specs have 100-700; an alias bomb has billions.
MAX_DOCUMENT_NODES = 100_000
# Nesting of mappings and sequences in a YAML/JSON document (an expression node
# is two levels: its mapping and its `args` list).
MAX_DOCUMENT_DEPTH = 100
# Nesting of a term or of an infix constraint (parentheses / operator applications).
MAX_TERM_DEPTH = 100
# Characters of one term or one constraint string.
MAX_TERM_CHARS = 100_000
# Default wall-clock budget of the grammar tools (check, test, sample, show).
DEFAULT_TOOL_BUDGET_S = 30.0
# `grammar sample -n`: most terms one call prints.
MAX_SAMPLES = 100_000
# Default `--max-memory`: this share of the machine's physical memory.
DEFAULT_MEMORY_SHARE = 0.5
# Exit statuses of every command.
EXIT_OK, EXIT_NOT_SOLVED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def default_max_memory_bytes() -> int | None:
    total = physical_memory_bytes()
    return int(total * DEFAULT_MEMORY_SHARE) if total else None


def rss_bytes() -> int | None:
    """Resident memory of this process now (Linux /proc; None where unknown)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
