"""Output steps: annotate pictures and encode them as files for storage."""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw
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
    (
        InputPort("image", frozenset({Kind.IMAGE})),
        InputPort("detections", frozenset({Kind.DETECTIONS})),
    ),
    (OutputPort("image", Kind.IMAGE),),
)
def draw_detections(params: DrawDetectionsParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    detections: Detections = expect(inputs, "detections", Detections)
    canvas = PILImage.fromarray(image.pixels.copy())
    pen = ImageDraw.Draw(canvas)
    for i in range(len(detections)):
        x1, y1, x2, y2 = (float(v) for v in detections.boxes[i])
        pen.rectangle((x1, y1, x2, y2), outline=params.colour, width=params.line_width)
        if params.show_scores:
            pen.text(
                (x1 + params.line_width, y1 + params.line_width),
                f"{float(detections.scores[i]):.3f}",
                fill=params.colour,
            )
        if detections.landmarks is not None and params.landmark_radius:
            r = params.landmark_radius
            for x, y in detections.landmarks[i]:
                pen.ellipse(
                    (float(x) - r, float(y) - r, float(x) + r, float(y) + r),
                    fill=params.landmark_colour,
                )
    return {"image": Image(np.asarray(canvas))}


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
    (InputPort("image", frozenset({Kind.IMAGE})),),
    (OutputPort("file", Kind.ENCODED),),
)
def encode(params: EncodeParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    buffer = io.BytesIO()
    options = {} if params.format == "png" else {"quality": params.quality}
    PILImage.fromarray(image.pixels).save(buffer, format=params.format.upper(), **options)
    media_type, extension = _MEDIA[params.format]
    return {"file": Encoded(buffer.getvalue(), media_type, extension)}
