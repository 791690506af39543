"""Every error MLWorker raises on purpose, and nothing else.

Foreign errors (Triton, GCS, httpx, Pillow) are translated once, where they enter, with
``raise ... from exc``; ``orchestrator.api.errors`` maps this tree to HTTP in one place::

    MLWorkerError
    ├── RequestInvalid            400  the task or its pipeline is wrong; lists every Problem
    ├── InputRejected             422  the task is well formed but its input cannot be used
    │   ├── ImageNotFound              the image_url names no object
    │   ├── ImageUndecodable           the object is not a picture we can decode
    │   └── LimitExceeded              the input is larger than a configured limit
    ├── StepFailed                500  a step broke at run time (names the step; no traceback)
    │   └── ModelRejected         422  the model refuses the tensors this task produces
    └── DependencyUnavailable     503  retry later: Cloud Tasks backs off on 503 + Retry-After
        ├── TritonUnavailable
        │   └── ModelUnavailable       a model is missing or not ready (e.g. during a rollout)
        ├── StorageUnavailable
        └── CallbackFailed
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request: where (step id and dotted field) and why."""

    step: str | None
    field: str | None
    message: str

    def as_json(self) -> dict[str, str | None]:
        """The wire form used in 400 bodies and the validation endpoint."""
        return {"step": self.step, "field": self.field, "message": self.message}


class MLWorkerError(Exception):
    """Root of the tree; ``message`` is safe to show to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RequestInvalid(MLWorkerError):
    """The request or its pipeline definition is invalid; carries all problems at once."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the request")
        self.problems = problems


class InputRejected(MLWorkerError):
    """The task is well formed but its input cannot be processed; retrying will not help."""


class ImageNotFound(InputRejected):
    """The image_url names no object in storage."""


class ImageUndecodable(InputRejected):
    """The stored object is not an image we can decode."""


class LimitExceeded(InputRejected):
    """An input is larger than a configured limit (pixels, bytes)."""


class StepFailed(MLWorkerError):
    """A step raised at run time; the message names the step."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"step '{step}': {message}")
        self.step = step


class ModelRejected(StepFailed):
    """Triton refused a request (wrong shape, dtype or name) for a model step."""


class DependencyUnavailable(MLWorkerError):
    """A service we depend on failed in a way that a later retry may not."""

    retry_after_s: int = 5


class TritonUnavailable(DependencyUnavailable):
    """Triton cannot be reached or timed out."""


class ModelUnavailable(TritonUnavailable):
    """A model or version is not loaded or not ready (for instance mid-rollout)."""


class StorageUnavailable(DependencyUnavailable):
    """Object storage failed or timed out."""


class CallbackFailed(DependencyUnavailable):
    """The callback receiver kept failing after our retries."""
