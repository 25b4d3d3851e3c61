"""`esso-ngs grammar check|test|sample|show SPEC`: tools for grammar authors.

- check: diagnostics (undefined / unreachable / unproductive nonterminals, unknown
  variables, type errors, rules that never fit the style profile) and exact counts
  of terms by size. Exit 0 without errors, 1 with errors.
- test: is each term in the language, and if not why; its style cost; with
  --verify the verifier's verdict. Exit 0 all in, 1 one not, 2 bad input.
- sample: random terms of the language, uniform by size.
- show: the generated Lark text (full, or --bounded: what constrained decoding uses).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..argutil import add_hidden_alias
from ..errors import SpecError, UserError
from ..interrupts import Budget, BudgetExceeded
from ..limits import DEFAULT_TOOL_BUDGET_S
from ..grammar import (CompiledGrammar, Diagnostic, Membership, check_term, count_by_size, decoding_lark_text,
                       diagnose, grammar_for_hole, lark_text, sample_terms, style_metrics)
from ..lang.sexpr import to_sexpr
from ..formats import load_spec
from ..formats.jsonload import LoadedJson, load_json
from ..formats.model import Spec, StyleProfile
from ..wording import plural
from .common import resolve_hole


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grammar", help="check, test, sample and show a hole's grammar",
                       description="Tools for grammar authors.")
    gsub = p.add_subparsers(dest="grammar_command", metavar="ACTION")

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("spec", help="X_hole.yaml or X_hole.synth.json")
        q.add_argument("--hole", help="hole id (needed when the spec has several holes)")
        q.add_argument("--budget-s", type=float, default=DEFAULT_TOOL_BUDGET_S, metavar="S",
                       help=f"wall-clock budget; past it the tool stops, says where, exit 1 "
                            f"(default {DEFAULT_TOOL_BUDGET_S:g})")

    q = gsub.add_parser("check", help="diagnostics and counts by size (exit 1 on errors)")
    common(q)
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(func=run_check)

    q = gsub.add_parser("test", help="membership with explanation (exit 0 all in, 1 one not, 2 bad input)")
    common(q)
    q.add_argument("terms", nargs="+", metavar="TERM", help='S-expression term, e.g. "(* amount bps)"')
    q.add_argument("--verify", action="store_true", help="also run the verifier on each term")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.add_argument("-v", "--verbose", action="store_true", help="show the derivation of accepted terms")
    q.set_defaults(func=run_test)

    q = gsub.add_parser("sample", help="random terms, uniform by size")
    common(q)
    q.add_argument("-n", type=int, default=20, help="how many terms (default 20)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--max-nodes", type=int, help="largest size in nodes (default: max_ast_nodes, or 10)")
    add_hidden_alias(q, "--max-size", dest="max_nodes", type=int)
    q.set_defaults(func=run_sample)

    q = gsub.add_parser("show", help="the generated Lark grammar text")
    common(q)
    q.add_argument("--bounded", action="store_true",
                   help="the finite, depth-bounded version used for constrained decoding (without waste: grammar/lean.py)")
    q.add_argument("--max-nodes", type=int, help="bounded: size the height bound for this many nodes")
    q.add_argument("--max-nesting", type=int, help="bounded: ite nesting limit")
    q.set_defaults(func=run_show)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _budgeted(tool: Any, args: argparse.Namespace) -> int:
    """Run a grammar tool within --budget-s; past it: one line saying where it stopped, exit 1."""
    budget = Budget(args.budget_s)
    try:
        with budget:
            return tool(args, budget)
    except BudgetExceeded as stop:
        print(f"esso-ngs: grammar {args.grammar_command}: {stop}", file=sys.stderr)
        return 1


def _holes(spec: Spec, hole_id: str | None, all_when_none: bool) -> list[str]:
    if hole_id is None and all_when_none:
        return [h.hole_id for h in spec.synth.holes]
    return [resolve_hole(spec, hole_id)]


def _title(spec: Spec, hole_id: str, g: CompiledGrammar) -> str:
    sorts = ", ".join(f"{nt}: {g.sorts[nt]}" for nt in g.nonterminals)
    return (f"{spec.name}: hole {hole_id} ({spec.hole(hole_id).type}), grammar {g.grammar_id}, "
            f"start {g.start} [{sorts}]")


# ---------------------------------------------------------------- check
def run_check(args: argparse.Namespace) -> int:
    return _budgeted(_run_check, args)


def _run_check(args: argparse.Namespace, budget: Budget) -> int:
    """Every error at once, in file order: the rules the loader refuses (synth stops at
    the first of them with exit 2) and the grammar's own diagnostics."""
    rule_errors: list[SpecError] = []
    spec = load_spec(args.spec, with_reference=False, rule_errors=rule_errors)
    rule_errors.sort(key=lambda e: (e.line is None, e.line or 0))
    doc = load_json(spec.synth.path)  # for the line of each diagnostic
    report: list[dict[str, Any]] = []
    errors = 0
    for i, hole_id in enumerate(_holes(spec, args.hole, all_when_none=True)):
        budget.phase = f"compiling the grammar of hole {hole_id}"
        g = grammar_for_hole(spec, hole_id)
        budget.phase = f"checking the grammar of hole {hole_id} (counting terms by size)"
        gi = next(k for k, gs in enumerate(spec.synth.grammars) if gs.grammar_id == g.grammar_id)
        diags = diagnose(g, spec.hole(hole_id).type)
        located = [e for e in rule_errors if (e.field or "").startswith(f"grammars[{gi}]")] + \
            [_located(doc, gi, d) for d in diags if d.severity == "error"]
        located.sort(key=lambda e: (e.line is None, e.line or 0))
        errors += len(located)
        others = [d for d in diags if d.severity != "error"]
        if args.json:
            limit = g.style.max_ast_nodes if g.style and g.style.max_ast_nodes else 8
            report.append({"hole": hole_id, "grammar": g.grammar_id, "start": g.start,
                           "sorts": dict(g.sorts), "counts_by_size": count_by_size(g, limit),
                           "errors": [_error_json(e) for e in located],
                           "diagnostics": [_diag_json(d) for d in diags]})
            continue
        if i:
            print()
        print(_title(spec, hole_id, g))
        if any(e in rule_errors for e in located):
            print("  (rules refused below are left out of the other checks)")
        for e in located:
            print(f"  error: {e}")
        order = {"warning": 1, "info": 2}
        for d in sorted(others, key=lambda d: order.get(d.severity, 3)):
            print("  " + d.render())
        n_warn = sum(d.severity == "warning" for d in others)
        print(f"  {plural(len(located), 'error')}, {plural(n_warn, 'warning')}")
    if args.json:
        print(json.dumps({"spec": spec.name, "rule_errors": [_error_json(e) for e in rule_errors],
                          "holes": report}, indent=2))
    return 1 if errors or rule_errors else 0


