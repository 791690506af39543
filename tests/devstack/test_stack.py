"""The local stand-ins run as real processes and serve real data."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import pytest
import tritonclient.grpc.aio as grpcclient

from devstack import LocalGcs, LocalTriton
from devstack.tiny_model import TINY_MODEL, tiny_reference, write_tiny_repository

PRODUCTION_REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
# ``local_triton`` (production repository) and ``local_gcs`` come from tests/conftest.py.
MOBILENET = "mobilenet_v2"
PNET = "mtcnn_pnet"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def tiny_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_repository(tmp_path_factory.mktemp("production"))


@pytest.fixture(scope="module")
def triton(
    tiny_repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalTriton]:
    with LocalTriton(tiny_repository, work_dir=tmp_path_factory.mktemp("triton")) as server:
        yield server


async def infer(
    url: str,
    model: str,
    inputs: dict[str, npt.NDArray[Any]],
    outputs: tuple[grpcclient.InferRequestedOutput, ...] | None = None,
) -> grpcclient.InferResult:
    client = grpcclient.InferenceServerClient(url)
    try:
        request = []
        for name, array in inputs.items():
            tensor = grpcclient.InferInput(name, list(array.shape), "FP32")
            tensor.set_data_from_numpy(array)
            request.append(tensor)
        return await client.infer(model, request, outputs=list(outputs) if outputs else None)
    finally:
        await client.close()


async def model_counts(url: str, model: str) -> tuple[int, int]:
    client = grpcclient.InferenceServerClient(url)
    try:
        stats = await client.get_inference_statistics(model, as_json=True)
    finally:
        await client.close()
    entry = stats["model_stats"][0]
    return int(entry.get("inference_count", 0)), int(entry.get("execution_count", 0))


@pytest.mark.anyio
async def test_tiny_model_serves_hand_computed_values(triton: LocalTriton) -> None:
    """Both outputs equal x @ W + b and its relu, computed by hand."""
    x = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]], dtype=np.float32)

    result = await infer(triton.grpc_url, TINY_MODEL, {"x": x})

    y, r = result.as_numpy("y"), result.as_numpy("r")
    assert y is not None
    assert r is not None
    assert (y.dtype, y.shape, r.dtype, r.shape) == (np.float32, (2, 3), np.float32, (2, 3))
    np.testing.assert_array_equal(y, [[1.5, -1.0, -1.0], [0.5, -4.0, 0.5]])
    np.testing.assert_array_equal(r, [[1.5, 0.0, 0.0], [0.5, 0.0, 0.5]])


@pytest.mark.anyio
async def test_tiny_model_matches_onnxruntime_on_the_same_file(
    triton: LocalTriton, tiny_repository: Path
) -> None:
    """Served values equal onnxruntime's on the production ONNX file."""
    x = np.random.default_rng(7).normal(size=(5, 4)).astype(np.float32)
    session = ort.InferenceSession(
        str(tiny_repository / TINY_MODEL / "1" / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    expected_y, expected_r = session.run(["y", "r"], {"x": x})

    result = await infer(triton.grpc_url, TINY_MODEL, {"x": x})

    np.testing.assert_allclose(result.as_numpy("y"), expected_y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(result.as_numpy("r"), expected_r, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(result.as_numpy("y"), tiny_reference(x)["y"], rtol=1e-5, atol=1e-5)


@pytest.mark.anyio
async def test_concurrent_requests_are_batched(triton: LocalTriton) -> None:
    """Sixteen concurrent requests run in fewer executions than inferences."""
    before = await model_counts(triton.grpc_url, TINY_MODEL)
    rows = np.eye(16, 4, dtype=np.float32)

    results = await asyncio.gather(
        *(infer(triton.grpc_url, TINY_MODEL, {"x": rows[i : i + 1]}) for i in range(16))
    )

    after = await model_counts(triton.grpc_url, TINY_MODEL)
    inferences, executions = after[0] - before[0], after[1] - before[1]
    assert inferences == 16
    assert executions < inferences
    for i, result in enumerate(results):
        np.testing.assert_array_equal(result.as_numpy("y"), tiny_reference(rows[i : i + 1])["y"])


@pytest.mark.anyio
async def test_label_file_reaches_classification_output(triton: LocalTriton) -> None:
    """The copied labels.txt names the top class of output y."""
    x = np.array([[1.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    top = (grpcclient.InferRequestedOutput("y", class_count=1),)

    result = await infer(triton.grpc_url, TINY_MODEL, {"x": x}, top)

    assert result.as_numpy("y").tolist() == [[b"1.500000:0:alpha"]]


@pytest.mark.anyio
async def test_production_mobilenet_matches_onnxruntime(local_triton: LocalTriton) -> None:
    """The production MobileNetV2 served on CPU equals onnxruntime on the same file."""
    image = np.random.default_rng(3).normal(size=(2, 3, 224, 224)).astype(np.float32)
    onnx_file = PRODUCTION_REPOSITORY / MOBILENET / "1" / "model.onnx"
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"input": image})

    result = await infer(local_triton.grpc_url, MOBILENET, {"input": image})

    probs = result.as_numpy("probs")
    assert probs is not None
    assert (probs.dtype, probs.shape) == (np.float32, (2, 1000))
    assert np.count_nonzero(probs) > 0
    np.testing.assert_allclose(probs, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.anyio
async def test_concurrent_requests_of_different_shapes_are_each_correct(
    local_triton: LocalTriton,
) -> None:
    """Concurrent P-Net requests of two image sizes each get their own correct result."""
    rng = np.random.default_rng(5)
    images = [
        rng.normal(size=(1, 3, 24, 24) if i % 2 else (1, 3, 32, 40)).astype(np.float32)
        for i in range(8)
    ]
    onnx_file = PRODUCTION_REPOSITORY / PNET / "1" / "model.onnx"
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])

    results = await asyncio.gather(
        *(infer(local_triton.grpc_url, PNET, {"input": image}) for image in images)
    )

    for image, result in zip(images, results, strict=True):
        expected_prob = session.run(["prob"], {"input": image})[0]
        np.testing.assert_allclose(result.as_numpy("prob"), expected_prob, rtol=1e-4, atol=1e-6)


def test_gcs_round_trip(local_gcs: LocalGcs) -> None:
    """Bytes uploaded through google-cloud-storage download unchanged."""
    client = local_gcs.client()
    bucket = client.create_bucket("devstack-round-trip")
    payload = bytes(range(256)) * 1024

    bucket.blob("dir/object.bin").upload_from_string(payload, if_generation_match=0)

    assert bucket.blob("dir/object.bin").download_as_bytes() == payload
