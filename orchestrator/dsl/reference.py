"""The step reference (Markdown), generated from the registry: one section per op.

Types, defaults and constraints are read from each params model's JSON Schema, ports from
the registry, so the page cannot drift from the code. ``python -m orchestrator docs`` writes it.
"""

from __future__ import annotations

import inspect
import json
import math
import re
from typing import Any

from orchestrator.dsl.document import PipelineDocument, StepDocument
from orchestrator.dsl.json_schema import Schema, ports_text
from orchestrator.dsl.settings_refs import DEFAULT_KEY, SETTING_KEY
from orchestrator.steps.registry import StepRegistry, StepType
from orchestrator.values import FILE_KINDS, JSON_KINDS, Kind


def step_reference(registry: StepRegistry) -> str:
    """The whole reference page."""
    parts = [_introduction(registry), *(_section(t) for t in registry)]
    return "\n\n".join(parts) + "\n"


def example_step(step_type: StepType) -> dict[str, Any]:
    """A step using ``step_type``: defaults spelled out, placeholders for required params."""
    schema = step_type.params.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    params: dict[str, Any] = {}
    for name, field in schema.get("properties", {}).items():
        if name in required:
            params[name] = _placeholder(name, field, defs)
        elif field.get("default") is not None:
            params[name] = field["default"]
    step: dict[str, Any] = {"id": step_type.op.rpartition(".")[2], "op": step_type.op}
    if params:
        step["params"] = params
    needed = [p.name for p in step_type.inputs if not p.optional]
    if len(needed) > 1:
        step["inputs"] = {name: f"{name}_step" for name in needed}
    return step


def _introduction(registry: StepRegistry) -> str:
    ops = "\n".join(f"| `{t.op}` | {_cell(t.summary)} |" for t in registry)
    kinds = "\n".join(
        f"| `{kind.value}` | {_ops_with(registry, kind, produced=True)} | "
        f"{_ops_with(registry, kind, produced=False)} | {_as_output(kind)} |"
        for kind in Kind
    )
    return f"""# Pipeline steps

Generated from the step registry by `python -m orchestrator docs --out docs`; do not edit.
The machine-readable form is `schema/pipeline.schema.json` (also served at
`GET /schema/pipeline`); `POST /pipelines/validate` or `python -m orchestrator validate FILE`
checks a pipeline without running it.

{_markdown(PipelineDocument.__doc__)} A pipeline is
`{{"version": 1, "steps": [...], "outputs": {{"name": "step" or "step.port"}}}}`.

## Step fields

{_step_fields()}

## Ops

| op | summary |
|---|---|
{ops}

## Kinds

Every port carries one kind of value; a step input accepts only the kinds listed for it.

| kind | produced by | accepted by | as a pipeline output |
|---|---|---|---|
{kinds}"""


def _step_fields() -> str:
    """StepDocument's fields, and what each nested object means."""
    schema = StepDocument.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    rows = ["| field | type | required | constraints |", "|---|---|---|---|"]
    for name, field in schema["properties"].items():
        cells = [
            f"`{name}`",
            _type(field, defs),
            "yes" if name in required else "no",
            "; ".join(_constraints(field, defs)),
        ]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    notes = [
        f"**{d.get('title', name)}**: {_markdown(d.get('description'))}" for name, d in defs.items()
    ]
    setting = json.dumps({SETTING_KEY: "faces.min_size", DEFAULT_KEY: 20})
    return "\n\n".join(
        [
            _markdown(schema.get("description")),
            "\n".join(rows),
            *notes,
            f"Example of a settings reference as a param value: `{setting}`.",
        ]
    )


def _markdown(docstring: str | None) -> str:
    """A docstring as Markdown: reST's double backticks become single ones."""
    return inspect.cleandoc(docstring or "").replace("``", "`")


def _ops_with(registry: StepRegistry, kind: Kind, produced: bool) -> str:
    ops = [
        t.op
        for t in registry
        if (
            any(o.kind == kind for o in t.outputs)
            if produced
            else any(kind in p.kinds for p in t.inputs)
        )
    ]
    return ", ".join(f"`{op}`" for op in ops) or "-"


def _as_output(kind: Kind) -> str:
    if kind in JSON_KINDS:
        return "JSON in the result"
    if kind in FILE_KINDS:
        return "a file in the bucket"
    return "no"


