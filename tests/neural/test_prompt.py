"""The prompt builder: deterministic, golden-pinned, with every section a model needs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from esso_ngs.neural.backend import Prompt
from esso_ngs.neural.prompt import (EXAMPLES, SYSTEM, build_prompt, render_counterexample,
                                    render_productions)
from esso_ngs.formats import load_spec

HERE = Path(__file__).parent
FEE = HERE / "fixtures" / "fee_hole.yaml"
GOLDEN = HERE / "golden" / "fee_prompt.txt"
CEX = [{"term": "(* amount bps)", "reason": "violates result <= amount",
        "inputs": {"bps": 30, "amount": 1}, "got": 30, "expected": "at most 1"}]


def _render(p: Prompt) -> str:
    return "".join(f"=== {m.role}\n{m.content}\n" for m in p.messages)


def test_prompt_matches_golden_file() -> None:
    text = _render(build_prompt(load_spec(FEE), "fee_expr", counterexamples=CEX))
    if os.environ.get("ESSO_NGS_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "prompt changed: rerun with ESSO_NGS_UPDATE_GOLDEN=1 if intended"


def test_prompt_is_deterministic_across_loads() -> None:
    a = build_prompt(load_spec(FEE), "fee_expr", counterexamples=CEX)
    b = build_prompt(load_spec(FEE), "fee_expr", counterexamples=CEX)
    assert a == b and a.sha256() == b.sha256()


def test_key_sections() -> None:
    p = build_prompt(load_spec(FEE), "fee_expr")
    assert p.mode == "term" and p.hole_id == "fee_expr" and p.spec_name == "fee"
    assert p.messages[0].role == "system" and p.messages[0].content == SYSTEM
    # three few-shot turns in the grammar's syntax, then the question
    roles = [m.role for m in p.messages]
    assert roles == ["system"] + ["user", "assistant"] * len(EXAMPLES) + ["user"]
    assert [m.content for m in p.messages if m.role == "assistant"] == [e.answer for e in EXAMPLES]
    q = p.messages[-1].content
    assert "\n\nIntent (from the kernel's notes): Synthesize: fee = amount * bps / 10000; " \
           "total accumulates the fee\n\nAnswer with" in q
    assert "  bps: state var (config), Int in [0, 10000]" in q
    assert "  dir: state var, enum {AForB, BForA}" in q
    assert "  amount: param of quote, Int in [0, 1000000]" in q
    assert "  guard: (> amount 0)" in q
    # the hole's sites shown in place: the whole effect, and inside the update (# HOLE comment)
    assert "  update total' = (+ total ?fee_expr)" in q
    assert "  effect fee = ?fee_expr" in q
    assert "Hole `fee_expr` (Int), used in quote.fee, quote.total." in q
    # comment constraints (starting with #) are left out
    assert "Constraints on result (the hole's value): result >= 0; result <= amount" in q
    assert "the fee is a share" not in q
    # the start symbol first, then file order
    assert "Grammar (start Expr):\n  Expr ::= Term | (safe_div Term Const) | (ite (<= Term Term) Expr Expr)\n" \
           "  Const ::= 0 | 1 | 100 | 10000\n  Term ::= amount | bps | (* amount bps)" in q
    assert "`safe_div` floor division (0 when the divisor is 0)" in q
    assert q.endswith("Answer with the term for `fee_expr` alone: one S-expression of the grammar, nothing else.")
    assert "wrong" not in q  # no counterexample section without counterexamples


def test_list_mode_and_no_examples() -> None:
    p = build_prompt(load_spec(FEE), "fee_expr", mode="list", examples=False, list_size=4)
    assert [m.role for m in p.messages] == ["system", "user"]
    assert p.messages[-1].content.endswith(
        "Answer with up to 4 different candidate terms for `fee_expr`, best first, one per line, "
        "each an S-expression of the grammar, nothing else.")
    with pytest.raises(ValueError):
        build_prompt(load_spec(FEE), "fee_expr", mode="json")


def test_counterexamples_rendered_and_capped() -> None:
    assert render_counterexample(CEX[0]) == (
        "(* amount bps): violates result <= amount; at amount=1, bps=30; gives 30 but expected at most 1")
    assert render_counterexample({"reason": "timeout", "zeta": 1, "alpha": 2}) == "timeout; alpha=2; zeta=1"
    many = [{"term": f"(+ amount {i})", "reason": "bad"} for i in range(20)]
    q = build_prompt(load_spec(FEE), "fee_expr", counterexamples=many).messages[-1].content
    assert "(+ amount 19): bad" in q and "(+ amount 11): bad" not in q  # the latest 8


def test_render_productions_start_first() -> None:
    assert render_productions((("A", ("x",)), ("S", ("A", "(+ A A)"))), "S") == ["S ::= A | (+ A A)", "A ::= x"]


def test_every_benchmark_spec_prompts(tmp_path: Path) -> None:
    from esso_ngs.formats import discover_specs
    root = HERE.parent.parent / "benchmarks" / "specs"
    for path in discover_specs(root):
        spec = load_spec(path)
        for hole in spec.synth.holes:
            q = build_prompt(spec, hole.hole_id).messages[-1].content
            assert f"Hole `{hole.hole_id}` ({hole.type})" in q
            assert f"?{hole.hole_id}" in q or "the hole is somewhere in this field" in q, path
