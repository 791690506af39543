"""What an async step may use besides its inputs: the Triton client and the run's records."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.settings import Limits
from orchestrator.triton.client import TritonClient


@dataclass(frozen=True, slots=True)
class ModelUse:
    """The model (and version) that actually served a step."""

    model: str
    version: str


@dataclass(slots=True)
class StepContext:
    """Per-step handle; ``models`` collects the versions Triton reports, for the result."""

    step: str
    triton: TritonClient
    limits: Limits
    models: dict[str, ModelUse] = field(default_factory=dict)

    def record_model(self, model: str, version: str) -> None:
        self.models[self.step] = ModelUse(model, version)
