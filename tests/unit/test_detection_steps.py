"""Cascade detection maths on tiny hand-computed arrays: NMS, regression, squaring, MTCNN stages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from orchestrator.settings import Limits
from orchestrator.steps.context import StepContext
from orchestrator.steps.detection import ProposalsParams, RefineParams, proposals, refine
from orchestrator.steps.geometry import nms, regress, square
from orchestrator.values import Detections, Frame, Pyramid, PyramidLevel, Tensor, Value

CTX = StepContext(step="t", triton=None, limits=Limits())  # type: ignore[arg-type]


def frozen(rows: Any, dtype: type[np.generic] = np.float32) -> NDArray[Any]:
    """A read-only array, so any step that writes to its inputs fails loudly."""
    array = np.array(rows, dtype=dtype)
    array.setflags(write=False)
    return array


def level(
    scale: float,
    faces: list[list[float]],
    offsets: dict[tuple[int, int], list[float]] | None = None,
) -> tuple[PyramidLevel, PyramidLevel]:
    """(reg, prob) levels: ``faces[y][x]`` is the face score of cell (x, y), offsets by cell."""
    prob = np.array(faces, dtype=np.float32)
    reg = np.zeros((1, 4, *prob.shape), dtype=np.float32)
    for (x, y), cell_offsets in (offsets or {}).items():
        reg[0, :, y, x] = cell_offsets
    scores = np.stack([1 - prob, prob])[np.newaxis]
    return PyramidLevel(scale, frozen(reg)), PyramidLevel(scale, frozen(scores))


def pyramids(
    *levels: tuple[PyramidLevel, PyramidLevel], frame: Frame | None = None
) -> dict[str, Value]:
    """The ``reg`` and ``prob`` inputs of detection.proposals, over an image in ``frame``."""
    frame = frame or Frame()
    return {
        "reg": Pyramid(tuple(reg for reg, _ in levels), frame),
        "prob": Pyramid(tuple(prob for _, prob in levels), frame),
    }


def candidates(
    boxes: list[list[float]] | NDArray[Any],
    face_scores: list[float],
    offsets: list[list[float]] | None = None,
    points: list[list[float]] | None = None,
) -> dict[str, Value]:
    """detection.refine inputs: candidate boxes and a second stage's outputs for each."""
    scores = np.array(face_scores, dtype=np.float32)
    inputs: dict[str, Value] = {
        "detections": Detections(frozen(boxes), frozen(np.zeros(len(boxes)))),
        "reg": Tensor(frozen(offsets if offsets is not None else np.zeros((len(boxes), 4)))),
        "prob": Tensor(frozen(np.stack([1 - scores, scores], axis=1))),
    }
    if points is not None:
        inputs["landmarks"] = Tensor(frozen(points))
    return inputs


def detected(outputs: dict[str, Value]) -> Detections:
    found = outputs["detections"]
    assert isinstance(found, Detections)
    return found


# nms


def test_nms_of_nothing_is_an_empty_index() -> None:
    """No boxes keep no indexes, as an empty intp array."""
    boxes = frozen(np.zeros((0, 4)))
    scores = frozen(np.zeros(0))

    keep = nms(boxes, scores, 0.5)

    assert keep.dtype == np.intp
    assert keep.shape == (0,)


def test_nms_returns_the_best_score_first() -> None:
    """Disjoint boxes all survive, ordered by descending score."""
    boxes = frozen([[0, 0, 4, 4], [10, 10, 14, 14], [20, 20, 24, 24]])
    scores = frozen([0.1, 0.9, 0.5])

    keep = nms(boxes, scores, 0.5)

    assert keep.tolist() == [1, 2, 0]
    assert keep.dtype == np.intp


def test_nms_breaks_score_ties_by_input_order() -> None:
    """Of two identical boxes with equal scores, the one listed first is kept."""
    boxes = frozen([[0, 0, 4, 4], [0, 0, 4, 4]])
    scores = frozen([0.5, 0.5])

    keep = nms(boxes, scores, 0.5)

    assert keep.tolist() == [0]


@pytest.mark.parametrize(("threshold", "kept"), [(0.5, [0, 1]), (0.499, [0])])
def test_nms_union_keeps_an_overlap_equal_to_the_threshold(
    threshold: float, kept: list[int]
) -> None:
    """IoU 8/16 = 0.5 survives a 0.5 threshold and is suppressed just below it."""
    boxes = frozen([[0, 0, 4, 4], [0, 0, 4, 2]])
    scores = frozen([0.9, 0.8])

    keep = nms(boxes, scores, threshold, "union")

    assert keep.tolist() == kept