def _section(step_type: StepType) -> str:
    inputs, outputs = ports_text(step_type)
    schema = step_type.params.model_json_schema()
    example = _pretty(example_step(step_type))
    return f"""## `{step_type.op}`

{_markdown(step_type.summary)}

**Params**

{_params_table(schema)}

**Inputs:** {inputs}.

**Outputs:** {outputs}.

**Example**

```json
{example}
```"""


def _params_table(schema: Schema) -> str:
    properties: dict[str, Schema] = schema.get("properties", {})
    if not properties:
        return "No params."
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    described = any("description" in p for p in properties.values())
    header = "| name | type | default | constraints |" + (" description |" if described else "")
    rows = [header, "|---" * (5 if described else 4) + "|"]
    for name, field in properties.items():
        default = "required" if name in required else f"`{json.dumps(field.get('default'))}`"
        cells = [f"`{name}`", _type(field, defs), default, "; ".join(_constraints(field, defs))]
        if described:
            cells.append(field.get("description", ""))
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows)


def _resolve(schema: Schema, defs: Schema) -> Schema:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        resolved: Schema = defs[ref.rpartition("/")[2]]
        return resolved
    return schema


def _type(schema: Schema, defs: Schema) -> str:
    schema = _resolve(schema, defs)
    if "anyOf" in schema:
        return " or ".join(_type(s, defs) for s in schema["anyOf"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array" and "prefixItems" in schema:
        return "[" + ", ".join(_type(s, defs) for s in schema["prefixItems"]) + "]"
    if kind == "array":
        return f"array of {_type(schema.get('items', {}), defs)}"
    if kind == "object" and "title" in schema and "properties" in schema:
        return f"object ({schema['title']})"
    return str(kind)


_BOUNDS = (
    ("minimum", ">="),
    ("exclusiveMinimum", ">"),
    ("maximum", "<="),
    ("exclusiveMaximum", "<"),
    ("minLength", "length >="),
    ("maxLength", "length <="),
)


def _constraints(schema: Schema, defs: Schema) -> list[str]:
    schema = _resolve(schema, defs)
    found = [f"{symbol} {schema[key]}" for key, symbol in _BOUNDS if key in schema]
    if "pattern" in schema:
        found.append(f"matches `{schema['pattern']}`")
    for branch in schema.get("anyOf", []):
        found += _constraints(branch, defs)
    items = [*schema.get("prefixItems", []), *([schema["items"]] if "items" in schema else [])]
    item_rules = dict.fromkeys(c for item in items for c in _constraints(item, defs))
    found += [f"each item {c}" for c in item_rules]
    return found


def _placeholder(name: str, schema: Schema, defs: Schema) -> Any:
    """A value of the right type for a required param, within its bounds."""
    schema = _resolve(schema, defs)
    if "anyOf" in schema:
        branches = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return _placeholder(name, branches[0] if branches else {}, defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind in ("integer", "number"):
        return _number(schema, kind == "integer")
    if kind == "string":
        text = f"my_{name}"
        pattern = schema.get("pattern")
        return text if pattern is None or re.search(pattern, text) else f"<{name}>"
    if kind == "boolean":
        return False
    if kind == "array":
        items = schema.get("prefixItems") or [schema.get("items", {})] * schema.get("minItems", 1)
        return [_placeholder(name, item, defs) for item in items]
    return {}


def _number(schema: Schema, integer: bool) -> int | float:
    """A number inside the schema's bounds (the middle, for a bounded float)."""
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None and high is not None and not integer:
        return float((low + high) / 2)
    if low is not None:
        value = math.floor(low) + 1 if "exclusiveMinimum" in schema else low
    elif high is not None:
        value = math.ceil(high) - 1 if "exclusiveMaximum" in schema else high
    else:
        value = 1
    return int(value) if integer else float(value)


def _pretty(value: Any, indent: str = "") -> str:
    """JSON with one object member per line and every other value on one line."""
    if not isinstance(value, dict) or not value:
        return json.dumps(value)
    inner = indent + "  "
    members = ",\n".join(f"{inner}{json.dumps(k)}: {_pretty(v, inner)}" for k, v in value.items())
    return "{\n" + members + "\n" + indent + "}"


def _cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell (GitHub wants ``\\|`` even in code)."""
    return text.replace("\n", " ").replace("|", "\\|")
