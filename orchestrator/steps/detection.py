"""Detection steps: cascade proposals and refinement (MTCNN), NMS, score filtering."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from orchestrator.errors import StepFailed
from orchestrator.steps.context import StepContext
from orchestrator.steps.geometry import NmsMode, nms, regress, square
from orchestrator.steps.registry import (
    DETECTIONS,
    DETECTIONS_OUT,
    FAN_OUT,
    InputPort,
    Inputs,
    Outputs,
    StepParams,
    StepRegistry,
    expect,
)
from orchestrator.values import Classes, Detections, Kind, Pyramid, Tensor

steps = StepRegistry()


class ProposalsParams(StepParams):
    """Face candidates from a fully convolutional scorer run over a pyramid (MTCNN P-Net)."""

    threshold: float = Field(0.6, ge=0.0, le=1.0)
    nms_per_scale: float = Field(0.5, ge=0.0, le=1.0)
    nms: float = Field(0.7, ge=0.0, le=1.0)
    stride: int = Field(2, ge=1, le=64)
    cell_size: int = Field(12, ge=1, le=256)
    score_channel: int = Field(1, ge=0)
    max_candidates: int = Field(256, ge=1, le=10_000, json_schema_extra=FAN_OUT)


@steps.cpu(
    "detection.proposals",
    ProposalsParams,
    (InputPort("reg", frozenset({Kind.PYRAMID})), InputPort("prob", frozenset({Kind.PYRAMID}))),
    DETECTIONS_OUT,
)
def proposals(params: ProposalsParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    reg: Pyramid = expect(inputs, "reg", Pyramid)
    prob: Pyramid = expect(inputs, "prob", Pyramid)
    found: list[NDArray[np.float32]] = []
    for reg_level, prob_level in zip(reg.levels, prob.levels, strict=True):
        scores = prob_level.data[0, params.score_channel]
        ys, xs = np.nonzero(scores >= params.threshold)
        if xs.size == 0:
            continue
        cells = np.stack([xs, ys], axis=1).astype(np.float64)  # float32 floors 9/0.6 to 14
        top_left = np.floor((params.stride * cells + 1) / prob_level.scale)
        bottom_right = np.floor((params.stride * cells + params.cell_size) / prob_level.scale)
        offsets = reg_level.data[0][:, ys, xs].T
        rows = np.concatenate([top_left, bottom_right, scores[ys, xs][:, None], offsets], axis=1)
        keep = nms(rows[:, :4], rows[:, 4], params.nms_per_scale)
        found.append(rows[keep].astype(np.float32))
    if not found:
        return {"detections": _empty()}
    rows = np.concatenate(found)
    rows = rows[nms(rows[:, :4], rows[:, 4], params.nms)][: params.max_candidates]
    boxes = reg.frame.boxes_to_source(square(regress(rows[:, :4], rows[:, 5:9], inclusive=False)))
    return {"detections": Detections(boxes, rows[:, 4].copy())}


class RefineParams(StepParams):
    """Keep candidates a second-stage model scores above threshold; move, NMS, square them."""

    threshold: float = Field(0.7, ge=0.0, le=1.0)
    nms: float = Field(0.7, ge=0.0, le=1.0)
    nms_mode: NmsMode = "union"
    nms_on: Literal["input_boxes", "regressed_boxes"] = "input_boxes"
    square: bool = True
    score_channel: int = Field(1, ge=0)


@steps.cpu(
    "detection.refine",
    RefineParams,
    (
        DETECTIONS,
        InputPort("reg", frozenset({Kind.TENSOR})),
        InputPort("prob", frozenset({Kind.TENSOR})),
        InputPort("landmarks", frozenset({Kind.TENSOR}), optional=True),
    ),
    DETECTIONS_OUT,
)
def refine(params: RefineParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    candidates: Detections = expect(inputs, "detections", Detections)
    reg: Tensor = expect(inputs, "reg", Tensor)
    prob: Tensor = expect(inputs, "prob", Tensor)
    scores = prob.data[:, params.score_channel].astype(np.float32)
    passed = np.nonzero(scores > params.threshold)[0]
    boxes = candidates.boxes[passed]
    scores = scores[passed]
    offsets = reg.data[passed].astype(np.float32)
    landmarks = None
    if "landmarks" in inputs:
        points: Tensor = expect(inputs, "landmarks", Tensor)
        landmarks = _landmarks(boxes, points.data[passed].astype(np.float32))
    moved = regress(boxes, offsets, inclusive=True)
    keep = nms(
        boxes if params.nms_on == "input_boxes" else moved, scores, params.nms, params.nms_mode
    )
    moved = moved[keep]
    if params.square:
        moved = square(moved)
    return {
        "detections": Detections(
            moved, scores[keep], None if landmarks is None else landmarks[keep]
        )
    }


def _landmarks(boxes: NDArray[np.float32], points: NDArray[np.float32]) -> NDArray[np.float32]:
    """Five (x, y) points from box-relative outputs laid out as x1..x5, y1..y5 (1-based boxes)."""
    w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
    h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
    xs = w * points[:, :5] + boxes[:, 0:1] - 1
    ys = h * points[:, 5:10] + boxes[:, 1:2] - 1
    points_xy: NDArray[np.float32] = np.stack([xs, ys], axis=2).astype(np.float32)
    return points_xy


def _empty() -> Detections:
    return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))


class AttachClassesParams(StepParams):
    """Link per-crop classes to their parent detections (row i of the crops is detection i)."""


@steps.cpu(
    "detection.attach_classes",
    AttachClassesParams,
    (
        DETECTIONS,
        InputPort("classes", frozenset({Kind.CLASSES})),
    ),
    DETECTIONS_OUT,
)
def attach_classes(params: AttachClassesParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    detections: Detections = expect(inputs, "detections", Detections)
    classes: Classes = expect(inputs, "classes", Classes)
    if len(classes.items) != len(detections):
        raise StepFailed(
            ctx.step,
            f"{len(classes.items)} classified crops for {len(detections)} detections: "
            "classify crops made from these same detections",
        )
    return {"detections": replace(detections, classes=classes.items)}


class FilterParams(StepParams):
    """Keep detections scoring at least min_score (and, if given, whose top class is listed)."""

    min_score: float = Field(0.0, ge=0.0, le=1.0)
    labels: tuple[str, ...] | None = Field(None, min_length=1, max_length=1000)
    max_count: int | None = Field(
        None, ge=1, le=100_000, description="best scores first", json_schema_extra=FAN_OUT
    )


@steps.cpu(
    "detection.filter",
    FilterParams,
    (DETECTIONS,),
    DETECTIONS_OUT,
)
def filter_detections(params: FilterParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    detections: Detections = expect(inputs, "detections", Detections)
    wanted = detections.scores >= params.min_score
    if params.labels is not None:
        allowed = set(params.labels)
        classes = detections.classes or ((),) * len(detections)
        wanted &= np.array([bool(c) and c[0].label in allowed for c in classes], dtype=bool)
    index = np.nonzero(wanted)[0]
    index = index[np.argsort(-detections.scores[index], kind="stable")][: params.max_count]
    return {"detections": detections.take(index)}


class NmsParams(StepParams):
    """Greedy non-maximum suppression; class_aware keeps overlapping boxes of different classes."""

    threshold: float = Field(0.5, ge=0.0, le=1.0)
    mode: NmsMode = "union"
    class_aware: bool = False


@steps.cpu(
    "detection.nms",
    NmsParams,
    (DETECTIONS,),
    DETECTIONS_OUT,
)
def suppress(params: NmsParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    detections: Detections = expect(inputs, "detections", Detections)
    if not params.class_aware or detections.classes is None:
        keep = nms(detections.boxes, detections.scores, params.threshold, params.mode)
        return {"detections": detections.take(keep)}
    tops = np.array([item[0].index if item else -1 for item in detections.classes])
    kept = [
        group[nms(detections.boxes[group], detections.scores[group], params.threshold, params.mode)]
        for group in (np.nonzero(tops == label)[0] for label in np.unique(tops))
    ]
    keep = np.concatenate(kept) if kept else np.zeros(0, dtype=np.intp)
    keep = keep[np.argsort(-detections.scores[keep], kind="stable")]
    return {"detections": detections.take(keep)}
