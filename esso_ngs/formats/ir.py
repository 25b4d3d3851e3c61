"""Expressions back to kernel IR: writing a kernel with a hole filled in.

`expr_to_ir` is the inverse of the kernel loader's expression parser;
`fill_kernel_raw` edits a kernel's raw YAML data so the result is a real
`esso-ir/v1` file that ESSO itself can read.
"""
from __future__ import annotations

import copy
from typing import Any, Iterable, Mapping

import yaml

from ..lang.expr import BoolLit, Const, EnumLit, Expr, Hole, Ite, Op, Path, Var

# Synth-grammar operators that the IR spells differently: ESSO's `div`/`mod`
# already give 0 on a zero divisor, so they are the same functions.
IR_OP_NAMES = {"safe_div": "div", "safe_mod": "mod"}


def expr_to_ir(e: Expr, param_names: Iterable[str] = ()) -> dict[str, Any]:
    """An expression as IR data; names in `param_names` become `{param: ...}`."""
    params = frozenset(param_names)

    def go(n: Expr) -> dict[str, Any]:
        if isinstance(n, Const):
            return {"const": n.value}
        if isinstance(n, BoolLit):
            return {"bool": n.value}
        if isinstance(n, EnumLit):
            return {"enum": n.symbol}
        if isinstance(n, Var):
            return {"param": n.name} if n.name in params else {"var": n.name}
        if isinstance(n, Hole):
            return {"hole": n.hole_id}
        if isinstance(n, Ite):
            return {"op": "ite", "cond": go(n.cond), "then": go(n.then), "else": go(n.else_)}
        if isinstance(n, Op):
            return {"op": IR_OP_NAMES.get(n.op, n.op), "args": [go(a) for a in n.args]}
        raise TypeError(f"not an expression: {n!r}")

    return go(e)


def _find_action(raw: Mapping[str, Any], action: str) -> dict[str, Any]:
    for a in raw.get("actions") or []:
        if isinstance(a, dict) and (a.get("id") == action or ("id" not in a and a.get("name") == action)):
            return a
    raise KeyError(f"no action {action!r} in the kernel")


def _param_names(a: Mapping[str, Any]) -> list[str]:
    out = []
    for p in a.get("params") or []:
        if isinstance(p, dict):
            name = p.get("id", p.get("name"))
            if isinstance(name, str):
                out.append(name)
    return out


def _field_slot(a: dict[str, Any], field: str) -> tuple[Any, Any]:
    """(container, key) holding the field's expression: effects first, as the loader."""
    effects = a.get("effects")
    if isinstance(effects, dict) and field in effects:
        return effects, field
    if isinstance(effects, list):
        for entry in effects:
            if isinstance(entry, dict) and field in (entry.get("id"), entry.get("name"), entry.get("effect")):
                return entry, "expr"
    updates = a.get("updates")
    if isinstance(updates, dict) and field in updates:
        return updates, field
    if isinstance(updates, list):
        for entry in updates:
            if isinstance(entry, dict) and entry.get("var", entry.get("id")) == field:
                return entry, "expr"
    raise KeyError(f"action {a.get('id')!r} has no effect or update {field!r}")


def _child_slot(node: Any, index: int) -> tuple[Any, Any]:
    """(container, key) of the `index`-th child of an IR node (as `expr.children`)."""
    if not isinstance(node, dict) or "op" not in node:
        raise KeyError("path goes below a leaf")
    if node["op"] == "ite" and not ("args" in node and "cond" not in node):
        return node, ("cond", "then", "else")[index]
    return node["args"], index


def fill_kernel_raw(raw: Mapping[str, Any], action: str, field: str, path: Path | None,
                    term: Expr) -> dict[str, Any]:
    """A deep copy of `raw` with the site (`path` in the field's expression) replaced.

    `path` None is an unknown site: nothing can be written there (KeyError).
    """
    if path is None:
        raise KeyError(f"the site of the hole in {action}.{field} is unknown")
    out = copy.deepcopy(dict(raw))
    a = _find_action(out, action)
    field_container, field_key = _field_slot(a, field)
    container, key = field_container, field_key
    for index in path:
        container, key = _child_slot(container[key], index)
    ir = expr_to_ir(term, _param_names(a))
    site = container[key]
    if isinstance(site, dict) and isinstance(site.get("hole"), str) and "op" not in site:
        # Rule 1: the same hole may stand several times in the field; fill each.
        field_container[field_key] = _replace_hole_nodes(field_container[field_key], site["hole"], ir)
    else:
        container[key] = ir
    return out


def _replace_hole_nodes(node: Any, hole_id: str, ir: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if node.get("hole") == hole_id and "op" not in node:
            return copy.deepcopy(ir)
        return {k: _replace_hole_nodes(v, hole_id, ir) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_hole_nodes(v, hole_id, ir) for v in node]
    return node


def fill_holes_raw(raw: Mapping[str, Any], places: Iterable[tuple[str, str, Path | None]],
                   term: Expr) -> dict[str, Any]:
    """`fill_kernel_raw` at several places (the `used_in` sites of one hole); unknown sites skipped."""
    out = dict(raw)
    for action, field, path in places:
        if path is not None:
            out = fill_kernel_raw(out, action, field, path, term)
    return out


def dump_kernel_yaml(raw: Mapping[str, Any]) -> str:
    """YAML text of kernel data, keys in file order (comments are not kept)."""
    return yaml.safe_dump(dict(raw), sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
