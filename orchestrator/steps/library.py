"""The registry of every built-in op, assembled from the step families."""

from __future__ import annotations

from orchestrator.steps import detection, image, model, output, segmentation, tensor
from orchestrator.steps.registry import StepRegistry

FAMILIES = (image, tensor, detection, segmentation, model, output)


def build_registry() -> StepRegistry:
    """A fresh registry of all built-in ops; a name defined twice raises here."""
    registry = StepRegistry()
    for family in FAMILIES:
        for step_type in family.steps:
            registry.add(step_type)
    return registry
