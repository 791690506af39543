"""The published contract (pipeline JSON Schema, OpenAPI, step reference) and the CLI.

The schema and OpenAPI document are checked as the running app serves them; the committed
copies must equal a fresh generation, so nobody edits them by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from devstack import LocalTriton
from devstack.callback_receiver import CallbackReceiver
from orchestrator.api.models import ProcessingRequest
from orchestrator.api.openapi import openapi_document
from orchestrator.cli import openapi_text, schema_text
from orchestrator.dsl.reference import example_step, step_reference
from orchestrator.steps.library import build_registry
from orchestrator.steps.registry import StepRegistry
from tests.conftest import ROOT, example, task

Json = dict[str, Any]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.json"))
OPS = [t.op for t in build_registry()]
COMPONENTS = list(openapi_document(build_registry())["components"]["schemas"])


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m orchestrator.cli ARGS`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def pipeline(*steps: Json, outputs: Json | None = None) -> Json:
    return {"version": 1, "steps": list(steps), "outputs": outputs or {"out": steps[-1]["id"]}}


def component(document: Json, name: str) -> Draft202012Validator:
    """A validator for one schema of an OpenAPI document."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return Draft202012Validator(schema)


@pytest.fixture(scope="module")
def served_schema(worker: httpx.Client) -> Json:
    schema: Json = worker.get("/schema/pipeline").json()
    return schema


@pytest.fixture(scope="module")
def validator(served_schema: Json) -> Draft202012Validator:
    return Draft202012Validator(served_schema)


@pytest.fixture(scope="module")
def openapi(worker: httpx.Client) -> Json:
    document: Json = worker.get("/openapi.json").json()
    return document


def test_schema_is_served_as_a_json_schema_document(worker: httpx.Client) -> None:
    """GET /schema/pipeline answers with the schema media type and a valid 2020-12 schema."""
    response = worker.get("/schema/pipeline")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    Draft202012Validator.check_schema(response.json())


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_validates_against_the_served_schema(
    validator: Draft202012Validator, name: str
) -> None:
    """Every published example is valid under the schema the app serves."""
    document = example(name)

    errors = [e.message for e in validator.iter_errors(document)]

    assert errors == []


BROKEN_STEPS = {
    "unknown op": {"id": "a", "op": "image.sharpen"},
    "param out of range": {"id": "a", "op": "image.resize", "params": {"width": 0}},
    "unknown param": {"id": "a", "op": "image.resize", "params": {"colour": "red"}},
    "wrong param type": {"id": "a", "op": "output.encode", "params": {"quality": "high"}},
    "missing required params": {"id": "a", "op": "image.center_crop"},
    "two required inputs left implicit": {"id": "a", "op": "detection.proposals"},
    "unknown input port": {"id": "a", "op": "image.resize", "inputs": {"picture": "$source"}},
    "settings ref with an extra key": {
        "id": "a",
        "op": "output.encode",
        "params": {"quality": {"$setting": "q", "fallback": 90}},
    },
    "condition of both kinds": {
        "id": "a",
        "op": "image.decode",
        "when": {"nonempty": "b", "$setting": "c"},
    },
    "empty condition": {"id": "a", "op": "image.decode", "when": {}},
    "settings ref with an empty name part": {
        "id": "a",
        "op": "output.encode",
        "params": {"quality": {"$setting": "jpeg..quality"}},
    },
}


@pytest.mark.parametrize("step", BROKEN_STEPS.values(), ids=BROKEN_STEPS.keys())
def test_a_broken_step_does_not_validate(validator: Draft202012Validator, step: Json) -> None:
    """A step the parser would refuse is refused by the schema too."""
    document = pipeline(step)

    valid = validator.is_valid(document)

    assert not valid


def test_a_settings_reference_may_stand_for_a_nested_param_value(
    validator: Draft202012Validator,
) -> None:
    """A reference inside an array param is accepted, as the parser resolves it there too."""
    step = {
        "id": "tensor",
        "op": "tensor.from_image",
        "params": {"mean": [{"$setting": "norm.red", "default": 123.7}, 116.3, 103.5]},
    }

    errors = [e.message for e in validator.iter_errors(pipeline(step))]

    assert errors == []


def test_schema_lists_every_registered_op(served_schema: Json) -> None:
    """The step union has one branch per registered op, each with its op as a constant."""
    defs = served_schema["$defs"]
    branches = [defs[b["$ref"].rpartition("/")[2]] for b in defs["StepDocument"]["oneOf"]]

    ops = [b["properties"]["op"]["const"] for b in branches]

    assert ops == OPS


