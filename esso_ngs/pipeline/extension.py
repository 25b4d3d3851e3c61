"""The ESSO extension `neural_hints`: model-made hints for a host's enumerator, in-process.

Declared as the entry point `neural_hints` of the group `esso.extensions`; the
object is `esso_ngs.pipeline.extension:extension`. Hook protocol (a host calls,
in this order):

1. `register_options(parser)`: adds the extension's options to the host's
   argparse parser: `--neural-hints` (on/off), the model (`--model`,
   `--backend`, `--two-stage`, `--large-model`, `--models-config`), sampling
   (`--samples`, `--temp`, ...), the validation tier (`--validate`) and
   `--hint-rounds`. An option string the host already has becomes `--nh-NAME`.
2. `configure(args) -> bool`: reads the parsed options; True when
   `--neural-hints` was given, or a model (`--model`, `--models-config`), which
   implies it (the host then calls `hints_for`).
3. `hints_for(hole, kernel, synth, examples) -> list[str]`: the ranked candidate
   terms (canonical S-expressions, best first) for one hole, which the host's
   enumerator tries first and learns its weights from.
   - `hole`: a hole id, a hole object with `.hole_id`, or a synth-spec hole dict;
   - `kernel`: a path to the kernel YAML, a loaded kernel, or the parsed YAML dict
     (or a loaded `Spec`, then `synth` is ignored);
   - `synth`: a path to the synth spec JSON, a loaded synth spec, or the parsed dict;
   - `examples`: the host's failed candidates so far (dicts with `term` or
     `candidate`, and `inputs`, `reason`/`label`, `got`/`observed`, `expected`),
     shown to the model as counterexamples. Empty starts a hole afresh; non-empty
     is a further round, whose candidates are merged with the earlier rounds'.
   The returned list is a `RankedTerms`: a plain list of strings for any host,
   with `.passing` (some candidate passes the tier), `.failures()` (the failed
   candidates with their counterexamples, ready for the next round's
   `examples`) and `.ranking` (the full validated ranking) for hosts that want them.

This object is a thin adapter: it builds a Spec once from what the host hands it
(cached per kernel and synth object or file) and delegates to the pipeline
(`host.hole_ranking`). `esso-ngs synth --neural-hints` has the Spec already and calls
the pipeline directly (`host.hints_via_extension`), with the same options and rounds.
"""
from __future__ import annotations

import argparse
import json
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

import yaml

from ..errors import UserError
from ..memo import IdentityCache
from ..formats import load_kernel, load_spec, model_hash, synth_hash
from ..formats.jsonload import load_json_text
from ..formats.kernel import kernel_from_yaml
from ..formats.load import existing_reference, spec_from_parts
from ..formats.model import HoleSpec, Kernel, Spec, SynthSpec
from ..formats.synth import synth_from_json
from ..formats.yamlload import load_yaml_text
from .aggregate import HoleRanking
from .host import hole_ranking
from .options import add_model_options, generate_options_from_args, plan_from_args
from .two_stage import GenerateOptions, ModelPlan

ENTRY_POINT_GROUP = "esso.extensions"
ENTRY_POINT_NAME = "neural_hints"
OBJECT_PATH = "esso_ngs.pipeline.extension:extension"


@runtime_checkable
class HintsExtension(Protocol):
    """What an `esso.extensions` hints object offers a host."""

    name: str

    def register_options(self, parser: argparse.ArgumentParser) -> None: ...

    def configure(self, args: argparse.Namespace) -> bool: ...

    def hints_for(self, hole: Any, kernel: Any, synth: Any, examples: Sequence[Mapping[str, Any]]) -> list[str]: ...


class RankedTerms(list[str]):
    """Ranked terms, best first, carrying the ranking they came from."""

    def __init__(self, ranking: HoleRanking) -> None:
        super().__init__(c.term for c in ranking.candidates)
        self.ranking = ranking

    @property
    def passing(self) -> bool:
        return bool(self.ranking.passing())

    def failures(self) -> list[dict[str, Any]]:
        return self.ranking.failures()


