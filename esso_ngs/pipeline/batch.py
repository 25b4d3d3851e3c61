"""Batch runs: hints and synthesis (with and without the hints) for every spec of a folder.

A run directory (`runs/ngs/<run_id>/`) holds:
- `run.json`: the settings the run was started with (a rerun must match them);
- per spec: `<spec>.hints.json` (esso-llm-hints/v1) and `<spec>.result.json`
  (ranking, both synthesis results, times, speedups), the latter written last
  and atomically: it is the "this spec is finished" mark, so a rerun skips it;
- `summary.json`: every finished spec, rewritten after each one;
- `records.jsonl`: solutions and failed candidates (records.py).

The default run id is derived from the spec folder and the settings, so running
the same command again resumes the same run.

A spec's work (`compute_spec`: hints, then synthesis and records) returns a
`SpecOutcome` and writes nothing; an executor (executor.py: in this process or a
local process pool; ray_executor.py: a Ray cluster) runs it anywhere, and the
driver (`run_batch`) alone writes the run directory as outcomes arrive
(`commit_spec`), so every executor leaves the same files.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import UserError
from .. import interrupts
from ..fsutil import LOCK_NAME, atomic_write_text, locked_output_dir
from ..limits import default_max_memory_bytes
from ..formats import load_spec, write_hints
from ..formats.hashing import canonical_json
from ..neural.progress import emit
from ..synth import SynthOptions, SynthResult, synthesize
from .aggregate import HoleRanking
from .hintsfile import hints_data, hints_from_rankings
from .records import append_records, candidate_records, solution_records
from .two_stage import GenerateOptions, ModelPlan, backend_for, generate_ranked

if TYPE_CHECKING:
    from .executor import Executor

RESULT_SCHEMA = "esso-ngs-batch-spec/v1"
SUMMARY_SCHEMA = "esso-ngs-batch/v1"
RUN_SCHEMA = "esso-ngs-run/v1"


@dataclass
class BatchSettings:
    plan: ModelPlan
    generate: GenerateOptions
    synth_timeout_ms: int | None = None
    synth_seed: int = 0

    def to_json(self) -> dict[str, Any]:
        v = self.generate.validation
        return {"models": self.plan.to_json(), "tier": v.tier, "example_inputs": v.example_inputs,
                "candidate_timeout_ms": v.candidate_timeout_ms, "synth_timeout_ms": self.synth_timeout_ms,
                "synth_seed": self.synth_seed}

    def for_workers(self) -> "BatchSettings":
        """These settings as sent to worker processes and Ray actors: progress lines belong to
        the driver's terminal (and a console cannot be pickled)."""
        return replace(self, generate=replace(self.generate, progress=None))


def default_run_id(spec_dir: Path, settings: BatchSettings) -> str:
    digest = hashlib.sha256(canonical_json({"dir": str(spec_dir.resolve()), **settings.to_json()}).encode())
    return f"{spec_dir.resolve().name}-{digest.hexdigest()[:10]}"


def result_path(run_dir: Path, spec_name: str) -> Path:
    return run_dir / f"{spec_name}.result.json"


def hints_path(run_dir: Path, spec_name: str) -> Path:
    return run_dir / f"{spec_name}.hints.json"


def spec_name_of(path: Path) -> str:
    name = path.name
    return name[: -len("_hole.yaml")] if name.endswith("_hole.yaml") else path.stem


def check_models(plan: ModelPlan) -> None:
    """Resolve every model of `plan` (nothing is loaded): a bad --model is a one-line error
    before the first file is written."""
    backend_for(plan.small)
    if plan.large is not None:
        backend_for(plan.large)


