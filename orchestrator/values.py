"""The typed values that flow between steps, and the kinds the parser checks them by.

Arrays inside values are never mutated after construction: a step that needs to change one
copies it first (``as_numpy`` from Triton even returns read-only arrays).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
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
class Image:
    """An RGB picture, HWC uint8, in the coordinates of the decoded original."""

    pixels: NDArray[np.uint8]

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
class PyramidLevel:
    """One scale of an image pyramid: ``data`` is the batch-of-one tensor at ``scale``."""

    scale: float
    data: NDArray[Any]


@dataclass(frozen=True, slots=True)
class Pyramid:
    """Tensors of one image at several scales; model steps run once per level."""

    levels: tuple[PyramidLevel, ...]


@dataclass(frozen=True, slots=True)
class Detections:
    """Boxes in original-image pixels (x1, y1, x2, y2), scores, optional five-point landmarks."""

    boxes: NDArray[np.float32]
    scores: NDArray[np.float32]
    landmarks: NDArray[np.float32] | None = None

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def take(self, index: NDArray[np.intp]) -> Detections:
        """The detections at ``index``, in that order."""
        landmarks = None if self.landmarks is None else self.landmarks[index]
        return Detections(self.boxes[index], self.scores[index], landmarks)

    def as_json(self) -> list[dict[str, Any]]:
        """One object per detection, rounded to what a pixel grid can mean."""
        items: list[dict[str, Any]] = []
        for i in range(len(self)):
            item: dict[str, Any] = {
                "box": [round(float(v), 2) for v in self.boxes[i]],
                "score": round(float(self.scores[i]), 5),
            }
            if self.landmarks is not None:
                item["landmarks"] = [
                    [round(float(x), 2), round(float(y), 2)] for x, y in self.landmarks[i]
                ]
            items.append(item)
        return items


@dataclass(frozen=True, slots=True)
class ClassScore:
    """One ranked class of one batch item."""

    index: int
    label: str
    score: float


@dataclass(frozen=True, slots=True)
class Classes:
    """Top classes per batch item (item i belongs to row i of the classified tensor)."""

    items: tuple[tuple[ClassScore, ...], ...]

    def as_json(self) -> list[list[dict[str, Any]]]:
        """A list per batch item of ``{index, label, score}``, best first."""
        return [
            [{"index": c.index, "label": c.label, "score": round(c.score, 5)} for c in item]
            for item in self.items
        ]


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