class NeuralHintsExtension:
    name = ENTRY_POINT_NAME

    def __init__(self) -> None:
        self.plan: ModelPlan | None = None
        self.options = GenerateOptions()
        self.rounds = 2
        self._specs: IdentityCache[Spec] = IdentityCache(64)
        # (kernel hash, synth hash, hole) -> (latest round, its ranking): a further round merges into it.
        self._rankings: dict[tuple[str, str, str], tuple[int, HoleRanking]] = {}

    # ------------------------------------------------------------ 1. options
    def register_options(self, parser: argparse.ArgumentParser) -> None:
        taken = getattr(parser, "_option_string_actions", {})
        flag = "--neural-hints" if "--neural-hints" not in taken else "--nh-neural-hints"
        parser.add_argument(flag, dest="nh_enabled", action="store_true",
                            help="generate hints in-process with a language model and hand the ranked "
                                 "candidates to the enumerator (implied by --model or --models-config)")
        add_model_options(parser, rounds=True)

    # ------------------------------------------------------------ 2. configure
    def configure(self, args: argparse.Namespace) -> bool:
        if not hints_requested(args):
            return False
        self.plan = plan_from_args(args)
        self.options = generate_options_from_args(args)
        self.rounds = int(getattr(args, "nh_rounds", 2))
        if self.rounds < 1:
            raise UserError(f"--hint-rounds must be >= 1, got {self.rounds}")
        return True

    def configure_plan(self, plan: ModelPlan, options: GenerateOptions, rounds: int = 2) -> None:
        """For in-process hosts without argparse (the benchmark, tests)."""
        self.plan, self.options, self.rounds = plan, options, rounds

    # ------------------------------------------------------------ 3. hints
    def hints_for(self, hole: Any, kernel: Any, synth: Any,
                  examples: Sequence[Mapping[str, Any]] = ()) -> RankedTerms:
        plan = self.require_plan()
        spec = self.spec_of(kernel, synth)
        hole_id = _hole_id(hole)
        if spec.synth.hole(hole_id) is None:
            known = ", ".join(h.hole_id for h in spec.synth.holes)
            raise UserError(f"{spec.synth.path}: no hole {hole_id!r} (holes: {known})")
        key = (model_hash(spec.kernel), synth_hash(spec.synth), hole_id)
        prior_round, prior = self._rankings.get(key, (0, None)) if examples else (0, None)
        ranking = hole_ranking(spec, hole_id, plan, self.options, examples, prior, prior_round + 1)
        self._rankings[key] = (prior_round + 1, ranking)
        return RankedTerms(ranking)

    def require_plan(self) -> ModelPlan:
        if self.plan is None:
            raise UserError("neural hints are not configured: the host must call configure(args) first")
        return self.plan

    # ------------------------------------------------------------ the spec the host means
    def spec_of(self, kernel: Any, synth: Any) -> Spec:
        """A Spec from the host's kernel and synth spec (paths, loaded objects or parsed dicts)."""
        if isinstance(kernel, Spec):  # a host that has the Spec already
            return kernel
        # Files by name and modification time (a re-saved file is read again), objects by identity.
        owners = tuple(x for x in (kernel, synth) if not isinstance(x, (str, Path)))
        key = tuple(_file_identity(x) if isinstance(x, (str, Path)) else "object" for x in (kernel, synth))
        hit = self._specs.get(owners, key)
        if hit is not None:
            return hit
        return self._specs.put(owners, key, _build_spec(kernel, synth))


def hints_requested(args: argparse.Namespace) -> bool:
    """`--neural-hints`, or a model given (a model is a request for its hints: never silently ignored)."""
    return bool(getattr(args, "nh_enabled", False) or getattr(args, "nh_model", None)
                or getattr(args, "nh_config", None))


def _file_identity(obj: str | Path) -> tuple[str, int | None]:
    p = Path(obj)
    try:
        return str(p.resolve()), p.stat().st_mtime_ns
    except OSError:
        return str(p), None


def _hole_id(hole: Any) -> str:
    if isinstance(hole, str):
        return hole
    if isinstance(hole, HoleSpec) or hasattr(hole, "hole_id"):
        return str(hole.hole_id)
    if isinstance(hole, Mapping) and isinstance(hole.get("hole_id"), str):
        return hole["hole_id"]
    raise UserError(f"hints_for: cannot tell the hole from {type(hole).__name__} (give its id)")


def _build_spec(kernel: Any, synth: Any) -> Spec:
    if isinstance(kernel, (str, Path)) and (synth is None or isinstance(synth, (str, Path))):
        return load_spec(kernel)
    if isinstance(kernel, Kernel):
        k = kernel
    elif isinstance(kernel, (str, Path)):
        k = load_kernel(kernel)
    elif isinstance(kernel, Mapping):
        k = kernel_from_yaml(load_yaml_text(yaml.safe_dump(dict(kernel), sort_keys=False), "<host kernel>"))
    else:
        raise UserError(f"hints_for: cannot read a kernel from {type(kernel).__name__}")
    if isinstance(synth, SynthSpec):
        s = synth
    elif isinstance(synth, (str, Path)):
        from ..formats import load_synth
        s = load_synth(synth, k)
    elif isinstance(synth, Mapping):
        s = synth_from_json(load_json_text(json.dumps(dict(synth)), "<host synth spec>"), k)
    else:
        raise UserError(f"hints_for: cannot read a synth spec from {type(synth).__name__}")
    return spec_from_parts(k, s, existing_reference(k.path))


def load_extension() -> HintsExtension:
    """The installed `esso.extensions:neural_hints` object, or this module's when the
    package is not installed with its entry points (a source checkout)."""
    try:
        found = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == ENTRY_POINT_NAME]
    except Exception:  # broken metadata of some other distribution must not stop us
        found = []
    for ep in found:
        obj = ep.load()
        if isinstance(obj, HintsExtension):
            return obj
    return extension


extension = NeuralHintsExtension()