def _located(doc: LoadedJson, gi: int, d: Diagnostic) -> SpecError:
    """A diagnostic as a one-line error at its nonterminal's or rule's place in the file."""
    path: tuple[str | int, ...] = ("grammars", gi)
    if d.nonterminal is not None:
        path += ("productions", d.nonterminal)
        rules = doc.data["grammars"][gi]["productions"].get(d.nonterminal, [])
        if d.rule is not None and d.rule in rules:
            path += (rules.index(d.rule),)
    return doc.error(path, f"{d.message} [{d.code}]")


def _error_json(e: SpecError) -> dict[str, Any]:
    return {"file": e.file, "line": e.line, "field": e.field, "message": e.message}


def _diag_json(d: Diagnostic) -> dict[str, Any]:
    return {"severity": d.severity, "code": d.code, "message": d.message,
            "nonterminal": d.nonterminal, "rule": d.rule}


# ---------------------------------------------------------------- test
def _verifier() -> Any:
    try:
        from ..verify import verify
    except ImportError as exc:  # the verifier is optional for grammar work
        raise UserError(f"--verify: the verifier cannot be imported ({exc})") from None
    return verify


class _VerifyFailure:
    """Stands for a verdict when the verifier itself failed: membership output
    (the point of `grammar test`) still comes out, with the failure stated."""

    status = "error"

    def __init__(self, exc: Exception) -> None:
        self.message = f"the verifier failed: {type(exc).__name__}: {exc}"

    def describe(self) -> str:
        return self.message

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.message}


def _run_verify(verify: Any, spec: Spec, hole_id: str, term: Any) -> Any:
    try:
        return verify(spec, hole_id, term)
    except UserError:
        raise
    except Exception as exc:  # a verifier bug must not hide the grammar answer
        return _VerifyFailure(exc)


