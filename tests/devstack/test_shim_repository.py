"""The CPU shim repository keeps what clients see and swaps only the executor."""

from __future__ import annotations

from pathlib import Path

import pytest
from tritonclient.grpc import model_config_pb2 as mc

from devstack.errors import RepositoryError
from devstack.shim_repository import (
    SHIM_SOURCE,
    build_cpu_repository,
    main,
    model_directories,
    read_config,
)
from devstack.tiny_model import TINY_CONFIG, TINY_MODEL, write_tiny_repository

PRODUCTION_REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_tiny_repository(tmp_path / "production")


def test_config_keeps_interface_and_batching(source: Path, tmp_path: Path) -> None:
    """Name, batch size, inputs, outputs, batching and version policy are unchanged."""
    original = read_config(source / TINY_MODEL / "config.pbtxt")

    build_cpu_repository(source, tmp_path / "shim")

    shim = read_config(tmp_path / "shim" / TINY_MODEL / "config.pbtxt")
    assert (shim.name, shim.max_batch_size) == (original.name, original.max_batch_size)
    assert list(shim.input) == list(original.input)
    assert list(shim.output) == list(original.output)
    assert shim.dynamic_batching == original.dynamic_batching
    assert shim.version_policy == original.version_policy


def test_config_runs_python_backend_on_cpu(source: Path, tmp_path: Path) -> None:
    """The executor becomes the python backend with one CPU instance."""
    build_cpu_repository(source, tmp_path / "shim")

    shim = read_config(tmp_path / "shim" / TINY_MODEL / "config.pbtxt")
    assert (shim.platform, shim.backend) == ("", "python")
    assert [(group.kind, group.count) for group in shim.instance_group] == [
        (mc.ModelInstanceGroup.KIND_CPU, 1)
    ]


def test_version_serves_the_same_onnx_file(source: Path, tmp_path: Path) -> None:
    """The version directory links the production ONNX file and holds the shared shim."""
    build_cpu_repository(source, tmp_path / "shim")

    version = tmp_path / "shim" / TINY_MODEL / "1"
    assert (version / "model.onnx").samefile(source / TINY_MODEL / "1" / "model.onnx")
    assert (version / "model.py").read_bytes() == SHIM_SOURCE.read_bytes()
    assert (tmp_path / "shim" / TINY_MODEL / "labels.txt").read_text() == "alpha\nbeta\ngamma\n"


def test_rebuild_replaces_the_model_directory(source: Path, tmp_path: Path) -> None:
    """Building twice into the same target refreshes it instead of failing."""
    build_cpu_repository(source, tmp_path / "shim")
    (source / TINY_MODEL / "2").mkdir()
    (source / TINY_MODEL / "2" / "model.onnx").write_bytes(
        (source / TINY_MODEL / "1" / "model.onnx").read_bytes()
    )

    build_cpu_repository(source, tmp_path / "shim")

    assert sorted(p.name for p in (tmp_path / "shim" / TINY_MODEL).iterdir()) == [
        "1", "2", "config.pbtxt", "labels.txt"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('platform: "onnxruntime_onnx"', 'platform: "tensorrt_plan"', "tensorrt_plan"),
        ('label_filename: "labels.txt"', 'label_filename: "missing.txt"', "missing.txt"),
        ("dims: [ 4 ]", "dims: [ 4 ] reshape: { shape: [ 2, 2 ] }", "reshape"),
    ],
)
def test_unservable_model_is_refused(
    source: Path, tmp_path: Path, old: str, new: str, message: str
) -> None:
    """A config the shim cannot serve raises RepositoryError naming the problem."""
    (source / TINY_MODEL / "config.pbtxt").write_text(TINY_CONFIG.replace(old, new))

    with pytest.raises(RepositoryError, match=message):
        build_cpu_repository(source, tmp_path / "shim")


def test_command_line_prints_model_names(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m devstack.shim_repository SRC DST`` lists the models it wrote."""
    main([str(source), str(tmp_path / "shim")])

    assert capsys.readouterr().out == f"{TINY_MODEL}\n"


def test_production_repository_converts(tmp_path: Path) -> None:
    """Every production model gets a shim linking its own ONNX file."""
    if not PRODUCTION_REPOSITORY.is_dir():
        pytest.skip("model_repository is not built")

    build_cpu_repository(PRODUCTION_REPOSITORY, tmp_path / "shim")

    for model_dir in model_directories(PRODUCTION_REPOSITORY):
        shim = read_config(tmp_path / "shim" / model_dir.name / "config.pbtxt")
        assert shim.backend == "python"
        assert (tmp_path / "shim" / model_dir.name / "1" / "model.onnx").samefile(
            model_dir / "1" / "model.onnx"
        )
