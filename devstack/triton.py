"""A real Triton Inference Server on this machine's CPU, serving the production ONNX files.

Production runs NVIDIA's Triton container on a GPU. Here we run the tritonserver binary from the
nvidia-pytriton wheel (Triton 2.51, python backend only) over a CPU shim of the production
repository (see ``devstack.shim_repository``), so clients speak to the same server, protocol,
model names, shapes and dynamic batching.

How the pieces are wired, and why:
- Backend directory: the wheel keeps one Python stub per interpreter version apart from the
  backend; Triton wants ``<backends>/python/`` to hold ``libtriton_python.so``, the utils module
  and the stub together, so we assemble that from symlinks in the work directory.
- The stub's Python environment: the stub embeds libpython, and an embedded interpreter finds its
  prefix by searching ``PATH`` for ``python3``. Putting this interpreter's directory first on
  ``PATH`` makes it find the venv's ``python3`` and ``pyvenv.cfg``, so the stub imports this
  venv's numpy (<2) and onnxruntime (the trick pytriton itself uses). Putting this
  interpreter's ``LIBDIR`` on ``LD_LIBRARY_PATH`` makes the stub load the same libpython build
  rather than the distribution's, whose patch release could differ from the venv's stdlib.
  ``PYTHONNOUSERSITE`` keeps ``~/.local`` packages out.
- Model control: ``explicit`` with ``--load-model=*``. Production rollouts use explicit
  load/unload (a failed reload keeps the old version serving), so tests and the demo exercise the
  same API; ``*`` loads everything at start like ``none`` would. Strict readiness stays on, so
  "ready" means every model loaded.
- Auto-complete is off: the shim configs are complete, and it would start one extra stub per
  model during loading.
- Each server gets its own shared-memory prefix for the python backend, so two servers on one
  machine (parallel test sessions) never share a region.
- Ready means: the process is alive, its log says it bound *our* ports (a probe answered by
  another process on a recycled port does not count), ``/v2/health/ready`` answers 200, and a
  self-check inference returns real values. The last step catches the silent failure mode of
  the python backend under numpy 2: right shapes, zero bytes of data.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import shutil
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.errors import DevstackError, SelfCheckError
from devstack.lifecycle import Service
from devstack.ports import LOOPBACK, free_ports
from devstack.process import ManagedProcess, wait_for_interrupt
from devstack.shim_repository import build_cpu_repository

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_NUMPY_HINT = "under numpy>=2 the python backend returns outputs without data"
_JSON_DATATYPES = frozenset(
    (
        "BOOL",
        "FP32",
        "FP64",
        *(f"{sign}INT{bits}" for sign in ("", "U") for bits in (8, 16, 32, 64)),
    )
)


@dataclass(frozen=True, slots=True)
class TritonDistribution:
    """Where the nvidia-pytriton wheel keeps the server, its libraries and the python backend."""

    server: Path
    libraries: Path
    python_backend: Path
    stub: Path

    @classmethod
    def from_pytriton(cls) -> TritonDistribution:
        """Locate the pieces in the installed wheel; the stub matches the running Python."""
        spec = importlib.util.find_spec("pytriton")
        if spec is None or spec.origin is None:
            raise DevstackError("nvidia-pytriton is not installed (pip install 'mlworker[local]')")
        package = Path(spec.origin).parent
        tritonserver = package / "tritonserver"
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        distribution = cls(
            server=tritonserver / "bin" / "tritonserver",
            libraries=package.parent / "nvidia_pytriton.libs",
            python_backend=tritonserver / "backends" / "python",
            stub=tritonserver / "python_backend_stubs" / version / "triton_python_backend_stub",
        )
        missing = [str(path) for path in distribution.paths() if not path.exists()]
        if missing:
            raise DevstackError(f"nvidia-pytriton wheel is incomplete: missing {missing}")
        return distribution

    def paths(self) -> tuple[Path, ...]:
        """Every path the server needs."""
        return (
            self.server,
            self.libraries,
            self.python_backend / "libtriton_python.so",
            self.python_backend / "triton_python_backend_utils.py",
            self.stub,
        )

    def build_backend_directory(self, target: Path) -> Path:
        """Create ``target/python/`` with the backend library, utils and stub; return ``target``."""
        python = target / "python"
        python.mkdir(parents=True, exist_ok=True)
        for source in (
            self.python_backend / "libtriton_python.so",
            self.python_backend / "triton_python_backend_utils.py",
            self.stub,
        ):
            link = python / source.name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(source)
        return target


def server_environment(distribution: TritonDistribution) -> dict[str, str]:
    """The environment for tritonserver so that its Python stubs run in this interpreter's venv."""
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    interpreter_dir = Path(sys.executable).parent
    if not (interpreter_dir / "python3").exists():
        raise DevstackError(
            f"{interpreter_dir} has no python3: the Triton stub finds its environment through it"
        )
    libraries = [str(distribution.libraries)]
    libdir = sysconfig.get_config_var("LIBDIR")
    soname = sysconfig.get_config_var("INSTSONAME")
    if libdir and soname and (Path(libdir) / soname).exists():
        libraries.append(str(libdir))
    if env.get("LD_LIBRARY_PATH"):
        libraries.append(env["LD_LIBRARY_PATH"])
    env["LD_LIBRARY_PATH"] = os.pathsep.join(libraries)
    env["PATH"] = os.pathsep.join((str(interpreter_dir), env.get("PATH", os.defpath)))
    env["PYTHONNOUSERSITE"] = "1"
    return env


