"""Coordinate frames, letterbox/pad round trips, filtering, class-aware NMS, text regions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from orchestrator.dsl.parser import PipelineParser
from orchestrator.dsl.plan_cache import PlanCache
from orchestrator.errors import RequestInvalid, StepFailed
from orchestrator.settings import Limits
from orchestrator.steps.context import StepContext
from orchestrator.steps.detection import (
    AttachClassesParams,
    FilterParams,
    NmsParams,
    attach_classes,
    filter_detections,
    suppress,
)
from orchestrator.steps.image import (
    GrayscaleParams,
    LetterboxParams,
    PadParams,
    grayscale,
    letterbox,
    pad,
)
from orchestrator.steps.library import build_registry
from orchestrator.steps.model import _softmax
from orchestrator.steps.segmentation import MaskParams, RegionsParams, mask, regions
from orchestrator.values import Classes, ClassScore, Detections, Frame, Image, Tensor, Value

CTX = StepContext(step="t", triton=None, limits=Limits())  # type: ignore[arg-type]
ROOT = Path(__file__).resolve().parents[2]


def f32(rows: Any) -> NDArray[np.float32]:
    return np.array(rows, dtype=np.float32)


def only(outputs: dict[str, Value]) -> Any:
    [value] = outputs.values()
    return value


def labelled(*labels: str) -> tuple[tuple[ClassScore, ...], ...]:
    """One top class per detection; equal labels share a class index."""
    names = sorted(set(labels))
    return tuple((ClassScore(names.index(label), label, 0.9),) for label in labels)


def test_frame_composes_resize_then_shift() -> None:
    """A 2x downscale followed by a 10 px crop offset maps pixel (5, 5) to source (30, 30)."""
    frame = Frame().resized(0.5, 0.5).shifted(10, 10)

    mapped = frame.points_to_source(f32([[5, 5]]))

    assert mapped.tolist() == [[30.0, 30.0]]
    assert frame.points_from_source(mapped).tolist() == [[5.0, 5.0]]


def test_letterbox_pads_and_maps_boxes_back_exactly() -> None:
    """A 4x2 picture letterboxed into 8x8 is scaled 2x, centred with 2 rows of fill above."""
    pixels = np.full((2, 4, 3), 200, dtype=np.uint8)

    boxed: Image = only(
        letterbox(LetterboxParams(width=8, height=8, fill=(1, 2, 3)), {"image": Image(pixels)}, CTX)
    )

    assert boxed.pixels.shape == (8, 8, 3)
    assert boxed.pixels[0, 0].tolist() == [1, 2, 3]
    assert (boxed.pixels[2:6] == 200).all()
    assert (boxed.pixels[6:] == [1, 2, 3]).all()
    assert boxed.frame.boxes_to_source(f32([[0, 2, 8, 6]])).tolist() == [[0.0, 0.0, 4.0, 2.0]]


def test_pad_shifts_the_frame_by_the_border() -> None:
    """A box drawn on the padded picture maps back to the unpadded one."""
    pixels = np.zeros((2, 2, 3), dtype=np.uint8)

    padded: Image = only(
        pad(PadParams(top=1, left=3, fill=(9, 9, 9)), {"image": Image(pixels)}, CTX)
    )

    assert padded.pixels.shape == (3, 5, 3)
    assert padded.pixels[0, 0].tolist() == [9, 9, 9]
    assert padded.frame.boxes_to_source(f32([[3, 1, 5, 3]])).tolist() == [[0.0, 0.0, 2.0, 2.0]]


def test_grayscale_uses_luma_weights_in_three_channels() -> None:
    """Pure red becomes luma 76 (0.299 * 255) in all three channels."""
    red = np.zeros((1, 1, 3), dtype=np.uint8)
    red[..., 0] = 255

    grey: Image = only(grayscale(GrayscaleParams(), {"image": Image(red)}, CTX))

    assert grey.pixels.tolist() == [[[76, 76, 76]]]


def test_filter_keeps_scores_and_listed_labels_best_first() -> None:
    """min_score and labels both apply; max_count keeps the best survivors."""
    detections = Detections(
        f32([[0, 0, 1, 1]] * 4),
        f32([0.9, 0.2, 0.8, 0.95]),
        None,
        labelled("cat", "cat", "dog", "cat"),
    )

    kept: Detections = only(
        filter_detections(
            FilterParams(min_score=0.5, labels=("cat",), max_count=1),
            {"detections": detections},
            CTX,
        )
    )

    assert kept.scores.tolist() == pytest.approx([0.95])
    assert kept.classes == labelled("cat", "cat", "dog", "cat")[3:]


def test_class_aware_nms_keeps_overlaps_of_different_classes() -> None:
    """Two identical boxes survive class-aware NMS when their classes differ, not otherwise."""
    detections = Detections(
        f32([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]]),
        f32([0.9, 0.8, 0.7]),
        None,
        labelled("a", "b", "a"),
    )

    aware: Detections = only(suppress(NmsParams(class_aware=True), {"detections": detections}, CTX))
    plain: Detections = only(suppress(NmsParams(), {"detections": detections}, CTX))

    assert aware.scores.tolist() == pytest.approx([0.9, 0.8])
    assert plain.scores.tolist() == pytest.approx([0.9])


def test_attach_classes_refuses_a_count_mismatch() -> None:
    """Classes of three crops cannot be linked to two detections."""
    detections = Detections(f32([[0, 0, 1, 1]] * 2), f32([0.5, 0.5]))
    classes = Classes(labelled("a", "b", "c"))

    with pytest.raises(StepFailed, match="3 classified crops for 2 detections"):
        attach_classes(AttachClassesParams(), {"detections": detections, "classes": classes}, CTX)


def test_regions_turns_blobs_into_scored_grown_boxes() -> None:
    """A 2x4 blob of 0.9 in an 8x8 map is one region, grown by area*ratio/perimeter per side."""
    heat = np.zeros((1, 1, 8, 8), dtype=np.float32)
    heat[0, 0, 2:4, 2:6] = 0.9
    heat[0, 0, 6, 0] = 0.4  # one pixel: below min_size
    image = Image(np.zeros((16, 16, 3), dtype=np.uint8), Frame().resized(0.5, 0.5))

    found: Detections = only(
        regions(
            RegionsParams(min_size=2, unclip_ratio=1.5),
            {"prob": Tensor(heat), "image": image},
            CTX,
        )
    )

    grow = 4 * 2 * 1.5 / (2 * (4 + 2))  # 1.0 map pixel
    expected = [(2 - grow) * 4, (2 - grow) * 4, (6 + grow) * 4, (4 + grow) * 4]
    assert found.boxes.tolist() == [pytest.approx(expected)]
    assert found.scores.tolist() == pytest.approx([0.9])


def test_plan_cache_reuses_equal_documents_and_never_caches_errors() -> None:
    """Key order does not matter; an invalid pipeline is parsed (and refused) every time."""
    pipeline = json.loads((ROOT / "examples" / "classification.json").read_text())
    reordered = json.loads(json.dumps(pipeline, sort_keys=True))
    cache = PlanCache(PipelineParser(build_registry(), Limits()), size=4)

    first = cache.parse(pipeline, {})
    second = cache.parse(reordered, {})
    with pytest.raises(RequestInvalid):
        cache.parse({"version": 1}, {})
    with pytest.raises(RequestInvalid):
        cache.parse({"version": 1}, {})

    assert second is first
    assert (cache.hits, cache.misses) == (1, 3)


def test_mask_is_warped_back_through_a_letterbox() -> None:
    """A map over a letterboxed 4x2 picture comes back as a 4x2 mask of the content rows only."""
    letterboxed = Frame(source_size=(4, 2)).resized(2.0, 2.0).shifted(0, -2)
    heat = np.zeros((1, 1, 8, 8), dtype=np.float32)
    heat[0, 0, 2:6, 0:4] = 1.0  # the left half of the content band
    image = Image(np.zeros((8, 8, 3), dtype=np.uint8), letterboxed)

    masked: Image = only(
        mask(MaskParams(threshold=0.5), {"prob": Tensor(heat), "image": image}, CTX)
    )

    assert masked.pixels.shape == (2, 4, 3)
    assert masked.pixels[..., 0].tolist() == [[255, 255, 0, 0], [255, 255, 0, 0]]


def test_regions_report_rotated_rectangles_when_asked() -> None:
    """The polygon is the minimum-area rectangle of the region's pixel centres, grown, mapped."""
    heat = np.zeros((1, 1, 8, 8), dtype=np.float32)
    heat[0, 0, 2:4, 2:6] = 0.9
    image = Image(np.zeros((16, 16, 3), dtype=np.uint8), Frame().resized(0.5, 0.5))

    found: Detections = only(
        regions(
            RegionsParams(min_size=2, unclip_ratio=1.5, polygons=True),
            {"prob": Tensor(heat), "image": image},
            CTX,
        )
    )

    assert found.polygons is not None
    corners = sorted(map(tuple, np.round(found.polygons[0], 3).tolist()))
    assert corners == [(4.0, 4.0), (4.0, 16.0), (24.0, 4.0), (24.0, 16.0)]


def test_softmax_turns_a_ranked_row_of_logits_into_probabilities() -> None:
    """Logits 2, 1, 0 become 0.665, 0.245, 0.090, labels and order kept."""
    row = (ClassScore(7, "a", 2.0), ClassScore(3, "b", 1.0), ClassScore(5, "c", 0.0))

    probabilities = _softmax(row)

    assert [c.label for c in probabilities] == ["a", "b", "c"]
    assert [c.score for c in probabilities] == pytest.approx([0.66524, 0.24473, 0.09003], abs=1e-5)
