"""Image steps: decode, resize, crop, and the pyramid and box crops of cascade detectors."""

from __future__ import annotations

import io
import warnings
from typing import Annotated, Literal

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError
from pydantic import Field, model_validator

from orchestrator.errors import ImageUndecodable, LimitExceeded
from orchestrator.steps.context import StepContext
from orchestrator.steps.geometry import grow, square
from orchestrator.steps.registry import (
    IMAGE_AND_DETECTIONS_IN,
    IMAGE_IN,
    IMAGE_OUT,
    InputPort,
    Inputs,
    OutputPort,
    Outputs,
    StepParams,
    StepRegistry,
    expect,
)
from orchestrator.steps.tensor import PositiveTriple, TensorFormat, Triple
from orchestrator.values import (
    Detections,
    Frame,
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

Byte = Annotated[int, Field(ge=0, le=255)]


class DecodeParams(StepParams):
    """Decode JPEG/PNG/WebP to RGB with EXIF orientation; max_side lets JPEG decode smaller."""

    max_side: int | None = Field(
        None,
        ge=16,
        le=16384,
        description="JPEG only: decode at the smallest DCT scale (1/2, 1/4, 1/8) whose long "
        "side stays >= max_side; boxes are still reported in original pixels",
    )


_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError)
_BOMB_ERRORS = (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning)
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I"})


@steps.cpu("image.decode", DecodeParams, (InputPort("data", frozenset({Kind.BYTES})),), IMAGE_OUT)
def decode(params: DecodeParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    data: SourceBytes = expect(inputs, "data", SourceBytes)
    limit = ctx.limits.max_image_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data.data)) as picture:
                full_w, full_h = picture.size
                if full_w * full_h > limit:
                    raise LimitExceeded(
                        f"image is {full_w}x{full_h} pixels; at most {limit} pixels are accepted"
                    )
                if params.max_side is not None and picture.format == "JPEG":
                    ratio = params.max_side / max(full_w, full_h)
                    if ratio < 1:
                        picture.draft("RGB", (round(full_w * ratio), round(full_h * ratio)))
                decoded_w, decoded_h = picture.size
                upright = _eight_bit(ImageOps.exif_transpose(picture)).convert("RGB")
                pixels = np.asarray(upright, dtype=np.uint8)
    except _BOMB_ERRORS as exc:
        raise LimitExceeded(f"the image has too many pixels: {exc}") from exc
    except _DECODE_ERRORS as exc:
        raise ImageUndecodable(f"the image could not be decoded: {exc}") from exc
    if upright.size != (decoded_w, decoded_h):  # EXIF rotated by 90 degrees
        full_w, full_h = full_h, full_w
    frame = Frame(source_size=(full_w, full_h)).resized(
        upright.width / full_w, upright.height / full_h
    )
    return {"image": Image(pixels, frame)}


def _eight_bit(picture: PILImage.Image) -> PILImage.Image:
    """16-bit greys scaled to 8 bits; Pillow's convert("RGB") would clip them to white."""
    if picture.mode not in _SIXTEEN_BIT_MODES:
        return picture
    wide = np.asarray(picture).astype(np.int64) >> 8
    return PILImage.fromarray(np.clip(wide, 0, 255).astype(np.uint8), "L")


class ResizeParams(StepParams):
    """Resize to width x height, or keep the aspect given one of width/height/short/max side."""

    width: int | None = Field(None, ge=1, le=8192)
    height: int | None = Field(None, ge=1, le=8192)
    short_side: int | None = Field(None, ge=1, le=8192)
    max_side: int | None = Field(None, ge=1, le=8192, description="never enlarges")
    multiple_of: int = Field(1, ge=1, le=256, description="round each side to a multiple")
    interpolation: Interpolation = "area"

    @model_validator(mode="after")
    def _one_mode(self) -> ResizeParams:
        modes = [
            self.width is not None or self.height is not None,
            self.short_side is not None,
            self.max_side is not None,
        ]
        if sum(modes) != 1:
            raise ValueError("give exactly one of: width/height, short_side, max_side")
        return self

    def target(self, width: int, height: int) -> tuple[int, int]:
        """The (width, height) to produce for a ``width`` x ``height`` input."""
        if self.short_side is not None:
            scale = self.short_side / min(width, height)
        elif self.max_side is not None:
            scale = min(1.0, self.max_side / max(width, height))
        elif self.width is not None and self.height is not None:
            scale = 0.0
        else:
            scale = self.width / width if self.width is not None else (self.height or 1) / height
        if scale:
            width, height = max(1, round(width * scale)), max(1, round(height * scale))
        else:
            width, height = self.width or width, self.height or height
        step = self.multiple_of
        return max(step, round(width / step) * step), max(step, round(height / step) * step)


