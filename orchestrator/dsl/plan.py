"""The compiled, immutable form of a pipeline definition that the runner executes."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.steps.registry import StepParams, StepType
from orchestrator.values import Kind

SOURCE = "$source"
"""The reserved reference to the task's original object (the bytes at ``image_url``)."""

ONLY_TENSOR = "*"
"""Port name for "the model's only input/output", bound when a model step names none."""


@dataclass(frozen=True, slots=True)
class Ref:
    """An output of an earlier step: ``port`` None means that step's primary output."""

    step: str
    port: str | None = None

    def __str__(self) -> str:
        return self.step if self.port is None else f"{self.step}.{self.port}"


@dataclass(frozen=True, slots=True)
class Binding:
    """One input port of a step and the output it reads."""

    port: str
    ref: Ref
    kind: Kind


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One step with validated params and resolved inputs."""

    id: str
    type: StepType
    params: StepParams
    inputs: tuple[Binding, ...]

    @property
    def depends_on(self) -> frozenset[str]:
        """Ids of the steps this one reads from (the source is not a step)."""
        return frozenset(b.ref.step for b in self.inputs if b.ref.step != SOURCE)


@dataclass(frozen=True, slots=True)
class PlanOutput:
    """A named result: JSON kinds go into the result, file kinds are written to storage."""

    name: str
    ref: Ref
    kind: Kind


@dataclass(frozen=True, slots=True)
class Plan:
    """Steps in a topological order, and the outputs the task produces."""

    steps: tuple[PlanStep, ...]
    outputs: tuple[PlanOutput, ...]

    def step(self, step_id: str) -> PlanStep:
        """The step called ``step_id``."""
        return next(s for s in self.steps if s.id == step_id)
