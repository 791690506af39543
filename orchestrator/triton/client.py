"""The one gRPC channel to Triton: signatures with a short cache, inference, error mapping.

Every tritonclient/grpc error is translated here and nowhere else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tritonclient.grpc import InferInput, InferRequestedOutput
from tritonclient.grpc.aio import InferenceServerClient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype, triton_to_np_dtype

from orchestrator.errors import ModelRejected, ModelUnavailable, TritonUnavailable


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """A model tensor as Triton reports it; ``shape`` includes the batch dim (-1) if batching."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(triton_to_np_dtype(self.datatype))


@dataclass(frozen=True, slots=True)
class ModelSignature:
    """What a loaded model version accepts and returns."""

    name: str
    version: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    max_batch_size: int

    def input(self, name: str) -> TensorSpec | None:
        return next((t for t in self.inputs if t.name == name), None)

    def output(self, name: str) -> TensorSpec | None:
        return next((t for t in self.outputs if t.name == name), None)


@dataclass(frozen=True, slots=True)
class RepositoryEntry:
    """One model version in Triton's repository index, loaded or not."""

    name: str
    version: str
    state: str


@dataclass(frozen=True, slots=True)
class InferOutcome:
    """Outputs of one request and the model version that actually served it."""

    outputs: dict[str, NDArray[Any]]
    model_version: str


_NOT_FOUND_HINTS = ("unknown model", "not found", "is not ready", "unavailable model")


class TritonClient:
    """Async Triton access for the whole app; opened and closed by the app's lifespan."""

    def __init__(self, url: str, timeout_s: float, metadata_ttl_s: float) -> None:
        self._client = InferenceServerClient(url=url)
        self._timeout_s = timeout_s
        self._ttl_s = metadata_ttl_s
        self._signatures: dict[tuple[str, str], tuple[float, ModelSignature]] = {}
        self._index: tuple[float, tuple[RepositoryEntry, ...]] | None = None

    async def close(self) -> None:
        await self._client.close()

    async def is_ready(self) -> bool:
        """Triton's own readiness (all loaded models ready); False when unreachable."""
        try:
            return bool(await self._client.is_server_ready(client_timeout=1.0))
        except InferenceServerException:
            return False

    async def repository(self) -> tuple[RepositoryEntry, ...]:
        """Every model version Triton's repository holds, cached for the metadata TTL."""
        now = time.monotonic()
        if self._index is not None and now - self._index[0] < self._ttl_s:
            return self._index[1]
        try:
            raw = await self._client.get_model_repository_index(
                as_json=True, client_timeout=self._timeout_s
            )
        except InferenceServerException as exc:
            raise _translate(exc, "the model repository index") from exc
        entries = tuple(
            RepositoryEntry(m["name"], m.get("version", ""), m.get("state", ""))
            for m in raw.get("models", [])
        )
        self._index = (now, entries)
        return entries

    async def signature(self, model: str, version: str = "") -> ModelSignature:
        """Inputs, outputs and batch size of ``model`` (the latest ready one if no ``version``)."""
        key = (model, version)
        cached = self._signatures.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        what = f"model '{model}'" + (f" version {version}" if version else "")
        try:
            meta, config = await asyncio.gather(
                self._client.get_model_metadata(
                    model, version, as_json=True, client_timeout=self._timeout_s
                ),
                self._client.get_model_config(
                    model, version, as_json=True, client_timeout=self._timeout_s
                ),
            )
        except InferenceServerException as exc:
            raise _translate(exc, what) from exc
        versions = meta.get("versions") or [version]
        signature = ModelSignature(
            name=model,
            version=version or max(versions, key=lambda v: int(v) if v.isdigit() else -1),
            inputs=tuple(_spec(t) for t in meta.get("inputs", [])),
            outputs=tuple(_spec(t) for t in meta.get("outputs", [])),
            max_batch_size=int(config.get("config", {}).get("max_batch_size", 0)),
        )
        self._signatures[key] = (now, signature)
        return signature

    async def infer(
        self,
        step: str,
        model: str,
        version: str,
        inputs: Mapping[str, NDArray[Any]],
        outputs: Sequence[str],
        class_counts: Mapping[str, int] | None = None,
    ) -> InferOutcome:
        """One inference request; errors name ``step`` and the model."""
        wire_inputs = []
        for name, array in inputs.items():
            datatype = np_to_triton_dtype(array.dtype)
            tensor = InferInput(name, list(array.shape), datatype)
            tensor.set_data_from_numpy(np.ascontiguousarray(array))
            wire_inputs.append(tensor)
        counts = class_counts or {}
        requested = [InferRequestedOutput(n, class_count=counts.get(n, 0)) for n in outputs]
        what = f"model '{model}'" + (f" version {version}" if version else "")
        try:
            result = await self._client.infer(
                model,
                wire_inputs,
                model_version=version,
                outputs=requested,
                client_timeout=self._timeout_s,
            )
        except InferenceServerException as exc:
            raise _translate(exc, what, step) from exc
        arrays: dict[str, NDArray[Any]] = {}
        for name in outputs:
            array = result.as_numpy(name)
            if array is None:
                raise ModelRejected(step, f"{what} returned no output '{name}'")
            arrays[name] = array
        return InferOutcome(arrays, result.get_response().model_version)


def _spec(raw: Mapping[str, Any]) -> TensorSpec:
    return TensorSpec(raw["name"], raw["datatype"], tuple(int(d) for d in raw.get("shape", [])))


def _translate(exc: InferenceServerException, what: str, step: str | None = None) -> Exception:
    status = str(exc.status() or "")
    message = exc.message() or str(exc)
    lowered = message.lower()
    if "NOT_FOUND" in status or any(h in lowered for h in _NOT_FOUND_HINTS):
        return ModelUnavailable(f"{what} is not available in Triton: {message}")
    # onnxruntime reports bad input shapes as INTERNAL with INVALID_ARGUMENT in the text.
    if step is not None and ("INVALID_ARG" in status or "INVALID_ARGUMENT" in message):
        return ModelRejected(step, f"{what} rejected the request: {message}")
    return TritonUnavailable(f"Triton failed for {what}: {status} {message}".strip())
