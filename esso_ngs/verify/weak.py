"""Warn when a spec is weak: its constraints alone admit a trivial answer
(a constant or a bare variable) that the reference kernel rejects or, without a
reference, that the formula stated in the notes rejects."""
from __future__ import annotations

from ..lang.expr import Const, Expr, Var
from ..lang.sexpr import TermSyntaxError, parse_term, to_sexpr
from ..formats.model import IntType, Spec
from .domain import Domain
from .intent import with_intent
from .verifier import VerifyOptions, verify_terms


def trivial_candidates(spec: Spec, hole_id: str) -> list[Expr]:
    hole = spec.hole(hole_id)
    found: dict[str, Expr] = {"0": Const(0), "1": Const(1)}
    grammar = spec.synth.grammar(hole.grammar_id)
    for _, rules in grammar.productions if grammar else ():
        for rule in rules:
            try:
                atom = parse_term(rule)
            except TermSyntaxError:
                continue
            if isinstance(atom, Const):
                found.setdefault(to_sexpr(atom), atom)
    for place in hole.used_in:
        action = spec.kernel.action(place.action)
        if action is None:
            continue
        domain = Domain.of(spec.kernel, action)
        for name, t in zip(domain.names, domain.types):
            if isinstance(t, IntType):
                found.setdefault(name, Var(name))
    return list(found.values())


def weak_spec_warnings(spec: Spec, options: VerifyOptions | None = None) -> list[str]:
    """One warning per hole whose constraints admit a trivial term that the reference
    (without one: the notes' stated formula) rejects."""
    judge, kind, who = spec, "reference", "the reference"
    if spec.ref is None:
        judge, kind, who = with_intent(spec), "intent", "the formula stated in the notes"
        if not judge.intent:
            return []
    options = options or VerifyOptions(timeout_ms=2000)
    warnings: list[str] = []
    for hole in spec.synth.holes:
        if hole.type != "Int":
            continue
        for term in trivial_candidates(spec, hole.hole_id):
            by_constraints = verify_terms(spec, {hole.hole_id: term}, options, kinds=frozenset({"constraint"}))
            if not by_constraints.ok:
                continue
            by_judge = verify_terms(judge, {hole.hole_id: term}, options, kinds=frozenset({kind}))
            if by_judge.status == "refuted":
                warnings.append(
                    f"weak spec: the constraints of {hole.hole_id} alone admit the trivial term "
                    f"{to_sexpr(term)}, which {who} rejects; add a constraint that excludes it")
                break
    return warnings
