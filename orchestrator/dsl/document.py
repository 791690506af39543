"""The pipeline definition as the backend writes it: the JSON shape, before any meaning."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

STEP_ID_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
REF_PATTERN = r"^(\$source|[a-z][a-z0-9_]{0,63}(\.[A-Za-z0-9_.:/-]{1,128})?)$"
OUTPUT_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"

RefText = Annotated[str, StringConstraints(pattern=REF_PATTERN)]
OutputName = Annotated[str, StringConstraints(pattern=OUTPUT_NAME_PATTERN)]


class Condition(BaseModel):
    """When a step runs: ``{"nonempty": "faces"}`` (at run time, the output has items) or
    ``{"$setting": "redaction.enabled", "default": true}`` (a boolean tenant setting).

    A skipped step produces nothing; steps reading it are skipped too, and pipeline outputs
    that come from a skipped step are ``null`` in the result.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        # The validator below, for schema readers: exactly one of the two kinds.
        json_schema_extra={"oneOf": [{"required": ["nonempty"]}, {"required": ["$setting"]}]},
    )

    nonempty: RefText | None = None
    setting: str | None = Field(None, alias="$setting", min_length=1, max_length=128)
    default: bool | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        if (self.nonempty is None) == (self.setting is None):
            raise ValueError("a condition is either {'nonempty': ref} or {'$setting': name}")
        if self.nonempty is not None and self.default is not None:
            raise ValueError("'default' belongs to a '$setting' condition")
        return self


class StepDocument(BaseModel):
    """One step: ``op`` from the registry, its ``params``, and where its inputs come from.

    ``inputs`` maps the op's input ports to ``"step"`` (that step's primary output),
    ``"step.port"`` or ``"$source"`` (the task's image bytes). Left out, a step with one
    required input reads the previous step's primary output (or ``$source`` when first).
    A param value may be ``{"$setting": "dotted.name", "default": ...}``: it is replaced by the
    task's settings value (or the default) before the params are validated.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=STEP_ID_PATTERN)
    op: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, RefText] | None = None
    when: Condition | None = None


class PipelineDocument(BaseModel):
    """A whole pipeline definition (DSL version 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    steps: list[StepDocument] = Field(min_length=1)
    outputs: dict[OutputName, RefText] = Field(min_length=1)
