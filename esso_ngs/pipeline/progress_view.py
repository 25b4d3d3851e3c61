"""Neural progress events (esso_ngs.neural.progress) shown to people: lines on stderr.

`text`: one line per event through rich (loading the model, the prompt, each
sample as it completes with its term and whether it is in the grammar, each
candidate's validation result, tokens per second); `json`: one JSON object per
line; `quiet`: nothing. Thread-safe: events may come from a background thread.
"""
from __future__ import annotations

import json
import sys
import threading
from typing import Any, TextIO

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

    def __call__(self, event: Event) -> None:
        if self.mode == "quiet":
            return
        with self._lock:
            if self.mode == "json":
                self.stream.write(json.dumps(event.to_json(), sort_keys=True, default=str) + "\n")
                self.stream.flush()
                return
            if event.kind == "load_start" and not _is_tty(self.stream):
                return  # a log keeps the `load` line only (an error then stays the one line it must be)
            line = describe(event)
            if line is not None:
                self._print(line)

    def _print(self, line: str) -> None:
        if self._console is None:
            from rich.console import Console
            self._console = Console(file=self.stream, highlight=False, soft_wrap=True)
        self._console.print(line)


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
        n = int(d.get("index", 0)) + 1
        term = d.get("term")
        if term is None:
            why = "hit the token limit" if d.get("finish") == "length" else "no term"
            return f"{where}sample {n}: [yellow]{why}[/yellow] ({d.get('tokens', 0)} tokens)"
        status = "[green]in grammar[/green]" if d.get("in_grammar") else "[red]not in grammar[/red]"
        return f"{where}sample {n}: {_esc(term)}  {status}"
    if event.kind == "generated":
        if d.get("from_cache"):
            return f"[dim]{where}{d.get('samples', 0)} samples from the sample cache[/dim]"
        rate = f" ({d['tok_s']:.1f} tok/s)" if d.get("tok_s") else ""
        return f"[dim]{where}{d.get('samples', 0)} samples, {d.get('tokens', 0)} tokens in " \
               f"{d.get('seconds', 0.0):.1f} s{rate}[/dim]"
    if event.kind == "validated":
        verdict = "[green]passes[/green]" if d.get("passed") else "[red]fails[/red]"
        reason = f": {_esc(d['reason'])}" if d.get("reason") and not d.get("passed") else ""
        return f"{where}{_esc(d.get('term'))}  {verdict} {_esc(d.get('tier'))}{reason}"
    return None


def view_from_flags(quiet: bool = False, as_json: bool = False) -> ProgressView:
    return ProgressView("quiet" if quiet else "json" if as_json else "text")
