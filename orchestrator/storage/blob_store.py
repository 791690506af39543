"""Blob storage as the app needs it: read an original, write processed outputs."""

from __future__ import annotations

from typing import Protocol


class BlobStore(Protocol):
    """Keys are object names inside the configured bucket."""

    bucket: str

    async def read(self, key: str, max_bytes: int) -> bytes:
        """The object's bytes; ImageNotFound if absent, LimitExceeded past ``max_bytes``."""
        ...

    async def write(self, key: str, data: bytes, content_type: str) -> str:
        """Store ``data`` at ``key`` (overwriting) and return its ``gs://`` URI."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
