"""Model steps: one Triton gRPC request per batch chunk (and per pyramid level).

Batches larger than the model's max_batch_size are split and sent concurrently, so Triton's
dynamic batcher can also merge them with other tasks' requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from orchestrator.dsl.plan import ONLY_TENSOR
from orchestrator.errors import LimitExceeded, ModelRejected
from orchestrator.steps.context import StepContext
from orchestrator.steps.registry import Inputs, OutputPort, Outputs, StepParams, StepRegistry
from orchestrator.triton.client import ModelSignature
from orchestrator.values import Classes, ClassScore, Kind, Pyramid, PyramidLevel, Tensor, Value

steps = StepRegistry()

MODEL_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,128}$"
VERSION_PATTERN = r"^[1-9][0-9]{0,8}$"


class InferParams(StepParams):
    """Run a Triton model on the bound tensors; outputs are the model's own tensor names."""

    model: str = Field(pattern=MODEL_NAME_PATTERN)
    version: str | None = Field(None, pattern=VERSION_PATTERN)


class ClassifyParams(InferParams):
    """Top-k classes of a Triton classifier output, labelled by the model's label file."""

    output: str | None = Field(None, min_length=1, max_length=128)
    top_k: int = Field(5, ge=1, le=100)
    softmax: bool = Field(
        False,
        description="the output holds logits: rank every class, then report softmax scores",
    )


def input_names(signature: ModelSignature, inputs: Inputs) -> dict[str, Value]:
    """Inputs keyed by the model's tensor names (the implicit port is its only input)."""
    if ONLY_TENSOR in inputs:
        return {signature.inputs[0].name: inputs[ONLY_TENSOR]}
    return dict(inputs)


