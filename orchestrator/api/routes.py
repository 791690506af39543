"""Routes: thin handlers that decode the body and hand it to the TaskProcessor."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from orchestrator.api.models import MAX_BODY_BYTES
from orchestrator.api.openapi import openapi_document
from orchestrator.dsl.json_schema import pipeline_schema
from orchestrator.dsl.plan import Plan
from orchestrator.errors import Problem, RequestInvalid
from orchestrator.json_depth import MAX_JSON_DEPTH, exceeds_depth
from orchestrator.processor import TaskProcessor
from orchestrator.steps.registry import StepRegistry


async def _json_body(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise RequestInvalid(
            (
                Problem(
                    None,
                    "body",
                    f"{len(body)} bytes; a task body is at most {MAX_BODY_BYTES} bytes",
                ),
            )
        )
    try:
        decoded = json.loads(body, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise RequestInvalid((Problem(None, "body", "JSON nested too deeply"),)) from exc
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise RequestInvalid((Problem(None, "body", f"not valid JSON: {exc}"),)) from exc
    if exceeds_depth(decoded):
        message = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
        raise RequestInvalid((Problem(None, "body", message),))
    return decoded


def _reject_constant(name: str) -> None:
    """NaN and Infinity are not JSON; Python's parser would accept them."""
    raise ValueError(f"{name} is not a JSON number")


def _processor(request: Request) -> TaskProcessor:
    processor: TaskProcessor = request.app.state.processor
    return processor


async def post_task(request: Request) -> JSONResponse:
    """Cloud Tasks push target: runs the task and answers 200 once results are stored."""
    return JSONResponse(await _processor(request).process(await _json_body(request)))


async def validate_pipeline(request: Request) -> JSONResponse:
    """Dry run: 200 with the compiled plan, or 400 with every problem."""
    plan = await _processor(request).validate(await _json_body(request))
    return JSONResponse({"valid": True, "plan": describe(plan)})


async def live(request: Request) -> JSONResponse:
    """Liveness: the process answers; never depends on Triton."""
    return JSONResponse({"status": "live"})


async def ready(request: Request) -> JSONResponse:
    """Readiness: Triton answers ready within a second."""
    if await request.app.state.triton.is_ready():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "triton not ready"}, status_code=503)


async def get_pipeline_schema(request: Request) -> JSONResponse:
    """The JSON Schema of pipeline_definition, for this worker's ops."""
    return JSONResponse(pipeline_schema(_registry(request)), media_type="application/schema+json")


async def get_openapi(request: Request) -> JSONResponse:
    """The OpenAPI 3.1 document of this API."""
    return JSONResponse(openapi_document(_registry(request)))


def _registry(request: Request) -> StepRegistry:
    registry: StepRegistry = request.app.state.registry
    return registry


def describe(plan: Plan) -> dict[str, Any]:
    """The plan as JSON: steps in run order with resolved params and inputs."""
    return {
        "steps": [
            {
                "id": s.id,
                "op": s.type.op,
                "params": s.params.model_dump(mode="json"),
                "inputs": {b.port: str(b.ref) for b in s.inputs},
                "enabled": s.enabled,
                "run_if_nonempty": None if s.run_if_nonempty is None else str(s.run_if_nonempty),
            }
            for s in plan.steps
        ],
        "outputs": {o.name: {"from": str(o.ref), "kind": o.kind.value} for o in plan.outputs},
    }


routes = [
    Route("/tasks", post_task, methods=["POST"]),
    Route("/pipelines/validate", validate_pipeline, methods=["POST"]),
    Route("/healthz", live, methods=["GET"]),
    Route("/readyz", ready, methods=["GET"]),
    Route("/schema/pipeline", get_pipeline_schema, methods=["GET"]),
    Route("/openapi.json", get_openapi, methods=["GET"]),
]
