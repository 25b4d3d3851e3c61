"""A whole spec: `X_hole.yaml` + `X_hole.synth.json` (+ optional `X_ref.yaml`).

Files are found by ESSO's naming convention from any one of them or from a
directory holding exactly one pair.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import SpecError
from .kernel import load_kernel
from ..lang.expr import holes_in
from .model import Kernel, Place, Spec, SynthSpec
from .sites import find_sites
from .synth import load_synth
from .yamlload import format_path

HOLE_SUFFIX = "_hole.yaml"
SYNTH_SUFFIX = ".synth.json"
REF_SUFFIX = "_ref.yaml"


def synth_path_for(kernel_path: Path) -> Path:
    """`X_hole.yaml` -> `X_hole.synth.json` (any `K.yaml` -> `K.synth.json`)."""
    name = kernel_path.name
    stem = name[: -len(".yaml")] if name.endswith(".yaml") else name[: -len(".yml")] if name.endswith(".yml") else name
    return kernel_path.with_name(stem + SYNTH_SUFFIX)


def ref_path_for(kernel_path: Path) -> Path | None:
    """`X_hole.yaml` -> `X_ref.yaml`; None for kernels not named `*_hole.yaml`."""
    name = kernel_path.name
    if not name.endswith(HOLE_SUFFIX):
        return None
    return kernel_path.with_name(name[: -len(HOLE_SUFFIX)] + REF_SUFFIX)


def discover_specs(directory: str | Path, recursive: bool = False) -> list[Path]:
    """Sorted `*_hole.yaml` files of `directory` that have a `.synth.json` beside them."""
    root = Path(directory)
    if not root.is_dir():
        raise SpecError(root, None, "not a directory")
    pattern = f"**/*{HOLE_SUFFIX}" if recursive else f"*{HOLE_SUFFIX}"
    return sorted(p for p in root.glob(pattern) if p.is_file() and synth_path_for(p).is_file())


def resolve_spec_paths(path: str | Path) -> tuple[Path, Path, Path | None]:
    """(kernel, synth spec, reference or None) for a kernel, a synth spec or a directory."""
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
    ref = ref_path_for(kernel_path)
    return kernel_path, synth_path, ref if ref is not None and ref.is_file() else None


def load_spec(path: str | Path) -> Spec:
    """Load and cross-check a kernel, its synth spec and its reference; find the sites."""
    kernel_path, synth_path, ref_path = resolve_spec_paths(path)
    kernel = load_kernel(kernel_path)
    synth = load_synth(synth_path, kernel)
    check_hole_nodes(kernel, synth)
    ref = None
    if ref_path is not None:
        ref = load_kernel(ref_path)
        check_reference(kernel, ref)
    return Spec(kernel, synth, ref, find_sites(kernel, synth, ref))


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


def check_reference(kernel: Kernel, ref: Kernel) -> None:
    """The reference must be the same machine: same state vars, actions and fields."""
    def fail(field: str | None, message: str, path: tuple = ()) -> SpecError:
        return SpecError(ref.path, field, message, ref.lines.get(path) if path else None)

    names = [v.id for v in kernel.state_vars]
    ref_names = [v.id for v in ref.state_vars]
    if set(names) != set(ref_names):
        missing = sorted(set(names) - set(ref_names))
        extra = sorted(set(ref_names) - set(names))
        raise fail("state_vars", f"state vars differ from {kernel.path.name}: "
                                 f"missing {missing or 'none'}, extra {extra or 'none'}", ("state_vars",))
    ids = [a.id for a in kernel.actions]
    ref_ids = [a.id for a in ref.actions]
    if set(ids) != set(ref_ids):
        missing = sorted(set(ids) - set(ref_ids))
        extra = sorted(set(ref_ids) - set(ids))
        raise fail("actions", f"actions differ from {kernel.path.name}: "
                              f"missing {missing or 'none'}, extra {extra or 'none'}", ("actions",))
    for a in kernel.actions:
        r = ref.action(a.id)
        assert r is not None
        i = ref_ids.index(a.id)
        for kind, mine, theirs in (("effects", a.effects, r.effects), ("updates", a.updates, r.updates)):
            if {n for n, _ in mine} != {n for n, _ in theirs}:
                raise fail(f"actions[{i}].{kind}",
                           f"{kind} of action `{a.id}` differ from {kernel.path.name}: "
                           f"{sorted(n for n, _ in theirs)} vs {sorted(n for n, _ in mine)}",
                           ("actions", i, kind))
        if set(a.param_names) != set(r.param_names):
            raise fail(f"actions[{i}].params", f"params of action `{a.id}` differ from {kernel.path.name}",
                       ("actions", i, "params"))
