"""The OpenAPI 3.1 document of the HTTP API, generated from the wire models and the DSL schema.

Request bodies come from ``api.models``; the pipeline from ``dsl.json_schema``; error bodies
from ``api.errors``. The response shapes below have no model elsewhere (the code builds them
as dicts), so they are written once here and the tests check real responses against them.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired
from uuid import UUID

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode
from typing_extensions import TypedDict

from orchestrator.api.errors import ERROR_STATUS
from orchestrator.api.models import MAX_BODY_BYTES, ProcessingRequest, ValidationRequest
from orchestrator.dsl.json_schema import Schema, pipeline_schema
from orchestrator.errors import DependencyUnavailable
from orchestrator.steps.registry import StepRegistry
from orchestrator.values import Kind

COMPONENTS = "#/components/schemas/"
PIPELINE = "Pipeline"
PIPELINE_FIELD = "pipeline_definition"
INTERNAL = "internal"  # the type api.errors gives an unexpected exception
JSON = "application/json"


class Problem(TypedDict):
    """One thing wrong with a request: the step id (null for the document) and dotted field."""

    step: str | None
    field: str | None
    message: str


class ErrorDetail(TypedDict):
    """What went wrong; ``problems`` comes with request_invalid, ``step`` with step_failed."""

    type: str
    message: str
    problems: NotRequired[list[Problem]]
    step: NotRequired[str]


class ErrorBody(TypedDict):
    """Every non-2xx answer of the task and validation endpoints."""

    error: ErrorDetail


class PlanStep(TypedDict):
    """One step of the compiled plan, with params after settings and defaults are applied.

    ``enabled`` is false when a settings condition turns the step off; ``run_if_nonempty``
    names the output that must have items at run time for the step to run.
    """

    id: str
    op: str
    params: dict[str, Any]
    inputs: dict[str, str]
    enabled: bool
    run_if_nonempty: str | None


PlanOutput = TypedDict("PlanOutput", {"from": str, "kind": Kind})
PlanOutput.__doc__ = "Where a pipeline output comes from and what kind of value it is."


class Plan(TypedDict):
    """The compiled pipeline: steps in run order, and the outputs."""

    steps: list[PlanStep]
    outputs: dict[str, PlanOutput]


class ValidationResult(TypedDict):
    """The pipeline is valid, including against the live Triton models."""

    valid: Literal[True]
    plan: Plan


class StoredFile(TypedDict):
    """An output of kind ``encoded``, written to the bucket."""

    uri: str
    media_type: str
    bytes: int


class ClassScore(TypedDict):
    """One ranked class."""

    index: int
    label: str
    score: float


class Detection(TypedDict):
    """One detection in original-image pixels: box is [x1, y1, x2, y2]."""

    box: list[float]
    score: float
    landmarks: NotRequired[list[list[float]]]
    classes: NotRequired[list[ClassScore]]


OutputValue = StoredFile | list[Detection] | list[list[ClassScore]] | None


class ModelUsed(TypedDict):
    """The Triton model and the version that actually served a model step."""

    model: str
    version: str


class CallbackReport(TypedDict):
    """How the callback went: the receiver's status code and the attempts it took."""

    status_code: int
    attempts: int


class TaskResult(TypedDict):
    """The task's record, also stored as result.json; outputs of skipped steps are null.

    Detections and classes are JSON; ``encoded`` outputs are files under the bucket.
    """

    tenant_id: str
    session_id: UUID
    image_id: UUID
    image_url: str
    status: Literal["completed"]
    outputs: dict[str, OutputValue]
    models: dict[str, ModelUsed]
    result_uri: str
    timings_ms: dict[str, float]
    callback: NotRequired[CallbackReport]


class FailureError(TypedDict):
    """The error class name (ImageNotFound, ImageUndecodable, LimitExceeded) and message."""

    type: str
    message: str


class TaskFailure(TypedDict):
    """Sent to the callback when the task can never succeed (the push answer is 422)."""

    tenant_id: str
    session_id: UUID
    image_id: UUID
    status: Literal["failed"]
    error: FailureError


class Status(TypedDict):
    """A health probe's answer."""

    status: str


_REQUESTS: tuple[type[Any], ...] = (ProcessingRequest, ValidationRequest)
_RESPONSES: tuple[type[Any], ...] = (ErrorBody, ValidationResult, TaskResult, TaskFailure, Status)


def openapi_document(registry: StepRegistry) -> Schema:
    """The OpenAPI 3.1 document of MLWorker's HTTP API."""
    schemas = _component_schemas(registry)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MLWorker",
            "version": "1",
            "description": (
                "Stateless inference orchestrator. Cloud Tasks pushes a ProcessingRequest to "
                "POST /tasks; the pipeline runs against Triton, files go to the bucket, the "
                "result is answered and, with callback_url, posted back. Every 4xx is final; "
                "a 503 carries Retry-After and is retried by Cloud Tasks."
            ),
        },
        "paths": {
            "/tasks": {"post": _post_task()},
            "/pipelines/validate": {"post": _post_validate()},
            "/healthz": {"get": _probe("Liveness: the process answers.", {200: "Live."})},
            "/readyz": {
                "get": _probe(
                    "Readiness: Triton answers ready within a second.",
                    {200: "Ready.", 503: "Triton is not ready; the body says so."},
                )
            },
            "/schema/pipeline": {"get": _get_schema()},
            "/openapi.json": {"get": _get_openapi()},
        },
        "components": {"schemas": schemas},
    }


