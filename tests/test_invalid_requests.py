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


def redaction() -> Body:
    return task(f"gs://{BUCKET}/{TENANT}/originals/astronaut.jpg", example("face_redaction"))


def crops_classified() -> Body:
    return task(f"gs://{BUCKET}/{TENANT}/originals/astronaut.jpg", example("detect_then_classify"))


def text() -> Body:
    return task(f"gs://{BUCKET}/{TENANT}/originals/page.png", example("text_detection"))


def letterboxed() -> Body:
    """The classification example with resize + crop replaced by a 224x224 letterbox."""
    body = classification()
    steps = pipeline_of(body)["steps"]
    steps[1:3] = [{"id": "boxed", "op": "image.letterbox", "params": {"width": 224, "height": 224}}]
    return body


def _params(step_id: str, **params: Any) -> Callable[[Body], object]:
    return lambda b: step(b, step_id).setdefault("params", {}).update(params)


def _when(step_id: str, condition: Any) -> Callable[[Body], object]:
    return lambda b: step(b, step_id).update(when=condition)


def _inputs(step_id: str, **inputs: str) -> Callable[[Body], object]:
    return lambda b: step(b, step_id).update(inputs=inputs)


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


MORE_CASES = [
    # Tensors checked against the live model signatures (dtype, rank, fixed dims).
    Case(
        "crop size vs onet",
        edit(faces, _params("onet_crops", size=24)),
        "onet",
        "inputs",
        "gives FP32 [?, 3, 24, 24], but model 'mtcnn_onet' input 'input' takes FP32 [?, 3, 48, 48]",
    ),
    Case(
        "crop dtype vs rnet",
        edit(faces, _params("rnet_crops", dtype="fp16")),
        "rnet",
        "inputs",
        "gives FP16",
    ),
    Case(
        "crop layout vs rnet",
        edit(faces, _params("rnet_crops", layout="nhwc")),
        "rnet",
        "inputs",
        "[?, 24, 24, 3]",
    ),
    Case(
        "uint8 pyramid vs pnet",
        edit(faces, _params("pyramid", dtype="uint8")),
        "pnet",
        "inputs",
        "gives UINT8 [1, 3, ?, ?], but model 'mtcnn_pnet'",
    ),
    Case(
        "fp16 tensor vs mobilenet",
        edit(classification, _params("tensor", dtype="fp16")),
        "top5",
        "inputs",
        "takes FP32 [?, 3, 224, 224]",
    ),
    Case(
        "nhwc tensor vs mobilenet",
        edit(classification, _params("tensor", layout="nhwc")),
        "top5",
        "inputs",
        "gives FP32 [1, ?, ?, 3]",
    ),
    Case(
        "face crops 128 vs mobilenet",
        edit(crops_classified, _params("face_crops", size=128)),
        "crop_classes",
        "inputs",
        "[?, 3, 128, 128]",
    ),
    Case(
        "named input dtype",
        edit(
            text,
            lambda b: (
                step(b, "det").update(inputs={"x": "tensor"})
                or step(b, "tensor")["params"].update(dtype="uint8")
            ),
        ),
        "det",
        "inputs.x",
        "gives UINT8",
    ),
    # Conditions.
    Case(
        "when with both kinds",
        edit(redaction, _when("redacted_image", {"nonempty": "faces", "$setting": "a"})),
        "redacted_image",
        "when",
        "either",
    ),
    Case(
        "when empty",
        edit(redaction, _when("redacted_image", {})),
        "redacted_image",
        "when",
        "either",
    ),
    Case(
        "when dangling",
        edit(redaction, _when("redacted_image", {"nonempty": "ghost"})),
        "redacted_image",
        "when.nonempty",
        "refers to no step",
    ),
    Case(
        "when on an image",
        edit(redaction, _when("redacted_image", {"nonempty": "image"})),
        "redacted_image",
        "when.nonempty",
        "'image' is image; 'nonempty' tests",
    ),
    Case(
        "when setting not boolean",
        edit(
            edit(redaction, lambda b: b.update(settings={"redaction": {"enabled": "yes please"}})),
            lambda b: None,
        ),
        "redacted_image",
        "when.$setting",
        "needs true or false",
    ),
    Case(
        "when setting missing",
        edit(redaction, _when("redacted_image", {"$setting": "x.on"})),
        "redacted_image",
        "when.$setting",
        "setting 'x.on' is not in the task's settings",
    ),
    Case(
        "when nonempty with default",
        edit(redaction, _when("redacted_image", {"nonempty": "faces", "default": True})),
        "redacted_image",
        "when",
        "'default' belongs",
    ),
    Case(
        "when bad ref",
        edit(redaction, _when("redacted_image", {"nonempty": "Faces!"})),
        "redacted_image",
        "when.nonempty",
        "should match pattern",
    ),
    Case(
        "when default not boolean",
        edit(redaction, _when("redacted_image", {"$setting": "x", "default": 5})),
        "redacted_image",
        "when.default",
        "valid boolean",
    ),
    Case(
        "when on itself",
        edit(redaction, _when("redacted_image", {"nonempty": "redacted_image"})),
        "redacted_image",
        "when.nonempty",
        "cannot read its own output",
    ),
    Case(
        "cycle through a condition",
        edit(redaction, _when("faces", {"nonempty": "redacted"})),
        "faces",
        "inputs",
        "cycle",
    ),
    # Image steps.
    Case(
        "resize two modes",
        edit(classification, _params("resized", max_side=300)),
        "resized",
        "params",
        "exactly one of",
    ),
    Case(
        "resize no mode",
        edit(classification, lambda b: step(b, "resized").update(params={})),
        "resized",
        "params",
        "exactly one of",
    ),
    Case(
        "resize multiple_of 0",
        edit(classification, _params("resized", multiple_of=0)),
        "resized",
        "params.multiple_of",
        "greater than or equal to 1",
    ),
    Case(
        "letterbox without height",
        edit(letterboxed, lambda b: step(b, "boxed")["params"].pop("height")),
        "boxed",
        "params.height",
        "Field required",
    ),
    Case(
        "letterbox fill out of range",
        edit(letterboxed, _params("boxed", fill=[300, 0, 0])),
        "boxed",
        "params.fill.0",
        "less than or equal to 255",
    ),
    Case(
        "letterbox align",
        edit(letterboxed, _params("boxed", align="middle")),
        "boxed",
        "params.align",
        "'center' or 'top_left'",
    ),
    Case(
        "decode max_side too small",
        edit(classification, _params("image", max_side=8)),
        "image",
        "params.max_side",
        "greater than or equal to 16",
    ),
    Case(
        "crop margin",
        edit(faces, _params("rnet_crops", margin=5)),
        "rnet_crops",
        "params.margin",
        "less than or equal to 2",
    ),
    Case(
        "crop size",
        edit(faces, _params("rnet_crops", size=2)),
        "rnet_crops",
        "params.size",
        "greater than or equal to 4",
    ),
    Case(
        "pyramid factor",
        edit(faces, _params("pyramid", factor=1.5)),
        "pyramid",
        "params.factor",
        "less than 0.95",
    ),
    Case(
        "mean from missing setting in a list",
        edit(classification, _params("tensor", mean=[{"$setting": "norm.r"}, 0, 0])),
        "tensor",
        "params.mean.0",
        "setting 'norm.r'",
    ),
    # Output steps.
    Case(
        "redact method",
        edit(redaction, _params("redacted_image", method="smudge")),
        "redacted_image",
        "params.method",
        "'blur' or 'pixelate'",
    ),
    Case(
        "redact strength",
        edit(redaction, _params("redacted_image", strength=0)),
        "redacted_image",
        "params.strength",
        "greater than or equal to 1",
    ),
    Case(
        "redact method from setting",
        edit(
            edit(redaction, lambda b: b.update(settings={"redaction": {"method": "smear"}})),
            lambda b: None,
        ),
        "redacted_image",
        "params.method",
        "'blur' or 'pixelate'",
    ),
    Case(
        "redact without detections",
        edit(redaction, _inputs("redacted_image", image="image")),
        "redacted_image",
        "inputs.detections",
        "needs input 'detections'",
    ),
    Case(
        "draw colour",
        edit(faces, _params("drawn", colour="green")),
        "drawn",
        "params.colour",
        "should match pattern",
    ),
    Case(
        "draw line width",
        edit(faces, _params("drawn", line_width=0)),
        "drawn",
        "params.line_width",
        "greater than or equal to 1",
    ),
    Case(
        "encode format",
        edit(faces, _params("annotated", format="gif")),
        "annotated",
        "params.format",
        "'jpeg', 'png' or 'webp'",
    ),
    Case(
        "encode quality",
        edit(faces, _params("annotated", quality=101)),
        "annotated",
        "params.quality",
        "less than or equal to 100",
    ),
    # Detection and segmentation steps.
    Case(
        "regions threshold",
        edit(text, _params("text", threshold=2)),
        "text",
        "params.threshold",
        "less than or equal to 1",
    ),
    Case(
        "regions reading an image",
        edit(text, _inputs("text", prob="resized", image="resized")),
        "text",
        "inputs.prob",
        "'resized' is image",
    ),
    Case(
        "regions without image",
        edit(text, _inputs("text", prob="det")),
        "text",
        "inputs.image",
        "needs input 'image'",
    ),
    Case(
        "text model input name",
        edit(text, _inputs("det", input="tensor")),
        "det",
        "inputs.input",
        "has no input 'input'; its inputs: x",
    ),
    Case(
        "proposals from an image",
        edit(faces, _inputs("candidates", reg="image", prob="pnet.prob")),
        "candidates",
        "inputs.reg",
        "'image' is image, but 'detection.proposals' needs pyramid",
    ),
    Case(
        "proposals stride",
        edit(faces, _params("candidates", stride=0)),
        "candidates",
        "params.stride",
        "greater than or equal to 1",
    ),
    Case(
        "refine nms mode",
        edit(faces, _params("faces", nms_mode="max")),
        "faces",
        "params.nms_mode",
        "'union' or 'min'",
    ),
    Case(
        "refine landmarks from pyramid",
        edit(faces, lambda b: step(b, "faces")["inputs"].update(landmarks="pnet.reg")),
        "faces",
        "inputs.landmarks",
        "is pyramid",
    ),
    Case(
        "attach detections as classes",
        edit(crops_classified, _inputs("labelled", detections="faces", classes="faces")),
        "labelled",
        "inputs.classes",
        "is detections, but 'detection.attach_classes' needs classes",
    ),
    Case(
        "oversize fan-out of candidates",
        edit(faces, _params("candidates", max_candidates=600)),
        "candidates",
        "params.max_candidates",
        "600 exceeds this worker's fan-out limit of 512",
    ),
    Case(
        "oversize fan-out of regions",
        edit(text, _params("text", max_regions=5000)),
        "text",
        "params.max_regions",
        "fan-out limit",
    ),
    Case(
        "mask reading detections",
        edit(text, _inputs("mask", prob="text", image="resized")),
        "mask",
        "inputs.prob",
        "'text' is detections",
    ),
    # Model steps.
    Case(
        "infer with top_k",
        edit(faces, _params("pnet", top_k=3)),
        "pnet",
        "params.top_k",
        "Extra inputs are not permitted",
    ),
    Case(
        "classify a two-output model",
        edit(crops_classified, _params("crop_classes", model="mtcnn_rnet")),
        "crop_classes",
        "params.output",
        "has outputs reg, prob: name one",
    ),
    Case(
        "version not digits",
        edit(faces, _params("pnet", version="latest")),
        "pnet",
        "params.version",
        "should match pattern",
    ),
    Case(
        "model missing",
        edit(faces, lambda b: step(b, "pnet").update(params={})),
        "pnet",
        "params.model",
        "Field required",
    ),
    Case(
        "extra model input",
        edit(faces, _inputs("pnet", input="pyramid", extra="pyramid")),
        "pnet",
        "inputs.extra",
        "has no input 'extra'",
    ),
    # Document shape.
    Case(
        "output name pattern",
        edit(classification, lambda b: pipeline_of(b).update(outputs={"Top5": "top5"})),
        None,
        "outputs.Top5.[key]",
        "should match pattern",
    ),
    Case(
        "input ref pattern",
        edit(classification, _inputs("tensor", image="Cropped!")),
        "tensor",
        "inputs.image",
        "should match pattern",
    ),
    Case(
        "steps not a list",
        edit(classification, lambda b: pipeline_of(b).update(steps={})),
        None,
        "steps",
        "valid list",
    ),
    Case(
        "version missing",
        edit(classification, lambda b: pipeline_of(b).pop("version")),
        None,
        "version",
        "Field required",
    ),
    Case(
        "pipeline is a list",
        edit(classification, lambda b: b.update(pipeline_definition=[])),
        None,
        "pipeline_definition",
        "valid dictionary",
    ),
    Case(
        "params not an object",
        edit(classification, lambda b: step(b, "tensor").update(params=[1])),
        "tensor",
        "params",
        "valid dictionary",
    ),
    Case(
        "inputs not an object",
        edit(classification, lambda b: step(b, "tensor").update(inputs="cropped")),
        "tensor",
        "inputs",
        "valid dictionary",
    ),
    Case(
        "empty step id",
        edit(classification, lambda b: step(b, "tensor").update(id="")),
        "steps[3]",
        "id",
        "should match pattern",
    ),
]


@pytest.mark.parametrize("case", CASES + MORE_CASES, ids=[c.name for c in CASES + MORE_CASES])
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
        (b"[" * 1000 + b"]" * 1000, "nested"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"settings": {"a": ' + b"[" * 40 + b"]" * 40 + b"}}", "more than 32 levels deep"),
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
