"""A whole spec: `X_hole.yaml` + `X_hole.synth.json` (+ optional `X_ref.yaml`).

Files are found by ESSO's naming convention from any one of them or from a
directory holding exactly one pair.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import SpecError
from .kernel import load_kernel
from ..lang.expr import EnumLit, free_vars, holes_in, walk
from .model import IntType, Kernel, Place, Spec, SynthSpec
from .sites import find_sites
from .synth import load_synth
from .yamlload import format_path

SYNTH_SUFFIX = ".synth.json"
REF_SUFFIX = "_ref.yaml"


def synth_path_for(kernel_path: Path) -> Path:
    """`X_hole.yaml` -> `X_hole.synth.json` (any `K.yaml` -> `K.synth.json`)."""
    name = kernel_path.name
    stem = name[: -len(".yaml")] if name.endswith(".yaml") else name[: -len(".yml")] if name.endswith(".yml") else name
    return kernel_path.with_name(stem + SYNTH_SUFFIX)


# `X_hole.yaml` and its variants `X_hole_v2.yaml`, ... (ESSO_FORMATS section 4).
_HOLE_NAME = re.compile(r"^(?P<prefix>.+)_hole(?:_v\d+)?\.yaml$")


def ref_path_for(kernel_path: Path) -> Path | None:
    """`X_hole.yaml` or a variant `X_hole_v2.yaml` -> `X_ref.yaml`; None for other names."""
    m = _HOLE_NAME.match(kernel_path.name)
    return kernel_path.with_name(m["prefix"] + REF_SUFFIX) if m else None


def is_hole_kernel(path: Path) -> bool:
    return _HOLE_NAME.match(path.name) is not None


def discover_specs(directory: str | Path, recursive: bool = False) -> list[Path]:
    """Sorted `*_hole.yaml` (and `*_hole_vN.yaml`) files of `directory` with a `.synth.json` beside them."""
    root = Path(directory)
    if not root.is_dir():
        raise SpecError(root, None, "not a directory")
    pattern = "**/*_hole*.yaml" if recursive else "*_hole*.yaml"
    return sorted(p for p in root.glob(pattern)
                  if is_hole_kernel(p) and p.is_file() and synth_path_for(p).is_file())


def resolve_spec_paths(path: str | Path) -> tuple[Path, Path, Path | None]:
    """(kernel, synth spec, reference or None) for a kernel, a synth spec or a directory."""
    kernel_path, synth_path = spec_pair(path)
    return kernel_path, synth_path, existing_reference(kernel_path)


def spec_pair(path: str | Path) -> tuple[Path, Path]:
    """(kernel, synth spec) for a kernel, a synth spec or a directory."""
    p = Path(path)
    if p.is_dir():
        found = discover_specs(p)
        if len(found) != 1:
            what = "no `*_hole.yaml` with a `.synth.json` beside it" if not found else \
                f"{len(found)} specs ({', '.join(f.name for f in found)}): name one"
            raise SpecError(p, None, f"directory holds {what}")
        kernel_path = found[0]
    elif p.name.endswith(SYNTH_SUFFIX):
        kernel_path = p.with_name(p.name[: -len(SYNTH_SUFFIX)] + ".yaml")
        if not p.is_file():
            raise SpecError(p, None, "file not found")
        if not kernel_path.is_file():
            raise SpecError(kernel_path, None, f"file not found (the kernel of {p.name})")
    elif p.name.endswith((".yaml", ".yml")):
        kernel_path = p
        if not p.is_file():
            raise SpecError(p, None, "file not found")
        if p.name.endswith(REF_SUFFIX):
            raise SpecError(p, None, "this is a reference kernel: give the `*_hole.yaml` (or its .synth.json)")
    else:
        if not p.exists():
            raise SpecError(p, None, "file not found")
        raise SpecError(p, None, "not a spec: expected `X_hole.yaml`, `X_hole.synth.json` or a directory")
    synth_path = synth_path_for(kernel_path)
    if not synth_path.is_file():
        raise SpecError(synth_path, None, f"file not found (the synth spec of {kernel_path.name})")
    return kernel_path, synth_path


def existing_reference(kernel_path: Path) -> Path | None:
    """The kernel's `X_ref.yaml` when there is one. A path that exists but is no
    readable file (a dangling link, a directory) is an error: skipping it would
    silently drop the intended semantics and change the answer."""
    ref = ref_path_for(kernel_path)
    if ref is None or not os.path.lexists(ref):
        return None
    if ref.is_symlink() and not ref.exists():
        raise SpecError(ref, None, f"reference kernel is a dangling symbolic link (to {os.readlink(ref)})")
    if ref.is_dir():
        raise SpecError(ref, None, "reference kernel is a directory, not a file")
    if not ref.is_file():
        raise SpecError(ref, None, "reference kernel is not a regular file")
    if not os.access(ref, os.R_OK):
        raise SpecError(ref, None, "reference kernel cannot be read (permission denied)")
    return ref


def load_spec(path: str | Path, with_reference: bool = True, rule_errors: list[SpecError] | None = None) -> Spec:
    """Load and cross-check a kernel, its synth spec and its reference; find the sites.
    `with_reference=False` (grammar tools) never touches the reference file;
    `rule_errors` collects bad grammar rules instead of refusing the first one."""
    kernel_path, synth_path = spec_pair(path)
    kernel = load_kernel(kernel_path)
    synth = load_synth(synth_path, kernel, rule_errors)
    return spec_from_parts(kernel, synth, existing_reference(kernel_path) if with_reference else None)


def spec_from_parts(kernel: Kernel, synth: SynthSpec, ref_path: Path | None) -> Spec:
    """Cross-check the parts, load the reference (drift becomes warnings), find the sites."""
    check_hole_nodes(kernel, synth)
    ref = load_kernel(ref_path) if ref_path is not None else None
    warnings = reference_drift(kernel, synth, ref) if ref is not None else ()
    return Spec(kernel, synth, ref, find_sites(kernel, synth, ref), warnings)


def check_hole_nodes(kernel: Kernel, synth: SynthSpec) -> None:
    """Every `{hole: id}` of the kernel is a hole of the synth spec, used in that field."""
    for i, action in enumerate(kernel.actions):
        for kind, fields in (("effects", action.effects), ("updates", action.updates)):
            for j, (name, expr) in enumerate(fields):
                for hole_id in sorted(holes_in(expr)):
                    hole = synth.hole(hole_id)
                    problem = None
                    if hole is None:
                        known = ", ".join(h.hole_id for h in synth.holes)
                        problem = f"`{{hole: {hole_id}}}` names no hole of {synth.path.name} (holes: {known})"
                    elif Place(action.id, name) not in hole.used_in:
                        problem = (f"hole `{hole_id}` stands in {action.id}.{name}, but its `used_in` in "
                                   f"{synth.path.name} does not list that place")
                    if problem:
                        path = _field_yaml_path(kernel, i, kind, j, name)
                        raise SpecError(kernel.path, format_path(path), problem, kernel.lines.get(path))


def _field_yaml_path(kernel: Kernel, i: int, kind: str, j: int, name: str) -> tuple:
    """YAML field path of an action's effect/update expression, as the loader read it."""
    for path in ((("actions", i, kind, name)), ("actions", i, kind, j, "expr")):
        if path in kernel.lines:
            return path
    return ("actions", i, kind)


