"""Wire models of the HTTP API (the seed design's ProcessingRequest is the contract)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"
MAX_BODY_BYTES = 1024 * 1024  # Cloud Tasks caps HTTP task bodies at 1 MB


class ProcessingRequest(BaseModel):
    """One Cloud Task: which image to process, how (the pipeline), and where to report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: str = Field(pattern=TENANT_PATTERN)
    session_id: UUID
    image_id: UUID
    image_url: str = Field(
        pattern=r"^gs://",
        max_length=2048,
        description="gs://<bucket>/<tenant_id>/originals/<object>",
    )
    pipeline_definition: dict[str, Any] = Field(
        description="The pipeline DSL document (see GET /schema/pipeline)"
    )
    settings: dict[str, Any] = Field(default_factory=dict)
    callback_url: AnyHttpUrl | None = None


class ValidationRequest(BaseModel):
    """A dry run: the pipeline and the settings it would be given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pipeline_definition: dict[str, Any]
    settings: dict[str, Any] = Field(default_factory=dict)
