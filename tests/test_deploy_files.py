"""The deploy files describe the production pod: GPU Triton on model_repository/, the sidecar."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_triton_serves_the_committed_repository_on_a_gpu() -> None:
    """NVIDIA's Triton mounts model_repository/ read-only, reserves a GPU, waits until ready."""
    triton = compose()["services"]["triton"]

    assert triton["image"].startswith("nvcr.io/nvidia/tritonserver:")
    assert "./model_repository:/models:ro" in triton["volumes"]
    assert "--model-repository=/models" in triton["command"]
    assert "--model-control-mode=explicit" in triton["command"]
    [device] = triton["deploy"]["resources"]["reservations"]["devices"]
    assert (device["driver"], device["capabilities"]) == ("nvidia", ["gpu"])
    assert "/v2/health/ready" in " ".join(triton["healthcheck"]["test"])


def test_sidecar_talks_grpc_to_triton_and_starts_after_it() -> None:
    """The orchestrator is built from this repo and reaches Triton's gRPC port by service name."""
    worker = compose()["services"]["mlworker"]

    assert worker["build"] == "."
    assert worker["environment"]["MLWORKER_TRITON_URL"] == "triton:8001"
    assert worker["depends_on"]["triton"]["condition"] == "service_healthy"


def test_dockerfile_runs_the_app_factory() -> None:
    """The image starts uvicorn on the settings-reading factory, not on an import-time app."""
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert '"--factory", "orchestrator.asgi:app"' in dockerfile
    assert "COPY orchestrator ./orchestrator" in dockerfile


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_file_passes_docker_compose_config() -> None:
    """Debian's docker-compose (no engine needed) accepts the file, GPU reservation included."""
    checked = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert checked.returncode == 0, checked.stderr
