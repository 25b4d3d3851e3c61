"""Hints file round trip and refusal, two-stage escalation, model configs, rounds, the extension protocol."""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from esso_ngs.errors import UserError
from esso_ngs.neural.backend import BackendStats, Prompt, Sample, SampleSettings
from esso_ngs.pipeline import two_stage
from esso_ngs.pipeline.extension import (ENTRY_POINT_NAME, HintsExtension, NeuralHintsExtension, RankedTerms,
                                         load_extension)
from esso_ngs.pipeline.hintsfile import hints_data, ranked_hints, write_ranked_hints
from esso_ngs.pipeline.host import hints_via_extension
from esso_ngs.pipeline.options import add_model_options, plan_from_args
from esso_ngs.verify.tiers import ValidationSettings
from esso_ngs.pipeline.two_stage import (GenerateOptions, ModelChoice, ModelPlan, generate_ranked,
                                         plan_from_config)
from esso_ngs.formats import load_hints, load_spec

from .helpers import INTENDED, WRONG, replay_file, spec_file

FEE = INTENDED["fee_bps"]["fee_expr"]
CHEAP = GenerateOptions(validation=ValidationSettings(tier="examples", example_inputs=3000), cache=None)


def _plan(tmp_path: Path, small: dict, large: dict | None = None) -> ModelPlan:
    s = ModelChoice("replay", str(replay_file(tmp_path / "small.json", small)), samples=20)
    lg = ModelChoice("replay", str(replay_file(tmp_path / "large.json", large)), samples=20) if large else None
    return ModelPlan(s, lg)


def test_hints_file_round_trips(tmp_path: Path) -> None:
    spec = load_spec(spec_file("fee_bps"))
    plan = _plan(tmp_path, {"fee_expr": [("(safe_div (* amount fee_bps) 100)", 3), ("(+ amount 1)", 5), FEE]})
    rankings = generate_ranked(spec, plan, CHEAP)
    path = write_ranked_hints(tmp_path / "fee.hints.json", spec, rankings, {"tool": "test"})
    loaded = load_hints(path, spec)
    [hole] = loaded.holes
    assert (hole.hole_id, hole.term, hole.rank, hole.source) == ("fee_expr", FEE, 0, rankings["fee_expr"].best.source)
    # the ranked list, in-grammar terms only (the off-grammar one stays in the run's results)
    ranked = [c.term for c in rankings["fee_expr"].candidates]
    assert ranked[-1] == "(+ amount 1)"
    assert [c.term for c in hole.candidates] == ranked[:-1]
    assert hole.candidates[0].extra["tiers"]["examples"]["passed"] is True
    assert hole.candidates[0].extra["stage"] == "single"
    assert [h.term for h in ranked_hints(path, spec)["fee_expr"]] == [c.term for c in hole.candidates]
    # writing what was read gives the same data
    assert json.loads(path.read_text()) == hints_data(spec, rankings, {"tool": "test"})
    raw = json.loads(path.read_text())
    assert set(raw) >= {"schema", "model_hash", "synth_hash", "holes"} and isinstance(raw["holes"], dict)


def test_tampered_hints_file_is_refused(tmp_path: Path) -> None:
    spec = load_spec(spec_file("fee_bps"))
    rankings = generate_ranked(spec, _plan(tmp_path, {"fee_expr": [FEE]}), CHEAP)
    path = write_ranked_hints(tmp_path / "h.json", spec, rankings)
    data = json.loads(path.read_text())
    data["synth_hash"] = "sha256:" + "0" * 64
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match="another version"):
        ranked_hints(path, spec)
    # and hints for an unchanged file, after the kernel changed, are refused too
    for f in spec_file("fee_bps").parent.glob("fee_bps_*"):
        shutil.copy(f, tmp_path / f.name)
    copy = load_spec(tmp_path / "fee_bps_hole.yaml")
    good = write_ranked_hints(tmp_path / "good.json", copy, rankings)
    kernel = tmp_path / "fee_bps_hole.yaml"
    kernel.write_text(kernel.read_text().replace("max: 10000", "max: 9999", 1))
    with pytest.raises(UserError, match="another version of fee_bps_hole.yaml"):
        ranked_hints(good, load_spec(kernel))


def test_two_stage_escalates_only_holes_without_a_passing_candidate(tmp_path: Path) -> None:
    spec = load_spec(spec_file("fee_bps"))
    wrong = WRONG["fee_bps"]["fee_expr"]
    rankings = generate_ranked(spec, _plan(tmp_path, {"fee_expr": wrong}, {"fee_expr": [FEE]}), CHEAP)
    r = rankings["fee_expr"]
    assert [s.stage for s in r.stages] == ["small", "large"] and r.escalated
    assert r.best.term == FEE and r.best.stage == "large" and r.best.source.startswith("replay:large")
    # the small model gets it right: the large one is never asked (its file lacks the hole: it would fail)
    rankings = generate_ranked(spec, _plan(tmp_path, {"fee_expr": [FEE]}, {"other": ["x"]}), CHEAP)
    assert [s.stage for s in rankings["fee_expr"].stages] == ["small"]
    assert rankings["fee_expr"].best.stage == "small"


