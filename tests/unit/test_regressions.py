"""Bugs found by review and fuzzing, each pinned by the smallest input that showed it."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from orchestrator.errors import LimitExceeded, RequestInvalid
from orchestrator.steps.detection import ProposalsParams, proposals
from orchestrator.steps.geometry import nms
from orchestrator.steps.image import DecodeParams, decode
from orchestrator.steps.output import DrawDetectionsParams, draw_detections
from orchestrator.values import Detections, Image, SourceBytes
from tests.unit.test_detection_steps import CTX, detected, frozen, level, pyramids
from tests.unit.test_parser import parse, pipeline, pyramid_with, step


def test_deeply_nested_param_is_a_problem_not_a_crash() -> None:
    """Params nested 600 deep are refused as invalid instead of exhausting the stack."""
    nested: Any = 1
    for _ in range(600):
        nested = [nested]
    raw = pipeline(
        step("decoded", "image.decode"),
        step("encoded", "output.encode", params={"junk": nested}),
        outputs={"picture": "encoded"},
    )

    with pytest.raises(RequestInvalid, match="problem"):
        parse(raw)


def test_missing_setting_is_reported_once() -> None:
    """An unreadable setting gives one problem, not a second 'invalid value' at the field."""
    with pytest.raises(RequestInvalid) as caught:
        parse(pyramid_with({"$setting": "faces.min_size"}), {"faces": {}})

    assert [(p.step, p.field) for p in caught.value.problems] == [("pyramid", "params.min_size")]


def test_proposal_box_uses_exact_arithmetic() -> None:
    """floor((2*0+1)/0.6) and friends are computed in float64: 9/0.6 is 15, not 14."""
    inputs = pyramids(level(0.6, [[0, 0, 0, 0, 0.9]]))

    found = detected(proposals(ProposalsParams(), inputs, CTX))

    assert found.boxes.tolist() == [[14.5, 1, 33.5, 20]]


def test_too_many_pixels_for_pillow_is_still_limit_exceeded() -> None:
    """Pillow's own decompression-bomb guard maps to LimitExceeded (422), not 'undecodable'."""
    buffer = io.BytesIO()
    PILImage.new("1", (9500, 9500)).save(buffer, format="PNG")

    with pytest.raises(LimitExceeded):
        decode(DecodeParams(), {"data": SourceBytes(buffer.getvalue())}, CTX)


def test_nms_keeps_distant_zero_area_boxes() -> None:
    """Zero-area boxes do not divide 0 by 0 and suppress each other."""
    keep = nms(frozen([[0, 0, 0, 0], [50, 50, 50, 50]]), frozen([0.9, 0.8]), 0.5)

    assert keep.tolist() == [0, 1]


def test_draw_detections_survives_an_inverted_box() -> None:
    """A box with x2 < x1 is drawn normalised instead of crashing Pillow."""
    inputs = {
        "image": Image(frozen(np.zeros((8, 8, 3)), np.uint8)),
        "detections": Detections(frozen([[5, 5, 1, 1]]), frozen([0.9])),
    }

    drawn = draw_detections(DrawDetectionsParams(line_width=1, show_scores=False), inputs, CTX)

    pixels = drawn["image"].pixels  # type: ignore[union-attr]
    assert pixels[1, 1].tolist() == [0, 255, 0]


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    """A 16-bit grey of 32768 decodes to 128, not to white."""
    buffer = io.BytesIO()
    PILImage.fromarray(np.full((2, 2), 32768, np.uint16)).save(buffer, format="PNG")

    out = decode(DecodeParams(), {"data": SourceBytes(buffer.getvalue())}, CTX)["image"]

    assert out.pixels[0, 0].tolist() == [128, 128, 128]  # type: ignore[union-attr]