def reference_drift(kernel: Kernel, synth: SynthSpec, ref: Kernel) -> tuple[str, ...]:
    """How the reference differs from the hole kernel, as one-line warnings.

    Only the `used_in` fields of the reference are consulted (on the hole kernel's
    domain), so drift elsewhere is reported, not refused. Errors: the reference
    lacks a `used_in` action or field, or that field reads a name the hole kernel
    does not define (or defines with another kind of value) for that action.
    """
    for hole in synth.holes:
        for place in hole.used_in:
            _check_ref_field(kernel, ref, place)
    head = f"{ref.path.name} drifts from {kernel.path.name}:"
    out: list[str] = []
    mine, theirs = {v.id: v for v in kernel.state_vars}, {v.id: v for v in ref.state_vars}
    out += [f"{head} lacks state var `{n}`" for n in mine if n not in theirs]
    out += [f"{head} has extra state var `{n}`" for n in theirs if n not in mine]
    out += [f"{head} state var `{n}` has type {_show_type(theirs[n].type)}, not {_show_type(v.type)}"
            for n, v in mine.items() if n in theirs and theirs[n].type != v.type]
    out += _differences(head, "invariant", {i.id: i.expr for i in kernel.invariants},
                        {i.id: i.expr for i in ref.invariants})
    for a in kernel.actions:
        r = ref.action(a.id)
        if r is None:
            out.append(f"{head} lacks action `{a.id}`")
            continue
        if r.guard != a.guard:
            out.append(f"{head} guard of action `{a.id}` differs")
        if {p.id: p.type for p in r.params} != {p.id: p.type for p in a.params}:
            out.append(f"{head} params of action `{a.id}` differ: "
                       f"{', '.join(r.param_names) or 'none'} vs {', '.join(a.param_names) or 'none'}")
        updates, ref_updates = dict(a.updates), dict(r.updates)
        out += [f"{head} action `{a.id}` does not update `{n}`" for n in updates if n not in ref_updates]
        out += [f"{head} action `{a.id}` also updates `{n}`" for n in ref_updates if n not in updates]
        effects, ref_effects = dict(a.effects), dict(r.effects)
        out += [f"{head} action `{a.id}` lacks effect `{n}`" for n in effects if n not in ref_effects]
        out += [f"{head} action `{a.id}` has extra effect `{n}`" for n in ref_effects if n not in effects]
    out += [f"{head} has extra action `{r.id}`" for r in ref.actions if kernel.action(r.id) is None]
    return tuple(out)