class LocalTriton(Service):
    """tritonserver over a CPU shim of ``repository``, on free loopback ports.

    Use as a context manager or call ``start()``/``stop()``. ``repository`` is the production
    model repository; it is only read.
    """

    def __init__(
        self,
        repository: Path,
        *,
        work_dir: Path | None = None,
        startup_timeout_s: float = 120.0,
        exit_timeout_s: int = 5,
        intra_op_threads: int = 1,
        self_check: bool = True,
    ) -> None:
        self.repository = repository
        self._work_dir = work_dir.resolve() if work_dir is not None else None
        self._owns_work_dir = False
        self._startup_timeout_s = startup_timeout_s
        self._exit_timeout_s = exit_timeout_s
        self._intra_op_threads = intra_op_threads
        self._self_check = self_check
        self._ports: tuple[int, int, int] | None = None
        self._process: ManagedProcess | None = None
        self.startup_s: float | None = None

    @property
    def grpc_url(self) -> str:
        """``127.0.0.1:PORT``, the form tritonclient.grpc takes."""
        return f"{LOOPBACK}:{self._require_ports()[1]}"

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{LOOPBACK}:{self._require_ports()[0]}"

    @property
    def metrics_url(self) -> str:
        """``http://127.0.0.1:PORT/metrics`` (Prometheus text)."""
        return f"http://{LOOPBACK}:{self._require_ports()[2]}/metrics"

    @property
    def log_path(self) -> Path:
        """The server's log file (stdout and stderr, stubs included)."""
        if self._process is None:
            raise RuntimeError("LocalTriton is not started")
        return self._process.log_path

    @property
    def shim_repository(self) -> Path:
        """The generated CPU repository the server actually reads."""
        return self._require_work_dir() / "model_repository"

    def start(self) -> None:
        """Build the shim repository and backends, launch the server, wait until it serves."""
        if self._process is not None:
            raise RuntimeError("LocalTriton was already started")
        started = time.monotonic()
        if self._work_dir is None:
            self._work_dir = Path(tempfile.mkdtemp(prefix="devstack-triton-"))
            self._owns_work_dir = True
        try:
            self._launch()
            if self._self_check:
                self._check_inference()
        except BaseException:
            self._owns_work_dir = False  # keep the log the error message points to
            self.stop()
            raise
        self.startup_s = time.monotonic() - started

    def stop(self) -> None:
        """Stop the server (SIGTERM, then kill) and remove a work dir we created. Idempotent."""
        if self._process is not None:
            self._process.stop(timeout_s=self._exit_timeout_s + 10.0)
            self._process = None
        self._ports = None
        if self._owns_work_dir and self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None
            self._owns_work_dir = False

    def _launch(self) -> None:
        work_dir = self._require_work_dir()
        distribution = TritonDistribution.from_pytriton()
        backends = distribution.build_backend_directory(work_dir / "backends")
        # Explicit mode with ``*`` loads every directory: drop models left from an earlier run.
        shutil.rmtree(self.shim_repository, ignore_errors=True)
        build_cpu_repository(
            self.repository, self.shim_repository, intra_op_threads=self._intra_op_threads
        )
        http_port, grpc_port, metrics_port = free_ports(3)
        self._ports = (http_port, grpc_port, metrics_port)
        shm_prefix = f"devstack{os.getpid()}-{uuid.uuid4().hex[:8]}-"
        argv = (
            str(distribution.server),
            f"--model-repository={self.shim_repository}",
            f"--backend-directory={backends}",
            f"--http-address={LOOPBACK}",
            f"--grpc-address={LOOPBACK}",
            f"--metrics-address={LOOPBACK}",
            f"--http-port={http_port}",
            f"--grpc-port={grpc_port}",
            f"--metrics-port={metrics_port}",
            "--allow-gpu-metrics=false",
            f"--exit-timeout-secs={self._exit_timeout_s}",
            "--model-control-mode=explicit",
            "--load-model=*",
            "--disable-auto-complete-config",
            f"--backend-config=python,shm-region-prefix-name={shm_prefix}",
        )
        self._process = ManagedProcess(
            "tritonserver", argv, work_dir / "tritonserver.log",
            env=server_environment(distribution), cwd=work_dir,
            error_pattern=r"^E\d{4} |^error: ",
        )  # fmt: skip
        self._process.start()
        self._process.wait_until(self._is_ready, timeout_s=self._startup_timeout_s)

    def _is_ready(self) -> bool:
        http_port, grpc_port, metrics_port = self._require_ports()
        log = self.log_path.read_text(encoding="utf-8", errors="replace")
        bound = all(
            f"{service} at {LOOPBACK}:{port}" in log
            for service, port in (
                ("HTTPService", http_port),
                ("GRPCInferenceService", grpc_port),
                ("Metrics Service", metrics_port),
            )
        )
        if not bound:
            return False
        try:
            with _OPENER.open(f"{self.http_url}/v2/health/ready", timeout=1.0) as response:
                return int(response.status) == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def _check_inference(self) -> None:
        """Send zeros to every fixed-shape model and require outputs with all their values."""
        index = self._request("POST", "/v2/repository/index", {})
        checked = 0
        for entry in index:
            if entry.get("state") != "READY":
                continue
            name = str(entry["name"])
            body = _zeros_request(self._request("GET", f"/v2/models/{name}/config"))
            if body is None:
                continue
            try:
                reply = self._request("POST", f"/v2/models/{name}/infer", body)
            except SelfCheckError as exc:
                raise SelfCheckError(f"model {name!r}: {exc}; {_NUMPY_HINT}") from exc
            for output in reply.get("outputs", []):
                values = len(output.get("data", []))
                expected = math.prod(int(dim) for dim in output["shape"])
                if expected == 0 or values != expected:
                    raise SelfCheckError(
                        f"model {name!r} output {output['name']!r} has shape {output['shape']} "
                        f"but {values} values; {_NUMPY_HINT}"
                    )
            checked += 1
        if checked == 0 and index:
            raise SelfCheckError(
                "no model has fixed-shape numeric inputs to self-check; pass self_check=False"
            )

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.http_url}{path}", data=data, method=method)
        try:
            with _OPENER.open(request, timeout=30.0) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise SelfCheckError(f"{method} {path} -> {exc.code}: {detail}") from exc

    def _require_ports(self) -> tuple[int, int, int]:
        if self._ports is None:
            raise RuntimeError("LocalTriton is not started")
        return self._ports

    def _require_work_dir(self) -> Path:
        if self._work_dir is None:
            raise RuntimeError("LocalTriton is not started")
        return self._work_dir


