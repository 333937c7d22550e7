"""Run a WSGI app on 127.0.0.1 in a background thread, and record callbacks sent to us."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class BackgroundServer:
    """A werkzeug server on a free local port, started and stopped explicitly."""

    def __init__(self, app: Any) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> None:
        """Serve in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class ServedEmulator:
    """What every provider emulator shares: its server's life and its callback threads.

    A subclass sets ``_server`` (a ``BackgroundServer``), ``_threads`` and ``_stopped``.
    """

    _server: BackgroundServer
    _threads: list[threading.Thread]
    _stopped: bool

    def start(self) -> None:
        """Start serving."""
        self._server.start()

    def stop(self) -> None:
        """Stop serving (once) and wait for pending callbacks."""
        if not self._stopped:
            self._stopped = True
            self._server.stop()
        self.join_callbacks()

    def join_callbacks(self, timeout: float = 10.0) -> None:
        """Wait for every scheduled callback thread to finish."""
        for thread in list(self._threads):
            thread.join(timeout)

    def _in_background(self, run: Any) -> None:
        thread = threading.Thread(target=run, daemon=True)
        self._threads.append(thread)
        thread.start()


@dataclass(frozen=True)
class ReceivedCallback:
    """One POST that reached the recorder."""

    path: str
    query: dict[str, str]
    body: Any
    at: float = field(default=0.0, compare=False)  # time.monotonic() on arrival


class CallbackRecorder:
    """Our side of the webhooks: records every POST and answers like Kazi would."""

    def __init__(self) -> None:
        self.received: list[ReceivedCallback] = []
        self._cond = threading.Condition()
        self._server = BackgroundServer(self._app)
        self.url = self._server.url

    def start(self) -> None:
        """Start the receiver."""
        self._server.start()

    def stop(self) -> None:
        """Stop the receiver."""
        self._server.stop()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[ReceivedCallback]:
        """Wait until at least ``count`` callbacks arrived (an upper bound); return them all."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            if len(self.received) < count:
                raise AssertionError(f"expected {count} callbacks, got {len(self.received)}")
            return list(self.received)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = json.loads(request.get_data() or b"null")
        with self._cond:
            self.received.append(
                ReceivedCallback(request.path, dict(request.args), body, time.monotonic())
            )
            self._cond.notify_all()
        accept = {"ResultCode": 0, "ResultDesc": "Accepted"}
        return Response(json.dumps(accept), mimetype="application/json")(environ, start_response)
