"""Local stand-ins for the demo command and the tests.

Production serves models with NVIDIA's Triton GPU container and stores blobs in Google Cloud
Storage. Here, ``LocalTriton`` runs a real tritonserver (from the nvidia-pytriton wheel) on the
CPU over a shim of the production model repository, and ``LocalGcs`` runs fake-gcs-server:
real processes on free loopback ports, watched while they start and stopped at the end.

The exports are resolved lazily so that ``python -m devstack.triton`` (or ``.gcs``) does not
import its own module twice, which runpy warns about.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.gcs import LocalGcs
    from devstack.triton import LocalTriton

__all__ = ["LocalGcs", "LocalTriton"]


def __getattr__(name: str) -> Any:
    if name == "LocalGcs":
        from devstack.gcs import LocalGcs

        return LocalGcs
    if name == "LocalTriton":
        from devstack.triton import LocalTriton

        return LocalTriton
    raise AttributeError(f"module 'devstack' has no attribute {name!r}")
