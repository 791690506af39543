"""The compiled, immutable form of a pipeline definition that the runner executes."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.steps.registry import StepParams, StepType
from orchestrator.values import Kind, TensorFacts

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
    """One input port of a step, the output it reads, and what is known of it in advance."""

    port: str
    ref: Ref
    kind: Kind
    facts: TensorFacts | None = None


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One step with validated params and resolved inputs.

    ``enabled`` False (a settings condition) or an empty ``run_if_nonempty`` value skips it.
    """

    id: str
    type: StepType
    params: StepParams
    inputs: tuple[Binding, ...]
    enabled: bool = True
    run_if_nonempty: Ref | None = None

    @property
    def reads(self) -> tuple[Ref, ...]:
        """Every output this step needs: its inputs and its condition."""
        refs = tuple(b.ref for b in self.inputs)
        return refs if self.run_if_nonempty is None else (*refs, self.run_if_nonempty)

    @property
    def depends_on(self) -> frozenset[str]:
        """Ids of the steps this one reads from (the source is not a step)."""
        return frozenset(r.step for r in self.reads if r.step != SOURCE)


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