@pytest.mark.parametrize("op", OPS)
def test_reference_example_validates_against_the_schema(
    validator: Draft202012Validator, op: str
) -> None:
    """The example step printed in docs/steps.md for each op is itself valid."""
    step = example_step(next(t for t in build_registry() if t.op == op))

    errors = [e.message for e in validator.iter_errors(pipeline(step))]

    assert errors == []


GENERATED: dict[str, tuple[Callable[[StepRegistry], str], str]] = {
    "schema/pipeline.schema.json": (schema_text, "schema --out schema/pipeline.schema.json"),
    "schema/openapi.json": (openapi_text, "openapi --out schema/openapi.json"),
    "docs/steps.md": (step_reference, "docs --out docs"),
}


@pytest.mark.parametrize("path", GENERATED)
def test_committed_file_equals_a_fresh_generation(path: str) -> None:
    """The committed file is exactly what the code generates (regenerate, never hand-edit)."""
    render, command = GENERATED[path]

    fresh = render(build_registry())

    current = (ROOT / path).read_text(encoding="utf-8") == fresh
    assert current, f"{path} is stale: run python -m orchestrator {command}"


def test_served_schema_equals_the_committed_file(served_schema: Json) -> None:
    """The app serves the same schema that is committed to the repository."""
    committed = json.loads((ROOT / "schema" / "pipeline.schema.json").read_text())

    assert served_schema == committed


@pytest.mark.parametrize(
    "args",
    [
        ("schema", "--out", "schema/pipeline.schema.json"),
        ("openapi", "--out", "schema/openapi.json"),
        ("docs", "--out", "docs"),
    ],
    ids=["schema", "openapi", "docs"],
)
def test_check_passes_for_the_committed_files(args: tuple[str, ...]) -> None:
    """``--check`` exits 0 when the committed file is current."""
    result = run_cli(*args, "--check")

    assert (result.returncode, result.stderr) == (0, "")


def test_check_fails_for_a_stale_file(tmp_path: Path) -> None:
    """``--check`` exits 1 and names the file when it differs from a fresh generation."""
    stale = tmp_path / "pipeline.schema.json"
    stale.write_text("{}\n")

    result = run_cli("schema", "--out", str(stale), "--check")

    assert result.returncode == 1
    assert f"{stale} is not what the code generates" in result.stderr
    assert stale.read_text() == "{}\n"


def test_cli_validate_prints_the_plan_of_a_valid_pipeline() -> None:
    """A valid file exits 0 with the compiled plan as JSON."""
    result = run_cli("validate", "examples/classification.json")

    assert (result.returncode, result.stderr) == (0, "")
    plan = json.loads(result.stdout)
    assert [s["id"] for s in plan["steps"]] == [s["id"] for s in example("classification")["steps"]]
    assert plan["outputs"] == {"top5": {"from": "top5", "kind": "classes"}}


def test_cli_validate_lists_every_problem_of_an_invalid_pipeline() -> None:
    """An invalid pipeline exits 1 with one ``step/field: message`` line per problem."""
    document = pipeline(
        {"id": "image", "op": "image.decode"},
        {"id": "small", "op": "image.resize", "params": {"width": 0}},
        {"id": "file", "op": "output.encode", "params": {"quality": 101}},
    )

    result = run_cli("validate", "-", stdin=json.dumps(document))

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "small/params.width: Input should be greater than or equal to 1",
        "file/params.quality: Input should be less than or equal to 100",
    ]


def test_cli_validate_resolves_settings_from_a_file(tmp_path: Path) -> None:
    """``--settings`` supplies the values that settings references name."""
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"jpeg": {"quality": 75}}))
    document = pipeline(
        {"id": "image", "op": "image.decode"},
        {"id": "file", "op": "output.encode", "params": {"quality": {"$setting": "jpeg.quality"}}},
    )

    result = run_cli("validate", "-", "--settings", str(settings), stdin=json.dumps(document))

    assert result.returncode == 0
    assert json.loads(result.stdout)["steps"][1]["params"]["quality"] == 75


def test_cli_validate_exits_2_for_a_missing_file(tmp_path: Path) -> None:
    """A file that cannot be read is a usage error, not an invalid pipeline."""
    result = run_cli("validate", str(tmp_path / "absent.json"))

    assert result.returncode == 2
    assert result.stdout == ""


