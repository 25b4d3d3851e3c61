"""The intent stated in a kernel's notes (ESSO_FORMATS "Intent stated in the notes").

`meta.notes` and `# HOLE:` comments often state the intended formula in infix
("Synthesize: accumulated = accumulated + fee_amount", "# HOLE: (input * reserve_out)
/ (reserve_in + input)"), `/` being floor division. This module finds such formulas
(the constraint language of `lang/infix.py`), resolves their names against the hole's
variables, type-checks them, and quietly skips prose. A slightly different name is
accepted only when it is unambiguous: `input` stands for `input_amount` when exactly
one of the hole's variables starts with `input_` (or ends with `_input`).

Uses: ranked first among the hints; after synthesis, an answer that is not
equivalent to the formula on the domain gets a warning with a witness input; and
`with_intent(spec)` makes the formula an obligation (kind `intent`), like a reference.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Mapping

from ..lang.evaluate import EvalError, Value, evaluate
from ..lang.expr import Const, Expr, Ite, Op, Var, fill_holes, free_vars, node_count, substitute, transform
from ..lang.infix import InfixSyntaxError, parse_infix, to_infix
from ..lang.sexpr import to_sexpr
from ..formats.model import Spec
from ..formats.sorts import BOOL, INT, SortError, enum_symbol_sorts, infer, sort_of_type
from .domain import Domain, simpler_input
from .obligations import Obligation, obligations_for
from .verifier import VerifyOptions, verify_terms

SOURCE = "notes"  # the hint source tag of stated formulas

_TOKEN = re.compile(r"\s*(?:(?P<word>[A-Za-z_]\w*)|(?P<num>\d+)|(?P<op>==|!=|<=|>=|&&|\|\||=>|[-+*/%<>=!(),]))")
# Characters that end a formula: sentence punctuation and anything outside the language.
_SPLIT = re.compile(r"[^\w\s+\-*/%<>=!&|(),]|\.(?=\s|$)")
_ATOMS = ("word", "num")
_MAX_TOKENS = 80  # a stated formula is short; longer spans are not tried (bounds the work on long notes)


@dataclass(frozen=True, slots=True)
class StatedIntent:
    hole_id: str
    formula: Expr  # over the hole's variables
    text: str  # as written (the right-hand side of a `name = ...` form)
    origin: str  # "meta.notes" or "# HOLE comment at action.field"

    @property
    def infix(self) -> str:
        return to_infix(self.formula)


def stated_intents(spec: Spec, hole_id: str) -> list[StatedIntent]:
    """Distinct formulas for the hole: its `# HOLE:` comments first, then the notes."""
    hole = spec.hole(hole_id)
    names = hole_names(spec, hole_id)
    sorts = _name_sorts(spec, hole_id)
    want = BOOL if hole.type == "Bool" else INT
    taken = frozenset({hole_id, *(p.field for p in hole.used_in),
                       *(n for a in spec.kernel.actions for n, _ in (*a.effects, *a.updates))})
    texts: list[tuple[str, str]] = []
    for site in spec.sites_of(hole_id):  # only the comment on the hole's own site
        place = site.place
        paths = spec.kernel.hole_comment_paths(place.action, place.field)
        for path, comment in zip(paths, spec.kernel.hole_comment_texts(place.action, place.field)):
            if path == site.path:
                body = re.sub(r"^\s*HOLE\b\s*:?\s*(?:" + re.escape(hole_id) + r"\b\s*:?)?", "", comment)
                texts.append((body, f"# HOLE comment at {place.action}.{place.field}"))
    texts.append((spec.kernel.notes or "", "meta.notes"))
    out: list[StatedIntent] = []
    for text, origin in texts:
        for raw, formula in _formulas(text):
            resolved = _resolve(formula, names, taken, want)
            if resolved is None:
                continue
            try:
                if infer(resolved, sorts, enum_symbol_sorts([t for _, t in spec.kernel.types])) != want:
                    continue
            except SortError:
                continue
            if all(i.formula != resolved for i in out):
                written = re.match(r"^\s*[A-Za-z_]\w*\s*=(?!=)\s*(.*)$", raw, re.S)
                out.append(StatedIntent(hole_id, resolved, (written[1] if written else raw).strip(), origin))
    return out


def _formulas(text: str) -> list[tuple[str, Expr]]:
    """Every maximal span of `text` that parses as a formula, left to right."""
    text = text.replace("`", " ").replace('"', " ").replace("'", " ")
    out: list[tuple[str, Expr]] = []
    for segment in _SPLIT.split(text):
        tokens = _tokens(segment)
        i = 0
        while i < len(tokens):
            found = _longest_from(segment, tokens, i)
            if found is None:
                i += 1
                continue
            j, raw, expr = found
            out.append((raw, expr))
            i = j
    return out


def _tokens(segment: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) per token; unknown characters end the list."""
    out: list[tuple[str, int, int]] = []
    pos = 0
    while pos < len(segment):
        m = _TOKEN.match(segment, pos)
        if m is None or m.end() == pos:
            break
        kind = m.lastgroup or "op"
        out.append((kind, m.start(kind), m.end()))
        pos = m.end()
    return out


