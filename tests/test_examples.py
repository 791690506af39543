"""Every published example pipeline runs end to end on the real Triton, with real values."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
from google.cloud import storage
from PIL import Image
from skimage import data as samples

from devstack import LocalTriton
from devstack.pictures import encoded
from tests.conftest import TENANT, example, task

Pixels = np.ndarray[Any, Any]


def stored_picture(bucket: storage.Bucket, uri: str) -> Pixels:
    key = uri.split("/", 3)[3]
    return np.asarray(Image.open(io.BytesIO(bucket.blob(key).download_as_bytes())).convert("RGB"))


def sharpness(pixels: Pixels) -> float:
    """Mean absolute difference between horizontal neighbours: high for detail, low for blur."""
    grey = pixels.astype(np.float32).mean(axis=2)
    return float(np.abs(np.diff(grey, axis=1)).mean())


@pytest.fixture(scope="module")
def page_url(upload: Callable[[str, bytes], str]) -> str:
    return upload("page.png", encoded(samples.page(), "PNG"))


@pytest.fixture(scope="module")
def blank_url(upload: Callable[[str, bytes], str]) -> str:
    return upload("blank.jpg", encoded(np.full((240, 320, 3), 128, dtype=np.uint8)))


def test_face_redaction_blurs_the_face_and_nothing_else(
    worker: httpx.Client, astronaut_url: str, bucket: storage.Bucket
) -> None:
    """The redacted picture loses detail inside the face box and keeps it elsewhere."""
    body = task(astronaut_url, example("face_redaction"))

    result = worker.post("/tasks", json=body).json()

    [face] = result["outputs"]["faces"]
    redacted = stored_picture(bucket, result["outputs"]["redacted"]["uri"])
    original = samples.astronaut()
    x1, y1, x2, y2 = (round(v) for v in face["box"])
    inside = (slice(y1 + 5, y2 - 5), slice(x1 + 5, x2 - 5))
    assert sharpness(redacted[inside]) < 0.25 * sharpness(original[inside])
    outside = (slice(300, 500), slice(0, 150))
    assert np.abs(redacted[outside].astype(int) - original[outside]).mean() < 4


def test_redaction_switched_off_by_setting_writes_no_picture(
    worker: httpx.Client, astronaut_url: str, bucket: storage.Bucket
) -> None:
    """redaction.enabled=false skips the redaction steps: output null, no object written."""
    body = task(
        astronaut_url, example("face_redaction"), settings={"redaction": {"enabled": False}}
    )

    result = worker.post("/tasks", json=body).json()

    assert result["outputs"]["redacted"] is None
    assert result["skipped_steps"] == ["redacted_image", "redacted"]
    assert len(result["outputs"]["faces"]) == 1
    prefix = f"{TENANT}/processed/{body['session_id']}/{body['image_id']}/"
    assert [b.name.rsplit("/", 1)[1] for b in bucket.list_blobs(prefix=prefix)] == ["result.json"]


def test_detect_then_classify_links_classes_to_each_face(
    worker: httpx.Client, astronaut_url: str
) -> None:
    """Each face carries the top-3 MobileNetV2 classes of its own crop, in one batched call."""
    body = task(astronaut_url, example("detect_then_classify"))

    result = worker.post("/tasks", json=body).json()

    [face] = result["outputs"]["faces"]
    assert face["box"] == pytest.approx([181.0, 62.0, 268.0, 172.0], abs=3.0)
    classes = face["classes"]
    assert [c["label"] for c in classes][:1] == ["suit"]
    assert len(classes) == 3
    assert 0 < classes[2]["score"] <= classes[1]["score"] <= classes[0]["score"] <= 1
    assert result["models"]["crop_classes"] == {"model": "mobilenet_v2", "version": "1"}


def model_counts(triton: LocalTriton, model: str) -> tuple[int, int]:
    """(inference_count, execution_count) from Triton's own statistics."""
    stats = httpx.get(f"{triton.http_url}/v2/models/{model}/stats").json()
    entry = stats["model_stats"][0]
    return int(entry["inference_count"]), int(entry["execution_count"])


def test_every_crop_of_a_task_goes_to_triton_in_one_batched_request(
    worker: httpx.Client, astronaut_url: str, local_triton: LocalTriton
) -> None:
    """R-Net sees all of a task's candidate crops as one request: one execution, N inferences."""
    before = model_counts(local_triton, "mtcnn_rnet")

    worker.post("/tasks", json=task(astronaut_url, example("face_detection")))

    inferences, executions = (
        a - b for a, b in zip(model_counts(local_triton, "mtcnn_rnet"), before, strict=True)
    )
    assert executions == 1
    assert inferences > 1