@steps.cpu("image.resize", ResizeParams, IMAGE_IN, IMAGE_OUT)
def resize(params: ResizeParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    width, height = params.target(image.width, image.height)
    frame = image.frame.resized(width / image.width, height / image.height)
    return {"image": Image(_resize(image.pixels, width, height, params.interpolation), frame)}


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
    return {"image": Image(np.ascontiguousarray(window), image.frame.shifted(left, top))}


class LetterboxParams(StepParams):
    """Fit into width x height keeping aspect, pad the rest with fill; boxes map back exactly."""

    width: int = Field(ge=1, le=8192)
    height: int = Field(ge=1, le=8192)
    fill: tuple[Byte, Byte, Byte] = (114, 114, 114)
    align: Literal["center", "top_left"] = "center"
    interpolation: Interpolation = "linear"


@steps.cpu("image.letterbox", LetterboxParams, IMAGE_IN, IMAGE_OUT)
def letterbox(params: LetterboxParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    ratio = min(params.width / image.width, params.height / image.height)
    inner_w = max(1, min(params.width, round(image.width * ratio)))
    inner_h = max(1, min(params.height, round(image.height * ratio)))
    left, top = 0, 0
    if params.align == "center":
        left, top = (params.width - inner_w) // 2, (params.height - inner_h) // 2
    canvas = np.empty((params.height, params.width, 3), dtype=np.uint8)
    canvas[...] = np.asarray(params.fill, dtype=np.uint8)
    canvas[top : top + inner_h, left : left + inner_w] = _resize(
        image.pixels, inner_w, inner_h, params.interpolation
    )
    frame = image.frame.resized(inner_w / image.width, inner_h / image.height)
    return {"image": Image(canvas, frame.shifted(-left, -top))}


class PadParams(StepParams):
    """Add fill-coloured borders; boxes found later still map to original pixels."""

    top: int = Field(0, ge=0, le=4096)
    bottom: int = Field(0, ge=0, le=4096)
    left: int = Field(0, ge=0, le=4096)
    right: int = Field(0, ge=0, le=4096)
    fill: tuple[Byte, Byte, Byte] = (0, 0, 0)


@steps.cpu("image.pad", PadParams, IMAGE_IN, IMAGE_OUT)
def pad(params: PadParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    height = image.height + params.top + params.bottom
    width = image.width + params.left + params.right
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[...] = np.asarray(params.fill, dtype=np.uint8)
    canvas[params.top : params.top + image.height, params.left : params.left + image.width] = (
        image.pixels
    )
    return {"image": Image(canvas, image.frame.shifted(-params.left, -params.top))}


class GrayscaleParams(StepParams):
    """Convert to grey (ITU-R 601 luma), kept as three equal channels for RGB models."""


@steps.cpu("image.grayscale", GrayscaleParams, IMAGE_IN, IMAGE_OUT)
def grayscale(params: GrayscaleParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    grey = cv2.cvtColor(image.pixels, cv2.COLOR_RGB2GRAY)
    return {
        "image": Image(np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2)), image.frame)
    }


MTCNN_MEAN = (127.5, 127.5, 127.5)
MTCNN_STD = (128.0, 128.0, 128.0)


class PyramidParams(TensorFormat):
    """Scales so a face of min_size px maps to cell_size px, shrinking by factor, as tensors."""

    min_size: int = Field(20, ge=4, le=4096)
    factor: float = Field(0.709, gt=0.1, lt=0.95)
    cell_size: int = Field(12, ge=4, le=256)
    mean: Triple = MTCNN_MEAN
    std: PositiveTriple = MTCNN_STD


@steps.cpu(
    "image.pyramid",
    PyramidParams,
    IMAGE_IN,
    (OutputPort("pyramid", Kind.PYRAMID),),
    facts=lambda p: p.facts(1, None, None),
)
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
        levels.append(PyramidLevel(s, params.encode(scaled[np.newaxis])))
    return {"pyramid": Pyramid(tuple(levels), image.frame)}


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


class CropBoxesParams(TensorFormat):
    """Cut every detection (grown by margin, optionally squared, clipped) to size x size tensors."""

    size: int = Field(ge=4, le=1024)
    margin: float = Field(0.0, ge=0.0, le=2.0, description="fraction of the box added per side")
    square: bool = False
    interpolation: Interpolation = "area"
    mean: Triple = MTCNN_MEAN
    std: PositiveTriple = MTCNN_STD


@steps.cpu(
    "image.crop_boxes",
    CropBoxesParams,
    IMAGE_AND_DETECTIONS_IN,
    (OutputPort("crops", Kind.TENSOR),),
    facts=lambda p: p.facts(None, p.size, p.size),
)
def crop_boxes(params: CropBoxesParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    detections: Detections = expect(inputs, "detections", Detections)
    if len(detections) > ctx.limits.max_fan_out:
        raise LimitExceeded(
            f"{len(detections)} crops requested; at most {ctx.limits.max_fan_out} per task"
        )
    boxes = image.frame.boxes_from_source(detections.boxes)
    if params.square:
        boxes = square(boxes)
    boxes = grow(boxes, params.margin)
    crops = np.zeros((len(detections), params.size, params.size, 3), dtype=np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(_pixel_windows(boxes, image.width, image.height)):
        if x2 > x1 and y2 > y1:
            crops[i] = _resize(
                image.pixels[y1:y2, x1:x2], params.size, params.size, params.interpolation
            )
    return {"crops": Tensor(params.encode(crops))}


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