def _component_schemas(registry: StepRegistry) -> dict[str, Schema]:
    adapters: list[tuple[str, JsonSchemaMode, TypeAdapter[Any]]] = [
        (t.__name__, "validation", TypeAdapter(t)) for t in _REQUESTS
    ]
    adapters += [(t.__name__, "serialization", TypeAdapter(t)) for t in _RESPONSES]
    _, generated = TypeAdapter.json_schemas(adapters, ref_template=COMPONENTS + "{model}")
    schemas: dict[str, Schema] = generated["$defs"]
    for model in _REQUESTS:
        field = schemas[model.__name__]["properties"][PIPELINE_FIELD]
        description = field.get("description", "The pipeline definition.")
        schemas[model.__name__]["properties"][PIPELINE_FIELD] = {
            "$ref": COMPONENTS + PIPELINE,
            "description": description,
        }
    schemas[ErrorDetail.__name__]["properties"]["type"]["enum"] = sorted(
        {kind for _, _, kind in ERROR_STATUS} | {INTERNAL}
    )
    pipeline = _rebased(pipeline_schema(registry))
    for name, schema in pipeline.pop("$defs").items():
        if name in schemas:
            raise ValueError(f"component schema '{name}' is defined twice")
        schemas[name] = schema
    schemas[PIPELINE] = {k: v for k, v in pipeline.items() if k not in ("$schema", "$id")}
    return dict(sorted(schemas.items()))


def _rebased(schema: Any) -> Any:
    """``schema`` with its ``#/$defs/`` references pointing into components/schemas."""
    if isinstance(schema, dict):
        return {
            k: (
                COMPONENTS + v.removeprefix("#/$defs/")
                if k == "$ref" and isinstance(v, str)
                else _rebased(v)
            )
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebased(v) for v in schema]
    return schema


def _ref(name: str) -> Schema:
    return {"$ref": COMPONENTS + name}


def _json(name: str, description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": _ref(name)}}}


def _errors(*statuses: int) -> dict[str, Schema]:
    """One response per status, listing the error types (and their meaning) it carries."""
    responses: dict[str, Schema] = {}
    for status in statuses:
        kinds = [
            f"`{kind}`: {(cls.__doc__ or '').strip()}"
            for cls, code, kind in ERROR_STATUS
            if code == status
        ]
        if status == 500:
            kinds.append(f"`{INTERNAL}`: a bug; the details are in the worker's log.")
        response = _json(ErrorBody.__name__, " ".join(kinds))
        if status == 503:
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer", "default": DependencyUnavailable.retry_after_s},
                }
            }
        responses[str(status)] = response
    return responses


def _body(model: type[Any]) -> Schema:
    return {
        "required": True,
        "description": f"At most {MAX_BODY_BYTES} bytes.",
        "content": {JSON: {"schema": _ref(model.__name__)}},
    }


def _post_task() -> Schema:
    return {
        "operationId": "processTask",
        "summary": "Run one task (the Cloud Tasks push target).",
        "description": (
            "Answers 200 once every output is stored. Results are stored under "
            "gs://<bucket>/<tenant_id>/processed/<session_id>/<image_id>/, so a redelivered "
            "task overwrites them."
        ),
        "requestBody": _body(ProcessingRequest),
        "responses": {
            "200": _json(TaskResult.__name__, "The task's result."),
            **_errors(400, 422, 500, 503),
        },
        "callbacks": {
            "result": {
                "{$request.body#/callback_url}": {
                    "post": {
                        "summary": "The result (or, with 422, the failure) for the backend.",
                        "description": (
                            "Retried on transport errors and 5xx; the same Idempotency-Key "
                            "is sent on every attempt and every redelivery of the task."
                        ),
                        "parameters": [
                            _header("X-Tenant-ID", "The task's tenant_id."),
                            _header("Idempotency-Key", "<tenant_id>:<session_id>:<image_id>"),
                        ],
                        "requestBody": {
                            "required": True,
                            "content": {
                                JSON: {
                                    "schema": {
                                        "oneOf": [
                                            _ref(TaskResult.__name__),
                                            _ref(TaskFailure.__name__),
                                        ]
                                    }
                                }
                            },
                        },
                        "responses": {"2XX": {"description": "Accepted."}},
                    }
                }
            }
        },
    }


def _header(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _post_validate() -> Schema:
    return {
        "operationId": "validatePipeline",
        "summary": "Dry run: compile a pipeline and check it against the live Triton models.",
        "requestBody": _body(ValidationRequest),
        "responses": {
            "200": _json(ValidationResult.__name__, "The compiled plan."),
            **_errors(400, 500, 503),
        },
    }


def _probe(summary: str, answers: dict[int, str]) -> Schema:
    return {
        "summary": summary,
        "responses": {str(s): _json(Status.__name__, text) for s, text in answers.items()},
    }


def _get_schema() -> Schema:
    return {
        "operationId": "pipelineSchema",
        "summary": "The JSON Schema (draft 2020-12) of pipeline_definition.",
        "responses": {
            "200": {
                "description": "Generated from the step registry of this worker.",
                "content": {"application/schema+json": {"schema": {"type": "object"}}},
            }
        },
    }


def _get_openapi() -> Schema:
    return {
        "operationId": "openapi",
        "summary": "This document.",
        "responses": {
            "200": {
                "description": "OpenAPI 3.1.",
                "content": {JSON: {"schema": {"type": "object"}}},
            }
        },
    }
