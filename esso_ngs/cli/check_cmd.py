"""`esso-ngs check SPEC --term "(...)"`: does a term fill a hole correctly?"""
from __future__ import annotations

import argparse
import json

from ..errors import UserError
from ..lang.expr import Expr, free_vars
from ..lang.sexpr import TermSyntaxError, parse_term
from ..formats import load_spec
from ..formats.model import Spec
from ..formats.sorts import BOOL, INT, Sort, SortError, compatible, describe, enum_symbol_sorts, infer, sort_of_type
from ..verify import VerifyOptions, verify, weak_spec_warnings
from ..verify.realizability import check_realizability
from ..verify.verifier import DEFAULT_TIMEOUT_MS
from ..verify.domain import Domain
from ..wording import noun
from .common import resolve_hole


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="verify a term for a hole (0 verified, 1 refuted/unknown, 2 bad input)",
                       description="Verify that a term fills a hole: constraints, reference equality "
                                   "and invariants, proven with Z3 after cheap refutation.")
    p.add_argument("spec", help="X_hole.yaml (its .synth.json and X_ref.yaml are found beside it)")
    p.add_argument("--term", required=True, help='S-expression term, e.g. "(safe_div (* amount bps) 10000)"')
    p.add_argument("--hole", help="hole id (needed when the spec has several holes)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--timeout-ms", type=int, default=DEFAULT_TIMEOUT_MS, help="Z3 time limit per query")
    p.add_argument("--strategy", choices=("auto", "int", "bv", "sample"), default="auto",
                   help="Z3 encoding: integers then bit-vectors (auto), one of them, or sampling only")
    p.add_argument("-v", "--verbose", action="store_true", help="show hole sites, obligations and warnings")
    p.set_defaults(func=run)


def parse_user_term(spec: Spec, hole_id: str, text: str, origin: str = "--term") -> Expr:
    """Parse a term given by the user and check its names against the hole's actions."""
    try:
        term = parse_term(text)
    except TermSyntaxError as err:
        raise UserError(f"{origin}: {err}") from None
    allowed: set[str] = set(spec.kernel.enum_index())  # enum symbols may be written as atoms
    for place in spec.hole(hole_id).used_in:
        action = spec.kernel.action(place.action)
        if action is not None:
            allowed.update(Domain.of(spec.kernel, action).names)
    unknown = sorted(free_vars(term) - allowed)
    if unknown:
        raise UserError(f"{origin}: unknown {noun(len(unknown), 'name')} {', '.join(unknown)}: not a state var or param "
                        f"of the action(s) where {hole_id} is used")
    check_term_sort(spec, hole_id, term, origin)
    return term


def check_term_sort(spec: Spec, hole_id: str, term: Expr, origin: str) -> None:
    """A term of the wrong sort (a Boolean for an Int hole) is bad input, not a refuted answer."""
    kernel = spec.kernel
    names: dict[str, Sort] = {v.id: sort_of_type(v.type) for v in kernel.state_vars}
    for place in spec.hole(hole_id).used_in:
        action = kernel.action(place.action)
        for prm in action.params if action is not None else ():
            names.setdefault(prm.id, sort_of_type(prm.type))
    types = [t for _, t in kernel.types] + [v.type for v in kernel.state_vars] + \
        [p.type for a in kernel.actions for p in a.params]
    try:
        sort = infer(term, names, enum_symbol_sorts(types))
    except SortError as exc:
        raise UserError(f"{origin}: {exc}") from None
    want = INT if spec.hole(hole_id).type == "Int" else BOOL
    if not compatible(sort, want):
        raise UserError(f"{origin}: hole {hole_id} is {describe(want)} ({spec.hole(hole_id).type}), "
                        f"the term is {describe(sort)}")


def run(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    hole_id = resolve_hole(spec, args.hole)
    term = parse_user_term(spec, hole_id, args.term)
    verdict = verify(spec, hole_id, term, VerifyOptions(timeout_ms=args.timeout_ms, strategy=args.strategy))
    warnings: list[str] = []
    if args.verbose:
        feasible = check_realizability(spec, hole_id)
        warnings = [*spec.warnings, *weak_spec_warnings(spec)] + \
            ([f"{hole_id}: {feasible.describe()}"] if feasible.infeasible else [])
    if args.json:
        out = verdict.to_json()
        out["spec"] = spec.name
        out["hole"] = hole_id
        if args.verbose:
            out["sites"] = [{"place": f"{s.place.action}.{s.place.field}", "rule": s.rule,
                             "path": list(s.path) if s.path is not None else None, "reason": s.reason}
                            for s in spec.sites_of(hole_id)]
            out["warnings"] = warnings
        print(json.dumps(out, indent=2))
    else:
        if args.verbose:
            print(f"spec {spec.name}: hole {hole_id}")
            for s in spec.sites_of(hole_id):
                where = "unknown" if s.path is None else f"path {list(s.path)}"
                print(f"  site {s.place.action}.{s.place.field}: rule {s.rule}, {where} ({s.reason})")
            if verdict.methods:
                print(f"  decided by: {', '.join(verdict.methods)}")
            for w in warnings:
                print(f"  warning: {w}")
        print(verdict.describe())
    return 0 if verdict.ok else 1
