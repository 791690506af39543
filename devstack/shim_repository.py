"""Turn the production model repository into one the CPU-only Triton here can serve.

Production configs say ``platform: "onnxruntime_onnx"`` and ``KIND_GPU``; the Triton in the
nvidia-pytriton wheel has neither an onnxruntime backend nor a GPU. For each model we write a
config that keeps everything a client can observe (name, max_batch_size, inputs, outputs with
their label files, dynamic batching, version policy) and swaps only the executor:
``backend: "python"`` with ``instance_group [{ kind: KIND_CPU }]``. Each version directory gets
the shared shim (``onnx_shim_model.py`` as ``model.py``) and a symlink to the very same ONNX
file, so the bytes served are the production bytes, never a converted copy.

Configs are read and written with protobuf ``text_format`` and Triton's own ``ModelConfig``
message (from tritonclient), so a field the shim does not understand is a parse error, not a
silently mangled regex match. Fields outside the list above (``optimization``,
``model_warmup``, ``parameters``, ...) configure the GPU backend and are dropped on purpose.

Ensembles (``platform: "ensemble"``) run on any Triton and are copied unchanged. Other platforms
and ``reshape`` on inputs/outputs have no shim and raise ``RepositoryError``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from google.protobuf import text_format  # type: ignore[import-untyped, unused-ignore]
from tritonclient.grpc import model_config_pb2 as mc

from devstack.errors import RepositoryError

SHIM_SOURCE = Path(__file__).with_name("onnx_shim_model.py")
ONNX_PLATFORM = "onnxruntime_onnx"
ENSEMBLE_PLATFORM = "ensemble"
DEFAULT_ONNX_FILENAME = "model.onnx"


def read_config(path: Path) -> mc.ModelConfig:
    """Parse a ``config.pbtxt`` into Triton's ``ModelConfig`` message."""
    try:
        return text_format.Parse(path.read_text(encoding="utf-8"), mc.ModelConfig())
    except text_format.ParseError as exc:
        raise RepositoryError(f"{path}: {exc}") from exc


def write_config(config: mc.ModelConfig, path: Path) -> None:
    """Write ``config`` as ``config.pbtxt`` text."""
    path.write_text(text_format.MessageToString(config), encoding="utf-8")


def model_directories(repository: Path) -> tuple[Path, ...]:
    """The model directories of a repository: visible subdirectories holding a config.pbtxt.

    Other entries (READMEs, provenance scripts, licence notices) are not models and are skipped.
    """
    return tuple(
        sorted(
            entry
            for entry in repository.iterdir()
            if entry.is_dir()
            and not entry.name.startswith(".")
            and (entry / "config.pbtxt").is_file()
        )
    )


def cpu_shim_config(config: mc.ModelConfig, *, intra_op_threads: int = 1) -> mc.ModelConfig:
    """The python-backend, CPU-instance equivalent of a production ONNX ``config``."""
    shim = mc.ModelConfig(
        name=config.name,
        backend="python",
        max_batch_size=config.max_batch_size,
    )
    shim.input.extend(config.input)
    shim.output.extend(config.output)
    if config.HasField("dynamic_batching"):
        shim.dynamic_batching.CopyFrom(config.dynamic_batching)
    if config.HasField("version_policy"):
        shim.version_policy.CopyFrom(config.version_policy)
    shim.instance_group.add(kind=mc.ModelInstanceGroup.KIND_CPU, count=1)
    shim.parameters["onnx_filename"].string_value = _onnx_filename(config)
    shim.parameters["intra_op_threads"].string_value = str(intra_op_threads)
    return shim


