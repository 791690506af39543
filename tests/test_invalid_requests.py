"""Every invalid task is a 400 that names the step and field at fault, before any compute."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import BUCKET, TENANT, example, task

Body = dict[str, Any]


def classification() -> Body:
    return task(f"gs://{BUCKET}/{TENANT}/originals/chelsea.jpg", example("classification"))


def faces() -> Body:
    return task(f"gs://{BUCKET}/{TENANT}/originals/astronaut.jpg", example("face_detection"))


def edit(base: Callable[[], Body], change: Callable[[Body], object]) -> Callable[[], Body]:
    def build() -> Body:
        body = copy.deepcopy(base())
        change(body)
        return body

    return build


def pipeline_of(body: Body) -> Body:
    pipeline: Body = body["pipeline_definition"]
    return pipeline


def step(body: Body, step_id: str) -> Body:
    found: Body = next(s for s in pipeline_of(body)["steps"] if s["id"] == step_id)
    return found


@dataclass(frozen=True)
class Case:
    """A broken task and the problem it must be reported with."""

    name: str
    build: Callable[[], Body]
    step: str | None
    field: str
    fragment: str


def _params(step_id: str, **params: Any) -> Callable[[Body], object]:
    return lambda b: step(b, step_id)["params"].update(params)


CASES = [
    Case(
        "missing tenant",
        edit(classification, lambda b: b.pop("tenant_id")),
        None,
        "tenant_id",
        "Field required",
    ),
    Case(
        "tenant with slash",
        edit(classification, lambda b: b.update(tenant_id="a/b")),
        None,
        "tenant_id",
        "should match pattern",
    ),
    Case(
        "session not uuid",
        edit(classification, lambda b: b.update(session_id="s-1")),
        None,
        "session_id",
        "valid UUID",
    ),
    Case(
        "image id missing",
        edit(classification, lambda b: b.pop("image_id")),
        None,
        "image_id",
        "Field required",
    ),
    Case(
        "image url not gs",
        edit(classification, lambda b: b.update(image_url="http://x/y")),
        None,
        "image_url",
        "should match pattern",
    ),
    Case(
        "image url other bucket",
        edit(classification, lambda b: b.update(image_url=f"gs://other/{TENANT}/originals/a.jpg")),
        None,
        "image_url",
        "bucket 'other'",
    ),
    Case(
        "image url other tenant",
        edit(
            classification, lambda b: b.update(image_url=f"gs://{BUCKET}/tenant-b/originals/a.jpg")
        ),
        None,
        "image_url",
        f"under gs://{BUCKET}/{TENANT}/originals/",
    ),
    Case(
        "image url traversal",
        edit(
            classification,
            lambda b: b.update(
                image_url=f"gs://{BUCKET}/{TENANT}/originals/../../tenant-b/originals/a.jpg"
            ),
        ),
        None,
        "image_url",
        "must name an object under",
    ),
    Case(
        "callback not http",
        edit(classification, lambda b: b.update(callback_url="ftp://x")),
        None,
        "callback_url",
        "URL scheme should be",
    ),
    Case(
        "settings not object",
        edit(classification, lambda b: b.update(settings=[1])),
        None,
        "settings",
        "valid dictionary",
    ),
    Case(
        "unknown request field",
        edit(classification, lambda b: b.update(pipeline="FACES")),
        None,
        "pipeline",
        "Extra inputs are not permitted",
    ),
    Case(
        "pipeline missing",
        edit(classification, lambda b: b.pop("pipeline_definition")),
        None,
        "pipeline_definition",
        "Field required",
    ),
    Case(
        "dsl version 2",
        edit(classification, lambda b: pipeline_of(b).update(version=2)),
        None,
        "version",
        "Input should be 1",
    ),
    Case(
        "no steps",
        edit(classification, lambda b: pipeline_of(b).update(steps=[])),
        None,
        "steps",
        "at least 1 item",
    ),
    Case(
        "no outputs",
        edit(classification, lambda b: pipeline_of(b).update(outputs={})),
        None,
        "outputs",
        "at least 1 item",
    ),
    Case(
        "bad step id",
        edit(classification, lambda b: step(b, "tensor").update(id="Bad-Id")),
        "Bad-Id",
        "id",
        "should match pattern",
    ),
    Case(
        "step without op",
        edit(classification, lambda b: step(b, "tensor").pop("op")),
        "tensor",
        "op",
        "Field required",
    ),
    Case(
        "unknown step key",
        edit(classification, lambda b: step(b, "tensor").update(retries=1)),
        "tensor",
        "retries",
        "Extra inputs are not permitted",
    ),
    Case(
        "duplicate id",
        edit(classification, lambda b: step(b, "cropped").update(id="resized")),
        "resized",
        "id",
        "used more than once",
    ),
    Case(
        "unknown op",
        edit(classification, lambda b: step(b, "tensor").update(op="tensor.fft")),
        "tensor",
        "op",
        "unknown op 'tensor.fft'",
    ),
    Case(
        "unknown param",
        edit(classification, _params("resized", sharpen=True)),
        "resized",
        "params.sharpen",
        "Extra inputs are not permitted",
    ),
    Case(
        "mistyped param",
        edit(classification, _params("resized", short_side="big")),
        "resized",
        "params.short_side",
        "valid integer",
    ),
    Case(
        "param out of range",
        edit(classification, _params("top5", top_k=1000)),
        "top5",
        "params.top_k",
        "less than or equal to 100",
    ),
    Case(
        "bad enum param",
        edit(classification, _params("resized", interpolation="lanczos9")),
        "resized",
        "params.interpolation",
        "'area', 'linear', 'cubic' or 'nearest'",
    ),
    Case(
        "wrong tuple length",
        edit(classification, _params("tensor", mean=[0.5, 0.5])),
        "tensor",
        "params.mean.2",
        "Field required",
    ),
    Case(
        "zero std",
        edit(classification, _params("tensor", std=[0.2, 0, 0.2])),
        "tensor",
        "params.std.1",
        "greater than 0",
    ),
    Case(
        "required param missing",
        edit(classification, lambda b: step(b, "cropped")["params"].pop("width")),
        "cropped",
        "params.width",
        "Field required",
    ),
    Case(
        "dangling reference",
        edit(classification, lambda b: step(b, "tensor").update(inputs={"image": "nowhere"})),
        "tensor",
        "inputs.image",
        "refers to no step",
    ),
    Case(
        "self reference",
        edit(classification, lambda b: step(b, "tensor").update(inputs={"image": "tensor"})),
        "tensor",
        "inputs.image",
        "cannot read its own output",
    ),
    Case(
        "cycle",
        edit(classification, lambda b: step(b, "resized").update(inputs={"image": "cropped"})),
        "resized",
        "inputs",
        "cycle: resized -> cropped -> resized",
    ),
    Case(
        "unknown input port",
        edit(classification, lambda b: step(b, "tensor").update(inputs={"picture": "cropped"})),
        "tensor",
        "inputs.picture",
        "has no input 'picture'",
    ),
    Case(
        "missing required input",
        edit(faces, lambda b: step(b, "candidates").update(inputs={"reg": "pnet.reg"})),
        "candidates",
        "inputs.prob",
        "needs input 'prob'",
    ),
    Case(
        "multi-input op left implicit",
        edit(faces, lambda b: step(b, "rnet_crops").pop("inputs")),
        "rnet_crops",
        "inputs",
        "name each in 'inputs'",
    ),
    Case(
        "kind mismatch",
        edit(classification, lambda b: step(b, "tensor").update(inputs={"image": "$source"})),
        "tensor",
        "inputs.image",
        "'$source' is bytes",
    ),
    Case(
        "pyramid where tensor expected",
        edit(
            faces,
            lambda b: step(b, "refined").update(
                inputs={"detections": "candidates", "reg": "pnet.reg", "prob": "rnet.prob"}
            ),
        ),
        "refined",
        "inputs.reg",
        "is pyramid, but 'detection.refine' needs tensor",
    ),
    Case(
        "image as output",
        edit(classification, lambda b: pipeline_of(b).update(outputs={"picture": "cropped"})),
        None,
        "outputs.picture",
        "outputs must be one of",
    ),
    Case(
        "output to unknown step",
        edit(classification, lambda b: pipeline_of(b).update(outputs={"x": "ghost"})),
        None,
        "outputs.x",
        "refers to no step",
    ),
    Case(
        "source as output",
        edit(classification, lambda b: pipeline_of(b).update(outputs={"x": "$source"})),
        None,
        "outputs.x",
        "cannot be an output",
    ),
    Case(
        "unknown output port",
        edit(
            classification, lambda b: step(b, "tensor").update(inputs={"image": "cropped.pixels"})
        ),
        "tensor",
        "inputs.image",
        "no output 'pixels'",
    ),
    Case(
        "setting without default",
        edit(classification, _params("top5", top_k={"$setting": "cls.k"})),
        "top5",
        "params.top_k",
        "setting 'cls.k' is not in the task's settings",
    ),
    Case(
        "setting of wrong type",
        edit(
            edit(
                classification, lambda b: b.update(settings={"classification": {"top_k": "five"}})
            ),
            lambda b: None,
        ),
        "top5",
        "params.top_k",
        "valid integer",
    ),
    Case(
        "setting ref with extra key",
        edit(classification, _params("top5", top_k={"$setting": "k", "default": 5, "type": "int"})),
        "top5",
        "params.top_k",
        "takes only '$setting' and 'default'",
    ),
    Case(
        "setting ref bad name",
        edit(classification, _params("top5", top_k={"$setting": "a..b", "default": 5})),
        "top5",
        "params.top_k",
        "dotted name",
    ),
    Case(
        "too many steps",
        edit(
            classification,
            lambda b: pipeline_of(b)["steps"].extend(
                {"id": f"extra_{i}", "op": "image.decode", "inputs": {"data": "$source"}}
                for i in range(60)
            ),
        ),
        None,
        "steps",
        "at most 64 allowed",
    ),
    Case(
        "model name pattern",
        edit(classification, _params("top5", model="../etc")),
        "top5",
        "params.model",
        "should match pattern",
    ),
    Case(
        "version zero",
        edit(classification, _params("top5", version="0")),
        "top5",
        "params.version",
        "should match pattern",
    ),
    Case(
        "unknown model",
        edit(classification, _params("top5", model="resnet_999")),
        "top5",
        "params.model",
        "Triton has no model 'resnet_999'",
    ),
    Case(
        "unknown version",
        edit(classification, _params("top5", version="7")),
        "top5",
        "params.version",
        "has no version 7",
    ),
    Case(
        "wrong model input name",
        edit(classification, lambda b: step(b, "top5").update(inputs={"pixels": "tensor"})),
        "top5",
        "inputs.pixels",
        "has no input 'pixels'",
    ),
    Case(
        "classify unknown output",
        edit(classification, _params("top5", output="logits")),
        "top5",
        "params.output",
        "has no output 'logits'",
    ),
    Case(
        "model output port unknown",
        edit(
            faces,
            lambda b: step(b, "candidates").update(
                inputs={"reg": "pnet.regression", "prob": "pnet.prob"}
            ),
        ),
        "candidates",
        "inputs.reg",
        "has no output 'regression'",
    ),
    Case(
        "model output port left out",
        edit(
            faces,
            lambda b: step(b, "candidates").update(inputs={"reg": "pnet", "prob": "pnet.prob"}),
        ),
        "candidates",
        "inputs.reg",
        "write 'pnet.<output>'",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_invalid_task_is_a_400_naming_the_problem(worker: httpx.Client, case: Case) -> None:
    """The 400 lists a problem at exactly the expected step and field, with a clear message."""
    body = case.build()

    response = worker.post("/tasks", json=body)

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "request_invalid"
    located = [p for p in error["problems"] if p["step"] == case.step and p["field"] == case.field]
    assert located, error["problems"]
    assert any(case.fragment in p["message"] for p in located), located


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "valid dictionary"),
        (b"\xff\xfe", "not valid JSON"),
        (json.dumps({"pad": "x" * (1024 * 1024)}).encode(), "a task body is at most"),
    ],
)
def test_unreadable_body_is_a_400(worker: httpx.Client, content: bytes, fragment: str) -> None:
    """Bodies that are not a JSON object (or exceed Cloud Tasks' 1 MB) are refused up front."""
    response = worker.post("/tasks", content=content)

    assert response.status_code == 400
    [problem] = response.json()["error"]["problems"]
    assert fragment in problem["message"]


def test_all_problems_come_back_together(worker: httpx.Client) -> None:
    """Request-level and pipeline problems are listed in one answer, not one per retry."""
    body = classification()
    body["session_id"] = "nope"
    step(body, "resized")["params"]["short_side"] = -1
    step(body, "tensor")["op"] = "tensor.fft"

    response = worker.post("/tasks", json=body)

    located = {(p["step"], p["field"]) for p in response.json()["error"]["problems"]}
    assert located == {(None, "session_id"), ("resized", "params.short_side"), ("tensor", "op")}
