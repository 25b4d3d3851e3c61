"""SyGuS-IF interop: export ESSO holes as SyGuS problems, and solve SyGuS problems.

    problem = load_problem("max3.sl")          # SyGuS-IF 2.1 (2.0 where cheap)
    result = solve(problem, SolveOptions(timeout_s=20))
    print(format_solution(problem, result.terms))
    write_exports(load_spec("fee_bps_hole.yaml"), "out/")   # one .sl per hole

Modules: reader (text -> commands), terms (SyGuS terms <-> lang.expr), grammars,
parse (commands -> SygusProblem), defined (define-funs as operators), check (Z3),
solve (the portfolio) with affine/single/unify/ice and enumerative CEGIS (the
strategies), solution (define-fun text), export (spec -> .sl), cvc5_peer (optional;
run as a script, `python esso_ngs/sygus/cvc5_peer.py FILE`, it imports only cvc5).
"""
from .check import CheckResult, check
from .common import SolveOptions, SolveResult
from .export import ExportedHole, export_spec, write_exports
from .parse import load_problem, parse_problem
from .problem import InvTask, SygusProblem, SynthFun
from .reader import SygusError
from .solution import format_solution, read_solutions
from .solve import solve

__all__ = [
    "CheckResult", "ExportedHole", "InvTask", "SolveOptions", "SolveResult", "SygusError", "SygusProblem",
    "SynthFun", "check", "export_spec", "format_solution", "load_problem", "parse_problem", "read_solutions",
    "solve", "write_exports",
]
