"""Typed, immutable objects for ESSO's file formats.

Loaders (`kernel.py`, `synth.py`, `hints.py`) build these; nothing here reads
files. Mappings are stored as tuples of pairs (or read-only dicts via `dict()`
accessors) so the objects stay hashable and deterministic in order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, Mapping

from ..lang.expr import Expr, Path


# ---------------------------------------------------------------- kernel types
@dataclass(frozen=True, slots=True)
class IntType:
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True, slots=True)
class BoolType:
    pass


@dataclass(frozen=True, slots=True)
class EnumType:
    symbols: tuple[str, ...]


Type = IntType | BoolType | EnumType


@dataclass(frozen=True, slots=True)
class Typed:
    """A state var or an action param: a name with a resolved type."""

    id: str
    type: Type
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Invariant:
    id: str
    kind: str
    expr: Expr


@dataclass(frozen=True, slots=True)
class Action:
    id: str
    params: tuple[Typed, ...]
    guard: Expr
    updates: tuple[tuple[str, Expr], ...]  # (state var, next-value expr), file order
    effects: tuple[tuple[str, Expr], ...]  # (effect name, expr), file order

    def field_expr(self, name: str) -> Expr | None:
        """The expression of an effect or updated state var called `name`."""
        for key, e in self.effects:
            if key == name:
                return e
        for key, e in self.updates:
            if key == name:
                return e
        return None

    def field_kind(self, name: str) -> str | None:
        """'effect', 'update' or None."""
        if any(k == name for k, _ in self.effects):
            return "effect"
        if any(k == name for k, _ in self.updates):
            return "update"
        return None

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.params)


@dataclass(frozen=True, slots=True)
class Kernel:
    path: FsPath
    model_id: str
    notes: str
    types: tuple[tuple[str, Type], ...]
    state_vars: tuple[Typed, ...]
    init: tuple[tuple[str, Expr], ...]
    invariants: tuple[Invariant, ...]
    actions: tuple[Action, ...]
    observables: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # Paths (into the field expression) of `{const: 0}` nodes whose YAML line has a
    # `# HOLE` comment, per (action id, field name): site rule 3.
    hole_comments: tuple[tuple[tuple[str, str], tuple[Path, ...]], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # The comment text (after `#`) of each path in `hole_comments`, same order:
    # `# HOLE: fee_expr` lets site rule 3 match a comment to a hole by id.
    hole_comment_notes: tuple[tuple[tuple[str, str], tuple[str, ...]], ...] = \
        field(default=(), compare=False, hash=False)
    # 1-based YAML line of every field path (tuples of keys/indices) of the file.
    lines: Mapping[tuple[str | int, ...], int] = field(default_factory=dict, compare=False, hash=False)

    def action(self, action_id: str) -> Action | None:
        return next((a for a in self.actions if a.id == action_id), None)

    def state_var(self, name: str) -> Typed | None:
        return next((v for v in self.state_vars if v.id == name), None)

    def enum_index(self) -> dict[str, int]:
        """Every enum symbol of the kernel mapped to its index within its type."""
        out: dict[str, int] = {}
        for _, t in self.types:
            if isinstance(t, EnumType):
                out.update({s: i for i, s in enumerate(t.symbols)})
        for v in self.state_vars:
            if isinstance(v.type, EnumType):
                out.update({s: i for i, s in enumerate(v.type.symbols)})
        for a in self.actions:
            for p in a.params:
                if isinstance(p.type, EnumType):
                    out.update({s: i for i, s in enumerate(p.type.symbols)})
        return out

    def hole_comment_paths(self, action_id: str, field_name: str) -> tuple[Path, ...]:
        for key, paths in self.hole_comments:
            if key == (action_id, field_name):
                return paths
        return ()

    def hole_comment_texts(self, action_id: str, field_name: str) -> tuple[str, ...]:
        """Comment texts parallel to `hole_comment_paths` ('' when unknown)."""
        for key, texts in self.hole_comment_notes:
            if key == (action_id, field_name):
                return texts
        return ("",) * len(self.hole_comment_paths(action_id, field_name))


# ---------------------------------------------------------------- synth spec
@dataclass(frozen=True, slots=True)
class Place:
    action: str
    field: str


@dataclass(frozen=True, slots=True)
class Constraint:
    text: str
    expr: Expr


@dataclass(frozen=True, slots=True)
class HoleSpec:
    hole_id: str
    kind: str
    type: str  # "Int" or "Bool"
    used_in: tuple[Place, ...]
    grammar_id: str
    constraints: tuple[Constraint, ...]


@dataclass(frozen=True, slots=True)
class GrammarSpec:
    """A grammar as written in the synth spec: rules are S-expression templates."""

    grammar_id: str
    start: str
    productions: tuple[tuple[str, tuple[str, ...]], ...]  # file order

    def rules(self, nonterminal: str) -> tuple[str, ...]:
        for nt, rules in self.productions:
            if nt == nonterminal:
                return rules
        return ()

    @property
    def nonterminals(self) -> tuple[str, ...]:
        return tuple(nt for nt, _ in self.productions)


@dataclass(frozen=True, slots=True)
class Penalties:
    branch: int = 0
    nesting: int = 0
    ast_node: int = 1


@dataclass(frozen=True, slots=True)
class StyleProfile:
    max_nesting: int | None = None
    max_branches: int | None = None
    max_ast_nodes: int | None = None
    penalties: Penalties = Penalties()


@dataclass(frozen=True, slots=True)
class SynthSpec:
    path: FsPath
    version: str
    backend: Mapping[str, Any] = field(compare=False, hash=False)
    scope_kind: str  # "inductive" or other
    holes: tuple[HoleSpec, ...]
    grammars: tuple[GrammarSpec, ...]
    style: StyleProfile
    objective_goals: tuple[str, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def timeout_ms(self) -> int | None:
        value = self.backend.get("timeout_ms")
        return value if isinstance(value, int) else None

    def hole(self, hole_id: str) -> HoleSpec | None:
        return next((h for h in self.holes if h.hole_id == hole_id), None)

    def grammar(self, grammar_id: str) -> GrammarSpec | None:
        return next((g for g in self.grammars if g.grammar_id == grammar_id), None)


# ---------------------------------------------------------------- hints
@dataclass(frozen=True, slots=True)
class HintCandidate:
    term: str
    score: float = 0.0
    source: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class HoleHints:
    hole_id: str
    term: str
    source: str
    rank: int
    candidates: tuple[HintCandidate, ...] = ()  # ranked, best first (esso-ngs extension)


@dataclass(frozen=True, slots=True)
class HintsFile:
    path: FsPath | None
    model_hash: str
    synth_hash: str
    holes: tuple[HoleHints, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


# ---------------------------------------------------------------- a whole spec
@dataclass(frozen=True, slots=True)
class Site:
    """Where a hole stands inside the field expression of one `used_in` place."""

    place: Place
    path: Path | None  # None: unknown site (rule 5)
    rule: int  # 1..5, per ESSO_FORMATS.md
    reason: str


@dataclass(frozen=True, slots=True)
class Spec:
    """A hole kernel, its synth spec and, when present, its reference kernel."""

    kernel: Kernel
    synth: SynthSpec
    ref: Kernel | None
    sites: tuple[tuple[str, tuple[Site, ...]], ...]  # hole_id -> one Site per used_in
    # How the reference drifts from the kernel outside the used_in fields: one line each.
    warnings: tuple[str, ...] = field(default=(), compare=False, hash=False)
    # Formulas the user asked to hold as obligations (`--intent notes`): hole id -> formula.
    intent: tuple[tuple[str, Expr], ...] = ()

    @property
    def name(self) -> str:
        stem = self.kernel.path.name
        return stem[: -len("_hole.yaml")] if stem.endswith("_hole.yaml") else self.kernel.path.stem

    def sites_of(self, hole_id: str) -> tuple[Site, ...]:
        for hid, sites in self.sites:
            if hid == hole_id:
                return sites
        return ()

    def hole(self, hole_id: str | None = None) -> HoleSpec:
        """The hole named `hole_id`, or the only hole when None."""
        if hole_id is None:
            if len(self.synth.holes) != 1:
                ids = ", ".join(h.hole_id for h in self.synth.holes)
                raise KeyError(f"spec has several holes ({ids}): name one")
            return self.synth.holes[0]
        found = self.synth.hole(hole_id)
        if found is None:
            raise KeyError(f"no hole {hole_id!r} in {self.synth.path.name}")
        return found