def test_detect_then_classify_skips_the_classifier_without_faces(
    worker: httpx.Client, blank_url: str
) -> None:
    """On a blank picture the 'nonempty' condition skips the classifier and what reads it."""
    body = task(blank_url, example("detect_then_classify"))

    result = worker.post("/tasks", json=body).json()

    assert result["skipped_steps"] == ["crop_classes", "labelled", "drawn", "annotated"]
    assert result["outputs"] == {"annotated": None, "faces": None}
    assert "crop_classes" not in result["models"]


def test_text_detection_finds_the_lines_of_the_page(
    worker: httpx.Client, page_url: str, bucket: storage.Bucket
) -> None:
    """PP-OCR's probability map becomes one box per text line, in original page pixels."""
    body = task(page_url, example("text_detection"))

    result = worker.post("/tasks", json=body).json()

    boxes = result["outputs"]["text_boxes"]
    assert len(boxes) >= 6
    title = min(boxes, key=lambda b: b["box"][1])
    assert title["box"] == pytest.approx([5.0, 12.0, 294.0, 35.0], abs=4.0)
    assert all(b["score"] > 0.9 for b in boxes)
    assert all(0 <= b["box"][0] < b["box"][2] <= 384 for b in boxes)
    assert all(0 <= b["box"][1] < b["box"][3] <= 191 for b in boxes)
    annotated = stored_picture(bucket, result["outputs"]["annotated"]["uri"])
    assert annotated.shape == (191, 384, 3)


def test_text_mask_covers_the_text_at_page_size(
    worker: httpx.Client, page_url: str, bucket: storage.Bucket
) -> None:
    """The thresholded map comes back at the page's own size: one white band per text line."""
    body = task(page_url, example("text_detection"))

    result = worker.post("/tasks", json=body).json()

    mask = stored_picture(bucket, result["outputs"]["text_mask"]["uri"])[..., 0]
    assert mask.shape == (191, 384)
    assert set(np.unique(mask).tolist()) == {0, 255}
    column = (mask[:, 100] == 255).astype(int)
    assert np.count_nonzero(np.diff(column) == 1) == 7  # the seven text lines, top to bottom
    assert (mask[21:25, 20:270] == 255).mean() > 0.9  # the title's band
    assert (mask[150:158, 300:380] == 255).mean() == 0  # blank paper


def test_text_lines_come_with_rotated_rectangles(worker: httpx.Client, page_url: str) -> None:
    """With polygons on, every line also has a four-corner rectangle inside the page."""
    pipeline = example("text_detection")
    next(s for s in pipeline["steps"] if s["id"] == "text")["params"]["polygons"] = True

    result = worker.post("/tasks", json=task(page_url, pipeline)).json()

    lines = result["outputs"]["text_boxes"]
    assert len(lines) >= 6
    corners = np.array([line["polygon"] for line in lines])
    assert corners.shape == (len(lines), 4, 2)
    assert -10 < corners[..., 0].min() < corners[..., 0].max() < 394
    assert -10 < corners[..., 1].min() < corners[..., 1].max() < 201


def test_softmax_classification_ranks_like_the_plain_one(
    worker: httpx.Client, chelsea_url: str
) -> None:
    """softmax=true re-normalises all 1000 scores; the ranking and labels stay the same."""
    pipeline = example("classification")
    plain = worker.post("/tasks", json=task(chelsea_url, pipeline)).json()
    next(s for s in pipeline["steps"] if s["id"] == "top5")["params"]["softmax"] = True

    result = worker.post("/tasks", json=task(chelsea_url, pipeline)).json()

    [top5] = result["outputs"]["top5"]
    [plain_top5] = plain["outputs"]["top5"]
    assert [c["label"] for c in top5] == [c["label"] for c in plain_top5]
    top = np.array([c["score"] for c in plain_top5])
    # The other 995 classes share 1 - sum(top) of probability: each exp(p) is 1 + p, nearly.
    normaliser = np.exp(top).sum() + 995 + (1 - top.sum())
    assert top5[0]["score"] == pytest.approx(np.exp(top[0]) / normaliser, abs=6e-6)  # 5 decimals


def test_classification_example_reports_top5(worker: httpx.Client, chelsea_url: str) -> None:
    """The classification example returns five ranked ImageNet classes, best first."""
    body = task(chelsea_url, example("classification"))

    result = worker.post("/tasks", json=body).json()

    [top5] = result["outputs"]["top5"]
    assert [c["label"] for c in top5][:3] == ["Egyptian cat", "tiger cat", "tabby"]
