"""Process configuration, read from the environment once at start-up (prefix ``MLWORKER_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Limits(BaseSettings):
    """Bounds that keep one task from exhausting the sidecar."""

    model_config = SettingsConfigDict(env_prefix="MLWORKER_LIMIT_", frozen=True)

    max_steps: int = Field(64, ge=1)
    max_image_bytes: int = Field(25 * 1024 * 1024, ge=1)
    max_image_pixels: int = Field(40_000_000, ge=1)
    max_output_side: int = Field(8192, ge=1)
    max_fan_out: int = Field(512, ge=1)
    max_pyramid_levels: int = Field(16, ge=1)
    max_tensor_bytes: int = Field(64 * 1024 * 1024, ge=1)
    plan_cache_size: int = Field(256, ge=0)


class Settings(BaseSettings):
    """Everything MLWorker needs to run; tests construct it directly."""

    model_config = SettingsConfigDict(env_prefix="MLWORKER_", frozen=True)

    triton_url: str = "127.0.0.1:8001"
    triton_timeout_s: float = Field(30.0, gt=0)
    model_metadata_ttl_s: float = Field(10.0, ge=0)

    bucket: str = "mlworker"
    # None means real Google Cloud Storage with ambient credentials.
    gcs_endpoint: str | None = None
    gcs_project: str = "mlworker-local"

    callback_timeout_s: float = Field(10.0, gt=0)
    callback_attempts: int = Field(3, ge=1)
    callback_backoff_s: float = Field(0.2, ge=0)

    cpu_workers: int = Field(4, ge=1)
    limits: Limits = Field(default_factory=Limits)
