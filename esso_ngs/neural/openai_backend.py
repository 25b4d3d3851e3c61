"""Backend over an OpenAI-compatible HTTP server on this machine or network you run
(LM Studio, vLLM, llama.cpp's server, Ollama's /v1 endpoint), with the standard library only.

One request per sample, each with its own seed (`settings.seed_for(i)`), since
local servers differ in how they honour `n`. Unconstrained by default; when the
server takes a grammar in a request field (vLLM's `guided_grammar` takes Lark,
for instance), name that field with `grammar_field` and the bounded Lark grammar
is sent in it. Either way every output is checked with `grammar.check` by the
sampling layer before it becomes a candidate.

The server is configured by `base_url` (or `$ESSO_NGS_OPENAI_BASE_URL`, default
`http://127.0.0.1:8080/v1`) and an optional key in `$ESSO_NGS_OPENAI_API_KEY`.
"""
from __future__ import annotations

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


class OpenAIBackend:
    name = "openai"

    def __init__(self, model: str, base_url: str | None = None, grammar_field: str | None = None,
                 timeout_s: float = 120.0, api_key: str | None = None) -> None:
        if not model:
            raise UserError("the openai backend needs --model NAME (the model name the server knows)")
        self.model_id = model
        self.base_url = (base_url or os.environ.get("ESSO_NGS_OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.grammar_field = grammar_field
        self.supports_constraints = bool(grammar_field)
        self.timeout_s = timeout_s
        self.api_key = api_key if api_key is not None else os.environ.get("ESSO_NGS_OPENAI_API_KEY")
        self.stats = BackendStats()

    def model_hash(self) -> str:
        # The server's weights are out of reach: its URL, model name and grammar mode identify it.
        ident = json.dumps([self.base_url, self.model_id, self.grammar_field])
        return "server:" + hashlib.sha256(ident.encode()).hexdigest()

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/chat/completions"
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace").strip().replace("\n", " ")[:200]
            raise UserError(f"{url}: HTTP {exc.code}: {body or exc.reason}") from None
        except urllib.error.URLError as exc:
            raise UserError(f"{url}: cannot reach the server ({exc.reason}); "
                            "start it or pass --base-url") from None
        except (TimeoutError, OSError) as exc:
            raise UserError(f"{url}: {exc}") from None
        except ValueError:
            raise UserError(f"{url}: the server's answer is not JSON") from None

    def sample(self, prompt: Prompt, settings: SampleSettings,
               constraint_text: str | None) -> list[Sample]:
        out: list[Sample] = []
        t_all = time.perf_counter()
        for i in range(settings.n):
            seed = settings.seed_for(i)
            payload: dict[str, Any] = {
                "model": self.model_id, "messages": prompt.chat(), "n": 1,
                "temperature": settings.temperature, "top_p": settings.top_p,
                "max_tokens": settings.max_tokens, "seed": seed, "logprobs": True,
            }
            if constraint_text is not None and self.grammar_field:
                payload[self.grammar_field] = constraint_text
            t0 = time.perf_counter()
            data = self._post(payload)
            try:
                choice = data["choices"][0]
                text = choice["message"]["content"] or ""
            except (KeyError, IndexError, TypeError):
                raise UserError(f"{self.base_url}: unexpected answer (no choices[0].message.content)") from None
            finish = str(choice.get("finish_reason") or "stop")
            logprob = _sum_logprobs(choice.get("logprobs"))
            tokens = int((data.get("usage") or {}).get("completion_tokens") or 0)
            out.append(Sample(text=text, logprob=logprob, tokens=tokens, hit_token_limit=(finish == "length"),
                              finish="length" if finish == "length" else "eos",
                              gen_time_s=time.perf_counter() - t0, seed=seed))
        self.stats.gen_s = time.perf_counter() - t_all
        self.stats.gen_tokens = sum(s.tokens for s in out)
        return out


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
