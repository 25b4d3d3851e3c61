"""The command line as one vocabulary: one flag per concept in every command, old
spellings still accepted (hidden), `--version`, shell completion."""
from __future__ import annotations

import argparse
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from esso_ngs import __version__
from esso_ngs.argutil import is_hidden
from esso_ngs.cli.completion_cmd import completion_script
from esso_ngs.cli.main import build_parser, main

from benchspecs import spec_path


def _leaf_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield " ".join(path), parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaf_parsers(child, (*path, name))


def _concept(action: argparse.Action) -> str:
    # The hint pipeline's destinations carry an `nh_` prefix (they live in a host's namespace).
    return action.dest.removeprefix("nh_")


def _visible_options() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """concept -> [(command, its visible option strings)] over every subcommand."""
    seen: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
    for command, parser in _leaf_parsers(build_parser()):
        for action in parser._actions:
            if action.option_strings and not is_hidden(action) and action.dest != "help":
                seen[_concept(action)].append((command, tuple(sorted(action.option_strings))))
    return seen


def test_every_concept_has_one_flag_name_across_commands() -> None:
    seen = _visible_options()
    assert {"seed", "no_cache", "output", "model", "validate"} <= set(seen)
    for concept, uses in seen.items():
        spellings = {flags for _, flags in uses}
        assert len(spellings) == 1, f"{concept}: {uses}"


def test_every_flag_name_means_one_concept_across_commands() -> None:
    meaning: dict[str, set[str]] = defaultdict(set)
    for concept, uses in _visible_options().items():
        for _, flags in uses:
            for flag in flags:
                meaning[flag].add(concept)
    assert {f: c for f, c in meaning.items() if len(c) > 1} == {}


@pytest.mark.parametrize("argv, dest, value", [
    (["synth", "S", "--sample-seed", "3"], "nh_seed", 3),
    (["batch", "D", "--sample-seed", "3"], "nh_seed", 3),
    (["synth", "S", "--no-sample-cache"], "nh_no_cache", True),
    (["batch", "D", "--no-cache"], "nh_no_cache", True),
    (["hints", "S", "--model", "m", "--no-cache"], "no_cache", True),
    (["grammar", "sample", "S", "--max-size", "4"], "max_nodes", 4),
    (["grammar", "sample", "S", "--max-nodes", "4"], "max_nodes", 4),
])
def test_old_spellings_are_hidden_aliases(argv: list[str], dest: str, value: object) -> None:
    assert getattr(build_parser().parse_args(argv), dest) == value


def test_old_spellings_are_not_in_help(capsys) -> None:
    for argv in (["synth", "--help"], ["batch", "--help"], ["grammar", "sample", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        text = capsys.readouterr().out
        assert "--sample-seed" not in text and "--no-sample-cache" not in text and "--max-size" not in text
    assert "--no-cache" in text or "--max-nodes" in text


def test_one_seed_seeds_the_sampling_unless_the_old_flag_overrides() -> None:
    from esso_ngs.pipeline.options import sampling_seed
    parser = build_parser()
    assert sampling_seed(parser.parse_args(["batch", "D", "--seed", "7"])) == 7
    assert sampling_seed(parser.parse_args(["batch", "D", "--seed", "7", "--sample-seed", "2"])) == 2
    # a host without a --seed of its own gets the extension's --seed (and the old spelling, hidden)
    from esso_ngs.pipeline.extension import NeuralHintsExtension
    host = argparse.ArgumentParser()
    NeuralHintsExtension().register_options(host)
    assert sampling_seed(host.parse_args(["--seed", "5"])) == 5
    assert sampling_seed(host.parse_args(["--sample-seed", "4"])) == 4
    assert sampling_seed(host.parse_args([])) == 0
    assert "--sample-seed" not in host.format_help() and "--seed" in host.format_help()


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"esso-ngs {__version__}"


def test_zsh_completion_names_commands_and_flags() -> None:
    text = completion_script("zsh")
    assert text.startswith("#compdef esso-ngs")
    assert "--no-cache" in text and "--neural-hints" in text and "--sample-seed" not in text


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_completes_commands_and_flags(tmp_path: Path) -> None:
    script = tmp_path / "esso-ngs.bash"
    script.write_text(completion_script("bash"))

    def complete(*words: str) -> list[str]:
        line = " ".join(words)
        probe = (f'source "{script}"; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; '
                 f'COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}; _shtab_esso_ngs; echo "${{COMPREPLY[@]}}"')
        out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True).stdout
        return out.split()

    assert complete("esso-ngs", "gr") == ["grammar"]
    assert complete("esso-ngs", "synth", "--no-c") == ["--no-constrain", "--no-cache"]
    assert complete("esso-ngs", "grammar", "sample", "--max-") == ["--max-nodes"]


def test_model_implies_neural_hints(tmp_path: Path, capsys) -> None:
    """`synth SPEC --model M` uses the model (no silent ignore): a missing model is an error."""
    rc = main(["synth", str(spec_path("fee_bps")), "--backend", "replay", "--model", str(tmp_path / "none.json"),
               "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and "none.json" in err and not (tmp_path / "out").exists()


def test_several_holes_need_hole_and_the_message_says_so(capsys) -> None:
    for argv in (["grammar", "sample", str(spec_path("breaker_window"))],
                 ["check", str(spec_path("breaker_window")), "--term", "0"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "--hole" in err and len(err.strip().splitlines()) == 1
