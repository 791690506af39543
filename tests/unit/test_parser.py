"""PipelineParser: raw pipeline JSON compiles to an immutable, topologically ordered Plan."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import ValidationError

from orchestrator.dsl.parser import PipelineParser
from orchestrator.dsl.plan import ONLY_TENSOR, SOURCE, Binding, Plan, PlanOutput, Ref
from orchestrator.errors import Problem, RequestInvalid
from orchestrator.settings import Limits
from orchestrator.steps.detection import ProposalsParams
from orchestrator.steps.image import PyramidParams, ResizeParams
from orchestrator.steps.library import build_registry
from orchestrator.steps.tensor import FromImageParams
from orchestrator.values import Kind, TensorFacts
from tests.conftest import example

PARSER = PipelineParser(build_registry(), Limits())


def step(step_id: str, op: str, **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "op": op, **fields}


def pipeline(*steps: dict[str, Any], outputs: dict[str, str]) -> dict[str, Any]:
    return {"version": 1, "steps": list(steps), "outputs": outputs}


def parse(raw: dict[str, Any], settings: dict[str, Any] | None = None) -> Plan:
    return PARSER.parse(raw, settings or {})


STRAIGHT_LINE = pipeline(
    step("decoded", "image.decode"),
    step("resized", "image.resize", params={"short_side": 64}),
    step("encoded", "output.encode"),
    outputs={"picture": "encoded"},
)


def pyramid_with(min_size: Any) -> dict[str, Any]:
    """Decode then pyramid with ``min_size`` as given (a value or a settings reference)."""
    return pipeline(
        step("decoded", "image.decode"),
        step("pyramid", "image.pyramid", params={"min_size": min_size}),
        step("pnet", "model.infer", params={"model": "mtcnn_pnet"}),
        step("faces", "detection.proposals", inputs={"reg": "pnet.reg", "prob": "pnet.prob"}),
        outputs={"faces": "faces"},
    )


def pyramid_params(plan: Plan) -> PyramidParams:
    params = plan.step("pyramid").params
    assert isinstance(params, PyramidParams)
    return params


# wiring


def test_straight_line_without_inputs_compiles_to_a_chain() -> None:
    """Steps with no 'inputs' each read the previous step's primary output."""
    plan = parse(STRAIGHT_LINE)

    assert [s.id for s in plan.steps] == ["decoded", "resized", "encoded"]
    assert plan.step("resized").inputs == (Binding("image", Ref("decoded"), Kind.IMAGE),)
    assert plan.step("encoded").inputs == (Binding("image", Ref("resized"), Kind.IMAGE),)


def test_first_implicit_step_reads_the_source() -> None:
    """The first step with no 'inputs' reads the task's original bytes."""
    plan = parse(STRAIGHT_LINE)

    assert plan.step("decoded").inputs == (Binding("data", Ref(SOURCE), Kind.BYTES),)
    assert plan.step("decoded").depends_on == frozenset()


def test_outputs_name_the_step_and_kind_they_come_from() -> None:
    """Each pipeline output becomes a PlanOutput with its reference and kind."""
    plan = parse(STRAIGHT_LINE)

    assert plan.outputs == (PlanOutput("picture", Ref("encoded"), Kind.ENCODED),)


def test_explicit_step_port_references_bind_that_port() -> None:
    """'pnet.reg' binds model output 'reg' of step 'pnet', a pyramid like the model's input."""
    plan = parse(example("face_detection"))

    assert plan.step("candidates").inputs == (
        Binding("reg", Ref("pnet", "reg"), Kind.PYRAMID),
        Binding("prob", Ref("pnet", "prob"), Kind.PYRAMID),
    )
    assert plan.step("candidates").depends_on == frozenset({"pnet"})


def test_explicit_reference_to_a_named_cpu_output() -> None:
    """'decoded.image' names image.decode's output port explicitly."""
    raw = pipeline(
        step("decoded", "image.decode", inputs={"data": SOURCE}),
        step("encoded", "output.encode", inputs={"image": "decoded.image"}),
        outputs={"picture": "encoded"},
    )

    plan = parse(raw)

    assert plan.step("encoded").inputs == (Binding("image", Ref("decoded", "image"), Kind.IMAGE),)


def test_implicit_model_input_carries_the_producers_tensor_facts() -> None:
    """A model step left implicit binds its only input to the previous tensor, with its facts."""
    plan = parse(example("classification"))

    assert plan.step("top5").inputs == (
        Binding(ONLY_TENSOR, Ref("tensor"), Kind.TENSOR, TensorFacts("FP32", (1, 3, None, None))),
    )


def test_plan_order_is_topological_whatever_the_document_order() -> None:
    """A consumer listed before its producer still runs after it."""
    raw = pipeline(
        step("encoded", "output.encode", inputs={"image": "resized"}),
        step("resized", "image.resize", params={"width": 8}, inputs={"image": "decoded"}),
        step("decoded", "image.decode", inputs={"data": SOURCE}),
        outputs={"picture": "encoded"},
    )

    plan = parse(raw)

    assert [s.id for s in plan.steps] == ["decoded", "resized", "encoded"]


# settings references


def test_setting_reference_takes_the_tasks_value() -> None:
    """A value in the task's settings wins over the reference's default."""
    raw = pyramid_with({"$setting": "min_face", "default": 20})

    plan = parse(raw, {"min_face": 48})

    assert pyramid_params(plan).min_size == 48


def test_setting_reference_falls_back_to_its_default() -> None:
    """A setting the task does not hold takes the reference's default."""
    raw = pyramid_with({"$setting": "min_face", "default": 32})

    plan = parse(raw, {"other": 1})

    assert pyramid_params(plan).min_size == 32