@pytest.mark.parametrize(("threshold", "kept"), [(0.5, [0, 1]), (0.499, [0])])
def test_nms_min_keeps_an_overlap_equal_to_the_threshold(threshold: float, kept: list[int]) -> None:
    """Inclusive pixels: 4x4 boxes sharing 2x4 pixels overlap 8/16 = 0.5 of the smaller."""
    boxes = frozen([[0, 0, 3, 3], [2, 0, 5, 3]])
    scores = frozen([0.9, 0.8])

    keep = nms(boxes, scores, threshold, "min")

    assert keep.tolist() == kept


@pytest.mark.parametrize(("mode", "kept"), [("union", [0, 1]), ("min", [0])])
def test_nms_min_suppresses_a_box_inside_a_better_one(mode: str, kept: list[int]) -> None:
    """A box inside another has IoU 25/100 but covers all of itself (36/36 inclusive)."""
    boxes = frozen([[0, 0, 10, 10], [0, 0, 5, 5]])
    scores = frozen([0.9, 0.8])

    keep = nms(boxes, scores, 0.5, mode)  # type: ignore[arg-type]

    assert keep.tolist() == kept


@pytest.mark.parametrize(("mode", "kept"), [("union", [0, 1]), ("min", [0])])
def test_nms_min_counts_a_shared_edge_as_overlap(mode: str, kept: list[int]) -> None:
    """Boxes touching at x=4 do not overlap as continuous boxes, but share a pixel column."""
    boxes = frozen([[0, 0, 4, 4], [4, 0, 8, 4]])
    scores = frozen([0.9, 0.8])

    keep = nms(boxes, scores, 0.0, mode)  # type: ignore[arg-type]

    assert keep.tolist() == kept


# regress and square


@pytest.mark.parametrize(
    ("inclusive", "expected"),
    [(False, [15.0, 0.0, 32.5, 100.0]), (True, [15.25, -0.5, 32.625, 101.0])],
)
def test_regress_moves_by_offsets_times_box_size(inclusive: bool, expected: list[float]) -> None:
    """A 20x40 box (21x41 inclusive) moves by offset * width for x and offset * height for y."""
    boxes = frozen([[10, 20, 30, 60]])
    offsets = frozen([[0.25, -0.5, 0.125, 1.0]])

    moved = regress(boxes, offsets, inclusive=inclusive)

    assert moved.dtype == np.float32
    assert moved.tolist() == [expected]


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ([0, 0, 4, 2], [0, -1, 4, 3]),
        ([10, 0, 12, 8], [7, 0, 15, 8]),
        ([1, 2, 5, 6], [1, 2, 5, 6]),
    ],
    ids=["wide", "tall", "square"],
)
def test_square_grows_the_short_side_around_the_centre(
    box: list[float], expected: list[float]
) -> None:
    """The short side grows to the long side and the centre stays where it was."""
    boxes = frozen([box])

    squared = square(boxes)

    assert squared.dtype == np.float32
    assert squared.tolist() == [expected]


def test_square_of_no_boxes_is_empty() -> None:
    """No boxes give a (0, 4) float32 array."""
    squared = square(frozen(np.zeros((0, 4))))

    assert squared.dtype == np.float32
    assert squared.shape == (0, 4)


# detection.proposals


@pytest.mark.parametrize(
    ("scale", "expected"),
    [(1.0, [5, 3, 16, 14]), (0.5, [10, 6, 32, 28]), (0.75, [6, 3.5, 21, 18.5])],
)
def test_proposal_box_maps_a_cell_back_to_the_original(scale: float, expected: list[float]) -> None:
    """Cell (2, 1) spans floor((2*cell+1)/scale) to floor((2*cell+12)/scale), then is squared."""
    inputs = pyramids(level(scale, [[0, 0, 0], [0, 0, 0.9]]))

    found = detected(proposals(ProposalsParams(), inputs, CTX))

    assert found.boxes.dtype == np.float32
    assert found.boxes.tolist() == [expected]
    assert found.scores.dtype == np.float32
    assert found.scores.tolist() == [np.float32(0.9)]
    assert found.landmarks is None


