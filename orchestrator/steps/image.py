"""Image steps: decode, resize, crop, and the pyramid and box crops of cascade detectors."""

from __future__ import annotations

import io
import warnings
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError
from pydantic import Field

from orchestrator.errors import ImageUndecodable, LimitExceeded
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
from orchestrator.values import (
    Detections,
    Image,
    Kind,
    Pyramid,
    PyramidLevel,
    SourceBytes,
    Tensor,
)

steps = StepRegistry()

Interpolation = Literal["area", "linear", "cubic", "nearest"]
_CV_INTERPOLATION = {
    "area": cv2.INTER_AREA,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "nearest": cv2.INTER_NEAREST,
}

IMAGE_IN = (InputPort("image", frozenset({Kind.IMAGE})),)
IMAGE_OUT = (OutputPort("image", Kind.IMAGE),)


class DecodeParams(StepParams):
    """Decode JPEG/PNG/WebP bytes to RGB, applying the EXIF orientation."""


@steps.cpu("image.decode", DecodeParams, (InputPort("data", frozenset({Kind.BYTES})),), IMAGE_OUT)
def decode(params: DecodeParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    data: SourceBytes = expect(inputs, "data", SourceBytes)
    limit = ctx.limits.max_image_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data.data)) as picture:
                if picture.width * picture.height > limit:
                    raise LimitExceeded(
                        f"image is {picture.width}x{picture.height} pixels; "
                        f"at most {limit} pixels are accepted"
                    )
                upright = ImageOps.exif_transpose(picture).convert("RGB")
                pixels = np.asarray(upright, dtype=np.uint8)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        PILImage.DecompressionBombError,
        PILImage.DecompressionBombWarning,
    ) as exc:
        raise ImageUndecodable(f"the image could not be decoded: {exc}") from exc
    return {"image": Image(pixels)}


class ResizeParams(StepParams):
    """Resize to width x height, or so the short side equals short_side (aspect kept)."""

    width: int | None = Field(None, ge=1, le=8192)
    height: int | None = Field(None, ge=1, le=8192)
    short_side: int | None = Field(None, ge=1, le=8192)
    interpolation: Interpolation = "area"

    def target(self, width: int, height: int) -> tuple[int, int]:
        """The (width, height) to produce for a ``width`` x ``height`` input."""
        if self.short_side is not None:
            scale = self.short_side / min(width, height)
            return max(1, round(width * scale)), max(1, round(height * scale))
        return self.width or width, self.height or height


@steps.cpu("image.resize", ResizeParams, IMAGE_IN, IMAGE_OUT)
def resize(params: ResizeParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    width, height = params.target(image.width, image.height)
    return {"image": Image(_resize(image.pixels, width, height, params.interpolation))}


class CenterCropParams(StepParams):
    """Cut the central width x height window (the whole image if it is smaller)."""

    width: int = Field(ge=1, le=8192)
    height: int = Field(ge=1, le=8192)


@steps.cpu("image.center_crop", CenterCropParams, IMAGE_IN, IMAGE_OUT)
def center_crop(params: CenterCropParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    top = max(0, (image.height - params.height) // 2)
    left = max(0, (image.width - params.width) // 2)
    window = image.pixels[top : top + params.height, left : left + params.width]
    return {"image": Image(np.ascontiguousarray(window))}


class PyramidParams(StepParams):
    """Scales so a face of min_size px maps to cell_size px, shrinking by factor; NCHW float32."""

    min_size: int = Field(20, ge=4, le=4096)
    factor: float = Field(0.709, gt=0.1, lt=0.95)
    cell_size: int = Field(12, ge=4, le=256)
    mean: float = 127.5
    scale: float = 0.0078125


@steps.cpu("image.pyramid", PyramidParams, IMAGE_IN, (OutputPort("pyramid", Kind.PYRAMID),))
def pyramid(params: PyramidParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    scales = pyramid_scales(
        image.width, image.height, params.min_size, params.factor, params.cell_size
    )
    limit = ctx.limits.max_pyramid_levels
    if len(scales) > limit:
        raise LimitExceeded(
            f"the pyramid needs {len(scales)} levels; at most {limit} are allowed (raise min_size)"
        )
    levels = []
    for s in scales:
        width, height = int(image.width * s + 1), int(image.height * s + 1)
        scaled = _resize(image.pixels, width, height, "area")
        levels.append(
            PyramidLevel(s, _normalized_nchw(scaled[np.newaxis], params.mean, params.scale))
        )
    return {"pyramid": Pyramid(tuple(levels))}


def pyramid_scales(
    width: int, height: int, min_size: int, factor: float, cell_size: int
) -> list[float]:
    """The MTCNN scale list: from cell_size/min_size down while the short side keeps a cell."""
    scale = cell_size / min_size
    short = min(width, height) * scale
    scales: list[float] = []
    while short >= cell_size:
        scales.append(scale)
        scale *= factor
        short *= factor
    return scales


class CropBoxesParams(StepParams):
    """Cut every detection's box (clipped to the image) and resize it to size x size; NCHW."""

    size: int = Field(ge=4, le=1024)
    mean: float = 127.5
    scale: float = 0.0078125
    interpolation: Interpolation = "area"


@steps.cpu(
    "image.crop_boxes",
    CropBoxesParams,
    (
        InputPort("image", frozenset({Kind.IMAGE})),
        InputPort("detections", frozenset({Kind.DETECTIONS})),
    ),
    (OutputPort("crops", Kind.TENSOR),),
)
def crop_boxes(params: CropBoxesParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    detections: Detections = expect(inputs, "detections", Detections)
    if len(detections) > ctx.limits.max_fan_out:
        raise LimitExceeded(
            f"{len(detections)} crops requested; at most {ctx.limits.max_fan_out} per task"
        )
    crops = np.zeros((len(detections), params.size, params.size, 3), dtype=np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(
        _pixel_windows(detections.boxes, image.width, image.height)
    ):
        if x2 > x1 and y2 > y1:
            crops[i] = _resize(
                image.pixels[y1:y2, x1:x2], params.size, params.size, params.interpolation
            )
    return {"crops": Tensor(_normalized_nchw(crops, params.mean, params.scale))}


def _pixel_windows(
    boxes: NDArray[np.float32], width: int, height: int
) -> list[tuple[int, int, int, int]]:
    """Integer windows [x1, x2) x [y1, y2) of 1-based inclusive boxes, clipped to the image.

    MTCNN boxes are truncated and treated as 1-based, as in the reference implementation.
    """
    ints = np.trunc(boxes).astype(np.int64)
    windows = []
    for x1, y1, x2, y2 in ints:
        windows.append(
            (max(int(x1), 1) - 1, max(int(y1), 1) - 1, min(int(x2), width), min(int(y2), height))
        )
    return windows


def _resize(
    pixels: NDArray[np.uint8], width: int, height: int, interpolation: Interpolation
) -> NDArray[np.uint8]:
    if (pixels.shape[1], pixels.shape[0]) == (width, height):
        return pixels
    resized = cv2.resize(pixels, (width, height), interpolation=_CV_INTERPOLATION[interpolation])
    return np.asarray(resized, dtype=np.uint8)


def _normalized_nchw(batch: NDArray[np.uint8], mean: float, scale: float) -> NDArray[np.float32]:
    """(x - mean) * scale as float32, NHWC -> NCHW."""
    out = batch.astype(np.float32)
    out -= mean
    out *= scale
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))
