"""The example set of a CEGIS run: inputs per place, and the obligations as batched checks.

A candidate is judged on examples without substituting it into every goal: each
goal has its `Hole` nodes replaced once by a column name (`?hole_id`), and the
candidate's values on the place's inputs fill that column.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..lang.batched import BatchEnv, BatchValue, batch_value, evaluate_batch
from ..lang.expr import Expr, Hole, Var, fill_holes, transform
from ..formats.model import Place, Spec
from ..verify.domain import Domain, sample_inputs
from ..verify.obligations import Obligation, obligations_for
from ..verify.verifier import Counterexample, premise_sample


def hole_column(hole_id: str) -> str:
    return f"?{hole_id}"


def holes_as_columns(e: Expr) -> Expr:
    return transform(e, lambda n: Var(hole_column(n.hole_id)) if isinstance(n, Hole) else None)


@dataclass(slots=True)
class PlaceExamples:
    place: Place
    domain: Domain
    columns: dict[str, np.ndarray]
    goals: list[tuple[Obligation, Expr]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def append(self, inputs: Mapping[str, int | bool]) -> None:
        for name in self.domain.names:
            col = self.columns[name]
            value = inputs[name]
            if col.dtype != object and isinstance(value, int) and not isinstance(value, bool) \
                    and abs(value) >= 2**62:
                col = col.astype(object)
            self.columns[name] = np.append(col, np.array([value], dtype=col.dtype))


class ExampleSet:
    """Examples for the holes in `hole_ids` (solved together), one block per place."""

    def __init__(self, spec: Spec, hole_ids: tuple[str, ...], random_examples: int = 8, seed: int = 0,
                 others: Mapping[str, Expr] | None = None):
        """`others`: terms already chosen for other holes, filled into shared obligations."""
        self.spec = spec
        self.hole_ids = hole_ids
        others = dict(others or {})
        known = set(hole_ids) | set(others)
        self.enums = spec.kernel.enum_index()
        self.places: list[PlaceExamples] = []
        by_place: dict[Place, PlaceExamples] = {}
        for hole_id in hole_ids:
            for ob in obligations_for(spec, hole_id).obligations:
                if not ob.holes <= known:
                    continue
                block = by_place.get(ob.place)
                if block is None:
                    block = PlaceExamples(ob.place, ob.domain, self._seed_inputs(ob, random_examples, seed))
                    by_place[ob.place] = block
                    self.places.append(block)
                if all(existing is not ob for existing, _ in block.goals):
                    block.goals.append((ob, holes_as_columns(fill_holes(ob.goal, others))))
        # Places where a hole stands but no obligation applies still give the hole values.
        for hole_id in hole_ids:
            for place in spec.hole(hole_id).used_in:
                if place not in by_place:
                    action = spec.kernel.action(place.action)
                    assert action is not None
                    block = PlaceExamples(place, Domain.of(spec.kernel, action), {})
                    block.columns = sample_inputs(block.domain, random_examples, seed)
                    by_place[place] = block
                    self.places.append(block)

    def _seed_inputs(self, ob: Obligation, n: int, seed: int) -> dict[str, np.ndarray]:
        """A few random inputs that satisfy the premise (the guard and invariants)."""
        kept, _ = premise_sample(ob, max(64, 16 * n), seed, self.enums)
        return {k: v[:n].copy() for k, v in kept.items()}

    @property
    def size(self) -> int:
        return sum(p.size for p in self.places)

    def snapshot(self) -> ExampleSet:
        """A copy that later `add`s leave as it is (an add replaces a place's columns,
        never changes them in place)."""
        other = copy.copy(self)
        other.places = [dataclasses.replace(p, columns=dict(p.columns)) for p in self.places]
        return other

    def add(self, cex: Counterexample) -> bool:
        """Add a counterexample's inputs to its place; False if no place matches."""
        for block in self.places:
            if f"{block.place.action}.{block.place.field}" == cex.place:
                block.append(cex.inputs)
                return True
        return False

    def env(self) -> BatchEnv:
        """All places' examples concatenated into one batch (names a place lacks are 0)."""
        names = sorted({n for p in self.places for n in p.columns})
        columns: dict[str, np.ndarray] = {}
        for name in names:
            parts = [p.columns.get(name, np.zeros(p.size, dtype=np.int64)) for p in self.places]
            dtype = object if any(a.dtype == object for a in parts) else None
            columns[name] = np.concatenate([a.astype(object) if dtype else a for a in parts])
        return BatchEnv(columns, self.enums, self.size)

    def passes(self, values: Mapping[str, np.ndarray]) -> bool:
        """Whether hole values (per hole, on the concatenated examples) satisfy every
        goal on every example."""
        offset = 0
        for block in self.places:
            n = block.size
            if block.goals and n:
                cols = dict(block.columns)
                for hole_id, arr in values.items():
                    cols[hole_column(hole_id)] = arr[offset:offset + n]
                env = BatchEnv(cols, self.enums, n)
                for _, goal in block.goals:
                    ok = np.asarray(evaluate_batch(goal, env), dtype=bool)
                    if not ok.all():
                        return False
            offset += n
        return True

    def passes_each(self, hole_id: str, values: BatchValue, m: int) -> np.ndarray:
        """`passes` for many candidates at once, per example: `values` holds one row of
        hole values (on the concatenated examples) per candidate; True (rows x
        examples) where every goal holds on that example. A goal reads the hole's value on its own example only, so a
        term that agrees with the row there passes there too (what repair relies on)."""
        ok = np.ones((m, self.size), dtype=np.bool_)
        data = values.data
        offset = 0
        for block in self.places:
            n = block.size
            if block.goals and n:
                env = BatchEnv(block.columns, self.enums, n)
                part = data[:, offset:offset + n]  # type: ignore[index]
                lo, hi = (None, None) if values.lo is None else (values.lo, values.hi)
                env.values[hole_column(hole_id)] = BatchValue(part, lo, hi)
                for _, goal in block.goals:
                    v = np.asarray(batch_value(goal, env).data, dtype=bool)
                    ok[:, offset:offset + n] &= v
            offset += n
        return ok
