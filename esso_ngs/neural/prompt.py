"""Every word the models read: grammar-aware prompts for a hole, in one place.

A prompt is built from a neutral `Task` view of a hole (its type, where it is
used, its constraints, the grammar's productions, the kernel context that matters
and counterexamples from earlier failed candidates) and rendered by one function,
so the few-shot examples, written as `Task`s too, have exactly the shape of the
real question. The examples are in the grammar's own S-expression syntax: weak
models copy the form of what they are shown (unprompted, SmolLM2 writes infix).

Prompts are deterministic: the same spec, hole and counterexamples give the same
text, byte for byte (tests pin it), so the sample cache can key on it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..lang.expr import Expr, Hole, replace_at
from ..lang.sexpr import to_sexpr
from ..formats.model import BoolType, EnumType, GrammarSpec, IntType, Spec, Type
from .backend import Message, Prompt

MODES = ("term", "list")
MAX_COUNTEREXAMPLES = 8  # keep prompts short: the latest failures say the most

SYSTEM = (
    "You fill holes in ESSO kernels: small state machines for DeFi arithmetic (fees, swaps, "
    "liquidity). Integers are unbounded. A term is an S-expression in prefix form, "
    "such as (max (- amount fee) 0): the operator first, single spaces, "
    "no infix. A term must be derivable from the grammar's start symbol, where each "
    "symbol on the left of ::= stands for any of its alternatives."
)

ANSWER_TERM = "Answer with the term for `{hole}` alone: one S-expression of the grammar, nothing else."
ANSWER_LIST = ("Answer with up to {k} different candidate terms for `{hole}`, best first, one per line, "
               "each an S-expression of the grammar, nothing else.")

# What each operator means, shown for the operators the grammar uses: the
# division-by-zero rules in particular differ from what a model assumes.
OP_MEANING: dict[str, str] = {
    "+": "sum", "-": "difference (unary: negation)", "*": "product",
    "div": "floor division (x div 0 = 0)", "mod": "remainder (x mod 0 = 0)",
    "safe_div": "floor division (0 when the divisor is 0)",
    "safe_mod": "remainder (0 when the divisor is 0)",
    "min": "smallest argument", "max": "largest argument",
    "ite": "(ite c a b) is a if c holds, else b",
    "=": "equal", "!=": "not equal", "<": "less", "<=": "at most", ">": "greater", ">=": "at least",
    "and": "all hold", "or": "any holds", "xor": "exactly one of two holds", "not": "negation",
    "=>": "implication",
}


# ---------------------------------------------------------------- the neutral view
@dataclass(frozen=True)
class Task:
    """What a prompt says about one hole, independent of the spec classes."""

    hole_id: str
    hole_type: str  # "Int" or "Bool"
    places: tuple[str, ...]  # "action.field"
    constraints: tuple[str, ...]
    grammar_start: str
    productions: tuple[tuple[str, tuple[str, ...]], ...]
    kernel_id: str = ""
    notes: str = ""
    variables: tuple[str, ...] = ()  # rendered lines: "amount: param of quote, Int in [0, 100]"
    actions: tuple[str, ...] = ()  # rendered blocks, one per action that uses the hole
    invariants: tuple[str, ...] = ()
    counterexamples: tuple[str, ...] = ()
    answer: str = ""  # only for few-shot examples


# Few-shot examples: generic (not from any benchmark), one per common shape:
# scaled division, a guarded choice, a Boolean condition.
EXAMPLES: tuple[Task, ...] = (
    Task(
        hole_id="keeper_cut", hole_type="Int", places=("harvest.keeper_cut",),
        constraints=("result >= 0", "result <= reward"),
        grammar_start="E",
        productions=(("E", ("N", "(safe_div N K)", "(- reward N)")),
                     ("N", ("reward", "share_pct", "(* reward share_pct)")), ("K", ("1", "100"))),
        kernel_id="example_keeper", notes="The keeper gets reward * share_pct / 100, rounded down.",
        variables=("share_pct: state var, Int in [0, 100]", "reward: param of harvest, Int in [0, 1000000]"),
        answer="(safe_div (* reward share_pct) 100)",
    ),
    Task(
        hole_id="paid", hole_type="Int", places=("pay.paid",),
        constraints=("result <= reserve",),
        grammar_start="E",
        productions=(("E", ("want", "reserve", "(ite C E E)")), ("C", ("(<= want reserve)", "(> want 0)"))),
        kernel_id="example_cap", notes="Pay what is wanted, but never more than the reserve.",
        variables=("reserve: state var, Int in [0, 1000000]", "want: param of pay, Int in [0, 1000000]"),
        answer="(ite (<= want reserve) want reserve)",
    ),
    Task(
        hole_id="halt", hole_type="Bool", places=("observe.halted",),
        constraints=(),
        grammar_start="B",
        productions=(("B", ("(> X X)", "(>= X X)", "(and B B)")), ("X", ("loss", "limit", "0"))),
        kernel_id="example_halt", notes="Halt once the loss reaches the limit.",
        variables=("limit: state var, Int in [1, 1000]", "loss: param of observe, Int in [0, 1000]"),
        answer="(>= loss limit)",
    ),
)


# ---------------------------------------------------------------- from a spec
def render_type(t: Type) -> str:
    if isinstance(t, IntType):
        if t.min is not None and t.max is not None:
            return f"Int in [{t.min}, {t.max}]"
        if t.min is not None:
            return f"Int >= {t.min}"
        if t.max is not None:
            return f"Int <= {t.max}"
        return "Int"
    if isinstance(t, BoolType):
        return "Bool"
    if isinstance(t, EnumType):
        return "enum {" + ", ".join(t.symbols) + "}"
    return str(t)


def render_productions(productions: Sequence[tuple[str, Sequence[str]]], start: str = "") -> list[str]:
    """`Nt ::= a | b | c`, one line per nonterminal: the start first, then file order."""
    ordered = sorted(productions, key=lambda item: item[0] != start)  # stable sort
    return [f"{nt} ::= " + " | ".join(rules) for nt, rules in ordered]


def render_counterexample(cx: Mapping[str, Any]) -> str:
    """One line for a failed candidate; keys we know are put in a readable order."""
    term = cx.get("term") or cx.get("candidate")
    reason = cx.get("reason") or cx.get("message") or cx.get("violated") or "failed"
    inputs = cx.get("inputs") or cx.get("env") or cx.get("state")
    parts = [f"{term}: {reason}" if term else str(reason)]
    if isinstance(inputs, Mapping) and inputs:
        parts.append("at " + ", ".join(f"{k}={inputs[k]}" for k in sorted(inputs)))
    if "got" in cx or "expected" in cx:
        got = f"gives {cx['got']}" if "got" in cx else ""
        want = f"expected {cx['expected']}" if "expected" in cx else ""
        parts.append(" but ".join(p for p in (got, want) if p) if got and want else got or want)
    known = {"term", "candidate", "reason", "message", "violated", "inputs", "env", "state", "got", "expected"}
    rest = sorted(k for k in cx if k not in known)
    if rest:
        parts.append("; ".join(f"{k}={cx[k]}" for k in rest))
    return "; ".join(parts)


def _field_with_hole(spec: Spec, hole_id: str, action_id: str, field_name: str, e: Expr) -> tuple[Expr, bool]:
    """The field expression with every known site of `hole_id` shown as `?hole_id`."""
    known = True
    for site in spec.sites_of(hole_id):
        if site.place.action == action_id and site.place.field == field_name:
            if site.path is None:
                known = False
            else:
                e = replace_at(e, site.path, Hole(hole_id))
    return e, known


def task_from_spec(spec: Spec, hole_id: str,
                   counterexamples: Sequence[Mapping[str, Any]] = ()) -> Task:
    hole = spec.hole(hole_id)
    kernel = spec.kernel
    grammar: GrammarSpec | None = spec.synth.grammar(hole.grammar_id)
    if grammar is None:  # the spec loader rejects this; stay total
        raise KeyError(f"hole {hole_id!r} names grammar {hole.grammar_id!r}, which the spec lacks")
    action_ids = list(dict.fromkeys(p.action for p in hole.used_in))

    variables = [f"{v.id}: state var{f' ({v.role})' if v.role else ''}, {render_type(v.type)}"
                 for v in kernel.state_vars]
    actions: list[str] = []
    for aid in action_ids:
        action = kernel.action(aid)
        if action is None:
            continue
        variables += [f"{p.id}: param of {aid}, {render_type(p.type)}" for p in action.params]
        lines = [f"action {aid}:", f"  guard: {to_sexpr(action.guard)}"]
        other_holes = [h.hole_id for h in spec.synth.holes if h.hole_id != hole_id]
        for kind, items in (("update", action.updates), ("effect", action.effects)):
            for name, e in items:
                shown, known = _field_with_hole(spec, hole_id, aid, name, e)
                for other in other_holes:
                    shown, _ = _field_with_hole(spec, other, aid, name, shown)
                arrow = f"{name}' =" if kind == "update" else f"{name} ="
                note = "  (the hole is somewhere in this field)" if not known else ""
                lines.append(f"  {kind} {arrow} {to_sexpr(shown)}{note}")
        actions.append("\n".join(lines))

    return Task(
        hole_id=hole.hole_id, hole_type=hole.type,
        places=tuple(f"{p.action}.{p.field}" for p in hole.used_in),
        constraints=tuple(c.text for c in hole.constraints if not c.text.lstrip().startswith("#")),
        grammar_start=grammar.start, productions=grammar.productions,
        kernel_id=kernel.model_id, notes=" ".join(kernel.notes.split()),
        variables=tuple(variables), actions=tuple(actions),
        invariants=tuple(to_sexpr(inv.expr) for inv in kernel.invariants),
        counterexamples=tuple(render_counterexample(c) for c in counterexamples[-MAX_COUNTEREXAMPLES:]),
    )


# ---------------------------------------------------------------- rendering
def _operators(productions: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """Operators that occur in the rules, in first-seen order."""
    import re
    seen: dict[str, None] = {}
    for _, rules in productions:
        for rule in rules:
            for op in re.findall(r"\(\s*([^\s()]+)", rule):
                if op in OP_MEANING:
                    seen.setdefault(op, None)
    return list(seen)


def render_task(task: Task, mode: str = "term", list_size: int = 5) -> str:
    """The user message for a task (real or example)."""
    out: list[str] = []
    if task.kernel_id:
        out.append(f"Kernel `{task.kernel_id}`.")
    if task.variables:
        out.append("Variables:\n" + "\n".join(f"  {v}" for v in task.variables))
    if task.actions:
        out.append("\n".join(task.actions))
    if task.invariants:
        out.append("Invariants (hold before and after every action):\n"
                   + "\n".join(f"  {i}" for i in task.invariants))
    where = ", ".join(task.places)
    hole = f"Hole `{task.hole_id}` ({task.hole_type}), used in {where}."
    if task.constraints:
        hole += "\nConstraints on result (the hole's value): " + "; ".join(task.constraints)
    out.append(hole)
    ops = _operators(task.productions)
    grammar = f"Grammar (start {task.grammar_start}):\n" + "\n".join(
        f"  {line}" for line in render_productions(task.productions, task.grammar_start))
    if ops:
        grammar += "\nOperators: " + "; ".join(f"`{op}` {OP_MEANING[op]}" for op in ops)
    out.append(grammar)
    # The notes, which often state the intent, go last, next to the question:
    # small models follow what they read last (measured: slightly more hits).
    if task.notes:
        out.append(f"Intent (from the kernel's notes): {task.notes}")
    if task.counterexamples:
        out.append("These candidates were wrong; do not repeat them:\n"
                   + "\n".join(f"  {c}" for c in task.counterexamples))
    template = ANSWER_TERM if mode == "term" else ANSWER_LIST
    out.append(template.format(hole=task.hole_id, k=list_size))
    return "\n\n".join(out)


def build_prompt_for_task(task: Task, mode: str = "term", examples: Sequence[Task] = EXAMPLES,
                          list_size: int = 5, spec_name: str = "") -> Prompt:
    if mode not in MODES:
        raise ValueError(f"prompt mode must be one of {MODES}, got {mode!r}")
    messages = [Message("system", SYSTEM)]
    for ex in examples:
        messages.append(Message("user", render_task(ex, mode, list_size)))
        messages.append(Message("assistant", ex.answer))
    messages.append(Message("user", render_task(task, mode, list_size)))
    return Prompt(tuple(messages), mode=mode, hole_id=task.hole_id, spec_name=spec_name)


def build_prompt(spec: Spec, hole_id: str, *, mode: str = "term",
                 counterexamples: Sequence[Mapping[str, Any]] = (),
                 examples: bool = True, list_size: int = 5) -> Prompt:
    """The prompt asking for the term of `hole_id` of `spec`.

    mode "term": one term per sample (constrained decoding enforces the grammar);
    mode "list": several candidate terms per sample, one per line (unconstrained).
    `counterexamples`: dicts describing earlier failed candidates (keys such as
    term, reason, inputs, got, expected; any others are shown as key=value).
    """
    task = task_from_spec(spec, hole_id, counterexamples)
    return build_prompt_for_task(task, mode, EXAMPLES if examples else (), list_size, spec.name)
