"""Serve an ASGI app with uvicorn on a free loopback port, in a background thread.

Used for the app under test (its lifespan runs for real) and for the callback receiver.
"""

from __future__ import annotations

import threading
import time

import uvicorn
from starlette.types import ASGIApp

from devstack.errors import NotReadyError
from devstack.lifecycle import Service
from devstack.ports import LOOPBACK, free_port


class ServedApp(Service):
    """``with ServedApp(app) as served: httpx.get(served.url + "/healthz")``."""

    def __init__(self, app: ASGIApp, start_timeout_s: float = 30.0) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host=LOOPBACK, port=self.port, log_level="warning", lifespan="on", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name=f"uvicorn:{self.port}", daemon=True
        )
        self._start_timeout_s = start_timeout_s

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        """Start serving; raises if the server did not come up (e.g. its lifespan failed)."""
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise NotReadyError(f"uvicorn on port {self.port} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        """Ask uvicorn to finish in-flight requests and exit, then join its thread."""
        self._server.should_exit = True
        self._thread.join(timeout=30)
