"""POSTs results to the backend: retries transport errors and 5xx only, with an idempotency key."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from orchestrator.errors import CallbackFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """How the callback ended: the receiver's status code and the attempts it took."""

    status_code: int
    attempts: int

    @property
    def accepted(self) -> bool:
        return 200 <= self.status_code < 300


class CallbackPoster:
    """Shares one httpx client; opened and closed by the app's lifespan."""

    def __init__(self, client: httpx.AsyncClient, attempts: int, backoff_s: float) -> None:
        self._client = client
        self._attempts = attempts
        self._backoff_s = backoff_s

    async def post(
        self, url: str, payload: dict[str, Any], tenant_id: str, idempotency_key: str
    ) -> Delivery:
        """Deliver ``payload``; a 4xx is final, repeated 5xx/transport errors raise CallbackFailed.

        The same idempotency key is sent on every attempt and every redelivery of the task, so
        the receiver can drop duplicates.
        """
        headers = {"X-Tenant-ID": tenant_id, "Idempotency-Key": idempotency_key}
        last = "no attempt made"
        for attempt in range(1, self._attempts + 1):
            try:
                response = await self._client.post(url, json=payload, headers=headers)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500:
                    if response.status_code >= 300:
                        log.warning("callback %s refused the result: %s", url, response.status_code)
                    return Delivery(response.status_code, attempt)
                last = f"HTTP {response.status_code}"
            if attempt < self._attempts:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        raise CallbackFailed(f"callback {url} failed {self._attempts} times; last: {last}")
