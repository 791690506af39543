"""Box arithmetic shared by the detection, image and output steps."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

NmsMode = Literal["union", "min"]


def nms(
    boxes: NDArray[np.float32],
    scores: NDArray[np.float32],
    threshold: float,
    mode: NmsMode = "union",
) -> NDArray[np.intp]:
    """Indexes kept by greedy NMS, best score first.

    "union" is IoU on continuous boxes; "min" divides the overlap by the smaller box and
    counts pixels inclusively (+1), as MTCNN's last stage does.
    """
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.intp)
    pad = 1.0 if mode == "min" else 0.0
    x1, y1, x2, y2 = (boxes[:, i].astype(np.float64) for i in range(4))
    areas = (x2 - x1 + pad) * (y2 - y1 + pad)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        w = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + pad)
        h = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + pad)
        inter = w * h
        if mode == "min":
            denominator = np.minimum(areas[best], areas[rest])
        else:
            denominator = areas[best] + areas[rest] - inter
        # Degenerate (zero-area) boxes overlap nothing rather than dividing 0 by 0.
        overlap = np.divide(inter, denominator, out=np.zeros_like(inter), where=denominator > 0)
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.intp)


def regress(
    boxes: NDArray[np.float32], offsets: NDArray[np.float32], inclusive: bool
) -> NDArray[np.float32]:
    """Boxes moved by offsets given in units of the box size (+1 when pixels are inclusive)."""
    pad = 1.0 if inclusive else 0.0
    w = boxes[:, 2] - boxes[:, 0] + pad
    h = boxes[:, 3] - boxes[:, 1] + pad
    size = np.stack([w, h, w, h], axis=1)
    moved: NDArray[np.float32] = (boxes + offsets * size).astype(np.float32)
    return moved


def square(boxes: NDArray[np.float32]) -> NDArray[np.float32]:
    """Each box grown to a square on its longer side, keeping its centre."""
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    x1 = boxes[:, 0] + w * 0.5 - side * 0.5
    y1 = boxes[:, 1] + h * 0.5 - side * 0.5
    squared: NDArray[np.float32] = np.stack([x1, y1, x1 + side, y1 + side], axis=1)
    return squared.astype(np.float32)


def clip_windows(
    boxes: NDArray[np.float32], width: int, height: int
) -> list[tuple[int, int, int, int]]:
    """Non-empty integer pixel windows [x1, x2) x [y1, y2) of boxes, clipped to the image."""
    windows = []
    for x1, y1, x2, y2 in boxes.tolist():
        left, top = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
        right, bottom = min(width, int(np.ceil(x2))), min(height, int(np.ceil(y2)))
        if right > left and bottom > top:
            windows.append((left, top, right, bottom))
    return windows


def grow(boxes: NDArray[np.float32], margin: float) -> NDArray[np.float32]:
    """Boxes enlarged on every side by ``margin`` times their width and height."""
    if not margin:
        return boxes
    pad = (boxes[:, 2:] - boxes[:, :2]) * margin
    grown: NDArray[np.float32] = np.concatenate([boxes[:, :2] - pad, boxes[:, 2:] + pad], axis=1)
    return grown.astype(np.float32)
