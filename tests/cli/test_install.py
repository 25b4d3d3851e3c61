"""`pip install .` without extras gives a working synthesizer, and the commands that need
an extra name it. Offline and without downloads: the fresh venv sees this environment's
packages minus the extras' (torch, matplotlib) through a filtered site directory, and
pip installs with --no-index, so a core dependency that is not installed here (torch
creeping back into the core, say) fails the install instead of being fetched."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from benchspecs import spec_path

pytestmark = pytest.mark.install  # CI runs it; `-m "not install"` skips it while developing

ROOT = Path(__file__).resolve().parents[2]
# Top-level names of what the extras install, and of this package (the fresh venv installs its own).
HIDDEN = ("torch", "functorch", "torchgen", "matplotlib", "mpl_toolkits", "pylab", "esso_ngs", "esso-ngs",
          "__editable__")


def _site_dirs() -> list[Path]:
    dirs = {Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}
    dirs |= {Path(p) for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    return sorted(d for d in dirs if d.is_dir())


def _filtered_site(target: Path) -> Path:
    """Links to every installed distribution except the extras' and esso-ngs itself (no .pth files)."""
    target.mkdir()
    for site in _site_dirs():
        for entry in site.iterdir():
            name = entry.name
            if name.endswith(".pth") or name.startswith(HIDDEN) or (target / name).exists():
                continue
            (target / name).symlink_to(entry)
    return target


def _source_copy(target: Path) -> Path:
    """The sources pip needs, copied: building in the checkout would write into it."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, target / name)
    shutil.copytree(ROOT / "esso_ngs", target / "esso_ngs", ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("core-install")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)  # this environment's pip serves it (--python)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "_core_deps.pth").write_text(str(_filtered_site(base / "site")) + "\n")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # The wheel of `.` (built as pip builds it, isolated: setuptools from pyproject's build-system) ...
    built = subprocess.run([*pip, "wheel", "--no-deps", "-w", str(base / "dist"), str(_source_copy(base / "src"))],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next((base / "dist").glob("esso_ngs-*.whl"))
    # ... installed without extras; --no-index, and no pip configuration (it may name local wheel
    # folders): every core requirement must already be here.
    no_sources = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    no_sources["PIP_CONFIG_FILE"] = os.devnull
    install = subprocess.run([*pip, "--python", str(python), "install", "--no-index", str(wheel)],
                             capture_output=True, text=True, env=no_sources)
    assert install.returncode == 0, install.stdout + install.stderr
    added = {p.name for p in Path(purelib).iterdir()} - {"_core_deps.pth", "__pycache__"}
    assert added and all(name.startswith("esso_ngs") for name in added), added  # esso-ngs alone
    return python.parent


def _run(bindir: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(bindir / "esso-ngs"), *argv], capture_output=True, text=True, cwd=cwd, env=env)


def test_core_install_has_no_extras_and_synthesizes(core_venv: Path, tmp_path: Path) -> None:
    probe = subprocess.run([str(core_venv / "python"), "-c",
                            "import importlib.util as u, esso_ngs; "
                            "print(u.find_spec('torch') is None, u.find_spec('matplotlib') is None, esso_ngs.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout.split()
    assert probe[:2] == ["True", "True"] and str(ROOT) not in probe[2]  # its own copy, not the checkout
    done = _run(core_venv, "synth", str(spec_path("fee_bps")), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "solved" in done.stdout
    assert json.loads((tmp_path / "out" / "result.json").read_text())["solved"]


def test_core_install_names_the_missing_extras(core_venv: Path, tmp_path: Path) -> None:
    hints = _run(core_venv, "hints", str(spec_path("fee_bps")), "--backend", "transformers", "--model", "some-model",
                 cwd=tmp_path)
    assert hints.returncode == 2 and len(hints.stderr.strip().splitlines()) == 1, hints.stderr
    assert "'torch' extra" in hints.stderr and "-m pip install torch==2.13.0" in hints.stderr
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text("{}")
    report = _run(core_venv, "report", str(run), cwd=tmp_path)
    assert report.returncode == 2 and len(report.stderr.strip().splitlines()) == 1, report.stderr
    assert "'plot' extra" in report.stderr and "pip install 'matplotlib" in report.stderr
    assert _run(core_venv, "report", str(run), "--no-plot", cwd=tmp_path).returncode == 0
