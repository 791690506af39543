"""Detection steps: cascade proposals and refinement (MTCNN), NMS, score filtering."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from orchestrator.steps.context import StepContext
from orchestrator.steps.registry import (
    InputPort,
    Inputs,
    OutputPort,
    Outputs,
    StepParams,
    StepRegistry,
    expect,
)
from orchestrator.values import Detections, Kind, Pyramid, Tensor

steps = StepRegistry()

NmsMode = Literal["union", "min"]
DETECTIONS_OUT = (OutputPort("detections", Kind.DETECTIONS),)


def nms(
    boxes: NDArray[np.float32],
    scores: NDArray[np.float32],
    threshold: float,
    mode: NmsMode = "union",
) -> NDArray[np.intp]:
    """Indexes kept by greedy NMS, best score first.

    "union" is IoU on continuous boxes; "min" divides the overlap by the smaller box and
    counts pixels inclusively (+1), as MTCNN's last stage does.
    """
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.intp)
    pad = 1.0 if mode == "min" else 0.0
    x1, y1, x2, y2 = (boxes[:, i].astype(np.float64) for i in range(4))
    areas = (x2 - x1 + pad) * (y2 - y1 + pad)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        w = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + pad)
        h = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + pad)
        inter = w * h
        if mode == "min":
            overlap = inter / np.minimum(areas[best], areas[rest])
        else:
            overlap = inter / (areas[best] + areas[rest] - inter)
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.intp)


def regress(
    boxes: NDArray[np.float32], offsets: NDArray[np.float32], inclusive: bool
) -> NDArray[np.float32]:
    """Boxes moved by offsets given in units of the box size (+1 when pixels are inclusive)."""
    pad = 1.0 if inclusive else 0.0
    w = boxes[:, 2] - boxes[:, 0] + pad
    h = boxes[:, 3] - boxes[:, 1] + pad
    size = np.stack([w, h, w, h], axis=1)
    moved: NDArray[np.float32] = (boxes + offsets * size).astype(np.float32)
    return moved


def square(boxes: NDArray[np.float32]) -> NDArray[np.float32]:
    """Each box grown to a square on its longer side, keeping its centre."""
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    x1 = boxes[:, 0] + w * 0.5 - side * 0.5
    y1 = boxes[:, 1] + h * 0.5 - side * 0.5
    squared: NDArray[np.float32] = np.stack([x1, y1, x1 + side, y1 + side], axis=1)
    return squared.astype(np.float32)


class ProposalsParams(StepParams):
    """Face candidates from a fully convolutional scorer run over a pyramid (MTCNN P-Net)."""

    threshold: float = Field(0.6, ge=0.0, le=1.0)
    nms_per_scale: float = Field(0.5, ge=0.0, le=1.0)
    nms: float = Field(0.7, ge=0.0, le=1.0)
    stride: int = Field(2, ge=1, le=64)
    cell_size: int = Field(12, ge=1, le=256)
    score_channel: int = Field(1, ge=0)
    max_candidates: int = Field(256, ge=1, le=10_000)


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
        cells = np.stack([xs, ys], axis=1).astype(np.float32)
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
    boxes = square(regress(rows[:, :4], rows[:, 5:9], inclusive=False))
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
        InputPort("detections", frozenset({Kind.DETECTIONS})),
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
