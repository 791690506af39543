"""Output steps: annotate pictures and encode them as files for storage."""

from __future__ import annotations

import io
from typing import Literal

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw
from pydantic import Field

from orchestrator.steps.context import StepContext
from orchestrator.steps.geometry import clip_windows, grow
from orchestrator.steps.registry import (
    IMAGE_AND_DETECTIONS_IN,
    IMAGE_IN,
    IMAGE_OUT,
    Inputs,
    OutputPort,
    Outputs,
    StepParams,
    StepRegistry,
    expect,
)
from orchestrator.values import Detections, Encoded, Image, Kind

steps = StepRegistry()

HEX_COLOUR = r"^#[0-9a-fA-F]{6}$"


class DrawDetectionsParams(StepParams):
    """Draw each detection's box, score and landmarks onto a copy of the picture."""

    colour: str = Field("#00ff00", pattern=HEX_COLOUR)
    landmark_colour: str = Field("#ff0000", pattern=HEX_COLOUR)
    line_width: int = Field(3, ge=1, le=64)
    landmark_radius: int = Field(3, ge=0, le=64)
    show_scores: bool = True


@steps.cpu(
    "output.draw_detections",
    DrawDetectionsParams,
    IMAGE_AND_DETECTIONS_IN,
    IMAGE_OUT,
)
def draw_detections(params: DrawDetectionsParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    detections: Detections = expect(inputs, "detections", Detections)
    canvas = PILImage.fromarray(image.pixels.copy())
    pen = ImageDraw.Draw(canvas)
    boxes = image.frame.boxes_from_source(detections.boxes)
    landmarks = (
        None
        if detections.landmarks is None
        else image.frame.points_from_source(detections.landmarks)
    )
    polygons = (
        None if detections.polygons is None else image.frame.points_from_source(detections.polygons)
    )
    for i, (ax, ay, bx, by) in enumerate(boxes.tolist()):
        if polygons is not None:
            corners = [(float(x), float(y)) for x, y in polygons[i]]
            pen.polygon(corners, outline=params.landmark_colour, width=params.line_width)
        if not np.isfinite([ax, ay, bx, by]).all():
            continue
        x1, x2, y1, y2 = min(ax, bx), max(ax, bx), min(ay, by), max(ay, by)
        pen.rectangle((x1, y1, x2, y2), outline=params.colour, width=params.line_width)
        if params.show_scores:
            caption = f"{float(detections.scores[i]):.3f}"
            if detections.classes is not None and detections.classes[i]:
                caption = f"{detections.classes[i][0].label} {caption}"
            pen.text((x1 + params.line_width, y1 + params.line_width), caption, fill=params.colour)
        if landmarks is not None and params.landmark_radius:
            r = params.landmark_radius
            for x, y in landmarks[i].tolist():
                pen.ellipse((x - r, y - r, x + r, y + r), fill=params.landmark_colour)
    return {"image": Image(np.asarray(canvas), image.frame)}


class RedactParams(StepParams):
    """Blur or pixelate every detection's box (grown by margin) on a copy of the picture."""

    method: Literal["blur", "pixelate"] = "blur"
    strength: int = Field(
        12, ge=1, le=256, description="blur: sigma in pixels; pixelate: block size in pixels"
    )
    margin: float = Field(0.1, ge=0.0, le=1.0, description="fraction of the box added per side")


@steps.cpu(
    "output.redact",
    RedactParams,
    IMAGE_AND_DETECTIONS_IN,
    IMAGE_OUT,
)
def redact(params: RedactParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    detections: Detections = expect(inputs, "detections", Detections)
    pixels = image.pixels.copy()
    boxes = grow(image.frame.boxes_from_source(detections.boxes), params.margin)
    for x1, y1, x2, y2 in clip_windows(boxes, image.width, image.height):
        region = pixels[y1:y2, x1:x2]
        if params.method == "blur":
            pixels[y1:y2, x1:x2] = cv2.GaussianBlur(region, (0, 0), params.strength)
        else:
            small_w = max(1, (x2 - x1) // params.strength)
            small_h = max(1, (y2 - y1) // params.strength)
            small = cv2.resize(region, (small_w, small_h), interpolation=cv2.INTER_AREA)
            pixels[y1:y2, x1:x2] = cv2.resize(
                small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST
            )
    return {"image": Image(pixels, image.frame)}


class EncodeParams(StepParams):
    """Encode a picture as JPEG, PNG or WebP (quality applies to JPEG and WebP)."""

    format: Literal["jpeg", "png", "webp"] = "jpeg"
    quality: int = Field(90, ge=1, le=100)


_MEDIA = {
    "jpeg": ("image/jpeg", "jpg"),
    "png": ("image/png", "png"),
    "webp": ("image/webp", "webp"),
}


@steps.cpu(
    "output.encode",
    EncodeParams,
    IMAGE_IN,
    (OutputPort("file", Kind.ENCODED),),
)
def encode(params: EncodeParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    buffer = io.BytesIO()
    options = {} if params.format == "png" else {"quality": params.quality}
    PILImage.fromarray(image.pixels).save(buffer, format=params.format.upper(), **options)
    media_type, extension = _MEDIA[params.format]
    return {"file": Encoded(buffer.getvalue(), media_type, extension)}
