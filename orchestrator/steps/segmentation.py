"""Segmentation-style post-processing: probability maps to scored regions (e.g. DBNet text)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from orchestrator.errors import StepFailed
from orchestrator.steps.context import StepContext
from orchestrator.steps.registry import (
    DETECTIONS_OUT,
    FAN_OUT,
    IMAGE,
    IMAGE_OUT,
    InputPort,
    Inputs,
    Outputs,
    StepParams,
    StepRegistry,
    expect,
)
from orchestrator.values import Detections, Frame, Image, Kind, Tensor

steps = StepRegistry()

PROB_AND_IMAGE_IN = (InputPort("prob", frozenset({Kind.TENSOR})), IMAGE)


class RegionsParams(StepParams):
    """Threshold a probability map, score each connected region, grow its box by unclip_ratio."""

    threshold: float = Field(0.3, ge=0.0, le=1.0, description="pixel probability to count")
    min_score: float = Field(0.5, ge=0.0, le=1.0, description="mean probability of a region")
    min_size: int = Field(3, ge=1, le=4096, description="shorter box side in map pixels")
    unclip_ratio: float = Field(1.6, ge=0.0, le=10.0, description="DBNet box growth")
    channel: int = Field(0, ge=0)
    max_regions: int = Field(500, ge=1, le=100_000, json_schema_extra=FAN_OUT)
    polygons: bool = Field(False, description="also report each region's rotated rectangle")


@steps.cpu(
    "segmentation.regions",
    RegionsParams,
    PROB_AND_IMAGE_IN,
    DETECTIONS_OUT,
)
def regions(params: RegionsParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    """``image`` is the picture the model saw: its frame maps the boxes to original pixels."""
    heat = _probability_map(ctx.step, inputs, params.channel)
    image: Image = expect(inputs, "image", Image)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        (heat > params.threshold).astype(np.uint8), connectivity=8
    )
    sums = np.bincount(labels.ravel(), weights=heat.ravel(), minlength=count)
    areas = stats[:, cv2.CC_STAT_AREA]
    scores = (sums / np.maximum(areas, 1)).astype(np.float32)
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    keep = np.nonzero(
        (np.arange(count) > 0)
        & (scores >= params.min_score)
        & (np.minimum(w, h) >= params.min_size)
    )[0]
    keep = keep[np.argsort(-scores[keep], kind="stable")][: params.max_regions]
    # DBNet shrinks text regions during training; growing by area * ratio / perimeter undoes it.
    grow = (w[keep] * h[keep] * params.unclip_ratio / (2.0 * (w[keep] + h[keep]))).astype(
        np.float32
    )
    boxes = np.stack(
        [x[keep] - grow, y[keep] - grow, x[keep] + w[keep] + grow, y[keep] + h[keep] + grow],
        axis=1,
    ).astype(np.float32)
    boxes = np.clip(boxes, 0, [heat.shape[1], heat.shape[0], heat.shape[1], heat.shape[0]])
    to_image = np.array(
        [image.width / heat.shape[1], image.height / heat.shape[0]] * 2, dtype=np.float32
    )
    source = image.frame.boxes_to_source((boxes * to_image).astype(np.float32))
    polygons = None
    if params.polygons:
        corners = (
            np.stack(
                [
                    _rotated_rectangle(labels, stats, int(k), float(g))
                    for k, g in zip(keep, grow, strict=True)
                ]
            )
            if keep.size
            else (np.zeros((0, 4, 2), dtype=np.float32))
        )
        polygons = image.frame.points_to_source((corners * to_image[:2]).astype(np.float32))
    return {"detections": Detections(source, scores[keep], polygons=polygons)}


def _rotated_rectangle(
    labels: NDArray[Any], stats: NDArray[Any], label: int, grow: float
) -> NDArray[np.float32]:
    """The four corners of region ``label``'s minimum-area rectangle, grown by ``grow``."""
    x, y = stats[label, cv2.CC_STAT_LEFT], stats[label, cv2.CC_STAT_TOP]
    w, h = stats[label, cv2.CC_STAT_WIDTH], stats[label, cv2.CC_STAT_HEIGHT]
    ys, xs = np.nonzero(labels[y : y + h, x : x + w] == label)
    points = np.stack([xs + x, ys + y], axis=1).astype(np.float32)
    (cx, cy), (rw, rh), angle = cv2.minAreaRect(points)
    corners = cv2.boxPoints(((cx, cy), (rw + 2 * grow, rh + 2 * grow), angle))
    return np.asarray(corners, dtype=np.float32)


class MaskParams(StepParams):
    """The probability map thresholded and resized to the original picture, white on black."""

    threshold: float = Field(0.3, ge=0.0, le=1.0)
    channel: int = Field(0, ge=0)


@steps.cpu(
    "segmentation.mask",
    MaskParams,
    PROB_AND_IMAGE_IN,
    IMAGE_OUT,
)
def mask(params: MaskParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    """``image`` is the picture the model saw; the mask is warped back through its frame."""
    heat = _probability_map(ctx.step, inputs, params.channel)
    image: Image = expect(inputs, "image", Image)
    frame = image.frame
    width, height = frame.source_size or (image.width, image.height)
    # Source pixel -> model-input pixel -> map pixel, one affine map per axis.
    to_map_x = heat.shape[1] / image.width / frame.scale_x
    to_map_y = heat.shape[0] / image.height / frame.scale_y
    source_to_map = np.array(
        [[to_map_x, 0.0, -frame.offset_x * to_map_x], [0.0, to_map_y, -frame.offset_y * to_map_y]]
    )
    warped = cv2.warpAffine(
        heat,
        source_to_map,
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderValue=(0.0, 0.0, 0.0, 0.0),
    )
    binary = np.where(np.asarray(warped) > params.threshold, 255, 0).astype(np.uint8)
    pixels = np.ascontiguousarray(np.repeat(binary[..., np.newaxis], 3, axis=2))
    return {"image": Image(pixels, Frame(source_size=(width, height)))}


def _probability_map(step: str, inputs: Inputs, channel: int) -> NDArray[np.float32]:
    """Channel ``channel`` of a [1, C, H, W] tensor bound to ``prob``, as float32."""
    prob: Tensor = expect(inputs, "prob", Tensor)
    if prob.data.ndim != 4 or prob.data.shape[0] != 1 or channel >= prob.data.shape[1]:
        raise StepFailed(step, f"expects a [1, C, H, W] map, got {list(prob.data.shape)}")
    heat: NDArray[np.float32] = prob.data[0, channel].astype(np.float32)
    return heat
