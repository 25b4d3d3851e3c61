"""Spec grammars: compiled, typed, checked, counted, sampled, and as Lark text.

    g = compile_grammar(spec.synth.grammar("G_fee"), spec.synth.style, variables)
    g.check("(safe_div (* amount bps) 10000)").ok
    g.lark_text(); g.bounded_lark_text()
    g.count_by_size(8); g.sample(20, seed=0); g.diagnostics()
"""
from .compile import CompiledGrammar, compile_grammar
from .diagnostic import Diagnostic
from .forspec import grammar_for_hole, hole_variables
from .lark_text import EmptyLanguageError
from .membership import Derivation, Membership, in_language
from .rules import Rule
from .style import StyleMetrics, style_metrics

__all__ = [
    "CompiledGrammar",
    "Derivation",
    "Diagnostic",
    "EmptyLanguageError",
    "Membership",
    "Rule",
    "StyleMetrics",
    "compile_grammar",
    "grammar_for_hole",
    "hole_variables",
    "in_language",
    "style_metrics",
]
