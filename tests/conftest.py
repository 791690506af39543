"""Real parts for every test: Triton from the wheel, fake-gcs-server, a callback receiver,
and MLWorker itself served by uvicorn with its lifespan running. Nothing of ours is mocked;
only the GPU (Triton runs a CPU shim of the same ONNX files) and Google's endpoints (an
emulator) are stood in for.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.cloud import storage
from skimage import data as samples

from devstack import LocalGcs, LocalTriton
from devstack.callback_receiver import CallbackReceiver
from devstack.pictures import encoded
from devstack.serve import ServedApp
from orchestrator.app import create_app
from orchestrator.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "mlworker-test"
TENANT = "tenant-a"


@pytest.fixture(scope="session")
def local_triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTriton]:
    with LocalTriton(
        ROOT / "model_repository", work_dir=tmp_path_factory.mktemp("triton")
    ) as server:
        yield server


@pytest.fixture(scope="session")
def local_gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalGcs]:
    with LocalGcs(work_dir=tmp_path_factory.mktemp("gcs")) as server:
        yield server


@pytest.fixture(scope="session")
def bucket(local_gcs: LocalGcs) -> storage.Bucket:
    return local_gcs.client().create_bucket(BUCKET)


@pytest.fixture(scope="session")
def served_receiver() -> Iterator[tuple[CallbackReceiver, str]]:
    receiver = CallbackReceiver()
    with ServedApp(receiver.app) as served:
        yield receiver, served.url


@pytest.fixture
def callbacks(served_receiver: tuple[CallbackReceiver, str]) -> CallbackReceiver:
    """The receiver, emptied for this test."""
    receiver, _ = served_receiver
    receiver.clear()
    return receiver


@pytest.fixture(scope="session")
def callback_url(served_receiver: tuple[CallbackReceiver, str]) -> Callable[[str], str]:
    """The receiver's URL for a path, e.g. callback_url("/results")."""
    _, base = served_receiver
    return lambda path: f"{base}{path}"


@pytest.fixture(scope="session")
def settings(local_triton: LocalTriton, local_gcs: LocalGcs) -> Settings:
    return Settings(
        triton_url=local_triton.grpc_url,
        bucket=BUCKET,
        gcs_endpoint=local_gcs.endpoint,
        callback_backoff_s=0.01,
        callback_timeout_s=5.0,
    )


@pytest.fixture(scope="session")
def worker(settings: Settings, bucket: storage.Bucket) -> Iterator[httpx.Client]:
    """An HTTP client bound to MLWorker served on a free loopback port."""
    with (
        ServedApp(create_app(settings)) as served,
        httpx.Client(base_url=served.url, timeout=120) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def upload(bucket: storage.Bucket) -> Callable[[str, bytes], str]:
    """Store bytes under the test tenant's originals; returns the gs:// URL."""

    def put(name: str, data: bytes) -> str:
        key = f"{TENANT}/originals/{name}"
        bucket.blob(key).upload_from_string(data)
        return f"gs://{BUCKET}/{key}"

    return put


@pytest.fixture(scope="session")
def astronaut_url(upload: Callable[[str, bytes], str]) -> str:
    return upload("astronaut.jpg", encoded(samples.astronaut()))


@pytest.fixture(scope="session")
def chelsea_url(upload: Callable[[str, bytes], str]) -> str:
    return upload("chelsea.jpg", encoded(samples.chelsea()))


def example(name: str) -> dict[str, Any]:
    """A pipeline from examples/."""
    loaded: dict[str, Any] = json.loads((ROOT / "examples" / f"{name}.json").read_text())
    return loaded


def task(image_url: str, pipeline: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A ProcessingRequest body with fresh ids."""
    return {
        "tenant_id": TENANT,
        "session_id": str(uuid.uuid4()),
        "image_id": str(uuid.uuid4()),
        "image_url": image_url,
        "pipeline_definition": pipeline,
        "settings": {},
        **extra,
    }
