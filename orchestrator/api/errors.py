"""The one place where MLWorker's errors become HTTP responses.

Cloud Tasks retries every non-2xx; 503 with Retry-After makes it back off. 400 and 422 are
answers a retry cannot change.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orchestrator.errors import (
    DependencyUnavailable,
    InputRejected,
    LimitExceeded,
    MLWorkerError,
    ModelRejected,
    RequestInvalid,
    StepFailed,
)

log = logging.getLogger(__name__)

# First match wins, so subclasses come before their bases.
ERROR_STATUS: tuple[tuple[type[MLWorkerError], int, str], ...] = (
    (RequestInvalid, 400, "request_invalid"),
    (LimitExceeded, 422, "limit_exceeded"),
    (ModelRejected, 422, "model_rejected"),
    (InputRejected, 422, "input_rejected"),
    (StepFailed, 500, "step_failed"),
    (DependencyUnavailable, 503, "dependency_unavailable"),
)


def error_response(exc: MLWorkerError) -> JSONResponse:
    """The JSON body and status for ``exc``."""
    status, kind = next(
        ((s, k) for cls, s, k in ERROR_STATUS if isinstance(exc, cls)), (500, "internal")
    )
    error: dict[str, Any] = {"type": kind, "message": exc.message}
    if isinstance(exc, RequestInvalid):
        error["problems"] = [p.as_json() for p in exc.problems]
    if isinstance(exc, StepFailed):
        error["step"] = exc.step
    headers = {}
    if isinstance(exc, DependencyUnavailable):
        headers["Retry-After"] = str(exc.retry_after_s)
    if status >= 500:
        log.warning("task failed with %s: %s", status, exc.message)
    return JSONResponse({"error": error}, status_code=status, headers=headers)


async def handle_mlworker_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MLWorkerError)
    return error_response(exc)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """A bug: log the traceback here, never send it to the caller."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"error": {"type": "internal", "message": "internal error"}}, status_code=500
    )
