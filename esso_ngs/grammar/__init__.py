"""Spec grammars: compiled, typed, checked, counted, sampled, and as Lark text.

A `CompiledGrammar` is plain frozen data; what can be done with one is a function:

    g = compile_grammar(spec.synth.grammar("G_fee"), spec.synth.style, variables)
    check_term(g, "(safe_div (* amount bps) 10000)").ok    # membership, explained
    lark_text(g); bounded_lark_text(g)                      # for lark / llguidance
    decoding_lark_text(g)        # constrained decoding: bounded, without waste (lean.py)
    count_by_size(g, 8); sample_terms(g, 20, seed=0)        # the language by size
    diagnose(g)                                             # for grammar authors
    g.is_empty; g.is_infinite                               # computed when compiled

`grammar_for_hole(spec, hole)` compiles the grammar of a spec's hole (memoized).
"""
from .compile import CompiledGrammar, compile_grammar
from .counting import count_by_size
from .diagnostic import Diagnostic
from .diagnostics import diagnose
from .forspec import grammar_for_hole, hole_variables
from .lark_text import EmptyLanguageError, bounded_lark_text, lark_text
from .lean import decoding_lark_text, lean_grammar
from .membership import Derivation, Membership, check_term, in_language
from .rules import Rule
from .sampling import sample_terms
from .style import StyleMetrics, style_cost, style_metrics

__all__ = [
    "CompiledGrammar",
    "Derivation",
    "Diagnostic",
    "EmptyLanguageError",
    "Membership",
    "Rule",
    "StyleMetrics",
    "bounded_lark_text",
    "check_term",
    "compile_grammar",
    "count_by_size",
    "decoding_lark_text",
    "diagnose",
    "grammar_for_hole",
    "hole_variables",
    "in_language",
    "lark_text",
    "lean_grammar",
    "sample_terms",
    "style_cost",
    "style_metrics",
]