def _longest_from(segment: str, tokens: list[tuple[str, int, int]], i: int
                  ) -> tuple[int, str, Expr] | None:
    """The longest formula starting at token i: (next token index, text, expr)."""
    if tokens[i][0] not in _ATOMS and segment[tokens[i][1]:tokens[i][2]] not in ("(", "-", "!"):
        return None
    ends: list[int] = []
    depth = 0
    for j in range(i, min(len(tokens), i + _MAX_TOKENS)):
        kind, start, end = tokens[j]
        tok = segment[start:end]
        if j > i and kind in _ATOMS and tokens[j - 1][0] in _ATOMS:
            break  # two words in a row: prose
        depth += {"(": 1, ")": -1}.get(tok, 0)
        if depth < 0 or (tok == "," and depth == 0):
            break
        if depth == 0 and (kind in _ATOMS or tok == ")") and j + 1 - i >= 3:  # `a op b` at least
            ends.append(j + 1)
    for j in reversed(ends):
        raw = segment[tokens[i][1]:tokens[j - 1][2]]
        try:
            return j, raw, parse_infix(raw)
        except InfixSyntaxError:
            continue
    return None


def _resolve(formula: Expr, names: tuple[str, ...], taken: frozenset[str], want: str) -> Expr | None:
    """The formula over the hole's names, or None (prose, unknown names, no operator).
    `x = e` with `x` a name (the field, the hole, a state var) states `e`. A near name
    is never resolved when it also names part of something else (`taken`: the hole,
    fields, effects): `fee` in `net = amount - fee` is the fee, not `fee_bps`."""
    if want == INT and isinstance(formula, Op) and formula.op == "=" and isinstance(formula.args[0], Var):
        formula = formula.args[1]
    if node_count(formula) < 3 or not free_vars(formula):
        return None  # a bare name or a negated one: too little to be a statement of intent
    mapping: dict[str, Expr] = {}
    for name in sorted(free_vars(formula)):
        if name in names:
            continue
        near = [n for n in names if n.startswith(name + "_") or n.endswith("_" + name)]
        if len(near) != 1 or any(_part_of(name, other) for other in taken):
            return None
        mapping[name] = Var(near[0])
    return substitute(formula, mapping) if mapping else formula


def _part_of(name: str, other: str) -> bool:
    return other == name or other.startswith(name + "_") or other.endswith("_" + name)


def hole_names(spec: Spec, hole_id: str) -> tuple[str, ...]:
    """Names the hole's term may read at every place where it stands."""
    common: list[str] | None = None
    for place in spec.hole(hole_id).used_in:
        action = spec.kernel.action(place.action)
        if action is None:
            continue
        here = Domain.of(spec.kernel, action).names
        common = list(here) if common is None else [n for n in common if n in here]
    return tuple(common or ())