def test_proposal_is_moved_by_its_own_cells_offsets() -> None:
    """Cell (1, 0)'s box [3, 1, 11, 9] moves by reg[:, 0, 1] in units of its 8 px size."""
    inputs = pyramids(
        level(1.0, [[0.1, 0.9]], {(0, 0): [1, 1, 1, 1], (1, 0): [0.25, 0.5, 0.25, 0.5]})
    )

    found = detected(proposals(ProposalsParams(cell_size=9), inputs, CTX))

    assert found.boxes.tolist() == [[5, 5, 13, 13]]


def test_proposal_is_squared_after_regression() -> None:
    """Regression widens [1, 1, 9, 9] to 12x8; squaring then makes it 12x12 around its centre."""
    inputs = pyramids(level(1.0, [[0.9]], {(0, 0): [0, 0, 0.5, 0]}))

    found = detected(proposals(ProposalsParams(cell_size=9), inputs, CTX))

    assert found.boxes.tolist() == [[1, -1, 13, 11]]


@pytest.mark.parametrize(("score", "count"), [(0.5, 1), (0.25, 0)])
def test_proposal_threshold_is_inclusive(score: float, count: int) -> None:
    """A cell scoring exactly the threshold is a candidate; one below it is not."""
    inputs = pyramids(level(1.0, [[score]]))

    found = detected(proposals(ProposalsParams(threshold=0.5), inputs, CTX))

    assert len(found) == count


def test_proposals_of_an_empty_scorer_are_empty() -> None:
    """No cell above threshold gives (0, 4) boxes and (0,) scores, both float32."""
    inputs = pyramids(level(1.0, [[0.1, 0.2], [0.3, 0.4]]))

    found = detected(proposals(ProposalsParams(), inputs, CTX))

    assert found.boxes.shape == (0, 4)
    assert found.boxes.dtype == np.float32
    assert found.scores.shape == (0,)
    assert found.scores.dtype == np.float32


def test_overlapping_cells_of_one_scale_collapse_to_the_best() -> None:
    """Neighbouring cells (IoU 99/143 > 0.5) leave only the higher-scoring box."""
    inputs = pyramids(level(1.0, [[0.8, 0.9]]))

    found = detected(proposals(ProposalsParams(), inputs, CTX))

    assert found.boxes.tolist() == [[3, 1, 14, 12]]
    assert found.scores.tolist() == [np.float32(0.9)]


def test_proposals_from_every_scale_are_merged_best_first() -> None:
    """Each level's boxes are divided by that level's scale; both survive the final NMS."""
    inputs = pyramids(level(1.0, [[0.8]]), level(0.5, [[0.9]]))

    found = detected(proposals(ProposalsParams(), inputs, CTX))

    assert found.boxes.tolist() == [[2, 2, 24, 24], [1, 1, 12, 12]]
    assert found.scores.tolist() == [np.float32(0.9), np.float32(0.8)]


def test_proposals_keep_at_most_max_candidates_best_first() -> None:
    """Of three disjoint cells scoring 0.7, 0.9, 0.8, max_candidates=2 keeps 0.9 and 0.8."""
    inputs = pyramids(level(1.0, [[0.7, 0.9, 0.8]]))
    params = ProposalsParams(stride=12, cell_size=12, max_candidates=2)

    found = detected(proposals(params, inputs, CTX))

    assert found.boxes.tolist() == [[13, 1, 24, 12], [25, 1, 36, 12]]
    assert found.scores.tolist() == [np.float32(0.9), np.float32(0.8)]


def test_proposals_are_reported_in_original_pixels() -> None:
    """A pyramid of an image at half size, cropped at (4, 8), maps box [5, 3, 16, 14] back."""
    frame = Frame(scale_x=2.0, scale_y=2.0, offset_x=4.0, offset_y=8.0)
    inputs = pyramids(level(1.0, [[0, 0, 0], [0, 0, 0.9]]), frame=frame)

    found = detected(proposals(ProposalsParams(), inputs, CTX))

    assert found.boxes.dtype == np.float32
    assert found.boxes.tolist() == [[14, 14, 36, 36]]


# detection.refine


