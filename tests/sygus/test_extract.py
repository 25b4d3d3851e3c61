"""benchmarks/extract_sygus.py: a listed selection, by path and commit, out of a git directory."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "extract_sygus.py"
spec = importlib.util.spec_from_file_location("extract_sygus", SCRIPT)
extract_sygus = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
spec.loader.exec_module(extract_sygus)  # type: ignore[union-attr]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_extracts_the_listed_files_at_the_commit(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "comp" / "CLIA").mkdir(parents=True)
    (repo / "comp" / "CLIA" / "a.sl").write_text("(set-logic LIA)\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "one")
    commit = git(repo, "rev-parse", "HEAD")
    (repo / "comp" / "CLIA" / "a.sl").write_text("changed later\n")  # the listed commit wins
    git(repo, "commit", "-qam", "two")
    listing = tmp_path / "list.txt"
    listing.write_text(f"# a selection\ncommit {commit}\nclia comp/CLIA/a.sl\n")
    out = tmp_path / "out"
    rc = subprocess.run([sys.executable, str(SCRIPT), "--git-dir", str(repo / ".git"), "--out", str(out),
                         "--list", str(listing)], capture_output=True, text=True).returncode
    assert rc == 0
    assert (out / "clia" / "comp__CLIA__a.sl").read_text() == "(set-logic LIA)\n"
    assert (out / "manifest.tsv").read_text() == f"clia\tclia/comp__CLIA__a.sl\tcomp/CLIA/a.sl\t{commit}\n"


def test_a_bad_line_names_the_file_and_line(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("commit abc\nsomething else\n")
    with pytest.raises(SystemExit, match=r"list.txt:2: expected"):
        extract_sygus.read_list(listing)


def test_the_checked_in_selections_read() -> None:
    for name in ("sygus_public.txt", "sygus_public_check.txt"):
        commit, items = extract_sygus.read_list(SCRIPT.parent / name)
        assert len(commit) == 40 and items
    _, dev = extract_sygus.read_list(SCRIPT.parent / "sygus_public.txt")
    assert len(dev) >= 100 and {t for t, _ in dev} == {"clia", "inv", "general"}
