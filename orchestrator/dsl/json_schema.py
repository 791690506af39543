"""The JSON Schema (draft 2020-12) of the pipeline DSL, generated from the step registry.

Nothing here is maintained by hand: the document's shape comes from ``PipelineDocument``,
each op's params from its params model, its ports from the registry. ``python -m orchestrator
schema`` writes it to schema/pipeline.schema.json and the app serves it at GET /schema/pipeline.

A settings reference may stand in for any param value (at any depth, as
``settings_refs.resolve`` replaces them before the params model sees the value), so every value
position of a params schema becomes ``anyOf: [<what the model accepts>, SettingRef]``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from orchestrator.dsl.document import PipelineDocument, StepDocument
from orchestrator.dsl.parser import MODEL_INPUT_KINDS
from orchestrator.dsl.settings_refs import DEFAULT_KEY, SETTING_KEY
from orchestrator.steps.registry import StepRegistry, StepType
from orchestrator.values import Kind

Schema = dict[str, Any]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:mlworker:schema:pipeline:1"
SETTING_REF = "SettingRef"
STEP = StepDocument.__name__
REF_HELP = "an earlier step's output: 'step' (its primary output), 'step.port', or '$source'"

# Keywords that describe a value rather than constrain it: they stay outside the anyOf
# so that editors and generated docs still show them.
_ANNOTATIONS = ("title", "description", "default", "examples", "deprecated")
# Keywords whose value is one subschema, or a list of them, in a value position.
_VALUE_POSITIONS = ("items", "additionalProperties")
_COMBINATORS = ("anyOf", "oneOf", "allOf")


def pipeline_schema(registry: StepRegistry) -> Schema:
    """The schema of a pipeline definition using the ops in ``registry``."""
    document = PipelineDocument.model_json_schema()
    defs: Schema = document.pop("$defs", {})
    base = defs.pop(STEP)
    branches = []
    for step_type in registry:
        name = def_name(step_type.op)
        params, nested = _params_schema(step_type, name)
        for key, schema in nested.items():
            _add(defs, key, schema)
        _add(defs, f"{name}Params", params)
        _add(defs, f"{name}Step", _step_schema(base, step_type, f"{name}Params", params))
        branches.append({"$ref": f"#/$defs/{name}Step"})
    defs[STEP] = {
        "title": "Step",
        "description": base.get("description", ""),
        "oneOf": branches,
    }
    _add(defs, SETTING_REF, _setting_ref_schema())
    document.pop("title", None)
    return {
        "$schema": DIALECT,
        "$id": SCHEMA_ID,
        "title": "MLWorker pipeline definition",
        **document,
        "$defs": defs,
    }


def def_name(op: str) -> str:
    """``image.center_crop`` -> ``ImageCenterCrop``: a name code generators turn into a class."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", op))


def ports_text(step_type: StepType) -> tuple[str, str]:
    """One-line descriptions of the op's inputs and outputs, for people."""
    if step_type.model:
        inputs = (
            "the Triton model's input tensor names, each bound to an earlier step's "
            f"{_kinds(MODEL_INPUT_KINDS)} output; left out, the previous step's "
            "output feeds the model's only input"
        )
    else:
        inputs = (
            ", ".join(
                f"{p.name} ({_kinds(p.kinds)}{', optional' if p.optional else ''})"
                for p in step_type.inputs
            )
            or "none"
        )
    outputs = ", ".join(
        f"{o.name} ({o.kind.value if o.kind else 'the kind of its first input'})"
        for o in step_type.outputs
    )
    if step_type.model and not outputs:
        outputs = (
            "the Triton model's output tensor names, read as 'step.<tensor>' "
            "(or 'step' when the model has one output); same kind as the input"
        )
    return inputs, outputs


def _kinds(kinds: frozenset[Kind]) -> str:
    return " or ".join(sorted(k.value for k in kinds))


