"""A real HTTP endpoint that records the callbacks MLWorker posts (demo and tests)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass(frozen=True, slots=True)
class ReceivedCallback:
    """One POST as it arrived."""

    path: str
    headers: dict[str, str]
    body: Any


class CallbackReceiver:
    """Records every POST; ``fail_next(n, status)`` makes the next n answers fail on purpose."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[ReceivedCallback] = []
        self._failures: list[int] = []
        self.app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])

    def fail_next(self, count: int, status_code: int = 503) -> None:
        with self._lock:
            self._failures.extend([status_code] * count)

    def received(self, path: str | None = None) -> list[ReceivedCallback]:
        """Callbacks so far, in arrival order (only those for ``path`` if given)."""
        with self._lock:
            return [c for c in self._received if path is None or c.path == path]

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._failures.clear()

    async def _receive(self, request: Request) -> JSONResponse:
        body = await request.json()
        callback = ReceivedCallback(
            "/" + request.path_params["path"],
            {k.lower(): v for k, v in request.headers.items()},
            body,
        )
        with self._lock:
            self._received.append(callback)
            status = self._failures.pop(0) if self._failures else 200
        return JSONResponse({"received": status == 200}, status_code=status)