def test_refine_keeps_candidates_above_threshold_best_first() -> None:
    """Scores 0.8, 0.1, 0.9 against 0.7 keep the third then the first candidate."""
    inputs = candidates([[0, 0, 9, 9], [20, 20, 29, 29], [40, 40, 49, 49]], [0.8, 0.1, 0.9])

    found = detected(refine(RefineParams(threshold=0.7, square=False), inputs, CTX))

    assert found.boxes.dtype == np.float32
    assert found.boxes.tolist() == [[40, 40, 49, 49], [0, 0, 9, 9]]
    assert found.scores.dtype == np.float32
    assert found.scores.tolist() == [np.float32(0.9), np.float32(0.8)]
    assert found.landmarks is None


def test_refine_drops_a_score_equal_to_the_threshold() -> None:
    """The second stage's threshold is strict, as in the reference MTCNN."""
    inputs = candidates([[0, 0, 9, 9]], [0.5])

    found = detected(refine(RefineParams(threshold=0.5), inputs, CTX))

    assert len(found) == 0


def test_refine_regresses_with_inclusive_box_size() -> None:
    """A 10x20 px (inclusive) box moves by offset * 10 in x and offset * 20 in y."""
    inputs = candidates([[0, 0, 9, 19]], [0.9], offsets=[[0.5, 0.25, -0.5, 0.5]])

    found = detected(refine(RefineParams(square=False), inputs, CTX))

    assert found.boxes.tolist() == [[5, 5, 4, 29]]


@pytest.mark.parametrize(
    ("nms_on", "expected"),
    [
        ("input_boxes", [[0, 0, 9, 9]]),
        ("regressed_boxes", [[0, 0, 9, 9], [20, 0, 29, 9]]),
    ],
)
def test_refine_runs_nms_on_the_chosen_boxes(nms_on: str, expected: list[list[float]]) -> None:
    """Two identical candidates regressed apart are merged on input boxes, kept on moved ones."""
    inputs = candidates([[0, 0, 9, 9], [0, 0, 9, 9]], [0.9, 0.8], offsets=[[0] * 4, [2, 0, 2, 0]])
    params = RefineParams(nms_on=nms_on, square=False)

    found = detected(refine(params, inputs, CTX))

    assert found.boxes.tolist() == expected


@pytest.mark.parametrize(
    ("square_boxes", "expected"), [(True, [-5, 0, 14, 19]), (False, [0, 0, 9, 19])]
)
def test_refine_squares_only_when_asked(square_boxes: bool, expected: list[float]) -> None:
    """With square=True the 9x19 box becomes 19x19 around its centre; otherwise it stays."""
    inputs = candidates([[0, 0, 9, 19]], [0.9])

    found = detected(refine(RefineParams(square=square_boxes), inputs, CTX))

    assert found.boxes.tolist() == [expected]


def test_refine_places_landmarks_in_the_input_box() -> None:
    """x = (x2-x1+1)*p + x1 - 1 and y likewise, on the box before regression."""
    points = [[0, 0.5, 1, 0.25, 0.75, 0, 0.5, 1, 0.25, 0.75]]
    inputs = candidates([[10, 20, 19, 39]], [0.9], offsets=[[0.5, 0.5, 0.5, 0.5]], points=points)

    found = detected(refine(RefineParams(square=False), inputs, CTX))

    assert found.landmarks is not None
    assert found.landmarks.dtype == np.float32
    assert found.landmarks.tolist() == [[[9, 19], [14, 29], [19, 39], [11.5, 24], [16.5, 34]]]


def test_refine_landmarks_follow_their_detections() -> None:
    """After filtering and reordering, row i of the landmarks belongs to box i."""
    points = [[0.0] * 10, [0.5] * 10, [1.0] * 10]
    inputs = candidates(
        [[1, 1, 10, 10], [21, 21, 30, 30], [41, 41, 50, 50]], [0.8, 0.1, 0.9], points=points
    )

    found = detected(refine(RefineParams(square=False), inputs, CTX))

    assert found.landmarks is not None
    assert found.landmarks.shape == (2, 5, 2)
    assert found.landmarks[:, 0].tolist() == [[50, 50], [0, 0]]


def test_refine_of_no_candidates_is_empty() -> None:
    """Zero candidates give zero detections with the usual shapes and dtypes."""
    inputs = candidates(np.zeros((0, 4)), [])

    found = detected(refine(RefineParams(), inputs, CTX))

    assert found.boxes.shape == (0, 4)
    assert found.boxes.dtype == np.float32
    assert found.scores.shape == (0,)