@steps.model("model.infer", InferParams)
async def infer(params: InferParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    signature = await ctx.triton.signature(params.model, params.version or "")
    named = input_names(signature, inputs)
    wanted = [o.name for o in signature.outputs]
    if all(isinstance(v, Pyramid) for v in named.values()):
        return await _infer_pyramid(ctx, signature, params.version, named, wanted)
    arrays = {name: _tensor(ctx.step, name, value) for name, value in named.items()}
    outputs = await _infer_batched(ctx, signature, params.version, arrays, wanted)
    return {name: Tensor(array) for name, array in outputs.items()}


@steps.model("model.classify", ClassifyParams, (OutputPort("classes", Kind.CLASSES),))
async def classify(params: ClassifyParams, inputs: Inputs, ctx: StepContext) -> Outputs:
    signature = await ctx.triton.signature(params.model, params.version or "")
    named = input_names(signature, inputs)
    output = params.output or signature.outputs[0].name
    arrays = {name: _tensor(ctx.step, name, value) for name, value in named.items()}
    # Softmax needs every logit; Triton's classification extension still supplies the labels.
    count = _class_count(ctx.step, signature, output) if params.softmax else params.top_k
    raw = await _infer_batched(ctx, signature, params.version, arrays, [output], {output: count})
    rows = [_class_row(ctx.step, row) for row in raw[output]]
    if params.softmax:
        rows = [_softmax(row)[: params.top_k] for row in rows]
    return {"classes": Classes(tuple(rows))}


def _class_count(step: str, signature: ModelSignature, output: str) -> int:
    spec = signature.output(output)
    if spec is None or not spec.shape or spec.shape[-1] < 1:
        raise ModelRejected(step, f"softmax needs a fixed class count on output '{output}'")
    return spec.shape[-1]


def _softmax(row: tuple[ClassScore, ...]) -> tuple[ClassScore, ...]:
    """Scores of a complete, ranked row of logits turned into probabilities (order kept)."""
    logits = np.array([c.score for c in row], dtype=np.float64)
    weights = np.exp(logits - logits.max())
    probabilities = weights / weights.sum()
    return tuple(
        ClassScore(c.index, c.label, float(p)) for c, p in zip(row, probabilities, strict=True)
    )


async def _infer_pyramid(
    ctx: StepContext,
    signature: ModelSignature,
    version: str | None,
    named: Mapping[str, Value],
    wanted: Sequence[str],
) -> Outputs:
    pyramids = {name: value for name, value in named.items() if isinstance(value, Pyramid)}
    first = next(iter(pyramids.values()))
    per_level = await asyncio.gather(
        *(
            _infer_batched(
                ctx,
                signature,
                version,
                {name: p.levels[i].data for name, p in pyramids.items()},
                wanted,
            )
            for i in range(len(first.levels))
        )
    )
    return {
        name: Pyramid(
            tuple(
                PyramidLevel(level.scale, outputs[name])
                for level, outputs in zip(first.levels, per_level, strict=True)
            )
        )
        for name in wanted
    }


async def _infer_batched(
    ctx: StepContext,
    signature: ModelSignature,
    version: str | None,
    arrays: Mapping[str, NDArray[Any]],
    wanted: Sequence[str],
    class_counts: Mapping[str, int] | None = None,
) -> dict[str, NDArray[Any]]:
    """Outputs for the whole batch, sent in chunks of at most max_batch_size."""
    for name, array in arrays.items():
        _check_before_send(ctx.step, signature, name, array)
    total = sum(a.nbytes for a in arrays.values())
    if total > ctx.limits.max_tensor_bytes:
        raise LimitExceeded(
            f"step '{ctx.step}' would send {total} bytes to model '{signature.name}'; "
            f"at most {ctx.limits.max_tensor_bytes} per request"
        )
    size = len(next(iter(arrays.values())))
    limit = signature.max_batch_size
    if limit == 0:
        chunks = [(0, size)]
    elif size == 0:
        return {name: _empty_output(signature, name, class_counts) for name in wanted}
    else:
        chunks = [(start, min(start + limit, size)) for start in range(0, size, limit)]
    outcomes = await asyncio.gather(
        *(
            ctx.triton.infer(
                ctx.step,
                signature.name,
                version or "",
                {n: a[lo:hi] for n, a in arrays.items()},
                wanted,
                class_counts,
            )
            for lo, hi in chunks
        )
    )
    ctx.record_model(signature.name, outcomes[0].model_version)
    return {name: np.concatenate([o.outputs[name] for o in outcomes]) for name in wanted}


def _check_before_send(
    step: str, signature: ModelSignature, name: str, array: NDArray[Any]
) -> None:
    """Refuse what Triton would refuse, naming the step and tensor, without a round trip."""
    spec = signature.input(name)
    if spec is None:
        return
    if array.dtype != spec.dtype:
        raise ModelRejected(
            step,
            f"input '{name}' is {array.dtype}, but model '{signature.name}' takes {spec.datatype}",
        )
    fits = len(array.shape) == len(spec.shape) and all(
        want in (-1, got) for want, got in zip(spec.shape, array.shape, strict=True)
    )
    if not fits:
        raise ModelRejected(
            step,
            f"input '{name}' has shape {list(array.shape)}, but model '{signature.name}' takes "
            f"{list(spec.shape)} (-1: any size)",
        )


def _tensor(step: str, name: str, value: Value) -> NDArray[Any]:
    if not isinstance(value, Tensor):
        raise ModelRejected(step, f"input '{name}' mixes a pyramid with plain tensors")
    return value.data


def _empty_output(
    signature: ModelSignature, name: str, class_counts: Mapping[str, int] | None
) -> NDArray[Any]:
    if class_counts and name in class_counts:
        return np.zeros((0, class_counts[name]), dtype=np.object_)
    spec = signature.output(name)
    dims = tuple(max(d, 0) for d in spec.shape[1:]) if spec else ()
    return np.zeros((0, *dims), dtype=spec.dtype if spec else np.float32)


def _class_row(step: str, row: NDArray[Any]) -> tuple[ClassScore, ...]:
    """Triton's classification strings ``score:index[:label]``, best first."""
    scores = []
    for entry in row:
        text = entry.decode() if isinstance(entry, bytes) else str(entry)
        parts = text.split(":", 2)
        if len(parts) < 2:
            raise ModelRejected(step, f"unexpected classification entry '{text}'")
        label = parts[2] if len(parts) == 3 else parts[1]
        scores.append(ClassScore(int(parts[1]), label, float(parts[0])))
    return tuple(scores)
