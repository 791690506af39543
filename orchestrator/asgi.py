"""Entry point for uvicorn: ``uvicorn --factory orchestrator.asgi:app``.

A factory, so the environment is read when the server starts, never at import time.
"""

from __future__ import annotations

from starlette.applications import Starlette

from orchestrator.app import create_app
from orchestrator.settings import Settings


def app() -> Starlette:
    """The app configured from ``MLWORKER_*`` environment variables."""
    return create_app(Settings())
