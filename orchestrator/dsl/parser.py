"""Raw pipeline JSON -> an immutable Plan, with every problem located by step and field."""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from orchestrator.dsl import settings_refs
from orchestrator.dsl.document import PipelineDocument, StepDocument
from orchestrator.dsl.plan import ONLY_TENSOR, SOURCE, Binding, Plan, PlanOutput, PlanStep, Ref
from orchestrator.errors import Problem, RequestInvalid
from orchestrator.json_depth import MAX_JSON_DEPTH, exceeds_depth
from orchestrator.settings import Limits
from orchestrator.steps.registry import StepParams, StepRegistry, StepType
from orchestrator.values import FILE_KINDS, JSON_KINDS, Kind, TensorFacts

MODEL_INPUT_KINDS = frozenset({Kind.TENSOR, Kind.PYRAMID})
CONDITION_KINDS = frozenset({Kind.DETECTIONS, Kind.CLASSES, Kind.TENSOR})


class PipelineParser:
    """Checks a pipeline definition against a StepRegistry and compiles it to a Plan."""

    def __init__(self, registry: StepRegistry, limits: Limits) -> None:
        self._registry = registry
        self._limits = limits

    def parse(self, raw: Any, settings: Mapping[str, Any]) -> Plan:
        """The Plan for ``raw``, or RequestInvalid listing every problem found."""
        if exceeds_depth(raw) or exceeds_depth(settings):
            message = f"nested more than {MAX_JSON_DEPTH} levels deep"
            raise RequestInvalid((Problem(None, "pipeline_definition", message),))
        try:
            document = PipelineDocument.model_validate(raw)
        except ValidationError as exc:
            raise RequestInvalid(problems_from_validation(exc, raw, "pipeline_definition")) from exc
        return _Compilation(self._registry, self._limits, document, settings).run()


