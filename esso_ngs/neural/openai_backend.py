"""Backend over an OpenAI-compatible HTTP server (vLLM, LM Studio, llama.cpp's server,
Ollama's /v1 endpoint), with the standard library only: the way to use a served model.

One request per sample, each with its own seed (`settings.seed_for(i)`), since
servers differ in how they honour `n`; up to `concurrency` requests in flight.
Unconstrained by default; when the server takes a grammar in the request, name
the field with `grammar_field` and the bounded Lark grammar is sent in it:
`structured_outputs` (vLLM >= 0.10: `{"structured_outputs": {"grammar": ...}}`),
`guided_grammar` (older vLLM), or any other top-level field name. Either way
every output is checked with `grammar.check_term` by the sampling layer before it
becomes a candidate, so a server that ignores the field is filtered, never trusted.

429, 5xx and connection errors are retried `max_retries` times (default
`$ESSO_NGS_OPENAI_RETRIES` or 4) with exponential backoff from `retry_base_s`
(a `Retry-After` header wins when it asks for longer, up to `MAX_BACKOFF_S`).

The server is configured by `base_url` (or `$ESSO_NGS_OPENAI_BASE_URL`, default
`http://127.0.0.1:8080/v1`) and an optional key in `$ESSO_NGS_OPENAI_API_KEY`.
Neither concurrency nor retries are part of the model's identity: the sample
cache (keyed by server, model, grammar mode, prompt, settings) is shared by every
worker that reaches the same cache directory.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from ..errors import UserError
from .backend import BackendStats, Prompt, Sample, SampleSettings

DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1"
DEFAULT_CONCURRENCY = 4
DEFAULT_RETRIES = 4
MAX_BACKOFF_S = 30.0
# vLLM's structured-output request object: the grammar goes in its `grammar` key.
NESTED_GRAMMAR_FIELDS = {"structured_outputs": "grammar"}
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class _Retryable(Exception):
    """A failed request worth another try; `wait_s` is the server's Retry-After, if any."""

    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class OpenAIBackend:
    name = "openai"

    def __init__(self, model: str, base_url: str | None = None, grammar_field: str | None = None,
                 timeout_s: float = 120.0, api_key: str | None = None, concurrency: int = DEFAULT_CONCURRENCY,
                 max_retries: int | None = None, retry_base_s: float = 0.5) -> None:
        if not model:
            raise UserError("the openai backend needs --model NAME (the model name the server knows)")
        self.model_id = model
        self.base_url = (base_url or os.environ.get("ESSO_NGS_OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.grammar_field = grammar_field
        self.supports_constraints = bool(grammar_field)
        self.timeout_s = timeout_s
        self.api_key = api_key if api_key is not None else os.environ.get("ESSO_NGS_OPENAI_API_KEY")
        self.stats = BackendStats()
        if not isinstance(concurrency, int) or concurrency < 1:
            raise UserError(f"openai backend: concurrency must be an integer >= 1, got {concurrency!r}")
        self.concurrency = concurrency
        if max_retries is None:
            env = os.environ.get("ESSO_NGS_OPENAI_RETRIES", str(DEFAULT_RETRIES))
            try:
                max_retries = int(env)
            except ValueError:
                raise UserError(f"$ESSO_NGS_OPENAI_RETRIES: expected an integer, got {env!r}") from None
        if max_retries < 0:
            raise UserError(f"openai backend: max_retries must be >= 0, got {max_retries}")
        self.max_retries = max_retries
        self.retry_base_s = retry_base_s

    def model_hash(self) -> str:
        # The server's weights are out of reach: its URL, model name and grammar mode identify it.
        ident = json.dumps([self.base_url, self.model_id, self.grammar_field])
        return "server:" + hashlib.sha256(ident.encode()).hexdigest()

    def _post_once(self, url: str, payload: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace").strip().replace("\n", " ")[:200]
            message = f"{url}: HTTP {exc.code}: {text or exc.reason}"
            if exc.code in RETRY_STATUS:
                raise _Retryable(message, _retry_after(exc.headers.get("Retry-After"))) from None
            if exc.code in (400, 422) and self.grammar_field in payload:
                message += (f" (if this server does not take a grammar in `{self.grammar_field}`, drop "
                            "--server-grammar-field: its outputs are then filtered by the grammar)")
            raise UserError(message) from None
        except urllib.error.URLError as exc:
            raise _Retryable(f"{url}: cannot reach the server ({exc.reason}); start it or pass --base-url") \
                from None
        except (TimeoutError, OSError) as exc:  # timeouts, connections reset or closed mid-answer
            raise _Retryable(f"{url}: {exc or type(exc).__name__}") from None
        try:
            return json.loads(body.decode("utf-8"))
        except ValueError:
            raise UserError(f"{url}: the server's answer is not JSON") from None

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One request, retried with exponential backoff on 429, 5xx and connection errors."""
        url = f"{self.base_url}/chat/completions"
        for attempt in range(self.max_retries + 1):
            try:
                return self._post_once(url, payload)
            except _Retryable as exc:
                if attempt == self.max_retries:
                    tries = f" (after {attempt + 1} tries)" if attempt else ""
                    raise UserError(f"{exc}{tries}") from None
                backoff = self.retry_base_s * 2 ** attempt
                time.sleep(min(MAX_BACKOFF_S, max(backoff, exc.wait_s or 0.0)))
        raise AssertionError("unreachable")

    def _payload(self, prompt: Prompt, settings: SampleSettings, seed: int,
                 constraint_text: str | None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model_id, "messages": prompt.chat(), "n": 1,
            "temperature": settings.temperature, "top_p": settings.top_p,
            "max_tokens": settings.max_tokens, "seed": seed, "logprobs": True,
        }
        if constraint_text is not None and self.grammar_field:
            inner = NESTED_GRAMMAR_FIELDS.get(self.grammar_field)
            payload[self.grammar_field] = {inner: constraint_text} if inner else constraint_text
        return payload

    def _one(self, prompt: Prompt, settings: SampleSettings, index: int, constraint_text: str | None) -> Sample:
        seed = settings.seed_for(index)
        t0 = time.perf_counter()
        data = self._post(self._payload(prompt, settings, seed, constraint_text))
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise UserError(f"{self.base_url}: unexpected answer (no choices[0].message.content)") from None
        finish = str(choice.get("finish_reason") or "stop")
        tokens = int((data.get("usage") or {}).get("completion_tokens") or 0)
        return Sample(text=text, logprob=_sum_logprobs(choice.get("logprobs")), tokens=tokens,
                      hit_token_limit=(finish == "length"), finish="length" if finish == "length" else "eos",
                      gen_time_s=time.perf_counter() - t0, seed=seed)

    def sample(self, prompt: Prompt, settings: SampleSettings,
               constraint_text: str | None) -> list[Sample]:
        t_all = time.perf_counter()
        if self.concurrency == 1 or settings.n <= 1:
            out = [self._one(prompt, settings, i, constraint_text) for i in range(settings.n)]
        else:
            with cf.ThreadPoolExecutor(min(self.concurrency, settings.n)) as pool:
                out = list(pool.map(lambda i: self._one(prompt, settings, i, constraint_text), range(settings.n)))
        self.stats.gen_s = time.perf_counter() - t_all
        self.stats.gen_tokens = sum(s.tokens for s in out)
        return out


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (an HTTP date is not worth parsing here: None)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _sum_logprobs(block: Any) -> float | None:
    """Sum of token log-probs from an OpenAI `logprobs` block, when the server sent one."""
    if not isinstance(block, dict):
        return None
    content = block.get("content")
    if not isinstance(content, list) or not content:
        return None
    try:
        return float(sum(float(t["logprob"]) for t in content))
    except (KeyError, TypeError, ValueError):
        return None
