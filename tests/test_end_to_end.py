"""A Cloud Tasks push goes through GCS, the real Triton, GCS again and the callback."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
from google.cloud import storage
from PIL import Image

from devstack.callback_receiver import CallbackReceiver
from tests.conftest import BUCKET, TENANT, example, task

ASTRONAUT_FACE = (181.0, 62.0, 268.0, 172.0)


def processed_objects(bucket: storage.Bucket, body: dict[str, Any]) -> dict[str, bytes]:
    """Every object under the task's processed prefix, by name."""
    prefix = f"{TENANT}/processed/{body['session_id']}/{body['image_id']}/"
    return {b.name: b.download_as_bytes() for b in bucket.list_blobs(prefix=prefix)}


def test_astronaut_face_is_found_with_five_landmarks(
    worker: httpx.Client, astronaut_url: str, callbacks: CallbackReceiver
) -> None:
    """MTCNN through Triton finds the astronaut's one face where the reference puts it."""
    body = task(astronaut_url, example("face_detection"))

    response = worker.post("/tasks", json=body)

    assert response.status_code == 200, response.text
    faces = response.json()["outputs"]["faces"]
    assert len(faces) == 1
    assert faces[0]["box"] == pytest.approx(ASTRONAUT_FACE, abs=3.0)
    assert faces[0]["score"] > 0.99
    landmarks = np.array(faces[0]["landmarks"])
    assert landmarks.shape == (5, 2)
    left_eye, right_eye, nose, mouth_left, mouth_right = landmarks
    assert left_eye[0] < nose[0] < right_eye[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


def test_face_task_writes_annotated_picture_and_result_under_tenant_prefix(
    worker: httpx.Client,
    astronaut_url: str,
    bucket: storage.Bucket,
    callbacks: CallbackReceiver,
) -> None:
    """The annotated JPEG and result.json land in gs://bucket/tenant/processed/..."""
    body = task(astronaut_url, example("face_detection"))

    result = worker.post("/tasks", json=body).json()

    objects = processed_objects(bucket, body)
    prefix = f"{TENANT}/processed/{body['session_id']}/{body['image_id']}"
    assert sorted(objects) == [f"{prefix}/annotated.jpg", f"{prefix}/result.json"]
    assert result["outputs"]["annotated"]["uri"] == f"gs://{BUCKET}/{prefix}/annotated.jpg"
    annotated = np.asarray(Image.open(io.BytesIO(objects[f"{prefix}/annotated.jpg"])))
    assert annotated.shape == (512, 512, 3)
    x1, y1, _, y2 = (round(v) for v in result["outputs"]["faces"][0]["box"])
    edge = annotated[y1 + 10 : y2 - 10, x1 - 1 : x1 + 2].astype(int)
    assert (edge[..., 1] - edge[..., 0]).mean() > 100  # the green box is drawn there


def test_callback_carries_result_with_tenant_and_idempotency_headers(
    worker: httpx.Client,
    astronaut_url: str,
    callbacks: CallbackReceiver,
    callback_url: Callable[[str], str],
) -> None:
    """The backend receives the same result, with X-Tenant-ID and a stable Idempotency-Key."""
    body = task(astronaut_url, example("face_detection"), callback_url=callback_url("/results"))

    result = worker.post("/tasks", json=body).json()

    [received] = callbacks.received("/results")
    assert received.headers["x-tenant-id"] == TENANT
    assert received.headers["idempotency-key"] == (
        f"{TENANT}:{body['session_id']}:{body['image_id']}"
    )
    assert received.body["outputs"] == result["outputs"]
    assert received.body["status"] == "completed"
    assert result["callback"] == {"status_code": 200, "attempts": 1}


def test_chelsea_top1_is_a_cat(
    worker: httpx.Client, chelsea_url: str, callbacks: CallbackReceiver
) -> None:
    """MobileNetV2 ranks a cat class first on scikit-image's chelsea."""
    body = task(chelsea_url, example("classification"))

    result = worker.post("/tasks", json=body).json()

    [top5] = result["outputs"]["top5"]
    assert len(top5) == 5
    assert top5[0]["index"] in range(281, 286)  # ImageNet's domestic cats
    assert top5[0]["label"] == "Egyptian cat"
    assert top5[0]["score"] > 0.5
    assert [c["score"] for c in top5] == sorted((c["score"] for c in top5), reverse=True)
    assert result["models"] == {"top5": {"model": "mobilenet_v2", "version": "1"}}


def test_settings_reference_changes_the_result(
    worker: httpx.Client, chelsea_url: str, callbacks: CallbackReceiver
) -> None:
    """A tenant setting referenced by the pipeline replaces the default (top_k 5 -> 2)."""
    body = task(chelsea_url, example("classification"), settings={"classification": {"top_k": 2}})

    result = worker.post("/tasks", json=body).json()

    assert len(result["outputs"]["top5"][0]) == 2


def test_redelivered_task_leaves_identical_objects(
    worker: httpx.Client,
    astronaut_url: str,
    bucket: storage.Bucket,
    callbacks: CallbackReceiver,
) -> None:
    """Cloud Tasks may deliver twice: the second run overwrites the same names, same bytes."""
    body = task(astronaut_url, example("face_detection"))
    worker.post("/tasks", json=body)
    first = processed_objects(bucket, body)

    response = worker.post("/tasks", json=body)

    assert response.status_code == 200
    assert processed_objects(bucket, body) == first
    assert len(first) == 2


@pytest.mark.parametrize(
    ("failures", "delivery"),
    [
        ([503, 503], {"status_code": 200, "attempts": 3}),  # 5xx: retried until accepted
        ([409], {"status_code": 409, "attempts": 1}),  # 4xx: the receiver's final word
    ],
)
def test_callback_retries_5xx_only(
    worker: httpx.Client,
    chelsea_url: str,
    callbacks: CallbackReceiver,
    callback_url: Callable[[str], str],
    failures: list[int],
    delivery: dict[str, int],
) -> None:
    """Receiver 5xx answers are retried with backoff; a 4xx is not; the task succeeds either way."""
    for status in failures:
        callbacks.fail_next(1, status)
    body = task(chelsea_url, example("classification"), callback_url=callback_url("/flaky"))

    response = worker.post("/tasks", json=body)

    assert response.status_code == 200
    assert response.json()["callback"] == delivery
    assert len(callbacks.received("/flaky")) == delivery["attempts"]


def test_callback_that_keeps_failing_makes_cloud_tasks_retry(
    worker: httpx.Client,
    chelsea_url: str,
    callbacks: CallbackReceiver,
    callback_url: Callable[[str], str],
) -> None:
    """When every callback attempt fails the push answers 503 with Retry-After."""
    callbacks.fail_next(3, 502)
    body = task(chelsea_url, example("classification"), callback_url=callback_url("/down"))

    response = worker.post("/tasks", json=body)

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"]["type"] == "dependency_unavailable"


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("missing.jpg", None, "no object at"),
        ("not-an-image.jpg", b"this is not a picture", "could not be decoded"),
        ("empty.jpg", b"", "could not be decoded"),
    ],
)
def test_unusable_original_is_a_422_and_a_failure_callback(
    worker: httpx.Client,
    upload: Callable[[str, bytes], str],
    callbacks: CallbackReceiver,
    callback_url: Callable[[str], str],
    name: str,
    data: bytes | None,
    fragment: str,
) -> None:
    """A missing or undecodable original cannot succeed on retry: 422, and the backend hears."""
    url = upload(name, data) if data is not None else f"gs://{BUCKET}/{TENANT}/originals/{name}"
    body = task(url, example("classification"), callback_url=callback_url("/failed"))

    response = worker.post("/tasks", json=body)

    assert response.status_code == 422
    assert fragment in response.json()["error"]["message"]
    [received] = callbacks.received("/failed")
    assert received.body["status"] == "failed"
    assert fragment in received.body["error"]["message"]