def check_run_dir(run_dir: Path, settings: BatchSettings) -> bool:
    """Whether `run_dir` holds a run already (then with these settings: UserError otherwise)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"{run_dir}: not a directory (give --output a directory)")
    run_file = run_dir / "run.json"
    if not run_file.is_file():
        return False
    try:
        old = json.loads(run_file.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{run_file}: unreadable ({exc}); use another --output") from None
    if canonical_json(old.get("settings")) != canonical_json(settings.to_json()):
        raise UserError(f"{run_dir} holds a run made with other settings (see its run.json): "
                        "rerun with the same options, or pass another --output/--run-id")
    return True


def prepare_run_dir(run_dir: Path, run_id: str, spec_dir: Path, settings: BatchSettings) -> bool:
    """Create or reopen a run directory; False when it is new. Refuses other settings."""
    if check_run_dir(run_dir, settings):
        return True
    wanted = settings.to_json()
    if run_dir.exists() and any(p.name != LOCK_NAME for p in run_dir.iterdir()):
        raise UserError(f"{run_dir}: not empty and not a batch run directory (no run.json)")
    atomic_write_text(run_dir / "run.json", json.dumps({"schema": RUN_SCHEMA, "run_id": run_id,
                                                       "specs_dir": str(spec_dir),
                                                       "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                                       "settings": wanted}, indent=2) + "\n")
    return False


def _first_s(result: SynthResult) -> float:
    """Time until every hole had a verified term (before the minimality search)."""
    return max((h.time_to_first_s if h.time_to_first_s is not None else h.time_s) for h in result.holes) \
        if result.holes else 0.0


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b > 0 else None


@dataclass
class SpecHints:
    """What hint generation gives one spec: the rankings, or the one-line error that stopped it."""

    rankings: dict[str, HoleRanking] | None
    hints_s: float = 0.0
    error: str | None = None


@dataclass
class SpecOutcome:
    """Everything one spec adds to the run directory, computed anywhere, written by the driver alone."""

    name: str
    doc: dict[str, Any]  # <spec>.result.json, written last: the "finished" mark
    hints: dict[str, Any] | None = None  # <spec>.hints.json (esso-llm-hints/v1)
    records: list[dict[str, Any]] = field(default_factory=list)  # lines of records.jsonl


def generate_spec_hints(spec_path: Path, settings: BatchSettings) -> SpecHints:
    """The ranked, validated hints of one spec (the model-holding half of a spec's work)."""
    try:
        spec = load_spec(spec_path)
        t0 = time.perf_counter()
        rankings = generate_ranked(spec, settings.plan, settings.generate)
        return SpecHints(rankings, time.perf_counter() - t0)
    except UserError as err:
        return SpecHints(None, error=str(err))


def _result_head(spec_path: Path, run_id: str) -> dict[str, Any]:
    return {"schema": RESULT_SCHEMA, "spec": spec_name_of(spec_path), "kernel": str(spec_path), "run_id": run_id}


def finish_spec(spec_path: Path, run_id: str, settings: BatchSettings, hints: SpecHints,
                max_memory_bytes: int | None = None) -> SpecOutcome:
    """Synthesis without and with the hints, and the records: nothing is written here.
    The search stops at `max_memory_bytes` (default: the machine's share, limits.py)."""
    name = spec_name_of(spec_path)
    doc = _result_head(spec_path, run_id)
    if hints.rankings is None:
        doc.update({"status": "error", "error": hints.error})
        return SpecOutcome(name, doc)
    rankings = hints.rankings
    spec = load_spec(spec_path)
    hints_doc = hints_data(spec, rankings, {"tool": "esso-ngs batch", "run_id": run_id,
                                            "models": settings.plan.to_json(),
                                            "tier": settings.generate.validation.tier})
    options = SynthOptions(timeout_ms=settings.synth_timeout_ms, seed=settings.synth_seed,
                           max_memory_bytes=max_memory_bytes or default_max_memory_bytes())
    progress = settings.generate.progress  # None in a worker process: the driver's terminal is not there
    emit(progress, "searching", label="without hints")
    plain = synthesize(spec, None, options)
    emit(progress, "searching", label="with hints")
    hinted = synthesize(spec, hints_from_rankings(rankings), options)
    records = (solution_records(spec, hinted, run_id, rankings, hinted=True)
               + candidate_records(spec, rankings, run_id, hinted))
    holes = {}
    for h in spec.synth.holes:
        r = rankings[h.hole_id]
        p, q = plain.hole(h.hole_id), hinted.hole(h.hole_id)
        holes[h.hole_id] = {
            "ranking": r.to_json(), "plain": {"status": p.status, "term": p.term, "time_s": p.time_s,
                                              "first_s": p.time_to_first_s, "minimal_s": p.time_to_minimal_s},
            "hinted": {"status": q.status, "term": q.term, "time_s": q.time_s, "first_s": q.time_to_first_s,
                       "minimal_s": q.time_to_minimal_s,
                       "found_by": q.found_by, "winning_hint": q.winning_hint},
            "speedup": _ratio(p.time_s, q.time_s),
        }
    hints_s = hints.hints_s
    doc.update({
        "status": "done", "hints_file": hints_path(Path("."), name).name, "hints_s": round(hints_s, 6),
        "holes": holes, "plain": plain.to_json(), "hinted": hinted.to_json(),
        "times": {"plain_s": plain.time_s, "plain_first_s": _first_s(plain), "hinted_s": hinted.time_s,
                  "hinted_first_s": _first_s(hinted), "hints_s": hints_s},
        "speedup": _ratio(plain.time_s, hinted.time_s),
        "speedup_first": _ratio(_first_s(plain), _first_s(hinted)),
        "speedup_end_to_end": _ratio(plain.time_s, hints_s + hinted.time_s),
    })
    return SpecOutcome(name, doc, hints_doc, records)


def compute_spec(spec_path: Path, run_id: str, settings: BatchSettings) -> SpecOutcome:
    """All the work of one spec in this process: hints, then synthesis and records."""
    return finish_spec(spec_path, run_id, settings, generate_spec_hints(spec_path, settings))


def failed_outcome(spec_path: Path, run_id: str, error: str, attempts: int) -> SpecOutcome:
    """The record of a spec whose task failed every attempt (a crash, a lost worker): never lost."""
    doc = _result_head(spec_path, run_id)
    doc.update({"status": "error", "error": f"failed {attempts} times: {error}", "attempts": attempts})
    return SpecOutcome(spec_name_of(spec_path), doc)


def commit_spec(run_dir: Path, outcome: SpecOutcome) -> None:
    """Write one spec's files; the result file goes last, atomically, so a crash leaves the spec unfinished."""
    if outcome.hints is not None:
        write_hints(hints_path(run_dir, outcome.name), outcome.hints)
    append_records(run_dir, outcome.records)
    atomic_write_text(result_path(run_dir, outcome.name), json.dumps(outcome.doc, indent=2, default=str) + "\n")


def summary_entry(doc: dict[str, Any], result_file: str) -> dict[str, Any]:
    """One spec's line of summary.json, from its result document."""
    entry: dict[str, Any] = {"spec": doc.get("spec"), "status": doc.get("status"), "result": result_file}
    if doc.get("status") == "done":
        entry.update({"solved_plain": doc["plain"]["solved"], "solved_hinted": doc["hinted"]["solved"],
                      "plain_s": doc["times"]["plain_s"], "hinted_s": doc["times"]["hinted_s"],
                      "hints_s": doc["times"]["hints_s"], "speedup": doc.get("speedup"),
                      "speedup_first": doc.get("speedup_first"),
                      "speedup_end_to_end": doc.get("speedup_end_to_end"),
                      "hints_file": doc.get("hints_file")})
    else:
        entry["error"] = doc.get("error")
    return entry


def summary_doc(entries: Sequence[dict[str, Any]], run_id: str,
                settings_json: dict[str, Any] | None = None) -> dict[str, Any]:
    """summary.json's content from the spec entries (in result-file order)."""
    specs = sorted(entries, key=lambda e: e["result"])
    done = [s for s in specs if s["status"] == "done"]
    speedups = [s["speedup"] for s in done if s.get("speedup")]
    totals = {"specs": len(specs), "done": len(done), "errors": len(specs) - len(done),
              "solved_plain": sum(1 for s in done if s["solved_plain"]),
              "solved_hinted": sum(1 for s in done if s["solved_hinted"]),
              "geomean_speedup": round(math.exp(sum(math.log(x) for x in speedups) / len(speedups)), 4)
              if speedups else None}
    return {"schema": SUMMARY_SCHEMA, "run_id": run_id, "settings": settings_json, "specs": specs,
            "totals": totals}


def _finished_entries(run_dir: Path) -> dict[str, dict[str, Any]]:
    """result file name -> summary entry, for every readable result in `run_dir`."""
    out = {}
    for path in sorted(run_dir.glob("*.result.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        out[path.name] = summary_entry(doc, path.name)
    return out


def summarize(run_dir: Path, run_id: str, settings_json: dict[str, Any] | None = None) -> dict[str, Any]:
    """summary.json's content from the finished per-spec results in `run_dir`."""
    return summary_doc(list(_finished_entries(run_dir).values()), run_id, settings_json)


@dataclass(frozen=True)
class SpecTask:
    """One spec for an executor to run."""

    index: int  # position in the batch, for progress
    path: Path
    name: str


@dataclass
class BatchOutcome:
    run_dir: Path
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


# (event, spec name, index, total); events: skip, start, retry (a failed attempt is run
# again), done, error (finished with an error, including a spec that failed every attempt).
Progress = Callable[[str, str, int, int], None]

# summary.json is a convenience (the result files are the truth): with many fast specs
# it is rewritten at most this often, so the driver's write rate does not grow with the run.
SUMMARY_EVERY_S = 1.0


def run_batch(spec_paths: Sequence[Path], spec_dir: Path, run_dir: Path, run_id: str, settings: BatchSettings,
              progress: Progress | None, executor: "Executor") -> BatchOutcome:
    """Run every unfinished spec through `executor` (executor.LocalExecutor(): in this process,
    one at a time); this driver alone writes the run directory, each spec as its outcome arrives."""
    if not spec_paths:
        raise UserError(f"{spec_dir}: no `*_hole.yaml` with a `.synth.json` beside it")
    check_models(settings.plan)
    with locked_output_dir(run_dir):
        return _run_locked(spec_paths, spec_dir, run_dir, run_id, settings, progress, executor)


def _run_locked(spec_paths: Sequence[Path], spec_dir: Path, run_dir: Path, run_id: str, settings: BatchSettings,
                progress: Progress | None, executor: "Executor") -> BatchOutcome:
    prepare_run_dir(run_dir, run_id, spec_dir, settings)
    out = BatchOutcome(run_dir)
    report = progress or (lambda *_: None)
    total = len(spec_paths)
    entries = _finished_entries(run_dir)
    tasks = []
    for i, path in enumerate(spec_paths):
        name = spec_name_of(path)
        if result_path(run_dir, name).is_file():
            out.skipped.append(name)
            report("skip", name, i, total)
        else:
            tasks.append(SpecTask(i, path, name))
    settings_json = settings.to_json()

    def write_summary() -> None:
        out.summary = summary_doc(list(entries.values()), run_id, settings_json)
        atomic_write_text(run_dir / "summary.json", json.dumps(out.summary, indent=2) + "\n")

    last_write = float("-inf")
    for task, outcome in executor.run(tasks, run_id, settings, lambda event, t: report(event, t.name, t.index, total)):
        with interrupts.critical():  # the spec's files, and the driver's note of them, go together
            commit_spec(run_dir, outcome)
            result_file = result_path(run_dir, task.name).name
            entries[result_file] = summary_entry(outcome.doc, result_file)
            out.ran.append(task.name)
            if time.monotonic() - last_write >= SUMMARY_EVERY_S:
                write_summary()
                last_write = time.monotonic()
        report("done" if outcome.doc["status"] == "done" else "error", task.name, task.index, total)
    write_summary()
    return out
