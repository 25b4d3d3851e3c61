"""`esso-ngs synth SPEC`: fill a spec's holes; write the filled kernel and result.json."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import UserError
from .. import clock, interrupts
from ..limits import DEFAULT_MEMORY_SHARE, default_max_memory_bytes
from ..fsutil import atomic_write_text, locked_output_dir
from ..pipeline.extension import load_extension
from ..pipeline.hintsfile import ranked_hints
from ..pipeline.host import HEAD_START_S, BackgroundHints, HostHints, hints_in_background
from ..pipeline.intent import INTENT_MODES, record_intent, spec_for_intent, with_stated_hints
from ..pipeline.records import append_records, candidate_records, solution_records
from ..formats import dump_kernel_yaml, load_spec
from ..formats.ir import fill_holes_raw
from ..formats.model import Spec
from ..synth import Hint, HintStream, SynthOptions, SynthResult, hole_budget_ms, synthesize
from ..lang.sexpr import parse_term
from ..verify import VerifyOptions
from ..wording import plural


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="synthesize the holes of a spec (0 all solved, 1 not, 2 bad input)",
                       description="Enumerative CEGIS with Z3: the cheapest term of each hole's grammar "
                                   "that verifies, optionally guided by ranked hints.")
    p.add_argument("spec", help="X_hole.yaml (its .synth.json and X_ref.yaml are found beside it), "
                                "or a SyGuS-IF problem FILE.sl (routed to `sygus solve` by cli/main.py)")
    p.add_argument("--hints", metavar="FILE", help="an esso-llm-hints/v1 file for this spec")
    p.add_argument("--timeout-ms", type=int, help="time budget per hole (default: the spec's backend.timeout_ms), "
                                                  "counted from the command's start: start-up is inside it")
    p.add_argument("--max-candidates", type=int, help="deterministic budget: terms built per hole")
    p.add_argument("--max-memory", dest="max_memory_mb", type=int, metavar="MB",
                   help="stop the search past this resident memory, keeping the best term so far "
                        f"(default {DEFAULT_MEMORY_SHARE:g} of the machine's memory)")
    p.add_argument("--no-minimize", action="store_true",
                   help="accept a verified hint or guided solution without searching below its cost")
    p.add_argument("--wait-for-hints", action="store_true",
                   help="with --neural-hints: start the search once all hints are generated (reproducible runs); "
                        "by default the search starts at once and hints join it as they arrive")
    p.add_argument("--head-start-ms", type=int, metavar="MS",
                   help=f"with --neural-hints: the search runs alone this long before the model is touched, so "
                        f"that a hole it settles at once never waits for a model load (default "
                        f"{HEAD_START_S * 1000:.0f}; 0 with --wait-for-hints)")
    p.add_argument("-o", "--output", metavar="DIR", help="where to write the filled kernel and result.json "
                                                   "(default runs/ngs/synth/<spec>)")
    p.add_argument("--seed", type=int, default=0,
                   # Option declarations resemble hints' (cli/hints_cmd.py): argparse boilerplate, each command's own help.
                   help="seed of everything random: the synthesizer's examples and, with --model, the sampling "
                        "(default 0)")
    p.add_argument("--no-stated-hints", action="store_true",
                   help="do not try the formulas stated in the notes and the reference's term first "
                        "(measure the search alone; the answer is checked against them all the same)")
    p.add_argument("--intent", choices=INTENT_MODES, default="warn",
                   help="formulas stated in the notes and `# HOLE:` comments: warn when the answer differs "
                        "(default), or `notes`: require the answer to equal them, like a reference")
    p.add_argument("--json", action="store_true", help="print result.json instead of the summary")
    p.add_argument("-v", "--verbose", action="store_true", help="trace the search on stderr")
    # `--neural-hints` and its model options come from the ESSO extension object:
    # this command is a host of the same protocol ESSO's enumerator uses.
    load_extension().register_options(p)
    p.set_defaults(func=run)


def filled_kernel_yaml(spec: Spec, result: SynthResult) -> str | None:
    """The kernel with every solved hole written at its known sites (None if nothing to fill)."""
    raw = dict(spec.kernel.raw)
    filled = False
    for hole in result.holes:
        if hole.status != "solved" or hole.term is None:
            continue
        places = [(s.place.action, s.place.field, s.path) for s in spec.sites_of(hole.hole_id)]
        raw = fill_holes_raw(raw, places, parse_term(hole.term))
        filled = filled or any(p is not None for _, _, p in places)
    return dump_kernel_yaml(raw) if filled else None


def output_texts(spec: Spec, result: SynthResult) -> dict[str, str]:
    """File name -> text of every output. All are rendered before the first is written:
    a failure while rendering one (say a kernel too deep to dump) leaves no file."""
    texts = {"result.json": json.dumps(result.to_json(), indent=2) + "\n"}
    kernel_text = filled_kernel_yaml(spec, result)
    if kernel_text is not None:
        texts[f"{spec.name}_filled.yaml"] = kernel_text
    return texts


def write_texts(out_dir: Path, texts: dict[str, str]) -> list[Path]:
    """Write rendered outputs, each atomically, the set uninterrupted by Ctrl-C."""
    with interrupts.critical():
        return [atomic_write_text(out_dir / name, text) for name, text in texts.items()]


def write_outputs(spec: Spec, result: SynthResult, out_dir: Path) -> list[Path]:
    return write_texts(out_dir, output_texts(spec, result))


def summary(result: SynthResult) -> str:
    lines = [f"{result.spec}: {'solved' if result.solved else 'NOT solved'} in {result.time_s:.2f} s"]
    for h in result.holes:
        if h.status == "solved":
            how = h.found_by + (f" (hint #{h.winning_hint})" if h.winning_hint is not None else "")
            if h.minimal:
                minimal = f"proven minimal at {h.time_to_minimal_s or h.time_s:.2f} s"
            else:
                minimal = "minimality not proven" + (f" ({h.reason})" if h.reason else "")
            first = h.time_to_first_s if h.time_to_first_s is not None else h.time_s
            lines.append(f"  {h.hole_id}: {h.term}  cost {h.cost}; first verified at {first:.2f} s, {minimal}; "
                         f"by {how}; {plural(h.candidates, 'term')} built, {plural(h.z3_calls, 'verifier call')}, {h.time_s:.2f} s")
        else:
            lines.append(f"  {h.hole_id}: {h.status.upper()} after {plural(h.candidates, 'term')}, {h.time_s:.2f} s: {h.reason}")
    lines.extend(f"  warning: {w}" for w in result.warnings)
    return "\n".join(lines)


def _head_start_s(args: argparse.Namespace) -> float:
    if args.head_start_ms is not None:
        if args.head_start_ms < 0:
            raise UserError(f"--head-start-ms must be >= 0, got {args.head_start_ms}")
        return args.head_start_ms / 1000
    return 0.0 if args.wait_for_hints else HEAD_START_S


def run(args: argparse.Namespace) -> int:
    ext = load_extension()
    neural = ext.configure(args)
    if neural and args.hints:
        raise UserError("--hints and --neural-hints/--model exclude each other: give one source of hints")
    spec = spec_for_intent(load_spec(args.spec), args.intent)
    hints = ranked_hints(args.hints, spec) if args.hints else None
    out_dir = Path(args.output) if args.output else Path("runs/ngs/synth") / spec.name
    with locked_output_dir(out_dir):
        return _run_locked(args, ext, neural, spec, hints, out_dir)


def _run_locked(args: argparse.Namespace, ext: Any, neural: bool, spec: Spec,
                hints: dict[str, list[Hint]] | None, out_dir: Path) -> int:
    options = SynthOptions(timeout_ms=clock.left_ms(hole_budget_ms(spec, args.timeout_ms)),
                           max_candidates=args.max_candidates,
                           minimize=not args.no_minimize, seed=args.seed, verify=VerifyOptions(timeout_ms=5000),
                           max_memory_bytes=args.max_memory_mb * 2**20 if args.max_memory_mb
                           else default_max_memory_bytes(), wait_for_hints=args.wait_for_hints)
    trace = (lambda msg: print(msg, file=sys.stderr)) if args.verbose else None
    background: BackgroundHints | None = None
    given: Mapping[str, Sequence[Hint] | HintStream] = (dict(hints or {}) if args.no_stated_hints
                                                        else with_stated_hints(spec, hints))
    if neural:  # generate while the enumerator runs: hints stream in as each hole's are ready
        background = hints_in_background(ext, spec, getattr(args, "nh_rounds", 2), first=given,
                                         head_start_s=_head_start_s(args), own_process=True)
        given = background.streams
    # Anytime: each cheaper verified term is an answer at once (result.json, minimal: false).
    reported: dict[str, str] = {}

    def on_update(partial: SynthResult) -> None:
        write_outputs(spec, partial, out_dir)
        for h in partial.holes:
            if h.status == "solved" and h.term and not h.minimal and reported.get(h.hole_id) != h.term:
                reported[h.hole_id] = h.term
                if not args.json:
                    print(f"  {h.hole_id}: {h.term}  cost {h.cost}, verified at {h.time_s:.2f} s by {h.found_by}; "
                          "searching for a cheaper term...", flush=True)

    try:
        result = synthesize(spec, given, options, trace, on_update)
    except BaseException:  # Ctrl-C or a bug: still never exit under the model's thread (native pools abort)
        if background is not None:
            background.stop(hurry=True)
        raise
    record_intent(spec, result)
    if not args.json:
        print(summary(result), flush=True)  # the answer now; a model may still finish a hole below
    host: HostHints | None = None
    if background is not None:
        # Generation stops within a decoding step (a model still loading finishes its load);
        # the thread is joined all the same: a process must not exit under a model's native threads.
        waited = background.stop()
        if trace:
            trace(f"hint generation stopped after the search ({waited:.2f} s to end the model's work)")
        host = background.host
        host.stop_wait_s = waited
        if background.error:
            if isinstance(background.error[0], UserError):  # bad input: no output of this run stays
                for name in ("result.json", f"{spec.name}_filled.yaml"):
                    (out_dir / name).unlink(missing_ok=True)
                raise background.error[0]
            print(f"warning: hint generation failed: {background.error[0]}", file=sys.stderr)
        if trace:
            for hole_id, ranked in host.hints.items():
                trace(f"[{hole_id}] {plural(len(ranked), 'neural hint')} in {plural(host.rounds[hole_id], 'round')}"
                      + (f", best {ranked[0].term}" if ranked else ""))
    texts = output_texts(spec, result)
    if host is not None:
        texts["neural_hints.json"] = json.dumps(host.to_json(), indent=2) + "\n"
    written = write_texts(out_dir, texts)
    if host is not None:
        records = append_records(out_dir, solution_records(spec, result, None, host.rankings, hinted=True)
                                 + candidate_records(spec, host.rankings, None, result))
        if records.is_file():
            written.append(records)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        if host is not None:
            gen = ", ".join(f"{h}: {plural(len(v), 'candidate')}"
                            + (" (stopped: no longer needed)" if h in host.rankings and host.rankings[h].stopped
                               else "") for h, v in host.hints.items())
            if gen:
                print(f"neural hints in {host.time_s:.2f} s ({gen}; generated alongside the search)")
            elif host.stage is None:  # the search settled every hole before the model was needed
                print("neural hints: none needed (the search finished before the model was started)")
            else:
                print(f"neural hints: none arrived before the search ended (the model's stage then: {host.stage})")
        print("wrote " + ", ".join(str(p) for p in written))
    return 0 if result.solved else 1
