"""The typed values that flow between steps, and the kinds the parser checks them by.

Arrays inside values are never mutated after construction: a step that needs to change one
copies it first (``as_numpy`` from Triton even returns read-only arrays).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray


class Kind(enum.Enum):
    """What a step port carries; the parser refuses a connection between different kinds."""

    BYTES = "bytes"
    IMAGE = "image"
    TENSOR = "tensor"
    PYRAMID = "pyramid"
    DETECTIONS = "detections"
    CLASSES = "classes"
    ENCODED = "encoded"


@dataclass(frozen=True, slots=True)
class SourceBytes:
    """The task's original object, as stored."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Frame:
    """How an image's pixel coordinates map to the original picture's.

    ``source = pixel * scale + offset`` per axis. Resizes, crops and letterboxes compose it, so
    boxes found on a derived image are reported in original pixels. ``source_size`` is the
    original picture's (width, height) when known (image.decode sets it).
    """

    scale_x: float = 1.0
    scale_y: float = 1.0
    offset_x: float = 0.0
    offset_y: float = 0.0
    source_size: tuple[int, int] | None = None

    def resized(self, factor_x: float, factor_y: float) -> Frame:
        """The frame after scaling the pixels by these factors."""
        return replace(self, scale_x=self.scale_x / factor_x, scale_y=self.scale_y / factor_y)

    def shifted(self, left: float, top: float) -> Frame:
        """The frame after moving the origin to pixel (left, top) (negative: padding)."""
        return replace(
            self,
            offset_x=self.offset_x + left * self.scale_x,
            offset_y=self.offset_y + top * self.scale_y,
        )

    def points_to_source(self, points: NDArray[np.float32]) -> NDArray[np.float32]:
        """(..., 2) x/y points in this frame -> original pixels."""
        scale = np.array([self.scale_x, self.scale_y], dtype=np.float32)
        offset = np.array([self.offset_x, self.offset_y], dtype=np.float32)
        mapped: NDArray[np.float32] = (points * scale + offset).astype(np.float32)
        return mapped

    def points_from_source(self, points: NDArray[np.float32]) -> NDArray[np.float32]:
        """(..., 2) x/y points in original pixels -> this frame."""
        scale = np.array([self.scale_x, self.scale_y], dtype=np.float32)
        offset = np.array([self.offset_x, self.offset_y], dtype=np.float32)
        mapped: NDArray[np.float32] = ((points - offset) / scale).astype(np.float32)
        return mapped

    def boxes_to_source(self, boxes: NDArray[np.float32]) -> NDArray[np.float32]:
        """(N, 4) x1, y1, x2, y2 boxes in this frame -> original pixels."""
        return self.points_to_source(boxes.reshape(-1, 2, 2)).reshape(-1, 4)

    def boxes_from_source(self, boxes: NDArray[np.float32]) -> NDArray[np.float32]:
        """(N, 4) boxes in original pixels -> this frame."""
        return self.points_from_source(boxes.reshape(-1, 2, 2)).reshape(-1, 4)


IDENTITY = Frame()


@dataclass(frozen=True, slots=True)
class Image:
    """An RGB picture, HWC uint8; ``frame`` maps its pixels to the original picture's."""

    pixels: NDArray[np.uint8]
    frame: Frame = IDENTITY

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True, slots=True)
class Tensor:
    """A batch of model inputs or outputs; axis 0 is the batch."""

    data: NDArray[Any]


@dataclass(frozen=True, slots=True)
class TensorFacts:
    """What the parser knows of a tensor before it exists; None marks a dim known only later."""

    datatype: str  # Triton's name: FP32, FP16, UINT8
    shape: tuple[int | None, ...]

    def __str__(self) -> str:
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.datatype} [{dims}]"


@dataclass(frozen=True, slots=True)
class PyramidLevel:
    """One scale of an image pyramid: ``data`` is the batch-of-one tensor at ``scale``."""

    scale: float
    data: NDArray[Any]


@dataclass(frozen=True, slots=True)
class Pyramid:
    """Tensors of one image at several scales; model steps run once per level.

    Level scales are relative to the image the pyramid was built from, whose frame is kept.
    """

    levels: tuple[PyramidLevel, ...]
    frame: Frame = IDENTITY


@dataclass(frozen=True, slots=True)
class ClassScore:
    """One ranked class of one batch item."""

    index: int
    label: str
    score: float


@dataclass(frozen=True, slots=True)
class Detections:
    """Boxes in original-image pixels (x1, y1, x2, y2), scores, optional five-point landmarks."""

    boxes: NDArray[np.float32]
    scores: NDArray[np.float32]
    landmarks: NDArray[np.float32] | None = None
    classes: tuple[tuple[ClassScore, ...], ...] | None = None
    polygons: NDArray[np.float32] | None = None  # (N, 4, 2) corners, e.g. rotated text lines

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def take(self, index: NDArray[np.intp]) -> Detections:
        """The detections at ``index``, in that order, with everything linked to them."""
        return Detections(
            self.boxes[index],
            self.scores[index],
            None if self.landmarks is None else self.landmarks[index],
            None if self.classes is None else tuple(self.classes[int(i)] for i in index),
            None if self.polygons is None else self.polygons[index],
        )

    def as_json(self) -> list[dict[str, Any]]:
        """One object per detection, rounded to what a pixel grid can mean."""
        items: list[dict[str, Any]] = []
        for i in range(len(self)):
            item: dict[str, Any] = {
                "box": [round(float(v), 2) for v in self.boxes[i]],
                "score": round(float(self.scores[i]), 5),
            }
            if self.landmarks is not None:
                item["landmarks"] = _points_json(self.landmarks[i])
            if self.classes is not None:
                item["classes"] = _classes_json(self.classes[i])
            if self.polygons is not None:
                item["polygon"] = _points_json(self.polygons[i])
            items.append(item)
        return items


@dataclass(frozen=True, slots=True)
class Classes:
    """Top classes per batch item (item i belongs to row i of the classified tensor)."""

    items: tuple[tuple[ClassScore, ...], ...]

    def as_json(self) -> list[list[dict[str, Any]]]:
        """A list per batch item of ``{index, label, score}``, best first."""
        return [_classes_json(item) for item in self.items]


def _points_json(points: NDArray[np.float32]) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y in points]


def _classes_json(item: tuple[ClassScore, ...]) -> list[dict[str, Any]]:
    return [{"index": c.index, "label": c.label, "score": round(c.score, 5)} for c in item]


@dataclass(frozen=True, slots=True)
class Encoded:
    """An encoded file ready to be written to storage."""

    data: bytes
    media_type: str
    extension: str


Value = SourceBytes | Image | Tensor | Pyramid | Detections | Classes | Encoded

KIND_OF: dict[type[Any], Kind] = {
    SourceBytes: Kind.BYTES,
    Image: Kind.IMAGE,
    Tensor: Kind.TENSOR,
    Pyramid: Kind.PYRAMID,
    Detections: Kind.DETECTIONS,
    Classes: Kind.CLASSES,
    Encoded: Kind.ENCODED,
}

# Kinds a pipeline may name in ``outputs``: JSON into the result, files into storage.
JSON_KINDS = frozenset({Kind.DETECTIONS, Kind.CLASSES})
FILE_KINDS = frozenset({Kind.ENCODED})
