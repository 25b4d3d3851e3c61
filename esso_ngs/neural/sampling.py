"""Sampling a hole: N completions -> distinct canonical candidates with their statistics.

Every candidate is the one candidate record (`verify.candidate.Candidate`): the
term parsed once from the model's text, its canonical S-expression, how many
samples produced it, the best model log-probability among them and its grammar
check (`grammar.check_term`, also for constrained samples: the mask is trusted only as
far as it is checked), recorded so that no later layer checks it again.
Samples that hit the token limit are incomplete: they are dropped and counted,
never turned into candidates.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..grammar import CompiledGrammar, check_term, decoding_lark_text
from ..lang.expr import Expr
from ..lang.sexpr import TermSyntaxError, parse_term, to_sexpr
from ..verify.candidate import Candidate, Checks, rank
from .backend import Backend, Prompt, Sample, SampleSettings, StopCheck
from .cache import SampleCache, sample_key, text_sha
from .progress import Event, Progress, emit


# ---------------------------------------------------------------- parsing free text
_ATOM = re.compile(r"^-?\d+$|^[A-Za-z_][A-Za-z0-9_.']*$")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|term\s*\d*\s*:|answer\s*:)\s*", re.IGNORECASE)


def _balanced_spans(text: str) -> list[str]:
    """Top-level parenthesized spans of `text`, in order (unbalanced tails ignored)."""
    spans, depth, start = [], 0, -1
    for i, ch in enumerate(text):
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append(text[start: i + 1])
    return spans


def extract_terms(text: str) -> list[str]:
    """Canonical terms found in free model output, in order of appearance, without repeats.

    Handles a bare term, one term per line (with bullets or numbering), code
    fences, backticks, and JSON arrays of strings; prose around terms is skipped.
    """
    return [canon for canon, _ in _extract(text)]


def _extract(text: str) -> list[tuple[str, Expr]]:
    found: dict[str, Expr] = {}

    def add(candidate: str) -> None:
        try:
            expr = parse_term(candidate)
        except (TermSyntaxError, RecursionError):
            return
        found.setdefault(to_sexpr(expr), expr)

    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, str):
                        add(item)
                return list(found.items())
        except ValueError:
            pass
    for raw_line in stripped.replace("```", "\n").splitlines():
        line = _BULLET.sub("", raw_line).strip().strip("`'\",;").strip()
        if not line:
            continue
        if "(" in line:
            for span in _balanced_spans(line):
                add(span)
        elif _ATOM.match(line):
            add(line)
    return list(found.items())


def sample_terms(sample: Sample, mode: str) -> list[str]:
    """The canonical terms of one sample: one (mode "term") or several (mode "list")."""
    return [canon for canon, _ in _sample_terms(sample, mode)]


def _sample_terms(sample: Sample, mode: str) -> list[tuple[str, Expr]]:
    """(canonical text, term) of one sample, each parsed once."""
    if mode == "term":
        try:
            expr = parse_term(sample.text.strip())
        except (TermSyntaxError, RecursionError):
            return _extract(sample.text)[:1]
        return [(to_sexpr(expr), expr)]
    return _extract(sample.text)


# ---------------------------------------------------------------- aggregation
def candidate_json(c: Candidate) -> dict[str, Any]:
    """A sampled candidate as `hints --json` shows it."""
    return {"term": c.term, "count": c.count, "best_logprob": c.logprob, "in_grammar": c.in_grammar,
            "explanation": c.explanation, "first_sample": c.first_seen, "style_fits": c.style_fits}


@dataclass
class HoleSamples:
    hole_id: str
    backend: str
    model_id: str
    constrained: bool
    mode: str
    settings: SampleSettings
    candidates: list[Candidate] = field(default_factory=list)
    n_samples: int = 0
    n_token_limit: int = 0  # dropped: hit max_tokens before the term was complete
    n_over_size: int = 0  # dropped: ended past the style profile's max_ast_nodes (settings.max_nodes)
    n_unparsable: int = 0  # no term could be read from the sample
    n_errors: int = 0
    n_in_grammar: int = 0  # samples whose (first) term is in the grammar
    gen_tokens: int = 0
    mask_time_s: float = 0.0
    from_cache: bool = False
    stopped: bool = False  # generation was stopped early: fewer than settings.n samples, never cached
    cache_key: str = ""
    grammar_sha: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def mask_ms_per_token(self) -> float:
        return 1000.0 * self.mask_time_s / self.gen_tokens if self.gen_tokens else 0.0

    def in_grammar_candidates(self) -> list[Candidate]:
        return [c for c in self.candidates if c.in_grammar]

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("candidates", "settings")}
        out["settings"] = self.settings.to_json()
        out["candidates"] = [candidate_json(c) for c in self.candidates]
        out["mask_ms_per_token"] = self.mask_ms_per_token
        return out


def aggregate(samples: list[Sample], grammar: CompiledGrammar | None, mode: str) -> tuple[list[Candidate], dict[str, int]]:
    """Distinct candidates (ranked) and counters from raw samples."""
    by_term: dict[str, Candidate] = {}
    counts = {"token_limit": 0, "over_size": 0, "unparsable": 0, "errors": 0, "in_grammar": 0}
    read: dict[str, list[tuple[str, Expr]]] = {}  # sample text -> its terms: equal samples are read once
    for index, s in enumerate(samples):
        if s.hit_token_limit:
            counts["token_limit"] += 1
            continue
        if s.finish == "error":
            counts["errors"] += 1
            continue
        if s.finish == "size":
            counts["over_size"] += 1
            continue
        terms = read.get(s.text)
        if terms is None:
            terms = read[s.text] = _sample_terms(s, mode)
        if not terms:
            counts["unparsable"] += 1
            continue
        for j, (term, expr) in enumerate(terms):
            c = by_term.get(term)
            if c is None:
                # The one grammar check of this term: recorded for the tiers and the synthesizer.
                checks = Checks() if grammar is None else Checks(membership=check_term(grammar, expr), grammar=grammar)
                c = by_term[term] = Candidate(term, count=0, first_seen=index, logprob=s.logprob, checks=checks,
                                              expr=expr)
            elif s.logprob is not None and (c.logprob is None or s.logprob > c.logprob):
                c.logprob = s.logprob
            c.count += 1
            if j == 0 and c.in_grammar:
                counts["in_grammar"] += 1
    return rank(by_term.values()), counts


# ---------------------------------------------------------------- one hole
def _sample_reporter(progress: Progress | None, grammar: CompiledGrammar | None, mode: str, n: int,
                     source: str) -> Progress | None:
    """Turns a backend's raw `sample` events into events people and the anytime
    search can use: the sample's (first) term, canonical, whether it is in the
    grammar (None when no term could be read or the row hit the token limit), how
    many samples of the `n` asked for are done, and the term as a candidate record
    (`candidate`, with its grammar check: a host streams it to the synthesizer)."""
    if progress is None:
        return None
    memo: dict[str, Any] = {}  # canonical term -> its grammar check (None without a grammar)
    done = 0

    def report(event: Event) -> None:
        nonlocal done
        raw = event.data.get("raw")
        if event.kind != "sample" or not isinstance(raw, Sample):
            progress(event)
            return
        done += 1
        terms = [] if raw.hit_token_limit or raw.finish in ("error", "size") else _sample_terms(raw, mode)
        term, expr = terms[0] if terms else (None, None)
        candidate = None
        if term is not None:
            if term not in memo:
                memo[term] = None if grammar is None else check_term(grammar, expr)
            membership = memo[term]
            candidate = Candidate(term, source=source, first_seen=int(event.data.get("index", 0)),
                                  logprob=raw.logprob, expr=expr,
                                  checks=Checks(membership=membership, grammar=grammar))
        progress(Event("sample", event.hole_id, {
            "index": event.data.get("index"), "done": done, "of": n, "term": term,
            "in_grammar": None if candidate is None else candidate.in_grammar,
            "tokens": raw.tokens, "finish": raw.finish, "seconds": raw.gen_time_s, "logprob": raw.logprob,
            "candidate": candidate}))

    return report


class _Latch:
    """A StopCheck that remembers whether it ever said stop: then the samples are partial."""

    def __init__(self, check: StopCheck) -> None:
        self.check = check
        self.hit = False

    def __call__(self) -> bool:
        if not self.hit and self.check():
            self.hit = True
        return self.hit


def sample_hole(backend: Backend, prompt: Prompt, settings: SampleSettings, grammar: CompiledGrammar | None,
                *, constrained: bool = True, cache: SampleCache | None = None,
                max_nodes: int | None = None, max_nesting: int | None = None,
                on_event: Progress | None = None, should_stop: StopCheck | None = None) -> HoleSamples:
    """Sample `prompt` with `backend` and aggregate; through `cache` when given.

    Constrained decoding uses the hole's lean grammar (grammar/lean.py: no operation
    over constants only, no identity operation) bounded by the style profile (or by
    `max_nodes`/`max_nesting`), so a sampled term holds a variable and cannot nest
    until the token limit.
    `on_event` receives progress events (neural/progress.py), among them one
    `sample` event per sample as it completes (term, in_grammar): the stream an
    anytime search consumes. Safe to call from a background thread.
    `should_stop` (in-process backends) ends generation early: the samples finished
    by then come back, marked `stopped`, and are never cached (the cache key names
    all `settings.n` samples: a partial set under it would be served as complete).
    """
    constraint_text: str | None = None
    if constrained and grammar is not None and backend.supports_constraints:
        constraint_text = decoding_lark_text(grammar, max_nodes=max_nodes, max_nesting=max_nesting)
        node_limit = max_nodes or (grammar.style.max_ast_nodes if grammar.style else None)
        if node_limit:  # (in the settings, so in the cache key: it changes which samples come back)
            settings = replace(settings, max_nodes=node_limit)
    key = ""
    samples: list[Sample] | None = None
    if cache is not None:
        key = sample_key(backend=backend.name, model_hash=backend.model_hash(), prompt=prompt,
                         settings=settings, constraint_text=constraint_text)
        samples = cache.get(key)
    from_cache = samples is not None
    label = getattr(backend, "choice_label", None) or backend.name
    source = f"{label}:{backend.model_id}"
    report = _sample_reporter(on_event, grammar, prompt.mode, settings.n, source)
    streamed = False
    stop = _Latch(should_stop) if should_stop is not None else None
    if samples is None:
        if getattr(backend, "streams_samples", False):
            samples = backend.sample(prompt, settings, constraint_text, on_event=report,  # type: ignore[call-arg]
                                     should_stop=stop)
            streamed = True
        else:
            samples = backend.sample(prompt, settings, constraint_text)
        if cache is not None and not (stop is not None and stop.hit):
            cache.put(key, samples, {
                "backend": backend.name, "model_id": backend.model_id, "model_hash": backend.model_hash(),
                "hole_id": prompt.hole_id, "spec": prompt.spec_name, "settings": settings.to_json(),
                "grammar_sha": text_sha(constraint_text), "prompt_sha": prompt.sha256(),
            }, prompt)
    if report is not None and not streamed:  # cached or non-streaming: report them all now
        report = _sample_reporter(on_event, grammar, prompt.mode, len(samples), source)  # k of those there are
        for index, s in enumerate(samples):
            report(Event("sample", prompt.hole_id, {"index": index, "raw": s}))
    candidates, counts = aggregate(samples, grammar, prompt.mode)
    stats = backend.stats
    gen_tokens = sum(s.tokens for s in samples)
    run_stats = {} if from_cache else {"load_s": stats.load_s, "prompt_tokens": stats.prompt_tokens,
                                       "prefill_s": stats.prefill_s, "gen_s": stats.gen_s,
                                       **stats.extra}
    choice = getattr(backend, "choice", None)
    if choice is not None:
        run_stats["backend_choice"] = choice.describe()
    stopped = stop is not None and stop.hit
    emit(on_event, "generated", prompt.hole_id, samples=len(samples), of=settings.n, stopped=stopped,
         tokens=gen_tokens, seconds=0.0 if from_cache else stats.gen_s, from_cache=from_cache,
         tok_s=(gen_tokens / stats.gen_s) if stats.gen_s and not from_cache else None)
    return HoleSamples(
        hole_id=prompt.hole_id, backend=label,
        model_id=backend.model_id,
        constrained=constraint_text is not None, mode=prompt.mode, settings=settings,
        candidates=candidates, n_samples=len(samples), n_token_limit=counts["token_limit"],
        n_over_size=counts["over_size"],
        n_unparsable=counts["unparsable"], n_errors=counts["errors"], n_in_grammar=counts["in_grammar"],
        gen_tokens=gen_tokens, mask_time_s=sum(s.mask_time_s for s in samples),
        from_cache=from_cache, cache_key=key, grammar_sha=text_sha(constraint_text), stats=run_stats,
        stopped=stopped,
    )