def test_model_config_files(tmp_path: Path) -> None:
    toml = tmp_path / "models.toml"
    toml.write_text('[small]\nbackend = "replay"\nmodel = "a.json"\nsamples = 7\n'
                    '[large]\nbackend = "openai"\nmodel = "big"\nbase_url = "http://x/v1"\n')
    plan = plan_from_config(toml)
    assert plan.two_stage and plan.small.samples == 7 and plan.large.backend == "openai"
    assert plan.large.samples == 7  # the large stage inherits the small one's settings
    assert dict(plan.large.options) == {"base_url": "http://x/v1"}
    js = tmp_path / "models.json"
    js.write_text(json.dumps({"small": {"backend": "mlx", "model": "m", "temperature": 0.5}}))
    plan = plan_from_config(js)
    assert not plan.two_stage and plan.small.temperature == 0.5
    for bad, msg in (({"small": {"model": "m", "samples": "many"}}, "samples: expected int"),
                     ({"small": {"model": "m", "colour": 1}}, "unknown key"),
                     ({"large": {"model": "m"}}, "no `small`"),
                     ({"small": {"backend": "mlx"}}, "model: missing")):
        js.write_text(json.dumps(bad))
        with pytest.raises(UserError, match=msg):
            plan_from_config(js)
    js.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        plan_from_config(js)


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_model_options(p)
    return p.parse_args(list(argv))


def test_model_options() -> None:
    assert plan_from_args(_args("--model", "m")).small.model == "m"
    with pytest.raises(UserError, match="no model"):
        plan_from_args(_args())
    with pytest.raises(UserError, match="--two-stage needs --large-model"):
        plan_from_args(_args("--model", "m", "--two-stage"))
    with pytest.raises(UserError, match="only used with --two-stage"):
        plan_from_args(_args("--model", "m", "--large-model", "L"))
    plan = plan_from_args(_args("--model", "m", "--two-stage", "--large-model", "L", "--large-backend", "openai"))
    assert plan.large.backend == "openai" and plan.small.backend == "auto"
    with pytest.raises(UserError, match="--samples"):
        plan_from_args(_args("--model", "m", "--samples", "-1"))


class _Recorder:
    """A backend double that records prompts and answers from a script, round by round."""

    name = "fake"
    model_id = "fake"
    supports_constraints = False

    def __init__(self, answers: list[list[str]]) -> None:
        self.answers = answers
        self.prompts: list[Prompt] = []
        self.stats = BackendStats()

    def model_hash(self) -> str:
        return "fake"

    def sample(self, prompt: Prompt, settings: SampleSettings, constraint_text: str | None) -> list[Sample]:
        self.prompts.append(prompt)
        texts = self.answers[min(len(self.prompts), len(self.answers)) - 1]
        return [Sample(text=t) for t in texts]


def test_rounds_feed_counterexamples_back(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec(spec_file("fee_bps"))
    fake = _Recorder([["(safe_div (* amount fee_bps) 100)", "amount"], [FEE]])
    monkeypatch.setitem(two_stage._BACKENDS, ("fake", "m", ()), fake)
    ext = NeuralHintsExtension()
    ext.configure_plan(ModelPlan(ModelChoice("fake", "m", samples=2)), CHEAP, rounds=3)
    host = hints_via_extension(ext, spec, rounds=3)
    assert host.rounds == {"fee_expr": 2} and len(fake.prompts) == 2
    first, second = (p.messages[-1].content for p in fake.prompts)
    assert "were wrong" not in first
    assert "were wrong" in second and "(safe_div (* amount fee_bps) 100)" in second and "amount=" in second
    # round 2's ranking keeps round 1's candidates, the passing one first
    assert [h.term for h in host.hints["fee_expr"]][0] == FEE
    assert {c.round for c in host.rankings["fee_expr"].candidates} == {1, 2}


def test_extension_protocol_and_argument_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ext = load_extension()
    assert isinstance(ext, HintsExtension) and ext.name == ENTRY_POINT_NAME
    p = argparse.ArgumentParser()
    p.add_argument("--model")  # a host option of the same name: ours becomes --nh-model
    ext.register_options(p)
    src = replay_file(tmp_path / "r.json", {"fee_expr": [FEE, "amount"]})
    args = p.parse_args(["--neural-hints", "--nh-model", str(src), "--backend", "replay"])
    fresh = NeuralHintsExtension()
    assert fresh.configure(args) is True
    assert fresh.configure(p.parse_args([])) is False
    fresh.configure(args)
    spec = load_spec(spec_file("fee_bps"))
    kernel_path = spec_file("fee_bps")
    synth_path = kernel_path.with_name("fee_bps_hole.synth.json")
    forms = [("fee_expr", spec.kernel, spec.synth),
             ({"hole_id": "fee_expr"}, str(kernel_path), str(synth_path)),
             (spec.synth.holes[0], spec.kernel, json.loads(synth_path.read_text())),
             ("fee_expr", spec, None)]  # a host holding a Spec hands it over as it is
    for hole, kernel, synth in forms:
        terms = fresh.hints_for(hole, kernel, synth, [])
        assert isinstance(terms, RankedTerms) and list(terms)[0] == FEE and terms.passing
    with pytest.raises(UserError, match="no hole 'nope'"):
        fresh.hints_for("nope", spec.kernel, spec.synth, [])
    with pytest.raises(UserError, match="not configured"):
        NeuralHintsExtension().hints_for("fee_expr", spec.kernel, spec.synth, [])


def test_extension_is_loaded_through_its_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    from esso_ngs.pipeline import extension as ext_mod

    ep = metadata.EntryPoint(name=ENTRY_POINT_NAME, value=ext_mod.OBJECT_PATH, group=ext_mod.ENTRY_POINT_GROUP)
    calls = []

    def fake_entry_points(group: str | None = None):
        calls.append(group)
        return [ep] if group == ext_mod.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(ext_mod.metadata, "entry_points", fake_entry_points)
    assert load_extension() is ext_mod.extension and calls == [ext_mod.ENTRY_POINT_GROUP]
    # when the package metadata declares it, it names this very object
    monkeypatch.undo()
    declared = [e for e in metadata.entry_points(group=ext_mod.ENTRY_POINT_GROUP) if e.name == ENTRY_POINT_NAME]
    for e in declared:
        assert e.value == ext_mod.OBJECT_PATH
