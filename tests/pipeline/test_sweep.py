"""`batch --sweep FILE.toml`: one run directory per configuration; `report` compares them."""
from __future__ import annotations

import json
from pathlib import Path

from esso_ngs.cli.main import main

from .batch_helpers import replay_for, spec_folder
from .helpers import INTENDED, WRONG, replay_file

TWO = ("credit_single", "fee_bps")


def _sweep_file(tmp_path: Path, replay: Path, body: str = "") -> Path:
    """By default two models: `replay` (a wrong term first, where the suite has one) and one
    replaying only the intended terms."""
    exact = replay_file(tmp_path / "exact.json", {h: [t] for p in TWO for h, t in INTENDED[p].items()})
    path = tmp_path / "sweep.toml"
    path.write_text(body or f'models = ["replay:{replay}", {{backend = "replay", model = "{exact}"}}]\n'
                            'samples = [1, 3]\ntiers = ["cheap"]\n')
    return path


def test_sweep_runs_every_configuration_and_report_compares_them(tmp_path: Path, capsys) -> None:
    specs, replay = spec_folder(tmp_path, TWO), replay_for(tmp_path, TWO)
    out = tmp_path / "sweep"
    argv = ["batch", str(specs), "--sweep", str(_sweep_file(tmp_path, replay)), "--output", str(out),
            "--model", "ignored-by-the-sweep", "--example-inputs", "2000"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.count("2 specs done (2 now, 0 earlier)") == 4 and "4 configurations" in printed
    sweep = json.loads((out / "sweep.json").read_text())
    labels = [c["label"] for c in sweep["configurations"]]
    assert labels == ["01-replay-replay.json-n1-cheap-seed0", "02-replay-replay.json-n3-cheap-seed0",
                      "03-replay-exact.json-n1-cheap-seed0", "04-replay-exact.json-n3-cheap-seed0"]
    for label, samples in zip(labels, (1, 3, 1, 3)):
        settings = json.loads((out / label / "run.json").read_text())["settings"]
        assert settings["models"]["small"]["samples"] == samples and settings["tier"] == "cheap"
        assert (out / label / "fee_bps.result.json").is_file() and (out / label / "summary.json").is_file()

    assert main(argv) == 0  # resumes: nothing left in any configuration
    assert capsys.readouterr().out.count("2 specs done (0 now, 2 earlier)") == 4

    assert main(["report", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(c["label"], c["samples"], c["tier"], c["done"]) for c in data["configurations"]] == \
        [(label, n, "cheap", 2) for label, n in zip(labels, (1, 3, 1, 3))]
    assert [(r["spec"], r["hole"]) for r in data["rows"]] == [("credit_single", "credit_expr"), ("fee_bps", "fee_expr")]
    for r in data["rows"]:
        intended, wrong = INTENDED[r["spec"]][r["hole"]], WRONG[r["spec"]][r["hole"]][:1]
        # one sample of `replay` gives its wrong term (fee_bps has one); three also the intended one
        # (twice: it ranks first); `exact` gives the intended term only
        first = wrong[0] if wrong else intended
        assert [r["runs"][label]["best"] for label in labels] == [first, intended, intended, intended]
        assert [r["runs"][label]["candidates"] for label in labels] == [1, 1 + len(wrong), 1, 1]
        assert all(r["runs"][label]["status"] == "solved" for label in labels)
    assert main(["report", str(out)]) == 0
    table = capsys.readouterr().out
    assert "configurations" in table and "speedup per hole" in table and "fee_bps:fee_expr" in table
    # any run directories side by side
    assert main(["report", str(out / labels[0]), str(out / labels[1]), "--json"]) == 0
    assert [c["label"] for c in json.loads(capsys.readouterr().out)["configurations"]] == labels[:2]
    assert main(["report", str(out / labels[0]), str(out / "missing")]) == 2
    assert "missing: no such run directory" in capsys.readouterr().err


def test_bad_sweep_files_are_one_line_and_write_nothing(tmp_path: Path, capsys) -> None:
    specs, replay = spec_folder(tmp_path, ("fee_bps",)), replay_for(tmp_path, ("fee_bps",))
    out = tmp_path / "sweep"
    for body, message in (('samples = [0]\n', "samples[0]: must be >= 1"),
                          ('tiers = ["fast"]\n', "tiers[0]: unknown tier 'fast'"),
                          ('seeds = [1, "2"]\n', "seeds[1]: expected an integer, got str"),
                          ('models = ["no-backend"]\n', 'models[0]: expected "backend:model"'),
                          ('models = [{backend = "replay", model = 3}]\n', "models[0].model: expected str, got int"),
                          ('models = ["replay:/no/such.json"]\n', "no such file"),
                          ('temperature = [0.1]\n', "unknown key(s) temperature"),
                          ('samples = [\n', "not valid TOML"),
                          ('\n', "nothing to sweep")):
        path = _sweep_file(tmp_path, replay, body)
        assert main(["batch", str(specs), "--sweep", str(path), "--output", str(out),
                     "--backend", "replay", "--model", str(replay)]) == 2, body
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (body, err)
        assert not out.exists()


def test_configurations_expand_in_a_fixed_order_over_the_command_line_settings(tmp_path: Path) -> None:
    from esso_ngs.pipeline.batch import BatchSettings
    from esso_ngs.pipeline.sweep import configurations, load_sweep
    from esso_ngs.verify.tiers import ValidationSettings
    from esso_ngs.pipeline.two_stage import GenerateOptions, ModelChoice, ModelPlan

    path = tmp_path / "sweep.json"
    path.write_text(json.dumps({"tiers": ["cheap", "full"], "seeds": [0, 7], "samples": [5]}))
    small, large = ModelChoice("mlx", "small-m", samples=10, seed=1), ModelChoice("openai", "big-m", samples=10)
    base = BatchSettings(ModelPlan(small, large), GenerateOptions(ValidationSettings(tier="examples", seed=1)),
                         synth_timeout_ms=500, synth_seed=3)
    configs = configurations(load_sweep(path), base, small)
    assert [c.label for c in configs] == ["01-mlx-small-m-n5-cheap-seed0", "02-mlx-small-m-n5-cheap-seed7",
                                          "03-mlx-small-m-n5-full-seed0", "04-mlx-small-m-n5-full-seed7"]
    for c, (tier, seed) in zip(configs, [("cheap", 0), ("cheap", 7), ("full", 0), ("full", 7)]):
        s = c.settings
        assert s.generate.validation.tier == tier and s.generate.validation.seed == seed
        assert (s.plan.small.samples, s.plan.small.seed) == (5, seed) and s.plan.small.model == "small-m"
        assert (s.plan.large.samples, s.plan.large.seed, s.plan.large.model) == (5, seed, "big-m")  # both stages
        assert (s.synth_timeout_ms, s.synth_seed) == (500, 3)  # what the sweep does not name stays
    assert len({json.dumps(c.settings.to_json(), sort_keys=True) for c in configs}) == 4
