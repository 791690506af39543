"""The step registry: each op is one frozen params model plus one function, registered by name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, JsonValue

from orchestrator.values import Kind, TensorFacts, Value

if TYPE_CHECKING:
    from orchestrator.steps.context import StepContext


class StepParams(BaseModel):
    """Base of every step's params: strict about unknown keys, immutable once parsed.

    Non-finite numbers are refused: a huge JSON integer would otherwise become inf in a float
    field and break the numpy maths and the JSON of the compiled plan.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


FAN_OUT: dict[str, JsonValue] = {"fan_out": True}
"""Marks a params field that bounds how many items (crops, regions) a step passes on; the parser
holds it to the server's fan-out limit, so an oversize plan is a 400 before any compute."""


@dataclass(frozen=True, slots=True)
class InputPort:
    """A named input of an op, and the kinds it accepts."""

    name: str
    kinds: frozenset[Kind]
    optional: bool = False


@dataclass(frozen=True, slots=True)
class OutputPort:
    """A named output of an op; ``kind`` None means "the kind of the op's first input"."""

    name: str
    kind: Kind | None


IMAGE = InputPort("image", frozenset({Kind.IMAGE}))
DETECTIONS = InputPort("detections", frozenset({Kind.DETECTIONS}))
IMAGE_IN = (IMAGE,)
IMAGE_AND_DETECTIONS_IN = (IMAGE, DETECTIONS)
IMAGE_OUT = (OutputPort("image", Kind.IMAGE),)
DETECTIONS_OUT = (OutputPort("detections", Kind.DETECTIONS),)

Inputs = Mapping[str, Value]
Outputs = dict[str, Value]
CpuFn = Callable[[Any, Inputs, "StepContext"], Outputs]
AsyncFn = Callable[[Any, Inputs, "StepContext"], Awaitable[Outputs]]


@dataclass(frozen=True, slots=True)
class StepType:
    """Everything the parser and the runner know about one op.

    A ``model`` op has no fixed ports: its inputs and outputs are the tensors of the Triton
    model it names, checked against live model metadata.
    """

    op: str
    params: type[StepParams]
    inputs: tuple[InputPort, ...]
    outputs: tuple[OutputPort, ...]
    cpu: CpuFn | None = None
    run_async: AsyncFn | None = None
    model: bool = False
    facts: Callable[[Any], TensorFacts] | None = None

    @property
    def summary(self) -> str:
        """The params model's docstring: the step's one-line documentation."""
        return (self.params.__doc__ or "").strip()

    def input_port(self, name: str) -> InputPort | None:
        """The declared input called ``name``, if any."""
        return next((p for p in self.inputs if p.name == name), None)

    def output_port(self, name: str) -> OutputPort | None:
        """The declared output called ``name``, if any."""
        return next((p for p in self.outputs if p.name == name), None)


P = TypeVar("P", bound=StepParams)
CpuStep = Callable[[P, Inputs, "StepContext"], Outputs]
AsyncStep = Callable[[P, Inputs, "StepContext"], Awaitable[Outputs]]


class StepRegistry:
    """Ops by name. Registering a name twice is a programming error and raises at import."""

    def __init__(self) -> None:
        self._types: dict[str, StepType] = {}

    def add(self, step_type: StepType) -> None:
        """Register ``step_type``; duplicates are refused."""
        if step_type.op in self._types:
            raise ValueError(f"op '{step_type.op}' is registered twice")
        self._types[step_type.op] = step_type

    def cpu(
        self,
        op: str,
        params: type[P],
        inputs: tuple[InputPort, ...],
        outputs: tuple[OutputPort, ...],
        facts: Callable[[P], TensorFacts] | None = None,
    ) -> Callable[[CpuStep[P]], CpuStep[P]]:
        """Decorator for a CPU step: a plain function the runner moves off the event loop.

        ``facts`` tells the parser the dtype and shape of a tensor output from the params, so a
        mismatch with a model's signature is a 400 before any compute.
        """

        def register(fn: CpuStep[P]) -> CpuStep[P]:
            self.add(StepType(op, params, inputs, outputs, cpu=fn, facts=facts))
            return fn

        return register

    def model(
        self, op: str, params: type[P], outputs: tuple[OutputPort, ...] = ()
    ) -> Callable[[AsyncStep[P]], AsyncStep[P]]:
        """Decorator for a model step: async, ports given by the Triton model it names."""

        def register(fn: AsyncStep[P]) -> AsyncStep[P]:
            self.add(StepType(op, params, (), outputs, run_async=fn, model=True))
            return fn

        return register

    def get(self, op: str) -> StepType | None:
        """The op called ``op``, or None."""
        return self._types.get(op)

    def __iter__(self) -> Iterator[StepType]:
        return iter(sorted(self._types.values(), key=lambda t: t.op))

    def __len__(self) -> int:
        return len(self._types)


def expect(inputs: Inputs, port: str, cls: type[Any]) -> Any:
    """The value bound to ``port``, checked against the class the parser promised."""
    value = inputs[port]
    if not isinstance(value, cls):
        raise TypeError(f"port '{port}' holds {type(value).__name__}, not {cls.__name__}")
    return value