def _step_schema(base: Schema, step_type: StepType, params_def: str, params: Schema) -> Schema:
    """``StepDocument``'s schema with ``op``, ``params`` and ``inputs`` made specific."""
    schema = copy.deepcopy(base)
    inputs_text, outputs_text = ports_text(step_type)
    schema["title"] = f"{step_type.op} step"
    schema["description"] = (
        f"{step_type.summary}\n\nInputs: {inputs_text}.\nOutputs: {outputs_text}."
    )
    properties = schema["properties"]
    properties["op"] = {"const": step_type.op}
    properties["params"] = {"$ref": f"#/$defs/{params_def}"}
    required = list(schema.get("required", []))
    if params.get("required"):
        required.append("params")
    inputs, inputs_required = _inputs_schema(step_type, properties["inputs"], inputs_text)
    properties["inputs"] = inputs
    if inputs_required:
        required.append("inputs")
    schema["required"] = required
    return schema


def _inputs_schema(step_type: StepType, base: Schema, text: str) -> tuple[Schema, bool]:
    """The ``inputs`` map for this op, and whether the step must spell it out.

    Left out, ``inputs`` binds the previous step to the op's one required input, so an op
    with several required inputs must name them.
    """
    value = _map_values(base)
    value = {**value, "description": REF_HELP} if value else {"description": REF_HELP}
    if step_type.model:
        mapping: Schema = {"type": "object", "additionalProperties": value}
        return {"description": f"Inputs: {text}.", "anyOf": [mapping, {"type": "null"}]}, False
    required = [p.name for p in step_type.inputs if not p.optional]
    mapping = {
        "type": "object",
        "properties": {
            p.name: {**value, "description": f"{_kinds(p.kinds)}: {REF_HELP}"}
            for p in step_type.inputs
        },
        "additionalProperties": False,
        "required": required,
    }
    description = f"Input ports: {text}."
    if len(required) > 1:
        return {"description": description, **mapping}, True
    return {"description": description, "anyOf": [mapping, {"type": "null"}]}, False


def _map_values(schema: Schema) -> Schema:
    """The schema of the values of the map that ``schema`` (possibly nullable) describes."""
    for branch in [schema, *schema.get("anyOf", [])]:
        values = branch.get("additionalProperties")
        if branch.get("type") == "object" and isinstance(values, dict):
            return dict(values)
    return {}


def _params_schema(step_type: StepType, prefix: str) -> tuple[Schema, dict[str, Schema]]:
    """The op's params schema accepting settings references, and its nested definitions.

    Nested definitions are prefixed with the op's name so two ops never clash.
    """
    raw = step_type.params.model_json_schema(ref_template=f"#/$defs/{prefix}{{model}}")
    nested = {f"{prefix}{k}": _accepting_refs(v) for k, v in raw.pop("$defs", {}).items()}
    params = _accepting_refs(raw)
    params["title"] = f"{step_type.op} params"
    return params, nested


def _accepting_refs(schema: Schema) -> Schema:
    """``schema`` with each value position inside it also accepting a SettingRef."""
    out = dict(schema)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _settable(v) for k, v in out["properties"].items()}
    if isinstance(out.get("prefixItems"), list):
        out["prefixItems"] = [_settable(v) for v in out["prefixItems"]]
    for key in _VALUE_POSITIONS:
        if isinstance(out.get(key), dict):
            out[key] = _settable(out[key])
    for key in _COMBINATORS:
        if isinstance(out.get(key), list):
            out[key] = [_accepting_refs(v) for v in out[key]]
    return out


def _settable(schema: Schema) -> Schema:
    """``anyOf: [schema, SettingRef]``, annotations kept on the outside."""
    notes = {k: v for k, v in schema.items() if k in _ANNOTATIONS}
    rest = {k: v for k, v in schema.items() if k not in _ANNOTATIONS}
    return {**notes, "anyOf": [_accepting_refs(rest), {"$ref": f"#/$defs/{SETTING_REF}"}]}


def _setting_ref_schema() -> Schema:
    return {
        "title": "Settings reference",
        "description": (
            "Stands for the value at this dotted path in the task's `settings` (or `default` "
            "when the path is absent), substituted before the params are validated."
        ),
        "type": "object",
        "properties": {
            SETTING_KEY: {"type": "string", "pattern": r"^[^.]+(\.[^.]+)*$"},
            DEFAULT_KEY: {"description": "Used when the task's settings lack the path."},
        },
        "required": [SETTING_KEY],
        "additionalProperties": False,
    }


def _add(defs: Schema, name: str, schema: Schema) -> None:
    if name in defs and defs[name] != schema:
        raise ValueError(f"two different JSON Schema definitions are both named '{name}'")
    defs[name] = schema
