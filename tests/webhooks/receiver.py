"""A partner's webhook endpoint, run by a test on a local port: it answers as it is told to.

Each request is recorded with its path, headers and body; its answer is the next of ``answers``
(the last one repeats): a status code, ``("redirect", location)`` or ``("sleep", seconds)``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: The ports these tests may use.
PORTS = range(18160, 18180)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    answers: list[Any]
    port: int = 0
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/tanpuhui"

    def _next_answer(self) -> Any:
        index = min(len(self.received) - 1, len(self.answers) - 1)
        return self.answers[index]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            receiver.received.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            answer = receiver._next_answer()
            if isinstance(answer, tuple) and answer[0] == "sleep":
                time.sleep(answer[1])
                answer = 200
            if isinstance(answer, tuple) and answer[0] == "redirect":
                self.send_response(302)
                self.send_header("Location", answer[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            text = b"ok" if 200 <= answer < 300 else b"server error"
            self.send_response(answer)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def free_port() -> int:
    """A port of our range nobody listens on."""
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18160-18179")


@contextmanager
def receiving(*answers: Any) -> Iterator[Receiver]:
    receiver = Receiver(list(answers) or [200])
    server = None
    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), _handler(receiver))
            break
        except OSError:
            continue
    if server is None:
        raise RuntimeError("no free port in 18160-18179")
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
