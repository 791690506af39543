"""Tensor steps: turn a picture into the batch-of-one tensor a model expects."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import PositiveFloat

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
from orchestrator.values import Image, Kind, Tensor

steps = StepRegistry()

_DTYPES = {"fp32": np.float32, "fp16": np.float16, "uint8": np.uint8}

Triple = tuple[float, float, float]


class FromImageParams(StepParams):
    """(pixel * scale - mean) / std per channel, in the given channel order, layout and dtype."""

    scale: float = 1.0 / 255.0
    mean: Triple = (0.0, 0.0, 0.0)
    std: tuple[PositiveFloat, PositiveFloat, PositiveFloat] = (1.0, 1.0, 1.0)
    channels: Literal["rgb", "bgr"] = "rgb"
    layout: Literal["nchw", "nhwc"] = "nchw"
    dtype: Literal["fp32", "fp16", "uint8"] = "fp32"


@steps.cpu(
    "tensor.from_image",
    FromImageParams,
    (InputPort("image", frozenset({Kind.IMAGE})),),
    (OutputPort("tensor", Kind.TENSOR),),
)
def from_image(params: FromImageParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    pixels = image.pixels[..., ::-1] if params.channels == "bgr" else image.pixels
    if params.dtype == "uint8":
        out = np.ascontiguousarray(pixels)[np.newaxis]
    else:
        std = np.asarray(params.std, dtype=np.float32)
        out = pixels.astype(np.float32)
        out *= np.float32(params.scale)
        out -= np.asarray(params.mean, dtype=np.float32)
        out /= std
        out = out.astype(_DTYPES[params.dtype], copy=False)[np.newaxis]
    if params.layout == "nchw":
        out = out.transpose(0, 3, 1, 2)
    return {"tensor": Tensor(np.ascontiguousarray(out))}
