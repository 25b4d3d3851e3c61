"""Neural progress events (esso_ngs.neural.progress) shown to people: lines on stderr.

`text`: one line per event through rich (loading the model, the prompt, each
sample as it completes with its term and whether it is in the grammar, each
candidate's validation result, tokens per second); `json`: one JSON object per
line; `quiet`: nothing. Thread-safe: events may come from a background thread.

A host running many specs (`batch`) names the spec in progress (`context`), put
before every line, and may take each event's stage (`stage_of`: loading model,
prompt, sampling k of N, verifying, searching) for a live line on a terminal
(`on_stage`); the lines go through the same console (`console`), above it.
"""
from __future__ import annotations

import json
import sys
import threading
from typing import Any, Callable, TextIO

from ..neural.progress import Event

MODES = ("text", "json", "quiet")


class ProgressView:
    def __init__(self, mode: str = "text", stream: TextIO | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"progress mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()
        self._console: Any = None
        self.context = ""  # what the events belong to (batch: the spec in progress), before each line
        self.on_stage: Callable[[str], None] | None = None  # a live line's sink (batch on a terminal)

    def __call__(self, event: Event) -> None:
        if self.mode == "quiet":
            return
        with self._lock:
            if self.mode == "json":
                data = event.to_json()
                if self.context:
                    data["context"] = self.context
                self.stream.write(json.dumps(data, sort_keys=True, default=str) + "\n")
                self.stream.flush()
                return
            stage = stage_of(event)
            if stage is not None and self.on_stage is not None:
                self.on_stage(" · ".join(p for p in (self.context, event.hole_id, stage) if p))
            if event.kind == "load_start" and not _is_tty(self.stream):
                return  # a log keeps the `load` line only (an error then stays the one line it must be)
            line = describe(event)
            if line is not None:
                self._print(f"[bold]{_esc(self.context)}[/bold] {line}" if self.context else line)

    @property
    def console(self) -> Any:
        """The rich console the lines go to (a live display on it keeps them above itself)."""
        if self._console is None:
            from rich.console import Console
            self._console = Console(file=self.stream, highlight=False, soft_wrap=True)
        return self._console

    def _print(self, line: str) -> None:
        self.console.print(line)


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _esc(text: Any) -> str:
    from rich.markup import escape
    return escape(str(text))


def describe(event: Event) -> str | None:
    """The rich-markup line for an event (None: nothing to show)."""
    d = event.data
    where = f"[bold]{_esc(event.hole_id)}[/bold]: " if event.hole_id else ""
    if event.kind == "load_start":
        return f"[dim]loading model {_esc(d.get('model'))} ({_esc(d.get('backend'))}) ...[/dim]"
    if event.kind == "load":
        return f"[dim]model {_esc(d.get('model'))} loaded in {d.get('seconds', 0.0):.1f} s[/dim]"
    if event.kind == "prefill":
        tokens, reused, secs = int(d.get("prompt_tokens", 0)), int(d.get("reused_tokens", 0)), float(d.get("seconds", 0))
        rate = f", {(tokens - reused) / secs:.0f} tok/s" if secs > 0 and tokens > reused else ""
        cached = f" ({reused} cached)" if reused else ""
        return f"[dim]{where}prompt {tokens} tokens{cached} in {secs:.1f} s{rate}[/dim]"
    if event.kind == "sample":
        n = f"{d['done']} of {d['of']}" if d.get("done") and d.get("of") else str(int(d.get("index", 0)) + 1)
        term = d.get("term")
        if term is None:
            why = "hit the token limit" if d.get("finish") == "length" else "no term"
            return f"{where}sample {n}: [yellow]{why}[/yellow] ({d.get('tokens', 0)} tokens)"
        status = "[green]in grammar[/green]" if d.get("in_grammar") else "[red]not in grammar[/red]"
        return f"{where}sample {n}: {_esc(term)}  {status}"
    if event.kind == "generated":
        if d.get("stopped"):
            return f"[dim]{where}stopped after {d.get('samples', 0)} of {d.get('of', '?')} samples " \
                   f"(no longer needed)[/dim]"
        if d.get("from_cache"):
            return f"[dim]{where}{d.get('samples', 0)} samples from the sample cache[/dim]"
        rate = f" ({d['tok_s']:.1f} tok/s)" if d.get("tok_s") else ""
        return f"[dim]{where}{d.get('samples', 0)} samples, {d.get('tokens', 0)} tokens in " \
               f"{d.get('seconds', 0.0):.1f} s{rate}[/dim]"
    if event.kind == "validating":
        if not d.get("candidates") or d.get("tier") == "none":
            return None
        return f"[dim]{where}verifying {d['candidates']} new candidates ({_esc(d.get('tier'))} tier)[/dim]"
    if event.kind == "searching":
        return f"[dim]searching {_esc(d.get('label', ''))}[/dim]"
    if event.kind == "backend":
        return f"[dim]{_esc(d.get('message', ''))}[/dim]"
    if event.kind == "validated":
        verdict = "[green]passes[/green]" if d.get("passed") else "[red]fails[/red]"
        reason = f": {_esc(d['reason'])}" if d.get("reason") and not d.get("passed") else ""
        return f"{where}{_esc(d.get('term'))}  {verdict} {_esc(d.get('tier'))}{reason}"
    return None


def stage_of(event: Event) -> str | None:
    """The stage an event starts or reports, for a live line (None: no change of stage)."""
    d = event.data
    if event.kind == "start":
        return "starting the model"
    if event.kind == "backend" and d.get("measuring"):
        return "measuring the backends"
    if event.kind == "load_start":
        return "loading model"
    if event.kind == "prefill_start":
        return "prompt"
    if event.kind == "prefill":
        return "sampling"
    if event.kind == "sample":
        return f"sampling {d['done']} of {d['of']}" if d.get("done") and d.get("of") else "sampling"
    if event.kind == "validating":
        return "verifying"
    if event.kind == "searching":
        return f"searching {d.get('label', '')}".strip()
    return None


def view_from_flags(quiet: bool = False, as_json: bool = False) -> ProgressView:
    return ProgressView("quiet" if quiet else "json" if as_json else "text")