def test_setting_reference_follows_a_dotted_name_into_nested_settings() -> None:
    """'faces.detector.min_size' reads settings['faces']['detector']['min_size']."""
    raw = pyramid_with({"$setting": "faces.detector.min_size"})

    plan = parse(raw, {"faces": {"detector": {"min_size": 40}}})

    assert pyramid_params(plan).min_size == 40


def test_setting_reference_inside_a_list_param_is_resolved() -> None:
    """A reference can stand for one element of a list-valued param."""
    raw = pipeline(
        step("decoded", "image.decode"),
        step("tensor", "tensor.from_image", params={"mean": [{"$setting": "red"}, 2, 3]}),
        step("top5", "model.classify", params={"model": "mobilenet_v2"}),
        outputs={"top5": "top5"},
    )

    plan = parse(raw, {"red": 1.5})

    params = plan.step("tensor").params
    assert isinstance(params, FromImageParams)
    assert params.mean == (1.5, 2.0, 3.0)


def test_missing_setting_without_default_is_a_located_problem() -> None:
    """No value and no default is a problem at the param that holds the reference."""
    raw = pyramid_with({"$setting": "faces.min_size"})

    with pytest.raises(RequestInvalid) as caught:
        parse(raw, {"faces": {}})

    assert (
        Problem(
            "pyramid",
            "params.min_size",
            "setting 'faces.min_size' is not in the task's settings and the reference has no "
            "default",
        )
        in caught.value.problems
    )


def test_setting_value_is_validated_like_a_literal_param() -> None:
    """A setting of the wrong type is reported at the param, with pydantic's message."""
    raw = pyramid_with({"$setting": "min_face"})

    with pytest.raises(RequestInvalid) as caught:
        parse(raw, {"min_face": "big"})

    [problem] = caught.value.problems
    assert (problem.step, problem.field) == ("pyramid", "params.min_size")
    assert "valid integer" in problem.message


# conditions


@pytest.mark.parametrize(("settings", "enabled"), [({}, True), ({"draw": False}, False)])
def test_setting_condition_enables_or_disables_a_step(
    settings: dict[str, Any], enabled: bool
) -> None:
    """'when': {'$setting': ...} is decided at parse time from the task's settings."""
    raw = pipeline(
        step("decoded", "image.decode"),
        step("encoded", "output.encode", when={"$setting": "draw", "default": True}),
        outputs={"picture": "encoded"},
    )

    plan = parse(raw, settings)

    assert plan.step("encoded").enabled is enabled


def test_nonempty_condition_becomes_a_dependency() -> None:
    """'when': {'nonempty': ref} is kept for run time and orders the step after ref's producer."""
    raw = pipeline(
        step("decoded", "image.decode"),
        step("encoded", "output.encode", when={"nonempty": "faces"}),
        step("pyramid", "image.pyramid", inputs={"image": "decoded"}),
        step("pnet", "model.infer", params={"model": "mtcnn_pnet"}),
        step("faces", "detection.proposals", inputs={"reg": "pnet.reg", "prob": "pnet.prob"}),
        outputs={"picture": "encoded", "faces": "faces"},
    )

    plan = parse(raw)

    assert plan.step("encoded").run_if_nonempty == Ref("faces")
    assert plan.step("encoded").depends_on == frozenset({"decoded", "faces"})
    assert [s.id for s in plan.steps].index("encoded") > [s.id for s in plan.steps].index("faces")


# the compiled plan


def test_params_are_the_validated_models_with_defaults() -> None:
    """Each PlanStep holds its op's params model, with unspecified fields at their defaults."""
    plan = parse(STRAIGHT_LINE)

    params = plan.step("resized").params
    assert isinstance(params, ResizeParams)
    assert params.short_side == 64
    assert params.interpolation == "area"
    assert params.multiple_of == 1


def test_params_from_the_example_are_typed() -> None:
    """detection.proposals params in the face example are a ProposalsParams, not a dict."""
    plan = parse(example("face_detection"))

    params = plan.step("candidates").params
    assert isinstance(params, ProposalsParams)
    assert (params.threshold, params.nms_per_scale, params.nms) == (0.6, 0.5, 0.7)


@pytest.mark.parametrize(
    ("target", "attribute"),
    [
        (lambda plan: plan, "steps"),
        (lambda plan: plan.steps[0], "id"),
        (lambda plan: plan.steps[0].inputs[0], "ref"),
        (lambda plan: plan.steps[0].inputs[0].ref, "step"),
        (lambda plan: plan.outputs[0], "name"),
    ],
    ids=["plan", "step", "binding", "ref", "output"],
)
def test_plan_parts_are_frozen(target: Any, attribute: str) -> None:
    """No part of a compiled plan can be reassigned."""
    part = target(parse(STRAIGHT_LINE))

    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(part, attribute, None)


def test_plan_collections_are_tuples() -> None:
    """Steps, inputs and outputs are tuples, so a plan cannot grow or shrink after compiling."""
    plan = parse(STRAIGHT_LINE)

    assert isinstance(plan.steps, tuple)
    assert isinstance(plan.outputs, tuple)
    assert all(isinstance(s.inputs, tuple) for s in plan.steps)


def test_plan_params_are_frozen() -> None:
    """Params models refuse assignment after validation."""
    params = parse(STRAIGHT_LINE).step("resized").params

    with pytest.raises(ValidationError, match="frozen"):
        params.short_side = 1  # type: ignore[attr-defined]


def test_equal_documents_compile_to_equal_plans() -> None:
    """Parsing is deterministic: the same document gives an equal plan."""
    first = parse(example("face_detection"))

    second = parse(example("face_detection"))

    assert first == second
