"""Tensor steps, and the pixel -> tensor format shared by every step that makes model inputs."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import PositiveFloat

from orchestrator.steps.context import StepContext
from orchestrator.steps.registry import (
    IMAGE_IN,
    Inputs,
    OutputPort,
    Outputs,
    StepParams,
    StepRegistry,
    expect,
)
from orchestrator.values import Image, Kind, Tensor, TensorFacts

steps = StepRegistry()

_DTYPES = {"fp32": np.float32, "fp16": np.float16, "uint8": np.uint8}
_TRITON_DTYPES = {"fp32": "FP32", "fp16": "FP16", "uint8": "UINT8"}

Triple = tuple[float, float, float]
PositiveTriple = tuple[PositiveFloat, PositiveFloat, PositiveFloat]


class TensorFormat(StepParams):
    """(pixel - mean) / std per channel, in pixel units (0-255), then layout and dtype."""

    mean: Triple = (0.0, 0.0, 0.0)
    std: PositiveTriple = (1.0, 1.0, 1.0)
    channels: Literal["rgb", "bgr"] = "rgb"
    layout: Literal["nchw", "nhwc"] = "nchw"
    dtype: Literal["fp32", "fp16", "uint8"] = "fp32"

    def encode(self, batch: NDArray[np.uint8]) -> NDArray[Any]:
        """An NHWC uint8 RGB batch as a model tensor; uint8 skips normalisation (raw pixels)."""
        pixels = batch[..., ::-1] if self.channels == "bgr" else batch
        if self.dtype == "uint8":
            out: NDArray[Any] = pixels
        else:
            out = pixels.astype(np.float32)
            out -= np.asarray(self.mean, dtype=np.float32)
            out /= np.asarray(self.std, dtype=np.float32)
            out = out.astype(_DTYPES[self.dtype], copy=False)
        if self.layout == "nchw":
            out = out.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(out)

    def facts(self, batch: int | None, height: int | None, width: int | None) -> TensorFacts:
        """The dtype and shape ``encode`` gives, as far as the params decide them."""
        shape = (batch, 3, height, width) if self.layout == "nchw" else (batch, height, width, 3)
        return TensorFacts(_TRITON_DTYPES[self.dtype], shape)


class FromImageParams(TensorFormat):
    """Turn the picture into a batch-of-one model input: (pixel - mean) / std, layout, dtype."""


@steps.cpu(
    "tensor.from_image",
    FromImageParams,
    IMAGE_IN,
    (OutputPort("tensor", Kind.TENSOR),),
    facts=lambda p: p.facts(1, None, None),
)
def from_image(params: FromImageParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    image: Image = expect(inputs, "image", Image)
    return {"tensor": Tensor(params.encode(image.pixels[np.newaxis]))}