def test_cli_validate_accepts_models_the_live_triton_has(local_triton: LocalTriton) -> None:
    """With --triton-url, a pipeline whose model steps fit the live models exits 0."""
    result = run_cli(
        "validate", "examples/classification.json", "--triton-url", local_triton.grpc_url
    )

    assert (result.returncode, result.stderr) == (0, "")


def test_cli_validate_reports_a_model_the_live_triton_lacks(local_triton: LocalTriton) -> None:
    """With --triton-url, a model step naming an unknown model exits 1 at params.model."""
    document = example("classification")
    step = next(s for s in document["steps"] if s["op"] == "model.classify")
    step["params"]["model"] = "no_such_model"

    result = run_cli(
        "validate", "-", "--triton-url", local_triton.grpc_url, stdin=json.dumps(document)
    )

    assert result.returncode == 1
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{step['id']}/params.model: Triton has no model 'no_such_model'")


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/tasks", "post"),
        ("/pipelines/validate", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/schema/pipeline", "get"),
    ],
)
def test_openapi_documents_the_route(openapi: Json, path: str, method: str) -> None:
    """Each route of the app is an operation of the OpenAPI document."""
    operation = openapi["paths"][path][method]

    assert "200" in operation["responses"]


def test_openapi_processing_request_requires_the_model_fields(openapi: Json) -> None:
    """ProcessingRequest's required fields are the pydantic model's, pipeline by reference."""
    schema = openapi["components"]["schemas"]["ProcessingRequest"]

    required = {name for name, f in ProcessingRequest.model_fields.items() if f.is_required()}

    assert set(schema["required"]) == required
    assert schema["properties"]["pipeline_definition"]["$ref"] == "#/components/schemas/Pipeline"


@pytest.mark.parametrize("name", COMPONENTS)
def test_openapi_component_is_a_valid_json_schema(openapi: Json, name: str) -> None:
    """OpenAPI 3.1 schemas are JSON Schema 2020-12, so each component must be a valid one."""
    schema = openapi["components"]["schemas"][name]

    Draft202012Validator.check_schema(schema)


def test_openapi_task_body_accepts_an_example_task(openapi: Json) -> None:
    """A task built on a published example is a valid ProcessingRequest body."""
    body = task("gs://mlworker-test/tenant-a/originals/a.jpg", example("face_detection"))

    errors = [e.message for e in component(openapi, "ProcessingRequest").iter_errors(body)]

    assert errors == []


@pytest.mark.parametrize(
    ("pipeline_document", "status", "shape"),
    [
        (example("classification"), 200, "ValidationResult"),
        (pipeline({"id": "a", "op": "image.sharpen"}), 400, "ErrorBody"),
    ],
    ids=["valid", "invalid"],
)
def test_validation_answer_has_the_documented_shape(
    worker: httpx.Client, openapi: Json, pipeline_document: Json, status: int, shape: str
) -> None:
    """POST /pipelines/validate answers with the body its OpenAPI response declares."""
    response = worker.post("/pipelines/validate", json={"pipeline_definition": pipeline_document})

    assert response.status_code == status
    declared = openapi["paths"]["/pipelines/validate"]["post"]["responses"][str(status)]
    assert declared["content"]["application/json"]["schema"]["$ref"].endswith(f"/{shape}")
    assert [e.message for e in component(openapi, shape).iter_errors(response.json())] == []


def test_task_answer_has_the_documented_shape(
    worker: httpx.Client, openapi: Json, chelsea_url: str
) -> None:
    """A completed task's 200 body is a valid TaskResult."""
    response = worker.post("/tasks", json=task(chelsea_url, example("classification")))

    assert response.status_code == 200
    assert [e.message for e in component(openapi, "TaskResult").iter_errors(response.json())] == []


def test_callback_payload_has_the_documented_shape(
    worker: httpx.Client,
    openapi: Json,
    chelsea_url: str,
    callbacks: CallbackReceiver,
    callback_url: Callable[[str], str],
) -> None:
    """The result posted to callback_url is a valid body of the documented callback."""
    body = task(chelsea_url, example("classification"), callback_url=callback_url("/shape"))

    worker.post("/tasks", json=body)

    [received] = callbacks.received("/shape")
    callback = openapi["paths"]["/tasks"]["post"]["callbacks"]["result"]
    declared = callback["{$request.body#/callback_url}"]["post"]["requestBody"]
    schema = {
        **declared["content"]["application/json"]["schema"],
        "components": openapi["components"],
    }
    assert [e.message for e in Draft202012Validator(schema).iter_errors(received.body)] == []
