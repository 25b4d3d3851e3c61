"""The lean decoding grammar: the hole's terms without operations over constants only,
identity operations or constant-making arguments."""
from __future__ import annotations

from esso_ngs.formats.model import GrammarSpec
from esso_ngs.grammar import check_term, compile_grammar, in_language, sample_terms
from esso_ngs.grammar.lean import lean_grammar, wasteful
from esso_ngs.lang.expr import Const, Expr, Ite, Op, Var, free_vars, walk
from esso_ngs.lang.sexpr import parse_term

GENERIC = GrammarSpec("G", "E", (
    ("E", ("V", "C", "(+ E E)", "(- E E)", "(* E E)", "(safe_div E E)", "(ite B E E)")),
    ("V", ("x", "y")),
    ("C", ("0", "1", "100")),
    ("B", ("(<= E E)", "(= E E)")),
))
# The argument constants the lean grammar refuses (written out here, independently of
# the module's table): identities and constant-making arguments of the test grammar.
REFUSED = {("+", 0): {0}, ("+", 1): {0}, ("-", 1): {0}, ("*", 0): {0, 1}, ("*", 1): {0, 1},
           ("safe_div", 0): {0, 1}, ("safe_div", 1): {0, 1}}
# Where a constant argument makes a chain link: (op (op e k) k) is one operation.
LINK_CONSTANT_AT = {"+": (0, 1), "*": (0, 1), "-": (0, 1), "safe_div": (1,)}


def _chained(e: Expr) -> Expr | None:
    if isinstance(e, Op) and e.op in LINK_CONSTANT_AT:
        for j in LINK_CONSTANT_AT[e.op]:
            if isinstance(e.args[j], Const):
                return e.args[1 - j]
    return None


def _generic():
    return compile_grammar(GENERIC, None, {"x": "Int", "y": "Int"})


def _lean_by_definition(t: Expr) -> bool:
    if not free_vars(t):
        return False
    for _, node in walk(t):
        if isinstance(node, (Op, Ite)) and not free_vars(node):
            return False
        if isinstance(node, Ite) and not free_vars(node.then) and not free_vars(node.else_):
            return False
        if isinstance(node, Ite) and isinstance(node.then, Var) and node.then == node.else_:
            return False
        if (isinstance(node, Op) and node.op in ("-", "safe_div", "<=", "=") and isinstance(node.args[0], Var)
                and node.args[0] == node.args[1]):
            return False
        if isinstance(node, Op):
            for i, a in enumerate(node.args):
                if isinstance(a, Const) and a.value in REFUSED.get((node.op, i), set()):
                    return False
            inner = _chained(node)
            if isinstance(inner, Op) and inner.op == node.op and _chained(inner) is not None:
                return False
            if node.op == "safe_div" and isinstance(node.args[0], Op) and node.args[0].op == "safe_div":
                return False  # a division's dividend is never a division: (safe_div a (* b c)) says it
    return True


def test_lean_language_is_the_waste_free_part_of_the_grammar() -> None:
    g = _generic()
    lean = lean_grammar(g)
    assert lean is not g
    seen = {True: 0, False: 0}
    for t in sample_terms(g, 600, seed=1, max_size=9):
        expected = _lean_by_definition(t)
        assert in_language(lean, t) == expected, t
        seen[expected] += 1
    assert min(seen.values()) > 50  # both kinds were sampled
    for t in sample_terms(lean, 300, seed=2, max_size=9):
        assert check_term(g, t).ok and _lean_by_definition(t), t


def test_degenerate_terms_are_out_and_formulas_in() -> None:
    lean = lean_grammar(_generic())
    for text in ("(safe_div 1 1)", "(safe_div (safe_div x 1) 1)", "(safe_div x 0)", "(safe_div (safe_div x 100) 100)",
                 "(+ 100 (+ x 100))", "(safe_div (safe_div x y) 100)", "(- 100 (- 100 x))", "(safe_div 1 x)",
                 "(ite (<= x y) 0 1)", "(- x x)", "(safe_div y y)", "(ite (<= x y) x x)", "(ite (<= x x) x y)", "(* 1 y)", "(+ x 0)",
                 "(ite (<= 1 1) x y)", "(- x (* 100 100))", "0", "100"):
        assert not in_language(lean, parse_term(text)), text
    for text in ("x", "(safe_div (* x y) 100)", "(ite (= y 0) x (safe_div (* x y) (+ x y)))", "(- 100 x)",
                 "(ite (<= x 100) 0 x)", "(safe_div 100 x)", "(- x y)", "(+ x x)", "(safe_div (+ x y) x)",
                 "(safe_div (* (safe_div x 100) y) 100)", "(+ (* x 100) 100)", "(safe_div x (safe_div y 100))",
                 "(- 100 (* x 100))"):
        assert in_language(lean, parse_term(text)), text


def test_what_the_grammar_writes_whole_is_kept() -> None:
    spec = GrammarSpec("G", "E", (("E", ("x", "(* x 1)", "(+ E K)")), ("K", ("(* 100 100)", "0"))))
    g = compile_grammar(spec, None, {"x": "Int"})
    lean = lean_grammar(g)
    assert in_language(lean, parse_term("(* x 1)"))  # a fixed identity: the author's
    assert in_language(lean, parse_term("(+ x (* 100 100))"))  # a slot-free constant template
    assert not in_language(lean, parse_term("(+ x 0)"))


def test_a_grammar_without_variables_is_used_as_it_is() -> None:
    g = compile_grammar(GrammarSpec("G", "E", (("E", ("0", "1", "(+ E E)")),)), None, {})
    assert lean_grammar(g) is g


def test_wasteful() -> None:
    for text in ("(safe_div 1 1)", "(* x 1)", "(safe_div x 0)", "(ite (= x 0) y y)", "(- x x)", "(+ 0 x)",
                 "(safe_div (safe_div x 100) 100)", "(* 100 (* x 100))", "(ite (= x 0) 1 0)"):
        assert wasteful(parse_term(text)), text
    for text in ("x", "(safe_div (* x y) 100)", "(ite (= x 0) y x)", "(- 1 x)", "(safe_div (safe_div x y) 100)"):
        assert not wasteful(parse_term(text)), text


def test_many_variables_keep_the_lean_grammar_small() -> None:
    names = [f"v{i}" for i in range(80)]
    spec = GrammarSpec("G", "E", (("E", ("V", "C", "(- E E)", "(safe_div E E)")), ("V", tuple(names)),
                                  ("C", ("0", "1"))))
    lean = lean_grammar(compile_grammar(spec, None, {n: "Int" for n in names}))
    assert sum(len(rs) for _, rs in lean.spec.productions) <= 3000
    assert not in_language(lean, parse_term("(safe_div 1 1)"))
    assert in_language(lean, parse_term("(- v1 v1)"))  # equal variables are told apart only in smaller grammars
    assert in_language(lean, parse_term("(- v1 v2)"))
