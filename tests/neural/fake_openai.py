"""A fake OpenAI-compatible server in a thread: scripted replies, recorded requests, injected failures."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeServer:
    """Answers /v1/chat/completions from a script of replies (cycled); records the requests.

    `failures` are played first, one per request: an HTTP status (429 comes with
    `Retry-After: 0`) or "drop" (the connection is closed without an answer).
    `status` answers every request with that error instead. `delay_s` holds each
    answer, so concurrent requests overlap; `max_in_flight` is the most seen at once.
    """

    def __init__(self, replies: list[dict[str, Any]], status: int = 200, failures: list[int | str] | None = None,
                 delay_s: float = 0.0) -> None:
        self.replies = replies
        self.status = status
        self.failures = list(failures or [])
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []  # answered ones, in arrival order
        self.failed: list[int | str] = []
        self.in_flight = self.max_in_flight = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    failure = outer.failures.pop(0) if outer.failures else None
                    if failure is not None:
                        outer.failed.append(failure)
                    else:
                        outer.requests.append({"path": self.path, "body": body})
                        reply = outer.replies[(len(outer.requests) - 1) % len(outer.replies)]
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    time.sleep(outer.delay_s)
                    if failure == "drop":
                        self.close_connection = True
                        return
                    status = failure if isinstance(failure, int) else outer.status
                    data = json.dumps(reply if status == 200 else {"error": "busy"}).encode()
                    self.send_response(status)
                    if status == 429:
                        self.send_header("Retry-After", "0")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    with lock:
                        outer.in_flight -= 1

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FakeServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def reply(text: str, finish: str = "stop", logprobs: list[float] | None = None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text},
                              "finish_reason": finish}
    if logprobs is not None:
        choice["logprobs"] = {"content": [{"token": "t", "logprob": lp} for lp in logprobs]}
    return {"choices": [choice], "usage": {"completion_tokens": 7}}