def _differences(head: str, what: str, mine: dict[str, object], theirs: dict[str, object]) -> list[str]:
    out = [f"{head} lacks {what} `{n}`" for n in mine if n not in theirs]
    out += [f"{head} has extra {what} `{n}`" for n in theirs if n not in mine]
    out += [f"{head} {what} `{n}` differs" for n in mine if n in theirs and theirs[n] != mine[n]]
    return out


def _show_type(t: object) -> str:
    if isinstance(t, IntType):
        return f"int [{t.min}, {t.max}]"
    return type(t).__name__.removesuffix("Type").lower()


def _kind(cls: type) -> str:
    return {"IntType": "an int", "BoolType": "a bool", "EnumType": "an enum"}.get(cls.__name__, cls.__name__)


def _check_ref_field(kernel: Kernel, ref: Kernel, place: Place) -> None:
    """The reference has the `used_in` field, and it reads only names the hole kernel
    defines for that action, with the same kind of value."""
    ref_ids = [a.id for a in ref.actions]
    r = ref.action(place.action)
    if r is None:
        raise SpecError(ref.path, "actions", f"the reference lacks action `{place.action}`, where a hole is "
                                             f"used ({kernel.path.name})", ref.lines.get(("actions",)))
    i = ref_ids.index(place.action)
    expr = r.field_expr(place.field)
    if expr is None:
        raise SpecError(ref.path, f"actions[{i}]", f"the reference's action `{place.action}` lacks the field "
                                                   f"`{place.field}`, where a hole is used ({kernel.path.name})",
                        ref.lines.get(("actions", i)))
    kind, fields = ("effects", r.effects) if r.field_kind(place.field) == "effect" else ("updates", r.updates)
    j = [n for n, _ in fields].index(place.field)
    field_path = _field_yaml_path(ref, i, kind, j, place.field)

    def fail(message: str) -> SpecError:
        return SpecError(ref.path, format_path(field_path), f"the reference's field {message}",
                         ref.lines.get(field_path))

    action = kernel.action(place.action)
    assert action is not None, "the synth loader checks used_in actions"
    kinds = {t.id: type(t.type) for t in (*kernel.state_vars, *action.params)}
    ref_kinds = {t.id: type(t.type) for t in (*ref.state_vars, *r.params)}
    symbols = kernel.enum_index()
    for name in sorted(free_vars(expr)):
        if name not in kinds and name not in symbols:
            problem = f"reads `{name}`, which {kernel.path.name} does not define for action `{place.action}`"
        elif name in kinds and name in ref_kinds and kinds[name] is not ref_kinds[name]:
            problem = f"reads `{name}` as {_kind(ref_kinds[name])}, but it is {_kind(kinds[name])} " \
                      f"in {kernel.path.name}"
        else:
            continue
        raise fail(problem)
    for _, node in walk(expr):
        if isinstance(node, EnumLit) and node.symbol not in symbols:
            raise fail(f"reads enum symbol `{node.symbol}`, which {kernel.path.name} does not define")
