"""Decision trees over conditions, unifying per-point solutions (EUSolver's scheme):
every point goes under a leaf that is right there, splitting on the condition of
highest information gain. Used by divide and conquer (`unify.py`) and by the
single-invocation solver (`single.py`)."""
from __future__ import annotations

import numpy as np

from ..lang.expr import Expr, Ite


def decision_tree(C: np.ndarray, P: np.ndarray, leaves: list[Expr], conds: list[Expr],
                  leaf_size: np.ndarray, cond_size: np.ndarray) -> Expr | None:
    """A tree over `conds` putting every point under a leaf that is right there.

    C: leaves x points (right or not); P: conditions x points (truth values).
    Each split takes the condition of highest information gain, where a point's
    label is spread evenly over the leaves right at it (EUSolver's heuristic);
    ties go to the smaller condition. A set of points one leaf covers becomes
    that leaf (the smallest such)."""
    n = C.shape[1]
    w = C / np.maximum(C.sum(axis=0), 1)

    def build(S: np.ndarray, depth: int) -> Expr | None:
        full = C[:, S].all(axis=1)
        if full.any():
            idx = np.flatnonzero(full)
            return leaves[int(idx[np.argmin(leaf_size[idx])])]
        if depth > 64 or P.shape[0] == 0:
            return None
        size = int(S.sum())
        Ps = P[:, S]
        n1 = Ps.sum(axis=1)
        valid = (n1 > 0) & (n1 < size)
        if not valid.any():
            return None
        ws = w[:, S]
        p1 = ws @ Ps.T.astype(float)  # leaves x conditions
        p2 = ws.sum(axis=1)[:, None] - p1

        def ent(p: np.ndarray) -> np.ndarray:
            tot = p.sum(axis=0)
            q = np.where(tot > 0, p / np.maximum(tot, 1e-12), 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                return -np.nansum(np.where(q > 0, q * np.log2(q), 0.0), axis=0)

        score = (n1 * ent(p1) + (size - n1) * ent(p2)) / size
        score = np.where(valid, score + 1e-6 * cond_size, np.inf)
        p = int(np.argmin(score))
        left = build(S & P[p], depth + 1)
        if left is None:
            return None
        right = build(S & ~P[p], depth + 1)
        if right is None:
            return None
        if left == right:
            return left
        return Ite(conds[p], left, right)

    return build(np.ones(n, dtype=bool), 0)
