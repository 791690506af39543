"""Errors raised by the local stand-ins.

Every failure of a stand-in is translated once, where it happens, into this small tree, so a
test or the demo command can report it without knowing which subprocess or file caused it::

    DevstackError
    ├── ProcessDiedError      the subprocess exited before it became ready
    ├── NotReadyError         it stayed alive but never passed its readiness check in time
    ├── SelfCheckError        it is ready but returns wrong results (e.g. empty tensors)
    └── RepositoryError       a production model repository cannot be turned into a CPU shim
"""

from __future__ import annotations


class DevstackError(Exception):
    """Base of every error raised by ``devstack``."""


class ProcessDiedError(DevstackError):
    """A managed subprocess exited while we were waiting for it; the message holds its log tail."""


class NotReadyError(DevstackError):
    """A managed subprocess did not pass its readiness check before the deadline."""


class SelfCheckError(DevstackError):
    """A started server answered, but with results that cannot be trusted."""


class RepositoryError(DevstackError):
    """A model directory cannot be served by the CPU shim; the message names the directory."""
