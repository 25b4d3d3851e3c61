"""ESSO's file formats -> typed immutable objects (see /work/shared/ESSO_FORMATS.md).

Kernels (`esso-ir/v1` YAML), synth specs (`synth_version` 1.1 JSON), hints
(`esso-llm-hints/v1`), their hashes, and where each hole stands (its sites).
Errors are `esso_ngs.errors.SpecError`: one line with file, line and field.
"""
from .hashing import canonical_json, model_hash, sha256_of, synth_hash
from .hints import HINTS_SCHEMA, hints_to_json, load_hints, write_hints
from .ir import dump_kernel_yaml, expr_to_ir, fill_kernel_raw
from .kernel import IR_VERSION, load_kernel
from .load import discover_specs, load_spec, resolve_spec_paths
from .model import (Action, BoolType, Constraint, EnumType, GrammarSpec, HintCandidate, HintsFile, HoleHints,
                    HoleSpec, IntType, Invariant, Kernel, Penalties, Place, Site, Spec, StyleProfile, SynthSpec,
                    Type, Typed)
from .sites import find_sites
from .synth import SYNTH_VERSION, load_synth

__all__ = [
    "canonical_json", "sha256_of", "model_hash", "synth_hash",
    "HINTS_SCHEMA", "load_hints", "hints_to_json", "write_hints",
    "expr_to_ir", "fill_kernel_raw", "dump_kernel_yaml",
    "IR_VERSION", "load_kernel", "SYNTH_VERSION", "load_synth",
    "load_spec", "discover_specs", "resolve_spec_paths", "find_sites",
    "Action", "BoolType", "Constraint", "EnumType", "GrammarSpec", "HintCandidate", "HintsFile", "HoleHints",
    "HoleSpec", "IntType", "Invariant", "Kernel", "Penalties", "Place", "Site", "Spec", "StyleProfile",
    "SynthSpec", "Type", "Typed",
]
