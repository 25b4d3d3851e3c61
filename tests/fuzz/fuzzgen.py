"""Seeded fuzz cases for the CLI: hostile and broken spec, hints and SyGuS files.

`cases(seed, random_mutations)` builds the corpus: one or more targeted cases for
each class of issue 11 (alias bombs, depth, duplicate keys, I/O, budgets, option
values, unknown values, memory) with seeded parameters, then random mutations
(truncation, byte flips, deleted/duplicated/swapped lines, hostile tokens) of the
bundled `fee_bps` spec, a hints file for it and a SyGuS problem. Each case says
which exit statuses are acceptable (its manifest entry); `run_case` runs the CLI
in-process and reports the status, the time, any traceback, and any partial file.
Used by `tests/fuzz/test_fuzz.py` and `benchmarks/bench_fuzz.py`.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "benchmarks" / "specs"
SYGUS = ROOT / "benchmarks" / "sygus"
INTENDED = "(safe_div (* amount fee_bps) 10000)"
KERNEL, SYNTH, REF, HINTS, SL, SOLUTION = ("fee_bps_hole.yaml", "fee_bps_hole.synth.json", "fee_bps_ref.yaml",
                                         "fee_bps.hints.json", "problem.sl", "solution.txt")
RESULT = "run/fee_bps.result.json"
REPORT = ["report", "{dir}/run", "--no-plot"]
BAD = (2,)
ANY = (0, 1, 2)
HANG_S = 120.0  # a case still running after this is a hang (the test fails)


@dataclass
class Case:
    name: str
    cls: str  # the class of issue 11 it attacks
    files: dict[str, bytes]
    argv: list[str]  # `{dir}` is the case directory, `{out}` its output directory
    expect: tuple[int, ...]
    budget_s: float = 30.0  # wall-clock budget the case must finish in (bench_fuzz reports it)
    max_output_bytes: int | None = None  # bound on any file the run writes
    stderr_has: str = ""
    fifo: str = ""  # a file name made a named pipe (reading it would block forever)
    says: tuple[str, ...] = ()  # the output (stdout or stderr) holds one of these


@dataclass
class Outcome:
    case: Case
    rc: int | None
    seconds: float
    traceback: str = ""
    stderr: str = ""
    stdout: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def within_budget(self) -> bool:
        return self.seconds <= self.case.budget_s


# ------------------------------------------------------------------ base files
def base_files() -> dict[str, bytes]:
    from esso_ngs.formats import hints_to_json, load_spec
    from esso_ngs.formats.model import HintCandidate, HoleHints

    files = {name: (SPECS / name).read_bytes() for name in (KERNEL, SYNTH, REF)}
    spec = load_spec(SPECS / KERNEL)
    cands = (HintCandidate(INTENDED, 0.7, "test"), HintCandidate("(safe_div amount 100)", 0.3, "test"))
    files[HINTS] = json.dumps(hints_to_json(spec, [HoleHints("fee_expr", INTENDED, "test", 0, cands)]),
                              indent=2).encode()
    files[SL] = (SYGUS / "abs_diff.sl").read_bytes()
    files[SOLUTION] = b"(define-fun dist ((x Int) (y Int)) Int (ite (<= x y) (- y x) (- x y)))\n"
    for f in sorted((Path(__file__).parent / "run_fixture").iterdir()):  # a batch run dir (for `report`)
        files[f"run/{f.name}"] = f.read_bytes()
    return files


def _with(files: dict[str, bytes], **changes: bytes) -> dict[str, bytes]:
    out = dict(files)
    for key, value in changes.items():
        out[{"kernel": KERNEL, "synth": SYNTH, "hints": HINTS, "sl": SL, "solution": SOLUTION}[key]] = value
    return out


def _synth_json(files: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(files[SYNTH])


def _text(files: dict[str, bytes], name: str) -> str:
    return files[name].decode()


CHECK = ["check", "{dir}/" + KERNEL, "--term", INTENDED]
SYNTH_RUN = ["synth", "{dir}/" + KERNEL, "--timeout-ms", "5000", "--output", "{out}"]


# ------------------------------------------------------------------ targeted cases
def targeted(rng: random.Random, base: dict[str, bytes]) -> list[Case]:
    kernel = _text(base, KERNEL)
    guard_line = '    guard: {op: ">", args: [{param: amount}, {const: 0}]}'
    assert guard_line in kernel
    out: list[Case] = []

    # 1. alias bombs: nested aliases in an unknown key, an alias chain in a guard; a
    #    small alias tree must be kept as aliases (the filled kernel stays small).
    depth, width = rng.randint(6, 8), rng.randint(8, 10)
    bomb = ["extra:", "  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    bomb += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, depth + 1)]
    out.append(Case("alias_bomb_unknown_key", "alias", _with(base, kernel=(kernel + "\n".join(bomb) + "\n").encode()),
                    SYNTH_RUN, BAD, stderr_has="aliases"))
    chain = ["chain:", "  d0: &d0 {param: amount}"]
    chain += [f"  d{i}: &d{i} {{op: '+', args: [*d{i - 1}, *d{i - 1}]}}" for i in range(1, 41)]
    bombed = kernel.replace(guard_line, '    guard: {op: ">", args: [*d40, {const: 0}]}')
    bombed = bombed.replace("actions:\n", "\n".join(chain) + "\nactions:\n", 1)  # anchors before their use
    out.append(Case("alias_chain_in_guard", "alias", _with(base, kernel=bombed.encode()), CHECK, BAD,
                    stderr_has="aliases"))
    small = ["extra:", "  s0: &s0 [x, y, z]"] + [f"  s{i}: &s{i} [*s{i - 1}, *s{i - 1}, *s{i - 1}]" for i in range(1, 7)]
    out.append(Case("alias_small_kept", "alias", _with(base, kernel=(kernel + "\n".join(small) + "\n").encode()),
                    SYNTH_RUN, (0,), max_output_bytes=20_000))

    # 2. depth: a deep guard (flow style), an anchor chain, a constraint of many `not`s,
    #    deep JSON, a deep term; and a guard deep but within the limits (must solve whole).
    n = rng.randint(60, 300)
    deep = "{param: amount}"
    for _ in range(n):
        deep = f"{{op: '-', args: [{deep}, {{const: 0}}]}}"
    out.append(Case(f"deep_guard_{n}", "depth", _with(base, kernel=kernel.replace(
        guard_line, f'    guard: {{op: ">", args: [{deep}, {{const: 0}}]}}').encode()), SYNTH_RUN, BAD))
    anchors = ["extra:", "  a0: &a0 {const: 1}"] + [f"  a{i}: &a{i} {{op: not, args: [*a{i - 1}]}}" for i in range(1, 2001)]
    out.append(Case("anchor_chain_2000", "depth", _with(base, kernel=(kernel + "\n".join(anchors) + "\n").encode()),
                    CHECK, BAD))
    nots = rng.randint(101, 2000)
    data = _synth_json(base)
    data["holes"][0]["semantic_constraints"].append("not " * nots + "(result < 0)")
    out.append(Case(f"constraint_{nots}_nots", "depth", _with(base, synth=json.dumps(data).encode()), CHECK, BAD))
    levels = rng.randint(150, 3000)
    deep_json = _text(base, SYNTH).replace('"synth_version"', '"extra": ' + "[" * levels + "]" * levels +
                                           ', "synth_version"', 1)
    out.append(Case(f"deep_json_{levels}", "depth", _with(base, synth=deep_json.encode()), CHECK, BAD))
    k = rng.randint(120, 2000)
    out.append(Case(f"deep_term_{k}", "depth", base,
                    ["check", "{dir}/" + KERNEL, "--term", "(+ 1 " * k + "amount" + ")" * k], BAD))
    flow = rng.randint(20_000, 60_000)  # libyaml's composer used to overflow the C stack here
    out.append(Case(f"yaml_flow_nesting_{flow}", "depth", _with(base, kernel=(
        kernel + "extra: " + "[" * flow + "]" * flow + "\n").encode()), CHECK, BAD))
    out.append(Case("yaml_compact_sequences", "depth", _with(base, kernel=(
        kernel + "extra:\n  " + "- " * rng.randint(20_000, 60_000) + "x\n").encode()), CHECK, BAD))
    digits = "9" * rng.randint(4301, 20_000)  # past Python's int conversion limit
    out.append(Case("yaml_huge_integer", "depth", _with(base, kernel=kernel.replace(
        "expr: {const: 30}", f"expr: {{const: {digits}}}").encode()), CHECK, BAD))
    data = _synth_json(base)
    out.append(Case("json_huge_integer", "depth", _with(base, synth=_text(base, SYNTH).replace(
        '"max_ast_nodes": 8', f'"max_ast_nodes": {digits}').encode()), CHECK, BAD))
    data["holes"][0]["semantic_constraints"].append(f"result <= {digits}")
    out.append(Case("constraint_huge_integer", "depth", _with(base, synth=json.dumps(data).encode()), CHECK, BAD))
    ok_guard = '{op: ">", args: [{param: amount}, {const: 0}]}'
    for _ in range(15):
        ok_guard = f"{{op: and, args: [{ok_guard}, {{bool: true}}]}}"
    out.append(Case("deep_guard_within_limits", "depth", _with(base, kernel=kernel.replace(
        guard_line, f"    guard: {ok_guard}").encode()), SYNTH_RUN, (0,)))

    sl = _text(base, SL)
    at = sl.index("(constraint")
    k = rng.randint(900, 5000)
    deep_sl = sl[:at] + "(constraint (>= " + "(+ 1 " * k + "(dist x y)" + ")" * k + " 0))\n" + sl[at:]
    out.append(Case(f"sl_deep_{k}", "depth", _with(base, sl=deep_sl.encode()),
                    ["synth", "{dir}/" + SL, "--timeout-ms", "3000"], BAD))
    out.append(Case("kernel_is_a_fifo", "io", {n: b for n, b in base.items() if n != KERNEL},
                    ["check", "{dir}/" + KERNEL, "--term", INTENDED], BAD, fifo=KERNEL))

    # a batch run directory whose result file lost fields or has the wrong shape
    result = json.loads(base[RESULT])
    for label, broken in (("no_holes", {k: v for k, v in result.items() if k != "holes"}),
                          ("holes_list", {**result, "holes": []}), ("a_list", [result])):
        out.append(Case(f"report_result_{label}", "io", {**base, RESULT: json.dumps(broken).encode()}, REPORT, BAD))

    # 3. duplicate keys (YAML and JSON)
    out.append(Case("yaml_duplicate_effect", "duplicate", _with(base, kernel=kernel.replace(
        "      fee: {const: 0}", "      fee: {const: 0}\n      fee: {param: amount}").encode()), SYNTH_RUN, BAD,
        stderr_has="given twice"))
    out.append(Case("yaml_duplicate_top_key", "duplicate", _with(base, kernel=(kernel + "invariants: []\n").encode()),
                    CHECK, BAD, stderr_has="given twice"))
    text = _text(base, SYNTH)
    out.append(Case("json_duplicate_max", "duplicate", _with(base, synth=text.replace(
        '"max_ast_nodes": 8,', '"max_ast_nodes": 8,\n    "max_ast_nodes": 3,').encode()), CHECK, BAD,
        stderr_has="given twice"))
    out.append(Case("json_duplicate_hole_id", "duplicate", _with(base, synth=text.replace(
        '"hole_id": "fee_expr",', '"hole_id": "fee_expr", "hole_id": "other",').encode()), CHECK, BAD))

    # 4. I/O
    out.append(Case("output_is_a_file", "io", {**base, "taken": b"x"},
                    ["synth", "{dir}/" + KERNEL, "--output", "{dir}/taken"], BAD))
    out.append(Case("export_o_is_a_file", "io", {**base, "taken": b"x"},
                    ["sygus", "export", "{dir}/" + KERNEL, "-o", "{dir}/taken"], BAD))
    out.append(Case("binary_solution", "io", _with(base, solution=bytes(rng.randrange(256) for _ in range(200)) + b"\xff"),
                    ["sygus", "check", "{dir}/" + SL, "{dir}/" + SOLUTION], BAD))
    out.append(Case("hints_missing", "io", base,
                    ["synth", "{dir}/" + KERNEL, "--hints", "{dir}/none.json", "--output", "{out}"], BAD))

    # 5. unbounded work: a huge style limit under the grammar tools' budget; -n huge;
    #    thousands of repeated SyGuS constraints under a 2 s budget.
    data = _synth_json(base)
    data["style_profile"]["max_ast_nodes"] = rng.choice([5000, 10 ** 100])
    huge = _with(base, synth=json.dumps(data).encode())
    for tool in ("check", "sample"):
        out.append(Case(f"grammar_{tool}_huge_style", "budget", huge,
                        ["grammar", tool, "{dir}/" + KERNEL, "--budget-s", "2"], (1,), budget_s=30,
                        stderr_has="budget"))
    out.append(Case("grammar_sample_n_huge", "budget", base,
                    ["grammar", "sample", "{dir}/" + KERNEL, "-n", "100000000"], BAD))
    sl = _text(base, SL)
    i, j = sl.index("(constraint"), sl.index("(check-synth")
    out.append(Case("sl_repeated_constraints", "budget",
                    _with(base, sl=(sl[:i] + sl[i:j] * rng.randint(500, 2000) + sl[j:]).encode()),
                    ["synth", "{dir}/" + SL, "--timeout-ms", "2000"], (0, 1), budget_s=40))

    many = json.loads(base[HINTS])
    pool = ["amount", "fee_bps", "(* amount fee_bps)"]
    terms = sorted({f"(safe_div {a} {c})" for a in pool for c in ("1", "100", "10000")} |
                   {f"(ite (<= {a} {b}) {x} {y})" for a in pool for b in pool for x in pool for y in pool})
    many["holes"]["fee_expr"]["candidates"] = [{"term": t, "score": 1.0, "source": "fuzz"}
                                               for t in rng.sample(terms, len(terms))]
    out.append(Case("hints_many", "budget", _with(base, hints=json.dumps(many).encode()),
                    ["synth", "{dir}/" + KERNEL, "--hints", "{dir}/" + HINTS, "--intent", "warn",
                     "--timeout-ms", "2000", "--output", "{out}"], (0, 1), budget_s=30))

    # 8. option values
    for k, argv in enumerate((["synth", "{dir}/" + KERNEL, "--timeout-ms", str(-rng.randint(1, 10 ** 6)), "--output", "{out}"],
                 ["synth", "{dir}/" + KERNEL, "--max-candidates", "-1", "--output", "{out}"],
                 ["grammar", "sample", "{dir}/" + KERNEL, "-n", "-3"],
                 ["check", "{dir}/" + KERNEL, "--term", INTENDED, "--timeout-ms", "0"],
                 ["check", "{dir}/" + KERNEL, "--term", "(<= amount fee_bps)"],
                 ["synth", "{dir}/" + KERNEL, "--seed", "-1", "--output", "{out}"])):
        out.append(Case(f"option_{k}_{argv[0]}", "options", base, argv, BAD))

    # 9. unknown values
    for path, value in ((("scope", "kind"), rng.choice(["universal", "Inductive", "all"])),
                        (("scope", "domain_caps"), rng.choice(["infinite", "none"])),
                        (("holes", 0, "kind"), rng.choice(["stmt", "guard"]))):
        data = _synth_json(base)
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = value
        out.append(Case(f"unknown_{path[-1]}_{value}", "unknown", _with(base, synth=json.dumps(data).encode()),
                        CHECK, BAD, stderr_has="unknown"))
    hints = json.loads(base[HINTS])
    for label, term in (("not_sexpr", "(safe_div (* amount fee_bps) 10000"), ("unknown_name", "(+ amount nobody)"),
                        ("outside_grammar", "(* amount amount)")):
        h = json.loads(json.dumps(hints))
        h["holes"]["fee_expr"]["candidates"][1]["term"] = term
        out.append(Case(f"hints_{label}", "unknown", _with(base, hints=json.dumps(h).encode()),
                        ["synth", "{dir}/" + KERNEL, "--hints", "{dir}/" + HINTS, "--output", "{out}"], BAD))
    out.append(Case("python_tag", "unknown", _with(base, kernel=kernel.replace(
        "  model_id: fee_bps_quote", "  model_id: !!python/object/apply:os.system [echo]").encode()), CHECK, BAD,
        stderr_has="tag"))

    # 11. memory: a cap below what the process already holds stops the search at once,
    #     keeping the best term so far (a verified hint from the notes: exit 0, not minimal).
    out.append(Case("max_memory_tiny", "memory", base,
                    ["synth", "{dir}/" + KERNEL, "--max-memory", "1", "--output", "{out}"], (0, 1),
                    says=("memory budget", "minimality not proven")))
    out.append(Case("max_memory_tiny_no_hint", "memory", base,
                    ["synth", "{dir}/" + KERNEL, "--max-memory", "1", "--intent", "warn", "--output", "{out}"],
                    (0, 1), says=("memory budget", "minimality not proven")))
    return out


# ------------------------------------------------------------------ random mutations
TOKENS = ("&a", "*a", "*nowhere", "!!python/object:x", "{", "}", "[", "]", '"', "'", "\x00", ":", "- ", "#",
          "9" * 40, "9" * 5000, "-1", "null", "[]", "{}", "<<: *a", "\t", "\ufeff", "(", ")", "true", "1e999")


def mutate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    op = rng.choice(("truncate", "flip", "delete_line", "dup_line", "swap_lines", "token"))
    if op == "truncate":
        return op, data[: rng.randrange(len(data))]
    if op == "flip":
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return op, bytes(b)
    lines = data.split(b"\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    if op == "delete_line":
        del lines[i]
    elif op == "dup_line":
        lines.insert(j, lines[i])
    elif op == "swap_lines":
        lines[i], lines[j] = lines[j], lines[i]
    else:
        pos = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:pos] + rng.choice(TOKENS).encode() + lines[i][pos:]
    return op, b"\n".join(lines)


def random_cases(rng: random.Random, base: dict[str, bytes], n: int) -> list[Case]:
    targets = {
        KERNEL: [CHECK, SYNTH_RUN],
        SYNTH: [CHECK, SYNTH_RUN, ["grammar", "check", "{dir}/" + KERNEL, "--budget-s", "5"]],
        REF: [CHECK],
        HINTS: [["synth", "{dir}/" + KERNEL, "--hints", "{dir}/" + HINTS, "--output", "{out}"]],
        SL: [["synth", "{dir}/" + SL, "--timeout-ms", "3000"], ["sygus", "check", "{dir}/" + SL, "{dir}/" + SOLUTION]],
        RESULT: [REPORT],
    }
    out = []
    for k in range(n):
        name = rng.choice(sorted(targets))
        op, data = mutate(rng, base[name])
        argv = rng.choice(targets[name])
        label = name.split(".")[0].replace("/", "_")
        out.append(Case(f"random_{k:03d}_{label}_{op}", "random", {**base, name: data}, argv, ANY))
    return out


def cases(seed: int = 0, random_mutations: int = 60) -> list[Case]:
    rng = random.Random(seed)
    base = base_files()
    return targeted(rng, base) + random_cases(rng, base, random_mutations)


# ------------------------------------------------------------------ running
def _alarm(signum: int, frame: Any) -> None:
    raise TimeoutError(f"hang: still running after {HANG_S:g} s")


def run_case(case: Case, workdir: Path) -> Outcome:
    """Write the case's files, run the CLI in-process, and check the promises."""
    from esso_ngs.cli.main import main

    d = workdir / case.name
    d.mkdir(parents=True)
    for name, data in case.files.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
    if case.fifo:
        os.mkfifo(d / case.fifo)
    before = {p for p in d.rglob("*")}
    argv = [a.replace("{dir}", str(d)).replace("{out}", str(d / "out")) for a in case.argv]
    stdout, stderr = io.StringIO(), io.StringIO()
    tb = ""
    rc: int | None = None
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_S)
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            rc = main(argv)
    except SystemExit as exc:  # argparse
        rc = exc.code if isinstance(exc.code, int) else 2
    except BaseException:  # noqa: BLE001 - any escape is the bug we look for
        tb = traceback.format_exc()
    finally:
        seconds = time.perf_counter() - start
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    outcome = Outcome(case, rc, seconds, tb, stderr.getvalue(), stdout.getvalue())
    outcome.problems = problems(case, outcome, d, before)
    return outcome


