"""Google Cloud Storage through the official (synchronous) client, run in worker threads."""

from __future__ import annotations

import anyio
import anyio.to_thread
import requests
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import GoogleAuthError
from google.cloud import storage

from orchestrator.errors import ImageNotFound, LimitExceeded, StorageUnavailable

_TRANSIENT = (gexc.GoogleAPIError, requests.RequestException, GoogleAuthError, OSError)


class GcsBlobStore:
    """One bucket; ``endpoint`` points at an emulator, None means real GCS."""

    def __init__(
        self,
        bucket: str,
        endpoint: str | None,
        project: str,
        timeout_s: float = 30.0,
        workers: int = 16,
    ) -> None:
        if endpoint is None:
            self._client = storage.Client(project=project)
        else:
            self._client = storage.Client(
                project=project,
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options={"api_endpoint": endpoint},
            )
        self.bucket = bucket
        self._bucket = self._client.bucket(bucket)
        self._timeout_s = timeout_s
        self._threads = anyio.CapacityLimiter(workers)

    async def read(self, key: str, max_bytes: int) -> bytes:
        return await anyio.to_thread.run_sync(self._read, key, max_bytes, limiter=self._threads)

    async def write(self, key: str, data: bytes, content_type: str) -> str:
        await anyio.to_thread.run_sync(self._write, key, data, content_type, limiter=self._threads)
        return f"gs://{self.bucket}/{key}"

    async def close(self) -> None:
        self._client.close()

    def _read(self, key: str, max_bytes: int) -> bytes:
        uri = f"gs://{self.bucket}/{key}"
        try:
            # One ranged request: reading one byte past the limit tells "too large" apart.
            data: bytes = self._bucket.blob(key).download_as_bytes(
                start=0, end=max_bytes, timeout=self._timeout_s
            )
        except gexc.NotFound as exc:
            raise ImageNotFound(f"no object at {uri}") from exc
        except gexc.RequestRangeNotSatisfiable:
            return b""  # a zero-byte object has no byte 0 to range over
        except _TRANSIENT as exc:
            raise StorageUnavailable(f"reading {uri} failed: {exc}") from exc
        if len(data) > max_bytes:
            raise LimitExceeded(f"{uri} is larger than {max_bytes} bytes")
        return data

    def _write(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self._bucket.blob(key).upload_from_string(
                data, content_type=content_type, timeout=self._timeout_s
            )
        except _TRANSIENT as exc:
            raise StorageUnavailable(f"writing gs://{self.bucket}/{key} failed: {exc}") from exc