def _zeros_request(config: dict[str, Any]) -> dict[str, Any] | None:
    """A batch-of-one request of zeros for ``config``, or ``None`` if its shapes are not fixed."""
    batch = (1,) if int(config.get("max_batch_size", 0)) > 0 else ()
    inputs = []
    for item in config.get("input", []):
        datatype = str(item["data_type"]).removeprefix("TYPE_")
        shape = (*batch, *(int(dim) for dim in item["dims"]))
        if datatype not in _JSON_DATATYPES or any(dim <= 0 for dim in shape):
            return None
        zero: bool | int = False if datatype == "BOOL" else 0
        inputs.append(
            {
                "name": item["name"],
                "shape": shape,
                "datatype": datatype,
                "data": [zero] * math.prod(shape),
            }
        )
    return {"inputs": inputs} if inputs else None


def main(argv: list[str] | None = None) -> None:
    """Serve a model repository on CPU in the foreground until Ctrl-C, for manual use."""
    parser = argparse.ArgumentParser(prog="python -m devstack.triton", description=main.__doc__)
    parser.add_argument(
        "repository", type=Path, nargs="?", default=Path("model_repository"),
        help="production model repository (default: ./model_repository)",
    )  # fmt: skip
    parser.add_argument("--work-dir", type=Path, default=None, help="keep generated files here")
    parser.add_argument("--intra-op-threads", type=int, default=1)
    args = parser.parse_args(argv)
    triton = LocalTriton(
        args.repository, work_dir=args.work_dir, intra_op_threads=args.intra_op_threads
    )
    try:
        with triton:
            print(f"grpc     {triton.grpc_url}")
            print(f"http     {triton.http_url}")
            print(f"metrics  {triton.metrics_url}")
            print(f"log      {triton.log_path}")
            print(f"ready in {triton.startup_s:.1f} s; Ctrl-C stops", flush=True)
            wait_for_interrupt()
    except DevstackError as exc:
        parser.exit(1, f"error: {exc}\n")


if __name__ == "__main__":
    main()
