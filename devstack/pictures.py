"""Sample pictures as the bytes an upload would carry (demo, tests, benchmarks)."""

from __future__ import annotations

import io
from typing import Any, Literal

import numpy as np
from PIL import Image


def encoded(
    pixels: np.ndarray[Any, Any], fmt: Literal["JPEG", "PNG"] = "JPEG", quality: int = 95
) -> bytes:
    """``pixels`` (grey or RGB) as a JPEG (RGB, at ``quality``) or a lossless PNG."""
    picture = Image.fromarray(pixels)
    buffer = io.BytesIO()
    if fmt == "JPEG":
        picture.convert("RGB").save(buffer, format="JPEG", quality=quality)
    else:
        picture.save(buffer, format="PNG")
    return buffer.getvalue()