def build_cpu_repository(source: Path, target: Path, *, intra_op_threads: int = 1) -> None:
    """Write the CPU shim of every model in ``source`` into ``target``.

    A model directory already in ``target`` is replaced, so rebuilding after the ML team adds a
    version refreshes the shim (then ask Triton to load the model again).
    """
    source = source.resolve()
    if not source.is_dir():
        raise RepositoryError(f"{source}: not a directory")
    models = model_directories(source)
    if not models:
        raise RepositoryError(f"{source}: no model directories (subdirectories with config.pbtxt)")
    target.mkdir(parents=True, exist_ok=True)
    for model_dir in models:
        _build_model(model_dir, target / model_dir.name, intra_op_threads)


def _build_model(model_dir: Path, target: Path, intra_op_threads: int) -> None:
    config = read_config(model_dir / "config.pbtxt")
    if config.platform == ENSEMBLE_PLATFORM:
        _replace(target)
        shutil.copytree(model_dir, target, symlinks=True)
        return
    _check_supported(config, model_dir)
    filename = _onnx_filename(config)
    onnx_files = _onnx_files(model_dir, filename)
    labels = _label_files(config, model_dir)
    _replace(target)
    target.mkdir(parents=True)
    write_config(
        cpu_shim_config(config, intra_op_threads=intra_op_threads), target / "config.pbtxt"
    )
    for label_file in labels:
        shutil.copy2(label_file, target / label_file.name)
    for version, onnx_file in onnx_files:
        (target / version).mkdir()
        shutil.copy2(SHIM_SOURCE, target / version / "model.py")
        (target / version / filename).symlink_to(onnx_file)


def _onnx_files(model_dir: Path, filename: str) -> tuple[tuple[str, Path], ...]:
    versions = sorted(
        (entry for entry in model_dir.iterdir() if entry.is_dir() and entry.name.isdigit()),
        key=lambda entry: int(entry.name),
    )
    if not versions:
        raise RepositoryError(f"{model_dir}: no numeric version directory")
    missing = [version.name for version in versions if not (version / filename).is_file()]
    if missing:
        raise RepositoryError(f"{model_dir}: no {filename} in version(s) {', '.join(missing)}")
    return tuple((version.name, (version / filename).resolve()) for version in versions)


def _label_files(config: mc.ModelConfig, model_dir: Path) -> tuple[Path, ...]:
    labels = tuple(
        model_dir / output.label_filename for output in config.output if output.label_filename
    )
    missing = [path.name for path in labels if not path.is_file()]
    if missing:
        raise RepositoryError(f"{model_dir}: label file(s) {', '.join(missing)} missing")
    return labels


def _check_supported(config: mc.ModelConfig, model_dir: Path) -> None:
    if config.backend not in ("", "onnxruntime") or config.platform not in ("", ONNX_PLATFORM):
        executor = config.platform or config.backend
        raise RepositoryError(f"{model_dir}: no CPU shim for {executor!r}, only ONNX models")
    if not config.platform and not config.backend:
        raise RepositoryError(f"{model_dir}: config names neither platform nor backend")
    reshaped = [io.name for io in (*config.input, *config.output) if io.HasField("reshape")]
    if reshaped:
        raise RepositoryError(f"{model_dir}: the CPU shim does not support reshape ({reshaped})")


def _onnx_filename(config: mc.ModelConfig) -> str:
    return config.default_model_filename or DEFAULT_ONNX_FILENAME


def _replace(target: Path) -> None:
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)


def main(argv: list[str] | None = None) -> None:
    """Build a CPU shim repository from a production one (for manual runs of tritonserver)."""
    parser = argparse.ArgumentParser(
        prog="python -m devstack.shim_repository", description=main.__doc__
    )
    parser.add_argument("source", type=Path, help="production model repository")
    parser.add_argument("target", type=Path, help="directory to write the shim repository into")
    parser.add_argument("--intra-op-threads", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        build_cpu_repository(args.source, args.target, intra_op_threads=args.intra_op_threads)
    except RepositoryError as exc:
        parser.exit(1, f"error: {exc}\n")
    for model_dir in model_directories(args.target):
        print(model_dir.name)


if __name__ == "__main__":
    main()
