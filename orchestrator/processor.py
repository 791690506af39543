"""One task, start to finish: validate, read the original, run the plan, write, call back."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from orchestrator.api.models import ProcessingRequest, ValidationRequest
from orchestrator.callback.poster import CallbackPoster
from orchestrator.dsl.model_check import check_models
from orchestrator.dsl.plan import Plan
from orchestrator.dsl.plan_cache import PlanCache
from orchestrator.errors import InputRejected, Problem, RequestInvalid
from orchestrator.runner import Runner, RunResult
from orchestrator.settings import Settings
from orchestrator.storage.blob_store import BlobStore
from orchestrator.triton.client import TritonClient
from orchestrator.values import Classes, Detections, Encoded, Value

log = logging.getLogger(__name__)


class TaskProcessor:
    """Holds the app's long-lived parts; stateless between tasks."""

    def __init__(
        self,
        settings: Settings,
        plans: PlanCache,
        triton: TritonClient,
        store: BlobStore,
        runner: Runner,
        poster: CallbackPoster,
    ) -> None:
        self._settings = settings
        self._plans = plans
        self._triton = triton
        self._store = store
        self._runner = runner
        self._poster = poster

    async def validate(self, raw: Any) -> Plan:
        """The plan for a dry-run body, checked against live models; RequestInvalid if not."""
        try:
            request = ValidationRequest.model_validate(raw)
        except ValidationError as exc:
            raise RequestInvalid(_field_problems(exc)) from exc
        plan = self._plans.parse(request.pipeline_definition, request.settings)
        await self._check_models(plan)
        return plan

    async def process(self, raw: Any) -> dict[str, Any]:
        """Run one task body (already JSON-decoded) to completion; returns the answer's body."""
        request, plan = self._request(raw)
        await self._check_models(plan)
        key = _object_key(request.image_url)
        try:
            source = await self._store.read(key, self._settings.limits.max_image_bytes)
            result = await self._runner.run(plan, source)
        except InputRejected as exc:
            await self._report_failure(request, exc)
            raise
        record = await self._write_outputs(request, result)
        payload = {**record, "timings_ms": result.timings_ms}
        if request.callback_url is not None:
            delivery = await self._poster.post(
                str(request.callback_url), payload, request.tenant_id, _idempotency_key(request)
            )
            payload["callback"] = {
                "status_code": delivery.status_code,
                "attempts": delivery.attempts,
            }
        return payload

    def _request(self, raw: Any) -> tuple[ProcessingRequest, Plan]:
        """The request, or RequestInvalid with its problems and the pipeline's, together."""
        problems: list[Problem] = []
        try:
            request = ProcessingRequest.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_field_problems(exc))
            request = None
        if request is None:
            pipeline = raw.get("pipeline_definition") if isinstance(raw, dict) else None
            settings = raw.get("settings") if isinstance(raw, dict) else None
            if isinstance(pipeline, dict):
                try:
                    self._plans.parse(pipeline, settings if isinstance(settings, dict) else {})
                except RequestInvalid as exc:
                    problems.extend(exc.problems)
            raise RequestInvalid(tuple(problems))
        problems.extend(self._image_url_problems(request))
        try:
            plan = self._plans.parse(request.pipeline_definition, request.settings)
        except RequestInvalid as exc:
            raise RequestInvalid((*problems, *exc.problems)) from exc
        if problems:
            raise RequestInvalid(tuple(problems))
        return request, plan

    async def _check_models(self, plan: Plan) -> None:
        problems = await check_models(plan, self._triton)
        if problems:
            raise RequestInvalid(problems)

    def _image_url_problems(self, request: ProcessingRequest) -> list[Problem]:
        parts = urlsplit(request.image_url)
        prefix = f"{request.tenant_id}/originals/"
        key = parts.path.lstrip("/")
        if parts.netloc != self._store.bucket:
            return [
                Problem(
                    None,
                    "image_url",
                    f"bucket '{parts.netloc}' is not this worker's bucket '{self._store.bucket}'",
                )
            ]
        if (
            not key.startswith(prefix)
            or key == prefix
            or ".." in key.split("/")
            or parts.query
            or parts.fragment
        ):
            return [
                Problem(
                    None,
                    "image_url",
                    f"must name an object under gs://{self._store.bucket}/{prefix}",
                )
            ]
        return []

    async def _write_outputs(self, request: ProcessingRequest, result: RunResult) -> dict[str, Any]:
        """Files and result.json under deterministic names: a redelivery overwrites them."""
        base = f"{request.tenant_id}/processed/{request.session_id}/{request.image_id}"
        outputs: dict[str, Any] = {}
        for name, value in sorted(result.outputs.items()):
            if value is None:
                outputs[name] = None
            elif isinstance(value, Encoded):
                uri = await self._store.write(
                    f"{base}/{name}.{value.extension}", value.data, value.media_type
                )
                outputs[name] = {
                    "uri": uri,
                    "media_type": value.media_type,
                    "bytes": len(value.data),
                }
            else:
                outputs[name] = _json_value(value)
        record = {
            "tenant_id": request.tenant_id,
            "session_id": str(request.session_id),
            "image_id": str(request.image_id),
            "image_url": request.image_url,
            "status": "completed",
            "outputs": outputs,
            "skipped_steps": list(result.skipped),
            "models": {
                step: {"model": m.model, "version": m.version}
                for step, m in sorted(result.models.items())
            },
        }
        document = json.dumps(record, sort_keys=True, indent=2).encode()
        record["result_uri"] = await self._store.write(
            f"{base}/result.json", document, "application/json"
        )
        return record

    async def _report_failure(self, request: ProcessingRequest, error: InputRejected) -> None:
        """Tell the backend a task cannot succeed; best effort, the 422 still stands."""
        if request.callback_url is None:
            return
        payload = {
            "tenant_id": request.tenant_id,
            "session_id": str(request.session_id),
            "image_id": str(request.image_id),
            "status": "failed",
            "error": {"type": type(error).__name__, "message": error.message},
        }
        try:
            await self._poster.post(
                str(request.callback_url), payload, request.tenant_id, _idempotency_key(request)
            )
        except Exception:  # the task's own error is what the caller must see
            log.warning("failure callback to %s failed", request.callback_url, exc_info=True)


def _field_problems(exc: ValidationError) -> tuple[Problem, ...]:
    """Request-level pydantic errors; the pipeline's own are reported by the parser."""
    return tuple(
        Problem(None, ".".join(str(p) for p in e["loc"]) or "body", e["msg"]) for e in exc.errors()
    )


def _object_key(image_url: str) -> str:
    return urlsplit(image_url).path.lstrip("/")


def _idempotency_key(request: ProcessingRequest) -> str:
    return f"{request.tenant_id}:{request.session_id}:{request.image_id}"


def _json_value(value: Value) -> Any:
    if isinstance(value, Detections | Classes):
        return value.as_json()
    raise TypeError(f"{type(value).__name__} is not a JSON output")
