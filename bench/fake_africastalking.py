"""A local fake of Africa's Talking's bulk SMS API, for the outbound benchmark.

It answers ``POST /version1/messaging`` in AT's documented shape
(https://developers.africastalking.com/docs/sms/sending/bulk: one ``Recipients`` entry
per number, statusCode 101 for "Success") and counts every number and request it got.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


class FakeAfricasTalking:
    """A threaded HTTP server answering AT's bulk send API; counts numbers and requests."""

    def __init__(self) -> None:
        self.numbers: Counter[str] = Counter()
        self.requests = 0
        self.first_at: float | None = None  # perf_counter of the first request
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                numbers = form.get("to", [""])[0].split(",")
                fake.record(numbers)
                body = json.dumps(answer(numbers)).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # one line per request would drown the progress lines

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def record(self, numbers: list[str]) -> None:
        with self._lock:
            if self.first_at is None:
                self.first_at = time.perf_counter()
            self.requests += 1
            self.numbers.update(numbers)

    def reset(self) -> None:
        with self._lock:
            self.first_at = None
            self.requests = 0
            self.numbers.clear()

    def __enter__(self) -> FakeAfricasTalking:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def answer(numbers: list[str]) -> dict[str, Any]:
    """AT's answer to a send: every number accepted (statusCode 101), one message id each."""
    recipients = [
        {
            "statusCode": 101,
            "number": number,
            "status": "Success",
            "cost": "KES 0.8000",
            "messageId": f"ATXid_{uuid.uuid4().hex}",
        }
        for number in numbers
    ]
    return {
        "SMSMessageData": {
            "Message": f"Sent to {len(numbers)}/{len(numbers)} Total Cost: KES 0.8000",
            "Recipients": recipients,
        }
    }