def problems(case: Case, o: Outcome, d: Path, before: set[Path]) -> list[str]:
    out = []
    if o.traceback or "Traceback" in o.stderr:
        out.append("traceback: " + (o.traceback or o.stderr).strip().splitlines()[-1])
    if o.rc not in case.expect:
        out.append(f"exit {o.rc}, expected {'/'.join(map(str, case.expect))}: {o.stderr.strip()[-300:]}")
    errors = [line for line in o.stderr.splitlines() if line.startswith("esso-ngs: error:")]
    if o.rc == 2 and len(errors) != 1:
        out.append(f"exit 2 without exactly one error line: {o.stderr.strip()[-300:]!r}")
    if case.says and not any(x in o.stdout + o.stderr for x in case.says):
        out.append(f"output says none of {case.says}")
    if case.stderr_has and case.stderr_has not in o.stderr:
        out.append(f"stderr lacks {case.stderr_has!r}: {o.stderr.strip()[-300:]!r}")
    new = sorted(p for p in set(d.rglob("*")) - before if p.is_file())
    if o.rc == 2 and new:
        out.append(f"exit 2 but wrote {[str(p.relative_to(d)) for p in new]}")
    for p in new:
        if p.name.endswith(".tmp") or p.name.startswith(".") and p.name != ".esso-ngs.lock":
            out.append(f"temp file left: {p.name}")
        elif p.name.endswith(".lock"):
            out.append(f"lock file left: {p.name}")
        elif p.suffix == ".json":
            try:
                json.loads(p.read_text())
            except ValueError:
                out.append(f"partial file: {p.name}")
        elif p.suffix == ".yaml":
            try:
                yaml.safe_load(p.read_text())
            except yaml.YAMLError:
                out.append(f"partial file: {p.name}")
        if case.max_output_bytes is not None and p.stat().st_size > case.max_output_bytes:
            out.append(f"{p.name}: {p.stat().st_size} bytes (bound {case.max_output_bytes})")
    if o.rc == 0 and case.argv[0] == "synth" and "--output" in case.argv and case.argv[1].endswith(".yaml"):
        if not (d / "out" / "result.json").is_file() or not list((d / "out").glob("*_filled.yaml")):
            out.append("solved but result.json or the filled kernel is missing")
    return out


def corpus_manifest(corpus: list[Case], seed: int, mutations: int) -> dict[str, Any]:
    """The corpus as data: what each case runs and what it may answer (the files are
    derived from the bundled fee_bps spec by the seeded generator)."""
    return {"seed": seed, "mutations": mutations, "cases": [
        {"name": c.name, "class": c.cls, "argv": c.argv, "expect": list(c.expect), "budget_s": c.budget_s}
        for c in corpus]}


if __name__ == "__main__":  # python tests/fuzz/fuzzgen.py: rewrite the corpus manifest
    import sys

    sys.path.insert(0, str(ROOT))
    target = Path(__file__).with_name("corpus_manifest.json")
    data = corpus_manifest(cases(0, 60), 0, 60)
    target.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {target}: {len(data['cases'])} cases")