class _Compilation:
    """One parse: accumulates problems instead of stopping at the first."""

    def __init__(
        self,
        registry: StepRegistry,
        limits: Limits,
        document: PipelineDocument,
        settings: Mapping[str, Any],
    ) -> None:
        self.registry = registry
        self.limits = limits
        self.document = document
        self.settings = settings
        self.problems: list[Problem] = []
        self.types: dict[str, StepType] = {}
        self.params: dict[str, StepParams] = {}
        self.wiring: dict[str, list[tuple[str, Ref]]] = {}
        self.enabled: dict[str, bool] = {}
        self.conditions: dict[str, Ref] = {}
        self.kinds: dict[str, Kind] = {}  # "step.port" -> kind, filled in topological order

    def run(self) -> Plan:
        steps = self.document.steps
        if len(steps) > self.limits.max_steps:
            self.fail(None, "steps", f"{len(steps)} steps; at most {self.limits.max_steps} allowed")
            raise RequestInvalid(tuple(self.problems))
        self.check_unique_ids()
        for index, step in enumerate(steps):
            previous = steps[index - 1].id if index else SOURCE
            self.read_step(step, previous)
        order = self.order()
        plan_steps = tuple(self.bind(self.document.steps[i]) for i in order) if order else ()
        outputs = self.read_outputs()
        if self.problems:
            raise RequestInvalid(tuple(self.problems))
        return Plan(tuple(s for s in plan_steps if s is not None), outputs)

    def fail(self, step: str | None, field: str | None, message: str) -> None:
        self.problems.append(Problem(step, field, message))

    def check_unique_ids(self) -> None:
        seen: set[str] = set()
        for step in self.document.steps:
            if step.id in seen:
                self.fail(step.id, "id", f"step id '{step.id}' is used more than once")
            seen.add(step.id)

    def read_step(self, step: StepDocument, previous: str) -> None:
        step_type = self.registry.get(step.op)
        if step_type is None:
            known = ", ".join(t.op for t in self.registry)
            self.fail(step.id, "op", f"unknown op '{step.op}'; known ops: {known}")
            return
        self.types[step.id] = step_type
        before = len(self.problems)
        resolved = settings_refs.resolve(
            step.params, self.settings, step.id, "params", self.problems
        )
        # A field whose setting could not be read is reported once, not again as a bad value.
        unresolved = {p.field for p in self.problems[before:]}
        try:
            self.params[step.id] = step_type.params.model_validate(resolved)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(["params", *(str(p) for p in error["loc"])])
                if field not in unresolved:
                    self.fail(step.id, field, error["msg"])
        else:
            self.check_fan_out(step.id, self.params[step.id])
        self.wiring[step.id] = self.read_inputs(step, step_type, previous)
        self.read_condition(step)

    def read_condition(self, step: StepDocument) -> None:
        when = step.when
        if when is None:
            return
        if when.nonempty is not None:
            ref = self.read_ref(step.id, "when.nonempty", when.nonempty)
            if ref is not None:
                self.conditions[step.id] = ref
            return
        reference: dict[str, Any] = {settings_refs.SETTING_KEY: when.setting}
        if when.default is not None:
            reference[settings_refs.DEFAULT_KEY] = when.default
        before = len(self.problems)
        found = settings_refs.resolve(
            reference, self.settings, step.id, "when.$setting", self.problems
        )
        if len(self.problems) > before:
            return
        if not isinstance(found, bool):
            message = f"setting '{when.setting}' is {found!r}; a condition needs true or false"
            self.fail(step.id, "when.$setting", message)
            return
        self.enabled[step.id] = found

    def check_fan_out(self, step: str, params: StepParams) -> None:
        """Params marked FAN_OUT may not promise more items than this worker allows."""
        limit = self.limits.max_fan_out
        for name, field in type(params).model_fields.items():
            extra = field.json_schema_extra
            value = getattr(params, name)
            bounded = isinstance(extra, dict) and extra.get("fan_out")
            if bounded and isinstance(value, int) and value > limit:
                message = f"{value} exceeds this worker's fan-out limit of {limit} per task"
                self.fail(step, f"params.{name}", message)

    def read_inputs(
        self, step: StepDocument, step_type: StepType, previous: str
    ) -> list[tuple[str, Ref]]:
        if step.inputs is None:
            return self.implicit_inputs(step, step_type, previous)
        wiring: list[tuple[str, Ref]] = []
        for port, text in step.inputs.items():
            if not step_type.model and step_type.input_port(port) is None:
                ports = ", ".join(p.name for p in step_type.inputs) or "none"
                self.fail(
                    step.id,
                    f"inputs.{port}",
                    f"op '{step_type.op}' has no input '{port}'; its inputs: {ports}",
                )
                continue
            ref = self.read_ref(step.id, f"inputs.{port}", text)
            if ref is not None:
                wiring.append((port, ref))
        for declared in step_type.inputs:
            if not declared.optional and declared.name not in step.inputs:
                self.fail(
                    step.id,
                    f"inputs.{declared.name}",
                    f"op '{step_type.op}' needs input '{declared.name}'",
                )
        return wiring

    def implicit_inputs(
        self, step: StepDocument, step_type: StepType, previous: str
    ) -> list[tuple[str, Ref]]:
        if step_type.model:
            return [(ONLY_TENSOR, Ref(previous))]
        required = [p.name for p in step_type.inputs if not p.optional]
        if len(required) > 1:
            self.fail(
                step.id,
                "inputs",
                f"op '{step_type.op}' reads {', '.join(required)}: name each in 'inputs'",
            )
            return []
        return [(required[0], Ref(previous))] if required else []

    def read_ref(self, step: str | None, field: str, text: str) -> Ref | None:
        if text == SOURCE:
            return Ref(SOURCE, None)
        target, _, port = text.partition(".")
        if target == step:
            self.fail(step, field, f"step '{step}' cannot read its own output")
            return None
        if target not in {s.id for s in self.document.steps}:
            self.fail(step, field, f"'{text}' refers to no step (no step has id '{target}')")
            return None
        return Ref(target, port or None)

    def order(self) -> list[int] | None:
        """Indexes of the known steps in a topological order; None (and a problem) on a cycle."""
        index = {s.id: i for i, s in enumerate(self.document.steps) if s.id in self.types}
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for step_id in index:
            refs = [r for _, r in self.wiring.get(step_id, [])]
            if step_id in self.conditions:
                refs.append(self.conditions[step_id])
            deps = {r.step for r in refs if r.step != SOURCE}
            sorter.add(step_id, *deps)
        try:
            ordered = list(sorter.static_order())
        except graphlib.CycleError as exc:
            cycle = list(reversed(exc.args[1]))
            self.fail(cycle[0], "inputs", "the steps form a cycle: " + " -> ".join(cycle))
            return None
        return [index[s] for s in ordered if s in index]

    def bind(self, step: StepDocument) -> PlanStep | None:
        """Check the kinds of ``step``'s inputs and record the kinds of its outputs."""
        step_type = self.types[step.id]
        bindings: list[Binding] = []
        for port, ref in self.wiring.get(step.id, []):
            kind = self.kind_of(step.id, f"inputs.{port}", ref)
            if kind is None:
                continue
            accepted = MODEL_INPUT_KINDS if step_type.model else step_type.input_port(port)
            kinds = (
                accepted
                if isinstance(accepted, frozenset)
                else (accepted.kinds if accepted else frozenset())
            )
            if kind not in kinds:
                wanted = " or ".join(sorted(k.value for k in kinds))
                self.fail(
                    step.id,
                    f"inputs.{port}",
                    f"'{ref}' is {kind.value}, but '{step_type.op}' needs {wanted} here",
                )
                continue
            bindings.append(Binding(port, ref, kind, self.facts_of(ref)))
        first = bindings[0].kind if bindings else None
        for out in step_type.outputs:
            self.kinds[f"{step.id}.{out.name}"] = out.kind or first or Kind.TENSOR
        if step_type.model and first is not None:
            self.kinds[f"{step.id}.*"] = first
        condition = self.conditions.get(step.id)
        if condition is not None:
            kind = self.kind_of(step.id, "when.nonempty", condition)
            if kind is not None and kind not in CONDITION_KINDS:
                wanted = " or ".join(sorted(k.value for k in CONDITION_KINDS))
                self.fail(
                    step.id,
                    "when.nonempty",
                    f"'{condition}' is {kind.value}; 'nonempty' tests {wanted}",
                )
        params = self.params.get(step.id)
        if params is None or len(bindings) != len(self.wiring.get(step.id, [])):
            return None
        return PlanStep(
            step.id, step_type, params, tuple(bindings), self.enabled.get(step.id, True), condition
        )

    def facts_of(self, ref: Ref) -> TensorFacts | None:
        """The dtype/shape of the tensor ``ref`` names, if its producer's params decide it."""
        producer = self.types.get(ref.step)
        params = self.params.get(ref.step)
        if producer is None or producer.facts is None or params is None:
            return None
        return producer.facts(params)

    def kind_of(self, step: str | None, field: str, ref: Ref) -> Kind | None:
        """The kind of the output ``ref`` names, or None (and a problem) if it has none."""
        if ref.step == SOURCE:
            return Kind.BYTES
        target = self.types.get(ref.step)
        if target is None:
            return None  # the unknown op was reported already
        if target.model and not target.outputs:
            return self.kinds.get(f"{ref.step}.*")
        port = ref.port or (target.outputs[0].name if target.outputs else None)
        if port is None or target.output_port(port) is None:
            names = ", ".join(o.name for o in target.outputs)
            self.fail(
                step,
                field,
                f"step '{ref.step}' ({target.op}) has no output '{ref.port}'; its outputs: {names}",
            )
            return None
        return self.kinds.get(f"{ref.step}.{port}")

    def read_outputs(self) -> tuple[PlanOutput, ...]:
        outputs: list[PlanOutput] = []
        allowed = JSON_KINDS | FILE_KINDS
        for name, text in self.document.outputs.items():
            field = f"outputs.{name}"
            if text == SOURCE:
                self.fail(None, field, "'$source' cannot be an output")
                continue
            ref = self.read_ref(None, field, text)
            if ref is None:
                continue
            kind = self.kind_of(None, field, ref)
            if kind is None:
                continue
            if kind not in allowed:
                wanted = ", ".join(sorted(k.value for k in allowed))
                self.fail(
                    None,
                    field,
                    f"'{text}' is {kind.value}; outputs must be one of: "
                    f"{wanted} (encode images with output.encode)",
                )
                continue
            outputs.append(PlanOutput(name, ref, kind))
        return tuple(outputs)


def problems_from_validation(exc: ValidationError, raw: Any, root: str) -> tuple[Problem, ...]:
    """Pydantic errors as Problems, naming the step by its id when the path goes through one."""
    problems: list[Problem] = []
    for error in exc.errors():
        loc = list(error["loc"])
        step: str | None = None
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
            step = _step_label(raw, loc[1])
            loc = loc[2:]
        field = ".".join(str(p) for p in loc) or root
        problems.append(Problem(step, field, error["msg"]))
    return tuple(problems)


def _step_label(raw: Any, index: int) -> str:
    """The step's id if the raw document has a usable one, else its position."""
    try:
        candidate = raw["steps"][index]["id"]
    except (KeyError, IndexError, TypeError):
        candidate = None
    return candidate if isinstance(candidate, str) and candidate else f"steps[{index}]"
