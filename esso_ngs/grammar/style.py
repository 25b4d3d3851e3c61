"""Style-profile metrics of a term: size, ite nesting, branches and cost.

cost = branch * #ite + nesting * ite-depth + ast_node * #nodes (ESSO_FORMATS.md),
the quantity `MINIMIZE_COST` minimizes after a term satisfies its constraints.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..lang.expr import Expr, Ite, children
from ..formats.model import Penalties, StyleProfile
from ..wording import plural


@dataclass(frozen=True)
class StyleMetrics:
    nodes: int
    nesting: int  # ite depth
    branches: int  # number of ite
    cost: int
    violations: tuple[str, ...]  # e.g. "12 nodes > max_ast_nodes 8"

    @property
    def fits(self) -> bool:
        return not self.violations

    def describe(self) -> str:
        base = (f"{plural(self.nodes, 'node')}, ite depth {self.nesting}, "
                f"{plural(self.branches, 'branch', 'branches')}, cost {self.cost}")
        return base + (f"; over the style profile: {'; '.join(self.violations)}" if self.violations else "")


def _measure(e: Expr) -> tuple[int, int, int]:
    """(nodes, ite count, ite depth) in one walk: style is computed for every
    checked or enumerated term, so one pass instead of three."""
    kids = children(e)
    nodes, ites, depth = 1, 0, 0
    for k in kids:
        n, i, d = _measure(k)
        nodes += n
        ites += i
        depth = max(depth, d)
    if isinstance(e, Ite):
        ites += 1
        depth += 1
    return nodes, ites, depth


def style_cost(penalties: Penalties, nodes: int, branches: int, nesting: int) -> int:
    """The style profile's cost of a term of this size, `ite` count and `ite` depth."""
    return penalties.branch * branches + penalties.nesting * nesting + penalties.ast_node * nodes


def style_metrics(e: Expr, profile: StyleProfile) -> StyleMetrics:
    nodes, branches, nesting = _measure(e)
    cost = style_cost(profile.penalties, nodes, branches, nesting)
    violations: list[str] = []
    if profile.max_ast_nodes is not None and nodes > profile.max_ast_nodes:
        violations.append(f"{nodes} nodes > max_ast_nodes {profile.max_ast_nodes}")
    if profile.max_nesting is not None and nesting > profile.max_nesting:
        violations.append(f"ite depth {nesting} > max_nesting {profile.max_nesting}")
    if profile.max_branches is not None and branches > profile.max_branches:
        violations.append(f"{branches} branches > max_branches {profile.max_branches}")
    return StyleMetrics(nodes, nesting, branches, cost, tuple(violations))
