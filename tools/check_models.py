"""Check the model repository's ONNX files on scikit-image's sample pictures.

Runs with the service environment (onnxruntime, numpy, scikit-image, OpenCV), no torch:

    .venv/bin/python tools/check_models.py [--repository model_repository]

- ``mobilenet_v2``: chelsea -> "Egyptian cat" (index 285, p~0.716), coffee -> "espresso" (~0.993).
- MTCNN: facenet-pytorch 2.6.0's ``detect_face`` cascade, ported to numpy + onnxruntime, on
  astronaut -> one face ~[181.1, 62.2, 267.7, 172.1], p~1.0, five landmarks. The pyramid and
  crops use torch's ``interpolate(mode="area")`` semantics (adaptive average pooling), which
  reproduces facenet-pytorch's result; ``cv2.INTER_AREA`` (fractional pixel weights, bilinear
  when enlarging) shifts the box by up to ~2 px, printed for comparison.
- ``ppocr_det``: page -> a text probability map (max near 1, many pixels above 0.3).

Exits 1 if any expectation fails.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from PIL import Image
from skimage import data

REPO_ROOT = Path(__file__).resolve().parent.parent
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
ASTRONAUT_FACE = (181.1, 62.2, 267.7, 172.1)

F32 = npt.NDArray[np.float32]
Resize = Callable[[F32, tuple[int, int]], F32]


@dataclass(frozen=True, slots=True)
class Faces:
    """MTCNN detections: boxes ``[x1, y1, x2, y2]``, probabilities, landmarks ``(n, 5, 2)``."""

    boxes: F32
    probs: F32
    landmarks: F32


def sample(name: str) -> npt.NDArray[np.uint8]:
    """One of scikit-image's bundled sample pictures, e.g. ``"chelsea"``."""
    return np.asarray(getattr(data, name)(), dtype=np.uint8)


def open_session(repository: Path, model: str) -> ort.InferenceSession:
    """Open ``<repository>/<model>/1/model.onnx`` on the CPU."""
    path = repository / model / "1" / "model.onnx"
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def classify(session: ort.InferenceSession, rgb: npt.NDArray[np.uint8]) -> F32:
    """Class probabilities for one RGB picture, with torchvision's ImageNet pre-processing."""
    image = Image.fromarray(rgb)
    scale = 256 / min(image.size)
    width, height = image.size
    # torchvision's Resize(256) truncates the long side, as int() does here.
    size = (256, int(height * scale)) if width <= height else (int(width * scale), 256)
    image = image.resize(size, Image.Resampling.BILINEAR)
    left = round((image.width - 224) / 2)
    top = round((image.height - 224) / 2)
    image = image.crop((left, top, left + 224, top + 224))
    x = (np.asarray(image, dtype=np.float32) / 255 - IMAGENET_MEAN) / IMAGENET_STD
    (probs,) = session.run(["probs"], {"input": x.transpose(2, 0, 1)[None]})
    return np.asarray(probs[0], dtype=np.float32)


def _pool_matrix(n_in: int, n_out: int) -> npt.NDArray[np.float64]:
    """Row ``i`` averages inputs ``[floor(i*n_in/n_out), ceil((i+1)*n_in/n_out))``."""
    i = np.arange(n_out)
    start, end = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
    j = np.arange(n_in)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return np.asarray(inside / (end - start)[:, None], dtype=np.float64)


def area_resize(image: F32, size: tuple[int, int]) -> F32:
    """Resize ``(C, H, W)`` like torch's ``interpolate(mode="area")`` (adaptive average pool).

    Adaptive average pooling is separable, so it is two small matrix products.
    """
    _, height, width = image.shape
    rows, cols = _pool_matrix(height, size[0]), _pool_matrix(width, size[1])
    return np.asarray(rows @ np.ascontiguousarray(image, np.float64) @ cols.T, dtype=np.float32)


def cv2_area_resize(image: F32, size: tuple[int, int]) -> F32:
    """Resize ``(C, H, W)`` with OpenCV's ``INTER_AREA``."""
    out_h, out_w = size
    hwc = np.ascontiguousarray(image.transpose(1, 2, 0))
    resized = cv2.resize(hwc, (out_w, out_h), interpolation=cv2.INTER_AREA)
    return np.asarray(resized, dtype=np.float32).transpose(2, 0, 1)


