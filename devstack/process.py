"""One way to run a server subprocess for tests and the demo: logged, watched and stopped.

Why this shape:
- Output goes to a log file, never a pipe: nobody reads a pipe while the server runs, and once
  its buffer fills the server blocks on its next log line (the fake-gcs-server wrapper hangs
  exactly like that after a few hundred requests).
- Readiness is polled together with ``poll()``: a server that died (bad flag, port taken) is
  reported at once with the end of its log instead of after a long timeout, and a readiness
  probe that reaches some other process on the same port is not mistaken for ours.
- The child gets its own session, so a Ctrl-C in the terminal reaches only us and we decide
  how it stops: SIGTERM first (servers drain and remove their shared memory), then SIGKILL of
  its whole process group (its helpers, e.g. Triton's Python stubs, go with it).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType

from devstack.errors import NotReadyError, ProcessDiedError

LOG_TAIL_LINES = 20


class ManagedProcess:
    """A subprocess whose output goes to ``log_path`` and which is watched while it starts."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        error_pattern: str | None = None,
    ) -> None:
        self.name = name
        self.argv = tuple(argv)
        self.log_path = log_path
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._error_pattern = re.compile(error_pattern) if error_pattern else None
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id, or ``None`` before ``start``."""
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        """Whether the child was started and has not exited."""
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        """Launch the child with stdout and stderr appended to the log file."""
        if self._popen is not None:
            raise RuntimeError(f"{self.name} was already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                cwd=self._cwd,
                start_new_session=True,
            )

    def wait_until(
        self,
        ready: Callable[[], bool],
        *,
        timeout_s: float,
        interval_s: float = 0.05,
    ) -> float:
        """Call ``ready`` until it returns true; return the seconds it took.

        Raises ``ProcessDiedError`` as soon as the child exits and ``NotReadyError`` at the
        deadline, both carrying the tail of the log. ``poll()`` is checked again after a
        successful probe so that an answer from another process on our port does not count.
        """
        popen = self._require_started()
        started = time.monotonic()
        deadline = started + timeout_s
        while True:
            self._raise_if_exited(popen)
            if ready():
                self._raise_if_exited(popen)
                return time.monotonic() - started
            if time.monotonic() >= deadline:
                raise NotReadyError(
                    f"{self.name} not ready after {timeout_s:.0f} s; {self.log_excerpt()}"
                )
            time.sleep(interval_s)

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """Stop the child (SIGTERM, then SIGKILL to its group after ``timeout_s``).

        Returns its exit code, or ``None`` if it was never started. Safe to call twice.
        """
        popen = self._popen
        if popen is None:
            return None
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
            try:
                popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._kill_group(popen.pid)
                popen.wait()
        # The leader is gone; helpers it spawned must not outlive it.
        self._kill_group(popen.pid)
        return popen.returncode

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the log (empty if there is no log yet)."""
        return "\n".join(self._read_log()[-lines:])

    def log_excerpt(self) -> str:
        """The log's path, its lines matching ``error_pattern`` and its tail, for error messages.

        Servers often print the cause early and a long summary after it (Triton's model and
        option tables), so a plain tail would hide the one line that matters.
        """
        parts = [f"log {self.log_path}"]
        if self._error_pattern is not None:
            errors = [line for line in self._read_log() if self._error_pattern.search(line)]
            if errors:
                parts.append("errors:\n" + "\n".join(errors[-10:]))
        parts.append("tail:\n" + self.log_tail())
        return "\n".join(parts)

    def _read_log(self) -> list[str]:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def _require_started(self) -> subprocess.Popen[bytes]:
        if self._popen is None:
            raise RuntimeError(f"{self.name} was not started")
        return self._popen

    def _raise_if_exited(self, popen: subprocess.Popen[bytes]) -> None:
        code = popen.poll()
        if code is not None:
            raise ProcessDiedError(
                f"{self.name} exited with code {code} while starting; {self.log_excerpt()}"
            )

    @staticmethod
    def _kill_group(pgid: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM, for the foreground commands.

    SIGTERM is turned into ``KeyboardInterrupt`` so that ``with`` blocks unwind and stop their
    servers: they run in their own sessions and would otherwise outlive a terminated parent.
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
