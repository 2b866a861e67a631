"""A fake OpenAI-compatible chat server on 127.0.0.1 that replays scripted replies and records every request."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | Callable[[list[dict[str, Any]]], str]


@dataclass
class FakeOpenAI:
    """Scripted replies (strings, or functions of the messages) served in order; requests kept for assertions."""

    replies: list[Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""
    status: int = 200  # set to an error status to make every call fail

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(body)
        if not self.replies:
            raise AssertionError("the fake server ran out of scripted replies")
        reply = self.replies.pop(0)
        content = reply(body["messages"]) if callable(reply) else reply
        prompt_tokens = sum(len(m["content"]) for m in body["messages"]) // 4
        completion_tokens = max(1, len(content) // 4)
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}"}})
            elif fake.status != 200:
                fake.requests.append(body)
                self._send(fake.status, {"error": {"message": "scripted failure", "type": "server_error"}})
            else:
                self._send(200, fake.completion(body))

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

    return Handler


@contextmanager
def serve(replies: list[Reply]) -> Iterator[FakeOpenAI]:
    """Run a FakeOpenAI on a free port of 127.0.0.1 for the duration of the block."""
    fake = FakeOpenAI(list(replies))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