def run_test(args: argparse.Namespace) -> int:
    return _budgeted(_run_test, args)


def _run_test(args: argparse.Namespace, budget: Budget) -> int:
    spec = load_spec(args.spec, with_reference=args.verify)  # only the verifier consults the reference
    hole_id = _holes(spec, args.hole, all_when_none=False)[0]
    budget.phase = f"compiling the grammar of hole {hole_id}"
    g = grammar_for_hole(spec, hole_id)
    budget.phase = "testing the terms"
    verify = _verifier() if args.verify else None
    results: list[dict[str, Any]] = []
    status = 0
    for text in args.terms:
        m = check_term(g, text)
        verdict = None
        if verify is not None and m.term is not None:
            verdict = _run_verify(verify, spec, hole_id, m.term)
        if m.syntax_error:
            status = 2
        elif not m.ok and status == 0:
            status = 1
        if args.json:
            results.append(_membership_json(text, m, verdict))
        else:
            _print_membership(text, m, verdict, args.verbose)
    if args.json:
        print(json.dumps({"spec": spec.name, "hole": hole_id, "grammar": g.grammar_id,
                          "results": results}, indent=2))
    return status


def _print_membership(text: str, m: Membership, verdict: Any, verbose: bool) -> None:
    if m.syntax_error:
        print(f"BAD TERM  {text}\n  {m.explanation}")
        return
    mark = "IN" if m.ok else "NOT IN"
    print(f"{mark:<8}  {m.canonical}")
    print(f"  {m.explanation}")
    if m.style is not None:
        print(f"  style: {m.style.describe()}")
    if verbose and m.derivation is not None:
        print("  derivation:")
        for line in m.derivation.lines("    "):
            print(line)
    if verdict is not None:
        print("  verify: " + verdict.describe().replace("\n", "\n  "))


def _membership_json(text: str, m: Membership, verdict: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "term": text, "ok": m.ok, "syntax_error": m.syntax_error, "canonical": m.canonical,
        "explanation": m.explanation, "failing_subterm": m.failing_subterm, "expected": m.expected,
        "nearest_rules": list(m.nearest_rules),
        "path": list(m.path) if m.path is not None else None,
    }
    if m.style is not None:
        s = m.style
        out["style"] = {"nodes": s.nodes, "nesting": s.nesting, "branches": s.branches,
                        "cost": s.cost, "fits": s.fits, "violations": list(s.violations)}
    if verdict is not None:
        out["verdict"] = verdict.to_json() if hasattr(verdict, "to_json") else {
            "status": verdict.status, "describe": verdict.describe()}
    return out


# ---------------------------------------------------------------- sample / show
def run_sample(args: argparse.Namespace) -> int:
    return _budgeted(_run_sample, args)


def _one_grammar(args: argparse.Namespace, budget: Budget) -> CompiledGrammar:
    """The compiled grammar of the one hole `sample` and `show` work on (no reference read)."""
    spec = load_spec(args.spec, with_reference=False)
    hole_id = _holes(spec, args.hole, all_when_none=False)[0]
    budget.phase = f"compiling the grammar of hole {hole_id}"
    return grammar_for_hole(spec, hole_id)


def _run_sample(args: argparse.Namespace, budget: Budget) -> int:
    g = _one_grammar(args, budget)
    if g.is_empty:
        raise UserError(f"grammar {g.grammar_id}: the language is empty")
    budget.phase = f"sampling {args.n} terms (counting terms by size first)"
    terms = sample_terms(g, args.n, seed=args.seed, max_size=args.max_nodes)
    if not terms:
        print(f"# no term of {g.start} within the size limit")
        return 1
    for t in terms:
        s = style_metrics(t, g.style or StyleProfile())
        flag = "" if s.fits else "   # over the style profile"
        print(f"{to_sexpr(t)}    # {plural(s.nodes, 'node')}, cost {s.cost}{flag}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    return _budgeted(_run_show, args)


def _run_show(args: argparse.Namespace, budget: Budget) -> int:
    g = _one_grammar(args, budget)
    budget.phase = "writing the bounded grammar" if args.bounded else "writing the grammar"
    if args.bounded:
        print(decoding_lark_text(g, args.max_nodes, args.max_nesting), end="")
    else:
        print(lark_text(g), end="")
    return 0