def nms(boxes: F32, scores: F32, threshold: float) -> npt.NDArray[np.intp]:
    """Keep boxes as torchvision's ``nms`` does: IoU without +1, drop IoU above ``threshold``."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        width = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        height = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = width * height
        order = rest[inter / (areas[i] + areas[rest] - inter) <= threshold]
    return np.array(keep, dtype=np.intp)


def nms_min(boxes: F32, scores: F32, threshold: float) -> npt.NDArray[np.intp]:
    """facenet-pytorch's ``nms_numpy(..., 'Min')``: overlap over the smaller box, +1 areas."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(scores)
    keep: list[int] = []
    while order.size:
        i, rest = order[-1], order[:-1]
        keep.append(int(i))
        width = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        height = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        order = rest[width * height / np.minimum(areas[i], areas[rest]) <= threshold]
    return np.array(keep, dtype=np.intp)


def rerec(boxes: F32) -> F32:
    """Square the boxes around their centres (side = the longer side)."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def bbreg(boxes: F32, reg: F32) -> F32:
    """Apply R/O-Net box offsets (relative to the +1 box size)."""
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out[:, :4] = boxes[:, :4] + reg * np.stack([w, h, w, h], axis=1)
    return out


def crops(image: F32, boxes: F32, size: int, resize: Resize) -> F32:
    """Cut the (clipped, 1-based inclusive) boxes out of ``(C, H, W)`` and resize them."""
    _, height, width = image.shape
    ints = np.trunc(boxes[:, :4]).astype(np.int64)
    x = np.maximum(ints[:, 0], 1)
    y = np.maximum(ints[:, 1], 1)
    ex = np.minimum(ints[:, 2], width)
    ey = np.minimum(ints[:, 3], height)
    batch = [
        resize(image[:, y[k] - 1 : ey[k], x[k] - 1 : ex[k]], (size, size))
        for k in range(len(boxes))
    ]
    return (np.stack(batch) - 127.5) * 0.0078125


def detect_faces(
    sessions: tuple[ort.InferenceSession, ort.InferenceSession, ort.InferenceSession],
    rgb: npt.NDArray[np.uint8],
    resize: Resize,
    *,
    min_face: int = 20,
    factor: float = 0.709,
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
) -> Faces:
    """facenet-pytorch 2.6.0 ``detect_face`` for one RGB picture (P-, R-, O-Net cascade)."""
    pnet, rnet, onet = sessions
    image = rgb.astype(np.float32).transpose(2, 0, 1)
    _, height, width = image.shape
    scale = 12.0 / min_face
    min_side = min(height, width) * scale
    scales = []
    while min_side >= 12:
        scales.append(scale)
        scale *= factor
        min_side *= factor

    candidates = []
    for scale in scales:
        pyramid = resize(image, (int(height * scale + 1), int(width * scale + 1)))
        reg, prob = pnet.run(["reg", "prob"], {"input": ((pyramid - 127.5) * 0.0078125)[None]})
        ys, xs = np.nonzero(prob[0, 1] >= thresholds[0])
        cells = np.stack([xs, ys], axis=1).astype(np.float32)
        s = np.float32(scale)
        found = np.concatenate(
            [
                np.floor((2 * cells + 1) / s),
                np.floor((2 * cells + 12) / s),
                prob[0, 1, ys, xs][:, None],
                reg[0][:, ys, xs].T,
            ],
            axis=1,
        )
        candidates.append(found[nms(found[:, :4], found[:, 4], 0.5)])
    boxes = np.concatenate(candidates).astype(np.float32)
    boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
    w = (boxes[:, 2] - boxes[:, 0])[:, None]
    h = (boxes[:, 3] - boxes[:, 1])[:, None]
    boxes = rerec(
        np.concatenate(
            [boxes[:, :4] + boxes[:, 5:9] * np.hstack([w, h, w, h]), boxes[:, 4:5]], axis=1
        )
    )

    if len(boxes):
        reg, prob = rnet.run(["reg", "prob"], {"input": crops(image, boxes, 24, resize)})
        passed = prob[:, 1] > thresholds[1]
        boxes = np.concatenate([boxes[passed, :4], prob[passed, 1:2]], axis=1)
        reg = reg[passed]
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
        boxes = rerec(bbreg(boxes[pick], reg[pick]))

    landmarks = np.zeros((0, 5, 2), dtype=np.float32)
    if len(boxes):
        reg, points, prob = onet.run(
            ["reg", "landmarks", "prob"], {"input": crops(image, boxes, 48, resize)}
        )
        passed = prob[:, 1] > thresholds[2]
        boxes = np.concatenate([boxes[passed, :4], prob[passed, 1:2]], axis=1)
        reg, points = reg[passed], points[passed]
        w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
        h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
        landmarks = np.stack(
            [w * points[:, :5] + boxes[:, 0:1] - 1, h * points[:, 5:] + boxes[:, 1:2] - 1],
            axis=2,
        )
        boxes = bbreg(boxes, reg)
        pick = nms_min(boxes[:, :4], boxes[:, 4], 0.7)
        boxes, landmarks = boxes[pick], landmarks[pick]

    return Faces(
        boxes[:, :4].astype(np.float32),
        boxes[:, 4].astype(np.float32),
        landmarks.astype(np.float32),
    )


def text_map(session: ort.InferenceSession, gray: npt.NDArray[np.uint8]) -> F32:
    """PP-OCRv4 text probability map for a grayscale page (BGR, sides rounded to 32)."""
    bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    height, width = (max(32, round(side / 32) * 32) for side in gray.shape)
    resized = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_LINEAR)
    x = (resized.astype(np.float32) / 255 - 0.5) / 0.5
    (probs,) = session.run(["sigmoid_0.tmp_0"], {"x": x.transpose(2, 0, 1)[None]})
    return np.asarray(probs[0, 0], dtype=np.float32)


def _fmt(values: F32, decimals: int = 2) -> str:
    return str(np.round(values.astype(np.float64), decimals).tolist())


def main(argv: list[str] | None = None) -> int:
    """Run every check, print what was found, return 1 if an expectation failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repository", type=Path, default=REPO_ROOT / "model_repository")
    repository = parser.parse_args(argv).repository
    failures: list[str] = []

    def expect(message: str, *, ok: bool) -> None:
        sys.stdout.write(f"{'ok  ' if ok else 'FAIL'} {message}\n")
        if not ok:
            failures.append(message)

    labels = (repository / "mobilenet_v2" / "labels.txt").read_text().splitlines()
    mobilenet = open_session(repository, "mobilenet_v2")
    for picture, want_index, want_p in (("chelsea", 285, 0.716), ("coffee", 967, 0.993)):
        probs = classify(mobilenet, sample(picture))
        top = int(probs.argmax())
        expect(
            f"mobilenet_v2 {picture}: top-1 {top} {labels[top]!r} p={probs[top]:.4f}",
            ok=top == want_index and abs(float(probs[top]) - want_p) < 0.01,
        )

    sessions = (
        open_session(repository, "mtcnn_pnet"),
        open_session(repository, "mtcnn_rnet"),
        open_session(repository, "mtcnn_onet"),
    )
    astronaut = sample("astronaut")
    faces = detect_faces(sessions, astronaut, area_resize)
    expect(
        f"mtcnn astronaut: {len(faces.boxes)} face(s), boxes {_fmt(faces.boxes)}, "
        f"p {_fmt(faces.probs, 6)}, landmarks (x, y) {_fmt(faces.landmarks)}",
        ok=len(faces.boxes) == 1
        and float(np.abs(faces.boxes[0] - ASTRONAUT_FACE).max()) < 0.1
        and float(faces.probs[0]) > 0.99,
    )
    approx = detect_faces(sessions, astronaut, cv2_area_resize)
    sys.stdout.write(
        f"info mtcnn astronaut with cv2.INTER_AREA instead: boxes {_fmt(approx.boxes)}, "
        f"landmarks (x, y) {_fmt(approx.landmarks)}\n"
    )

    probs = text_map(open_session(repository, "ppocr_det"), sample("page"))
    above = int((probs > 0.3).sum())
    expect(
        f"ppocr_det page: map {probs.shape}, max {probs.max():.4f}, "
        f"{above} pixels > 0.3 ({above / probs.size:.1%})",
        ok=float(probs.max()) > 0.9 and above > 0.05 * probs.size,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
