"""Sampling a hole: N completions -> distinct canonical candidates with their statistics.

Every candidate is a canonical S-expression (the one identity of a term), with
how many samples produced it, the best model log-probability among them and
whether it is in the hole's grammar (checked again with `grammar.check`, also
for constrained samples: the mask is trusted only as far as it is checked).
Samples that hit the token limit are incomplete: they are dropped and counted,
never turned into candidates.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from ..lang.sexpr import TermSyntaxError, parse_term, to_sexpr
from .backend import Backend, Prompt, Sample, SampleSettings
from .cache import SampleCache, sample_key, text_sha
from .progress import Event, Progress, emit


class GrammarLike(Protocol):
    """What sampling needs of a compiled grammar (esso_ngs.grammar.CompiledGrammar)."""

    def bounded_lark_text(self, max_nodes: int | None = None, max_nesting: int | None = None) -> str: ...

    def check(self, term: Any) -> Any: ...


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
    found: list[str] = []

    def add(candidate: str) -> None:
        try:
            canon = to_sexpr(parse_term(candidate))
        except (TermSyntaxError, RecursionError):
            return
        if canon not in found:
            found.append(canon)

    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, str):
                        add(item)
                return found
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
    return found


def sample_terms(sample: Sample, mode: str) -> list[str]:
    """The canonical terms of one sample: one (mode "term") or several (mode "list")."""
    if mode == "term":
        try:
            return [to_sexpr(parse_term(sample.text.strip()))]
        except (TermSyntaxError, RecursionError):
            terms = extract_terms(sample.text)
            return terms[:1]
    return extract_terms(sample.text)


# ---------------------------------------------------------------- aggregation
@dataclass
class Candidate:
    term: str  # canonical S-expression
    count: int  # samples that produced it
    best_logprob: float | None
    in_grammar: bool
    explanation: str = ""  # why not in the grammar
    first_sample: int = 0  # index of the first sample that produced it
    style_fits: bool | None = None  # within the style profile's limits (None: unknown)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
    n_unparsable: int = 0  # no term could be read from the sample
    n_errors: int = 0
    n_in_grammar: int = 0  # samples whose (first) term is in the grammar
    gen_tokens: int = 0
    mask_time_s: float = 0.0
    from_cache: bool = False
    cache_key: str = ""
    grammar_sha: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def mask_ms_per_token(self) -> float:
        return 1000.0 * self.mask_time_s / self.gen_tokens if self.gen_tokens else 0.0

    def in_grammar_candidates(self) -> list[Candidate]:
        return [c for c in self.candidates if c.in_grammar]

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("candidates", "settings")}
        out["settings"] = self.settings.to_json()
        out["candidates"] = [c.to_json() for c in self.candidates]
        out["mask_ms_per_token"] = self.mask_ms_per_token
        return out


def _rank_key(c: Candidate) -> tuple[Any, ...]:
    # In-grammar first, within the style limits first, then frequency, then the
    # model's confidence, then first seen.
    lp = c.best_logprob if c.best_logprob is not None else float("-inf")
    return (not c.in_grammar, c.style_fits is False, -c.count, -lp, c.first_sample)


def aggregate(samples: list[Sample], grammar: GrammarLike | None, mode: str) -> tuple[list[Candidate], dict[str, int]]:
    """Distinct candidates (ranked) and counters from raw samples."""
    by_term: dict[str, Candidate] = {}
    counts = {"token_limit": 0, "unparsable": 0, "errors": 0, "in_grammar": 0}
    memo: dict[str, tuple[bool, str, bool | None]] = {}
    for index, s in enumerate(samples):
        if s.hit_token_limit:
            counts["token_limit"] += 1
            continue
        if s.finish == "error":
            counts["errors"] += 1
            continue
        terms = sample_terms(s, mode)
        if not terms:
            counts["unparsable"] += 1
            continue
        for j, term in enumerate(terms):
            if term not in memo:
                if grammar is None:
                    memo[term] = (True, "", None)
                else:
                    m = grammar.check(term)
                    style = getattr(m, "style", None)
                    memo[term] = (bool(m.ok), "" if m.ok else str(m.explanation),
                                  None if style is None else not style.violations)
            ok, why, fits = memo[term]
            if j == 0 and ok:
                counts["in_grammar"] += 1
            c = by_term.get(term)
            if c is None:
                by_term[term] = Candidate(term, 1, s.logprob, ok, why, index, fits)
            else:
                c.count += 1
                if s.logprob is not None and (c.best_logprob is None or s.logprob > c.best_logprob):
                    c.best_logprob = s.logprob
    return sorted(by_term.values(), key=_rank_key), counts


# ---------------------------------------------------------------- one hole
def _sample_reporter(progress: Progress | None, grammar: GrammarLike | None,
                     mode: str) -> Progress | None:
    """Turns a backend's raw `sample` events into events people and the anytime
    search can use: the sample's (first) term, canonical, and whether it is in
    the grammar (None when no term could be read or the row hit the token limit)."""
    if progress is None:
        return None
    memo: dict[str, bool] = {}

    def report(event: Event) -> None:
        raw = event.data.get("raw")
        if event.kind != "sample" or not isinstance(raw, Sample):
            progress(event)
            return
        terms = [] if raw.hit_token_limit or raw.finish == "error" else sample_terms(raw, mode)
        term = terms[0] if terms else None
        if term is not None and term not in memo:
            memo[term] = True if grammar is None else bool(grammar.check(term).ok)
        progress(Event("sample", event.hole_id, {
            "index": event.data.get("index"), "term": term, "in_grammar": memo.get(term) if term else None,
            "tokens": raw.tokens, "finish": raw.finish, "seconds": raw.gen_time_s, "logprob": raw.logprob}))

    return report


def sample_hole(backend: Backend, prompt: Prompt, settings: SampleSettings, grammar: GrammarLike | None,
                *, constrained: bool = True, cache: SampleCache | None = None,
                max_nodes: int | None = None, max_nesting: int | None = None,
                on_event: Progress | None = None) -> HoleSamples:
    """Sample `prompt` with `backend` and aggregate; through `cache` when given.

    Constrained decoding uses the grammar bounded by the style profile (or by
    `max_nodes`/`max_nesting`), so a sampled term cannot nest until the token limit.
    `on_event` receives progress events (neural/progress.py), among them one
    `sample` event per sample as it completes (term, in_grammar): the stream an
    anytime search consumes. Safe to call from a background thread.
    """
    constraint_text: str | None = None
    if constrained and grammar is not None and backend.supports_constraints:
        constraint_text = grammar.bounded_lark_text(max_nodes=max_nodes, max_nesting=max_nesting)
    key = ""
    samples: list[Sample] | None = None
    if cache is not None:
        key = sample_key(backend=backend.name, model_hash=backend.model_hash(), prompt=prompt,
                         settings=settings, constraint_text=constraint_text)
        samples = cache.get(key)
    from_cache = samples is not None
    report = _sample_reporter(on_event, grammar, prompt.mode)
    streamed = False
    if samples is None:
        if getattr(backend, "streams_samples", False):
            samples = backend.sample(prompt, settings, constraint_text, on_event=report)  # type: ignore[call-arg]
            streamed = True
        else:
            samples = backend.sample(prompt, settings, constraint_text)
        if cache is not None:
            cache.put(key, samples, {
                "backend": backend.name, "model_id": backend.model_id, "model_hash": backend.model_hash(),
                "hole_id": prompt.hole_id, "spec": prompt.spec_name, "settings": settings.to_json(),
                "grammar_sha": text_sha(constraint_text), "prompt_sha": prompt.sha256(),
            }, prompt)
    if report is not None and not streamed:  # cached or non-streaming: report them all now
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
    emit(on_event, "generated", prompt.hole_id, samples=len(samples), tokens=gen_tokens,
         seconds=0.0 if from_cache else stats.gen_s, from_cache=from_cache,
         tok_s=(gen_tokens / stats.gen_s) if stats.gen_s and not from_cache else None)
    return HoleSamples(
        hole_id=prompt.hole_id, backend=getattr(backend, "choice_label", None) or backend.name,
        model_id=backend.model_id,
        constrained=constraint_text is not None, mode=prompt.mode, settings=settings,
        candidates=candidates, n_samples=len(samples), n_token_limit=counts["token_limit"],
        n_unparsable=counts["unparsable"], n_errors=counts["errors"], n_in_grammar=counts["in_grammar"],
        gen_tokens=gen_tokens, mask_time_s=sum(s.mask_time_s for s in samples),
        from_cache=from_cache, cache_key=key, grammar_sha=text_sha(constraint_text), stats=run_stats,
    )
