"""`esso-ngs models list|prepare`: the local models esso-ngs can use (never downloaded)."""
from __future__ import annotations

import argparse
import importlib.util
import sys



def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list or prepare local models for `esso-ngs hints`",
                       description="Local models: registered aliases and the models `prepare` can build "
                                   "from installed packages. Nothing is fetched from a hub.")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    lp = msub.add_parser("list", help="registered aliases and preparable models")
    lp.set_defaults(func=run_list)
    pp = msub.add_parser("prepare", help="build a model from an installed package and register its alias")
    pp.add_argument("name", help="smollm2-135m or tiny-random")
    pp.add_argument("--force", action="store_true", help="rebuild even when already prepared")
    pp.add_argument("--no-measure", action="store_true",
                    help="do not measure now which backend `--backend auto` uses for it (the first run will)")
    pp.set_defaults(func=run_prepare)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _dir_size_mb(path: object) -> str:
    from pathlib import Path
    total = sum(f.stat().st_size for f in Path(str(path)).glob("*") if f.is_file())
    return f"{total / 1e6:.0f} MB"


def run_list(args: argparse.Namespace) -> int:
    from ..neural.models import cache_dir, load_registry, model_problem
    from ..extras import install_command
    from ..neural.prepare import PREPARABLE, missing_requirements
    from pathlib import Path

    registry = load_registry()
    print(f"cache: {cache_dir()}")
    print("registered models:" if registry else "registered models: none")
    for alias, info in sorted(registry.items()):
        path = Path(info.get("path", ""))
        problem = model_problem(path)
        status = f"ok, {_dir_size_mb(path)}" if problem is None else f"BROKEN: {problem}"
        print(f"  {alias:<16} {path}  ({status})")
        if info.get("source"):
            print(f"  {'':<16} from {info['source']}")
    print("preparable (esso-ngs models prepare NAME):")
    for alias, item in sorted(PREPARABLE.items()):
        missing = missing_requirements(item.packages)
        if alias in registry:
            state = "prepared (registered above; --force rebuilds)"
        elif missing:
            state = f"needs {', '.join(missing)}: {install_command(missing)}"
        else:
            state = "ready to prepare"
        print(f"  {alias:<16} {item.description}\n  {'':<16} {state}")
    backends = {"mlx": "mlx_lm", "transformers": "transformers", "torch (transformers backend)": "torch",
                "llguidance (constraints)": "llguidance"}
    have = [f"{name}: {'yes' if importlib.util.find_spec(mod) else 'no'}" for name, mod in backends.items()]
    print("installed: " + ", ".join(have))
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    from ..neural.auto import choose_backend
    from ..neural.models import resolve_model
    from ..neural.prepare import prepare
    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    prepare(args.name, force=args.force, log=log)
    if not args.no_measure:
        # What `--backend auto` means for this model here, measured now (once per machine
        # and model) rather than inside the user's first `synth --neural-hints`.
        log(choose_backend(resolve_model(args.name), log=log).describe())
    return 0
