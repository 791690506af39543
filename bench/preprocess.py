"""Pre-processing costs, measured side by side in one run (this machine is noisy: read ratios).

    .venv/bin/python bench/preprocess.py [--repeat 30]

1. A 1080p JPEG to a 640x640 float tensor: naive Pillow (full decode, bilinear resize, float
   maths) against the pipeline's path (JPEG DCT-scaled decode via image.decode max_side, OpenCV
   area resize, one in-place normalisation).
2. A hot pipeline: PipelineParser.parse against the PlanCache hit that replaces it.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage
from skimage import data as samples

from devstack.pictures import encoded
from orchestrator.dsl.parser import PipelineParser
from orchestrator.dsl.plan_cache import PlanCache
from orchestrator.settings import Limits
from orchestrator.steps.context import StepContext
from orchestrator.steps.image import DecodeParams, ResizeParams, decode, resize
from orchestrator.steps.library import build_registry
from orchestrator.steps.tensor import FromImageParams, from_image
from orchestrator.values import Image, SourceBytes, Tensor

ROOT = Path(__file__).resolve().parent.parent
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up: imports, allocator, OpenCV's thread pool
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def hd_jpeg() -> bytes:
    picture = PILImage.fromarray(samples.astronaut()).resize((1920, 1080), PILImage.BICUBIC)
    return encoded(np.asarray(picture), quality=92)


def naive(data: bytes) -> np.ndarray[Any, Any]:
    picture = PILImage.open(io.BytesIO(data)).convert("RGB").resize((640, 640), PILImage.BILINEAR)
    pixels = np.asarray(picture, dtype=np.float32)
    return ((pixels - np.array(MEAN)) / np.array(STD)).transpose(2, 0, 1)[np.newaxis]


def pipeline_path(data: bytes, ctx: StepContext) -> np.ndarray[Any, Any]:
    image = decode(DecodeParams(max_side=640), {"data": SourceBytes(data)}, ctx)["image"]
    sized = resize(ResizeParams(width=640, height=640), {"image": image}, ctx)["image"]
    assert isinstance(sized, Image)
    tensor = from_image(FromImageParams(mean=MEAN, std=STD), {"image": sized}, ctx)["tensor"]
    assert isinstance(tensor, Tensor)
    return tensor.data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30)
    repeat = parser.parse_args().repeat

    ctx = StepContext("bench", None, Limits())  # type: ignore[arg-type]  # CPU steps only
    data = hd_jpeg()
    slow = median_ms(lambda: naive(data), repeat)
    fast = median_ms(lambda: pipeline_path(data, ctx), repeat)
    print(f"1080p JPEG -> 640x640 fp32 tensor ({len(data) // 1024} KiB, median of {repeat})")
    print(f"  naive Pillow            {slow:7.2f} ms")
    print(f"  decode(max_side)+cv2    {fast:7.2f} ms")
    print(f"  speed-up                {slow / fast:7.2f}x")

    pipeline = json.loads((ROOT / "examples" / "face_detection.json").read_text())
    compiler = PipelineParser(build_registry(), Limits())
    cache = PlanCache(compiler, size=16)
    parse = median_ms(lambda: compiler.parse(pipeline, {}), repeat)
    cached = median_ms(lambda: cache.parse(pipeline, {}), repeat)
    print(f"face_detection pipeline ({len(pipeline['steps'])} steps), median of {repeat}")
    print(f"  parse                   {parse:7.3f} ms")
    print(f"  plan cache hit          {cached:7.3f} ms")
    print(f"  speed-up                {parse / cached:7.2f}x")


if __name__ == "__main__":
    main()