def _name_sorts(spec: Spec, hole_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for place in spec.hole(hole_id).used_in:
        action = spec.kernel.action(place.action)
        if action is not None:
            d = Domain.of(spec.kernel, action)
            out.update({n: sort_of_type(t) for n, t in zip(d.names, d.types)})
    return out


# ------------------------------------------------------------------ uses
def intent_hint_terms(spec: Spec, hole_id: str) -> list[str]:
    """The stated formulas as S-expression terms written with the grammar's operators
    (`div` as `safe_div`, `min`/`max` as `ite` when the grammar has no min/max,
    n-ary `+`/`*` as binary applications), best first."""
    return [to_sexpr(in_grammar_ops(spec, hole_id, i.formula)) for i in stated_intents(spec, hole_id)]


def in_grammar_ops(spec: Spec, hole_id: str, e: Expr) -> Expr:
    """`e` written with the operators of the hole's grammar: `div`/`mod` as
    `safe_div`/`safe_mod`, `min`/`max` as `ite` (each only where the grammar lacks the
    operator), n-ary `+`/`*` as nested binary applications."""
    grammar = spec.synth.grammar(spec.hole(hole_id).grammar_id)
    rules = " ".join(r for _, rs in grammar.productions for r in rs) if grammar else ""

    def has(op: str) -> bool:
        return f"({op} " in rules

    def fix(n: Expr) -> Expr | None:
        if not isinstance(n, Op):
            return None
        op = n.op
        if op in ("div", "mod") and not has(op) and has("safe_" + op):
            return Op("safe_" + op, n.args)
        if op in ("min", "max") and not has(op) and len(n.args) >= 2:
            acc = n.args[0]
            for b in n.args[1:]:
                acc = Ite(Op("<=", (acc, b)), acc, b) if op == "min" else Ite(Op("<=", (acc, b)), b, acc)
            return acc
        if op in ("+", "*") and len(n.args) > 2:
            acc = n.args[0]
            for b in n.args[1:]:
                acc = Op(op, (acc, b))
            return acc
        return None
    return transform(e, fix)


def with_intent(spec: Spec, holes: tuple[str, ...] | None = None) -> Spec:
    """The spec with each hole's first stated formula as an equivalence obligation."""
    pairs = []
    for hole in spec.synth.holes:
        if holes is not None and hole.hole_id not in holes:
            continue
        found = stated_intents(spec, hole.hole_id)
        if found:
            pairs.append((hole.hole_id, found[0].formula))
    return dataclasses.replace(spec, intent=tuple(pairs))


def intent_check(spec: Spec, hole_id: str, term: Expr, options: VerifyOptions | None = None
                 ) -> dict[str, Any] | None:
    """When the answer differs from the stated formula on the domain: a record with the
    warning and a witness input (None when equivalent, unknown, or nothing is stated)."""
    found = stated_intents(spec, hole_id)
    if not found:
        return None
    stated = found[0]
    probe = dataclasses.replace(spec, intent=((hole_id, stated.formula),))
    verdict = verify_terms(probe, {hole_id: term}, options or VerifyOptions(timeout_ms=2000),
                           kinds=frozenset({"intent"}))
    if verdict.status != "refuted" or verdict.counterexample is None:
        return None
    cex = verdict.counterexample
    ob = next(o for o in obligations_for(probe, hole_id).obligations
              if o.kind == "intent" and f"{o.place.action}.{o.place.field}" == cex.place)
    witness = _smaller_witness(ob, {hole_id: term}, dict(cex.inputs), spec.kernel.enum_index())
    shown = free_vars(term) | free_vars(stated.formula)
    at = ", ".join(f"{k}={v}" for k, v in witness.items() if k in shown) or \
        ", ".join(f"{k}={v}" for k, v in witness.items())
    trivial = isinstance(term, (Const, Var))
    enums = spec.kernel.enum_index()
    answer = to_infix(term)
    message = (f"{'weak spec: ' if trivial else ''}answer {answer} differs from the notes' {stated.text} "
               f"at {at}: the spec admits both; add a reference or a constraint")
    return {"hole": hole_id, "message": message, "stated": stated.infix, "stated_text": stated.text,
            "origin": stated.origin, "answer": to_sexpr(term), "witness": witness,
            "answer_value": evaluate(term, witness, enums), "stated_value": evaluate(stated.formula, witness, enums),
            "weak": trivial}


def _smaller_witness(ob: Obligation, terms: dict[str, Expr], inputs: dict[str, Value],
                     enums: dict[str, int]) -> dict[str, Value]:
    """A simpler input where the obligation still fails (`fee_amount=1`, not 938799)."""
    goal = fill_holes(ob.goal, terms)

    def still(env: Mapping[str, Value]) -> bool:
        try:
            return bool(evaluate(ob.premise, env, enums)) and not evaluate(goal, env, enums)
        except EvalError:
            return False

    return simpler_input(ob.domain, inputs, still)