@pytest.mark.parametrize(
    ("pipeline", "change", "step", "fragment"),
    [
        (
            "classification",
            ("cropped", {"width": 1, "height": 224}),
            "top5",
            "has shape [1, 3, 224, 1], but model 'mobilenet_v2' takes [-1, 3, 224, 224]",
        ),
        ("face_detection", ("pyramid", {"cell_size": 4}), "pnet", "INVALID_ARGUMENT"),
    ],
)
def test_tensors_a_model_refuses_are_a_422_naming_the_step(
    worker: httpx.Client,
    astronaut_url: str,
    pipeline: str,
    change: tuple[str, dict[str, Any]],
    step: str,
    fragment: str,
) -> None:
    """Shapes only known at run time: refused before sending, or by Triton; never retried."""
    definition = example(pipeline)
    step_id, params = change
    next(s for s in definition["steps"] if s["id"] == step_id)["params"].update(params)

    response = worker.post("/tasks", json=task(astronaut_url, definition))

    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["type"], error["step"]) == ("model_rejected", step)
    assert fragment in error["message"]


def test_health_endpoints(worker: httpx.Client) -> None:
    """Liveness is unconditional; readiness reflects the real Triton being ready."""
    assert worker.get("/healthz").json() == {"status": "live"}
    assert worker.get("/readyz").status_code == 200
