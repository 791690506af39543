"""One shape for every local stand-in: start(), stop(), and the same as a context manager."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Service:
    """Subclasses implement start() and stop(); ``with`` stops even when the body raises."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
