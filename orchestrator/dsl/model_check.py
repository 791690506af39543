"""Checks a Plan's model steps against the LIVE Triton signatures, before any compute."""

from __future__ import annotations

import asyncio

from orchestrator.dsl.plan import ONLY_TENSOR, Binding, Plan, PlanStep, Ref
from orchestrator.errors import Problem
from orchestrator.steps.model import ClassifyParams, InferParams
from orchestrator.triton.client import ModelSignature, RepositoryEntry, TritonClient
from orchestrator.values import TensorFacts


async def check_models(plan: Plan, triton: TritonClient) -> tuple[Problem, ...]:
    """Every mismatch between the plan and the models it names; empty when all fit.

    An unknown model or version is the pipeline's fault (400); a known model that is not
    ready raises ModelUnavailable (503, retried) since a rollout may be under way.
    """
    model_steps = [s for s in plan.steps if s.type.model]
    if not model_steps:
        return ()
    repository = await triton.repository()
    problems: list[Problem] = []
    signatures: dict[str, ModelSignature] = {}
    known = [s for s in model_steps if _in_repository(s, repository, problems)]
    found = await asyncio.gather(
        *(triton.signature(_params(s).model, _params(s).version or "") for s in known)
    )
    for step, signature in zip(known, found, strict=True):
        signatures[step.id] = signature
        problems.extend(_check_inputs(step, signature))
        problems.extend(_check_classify(step, signature))
    for reader, field, ref in _references(plan):
        target = signatures.get(ref.step)
        if target is not None and not plan.step(ref.step).type.outputs:
            problems.extend(_check_output_ref(reader, field, ref, target))
    return tuple(problems)


def _params(step: PlanStep) -> InferParams:
    assert isinstance(step.params, InferParams)
    return step.params


def _in_repository(
    step: PlanStep, repository: tuple[RepositoryEntry, ...], problems: list[Problem]
) -> bool:
    params = _params(step)
    entries = [e for e in repository if e.name == params.model]
    if not entries:
        names = sorted({e.name for e in repository})
        problems.append(
            Problem(
                step.id,
                "params.model",
                f"Triton has no model '{params.model}'; models: {', '.join(names) or 'none'}",
            )
        )
        return False
    versions = {e.version for e in entries}
    if params.version is not None and params.version not in versions:
        problems.append(
            Problem(
                step.id,
                "params.version",
                f"model '{params.model}' has no "
                f"version {params.version}; versions: "
                f"{', '.join(sorted(versions))}",
            )
        )
        return False
    return True


def _check_inputs(step: PlanStep, signature: ModelSignature) -> list[Problem]:
    names = [t.name for t in signature.inputs]
    listed = ", ".join(names)
    ports = [b.port for b in step.inputs]
    model = f"model '{signature.name}'"
    if ports == [ONLY_TENSOR]:
        if len(names) != 1:
            return [
                Problem(step.id, "inputs", f"{model} has inputs {listed}: name each in 'inputs'")
            ]
        return _check_facts(step, step.inputs[0], names[0], signature)
    problems = [
        Problem(step.id, f"inputs.{p}", f"{model} has no input '{p}'; its inputs: {listed}")
        for p in ports
        if p not in names
    ]
    problems += [
        Problem(step.id, "inputs", f"{model} needs input '{n}'") for n in names if n not in ports
    ]
    for binding in step.inputs:
        if binding.port in names:
            problems += _check_facts(step, binding, binding.port, signature)
    return problems


def _check_facts(
    step: PlanStep, binding: Binding, tensor: str, signature: ModelSignature
) -> list[Problem]:
    """dtype, rank, fixed dims and batching of what the producer's params promise."""
    spec = signature.input(tensor)
    facts = binding.facts
    if spec is None or facts is None:
        return []
    field = "inputs" if binding.port == ONLY_TENSOR else f"inputs.{binding.port}"
    wanted = TensorFacts(spec.datatype, tuple(None if d == -1 else d for d in spec.shape))
    fits = (
        facts.datatype == spec.datatype
        and len(facts.shape) == len(spec.shape)
        and all(
            w is None or f is None or w == f for w, f in zip(wanted.shape, facts.shape, strict=True)
        )
    )
    if signature.max_batch_size == 0 and fits and facts.shape and facts.shape[0] != 1:
        return [
            Problem(
                step.id,
                field,
                f"'{binding.ref}' gives a batch of "
                f"{facts.shape[0] or 'N'} rows; model '{signature.name}' does not batch",
            )
        ]
    if fits:
        return []
    return [
        Problem(
            step.id,
            field,
            f"'{binding.ref}' gives {facts}, but model "
            f"'{signature.name}' input '{tensor}' takes {wanted}",
        )
    ]


def _check_classify(step: PlanStep, signature: ModelSignature) -> list[Problem]:
    if not isinstance(step.params, ClassifyParams):
        return []
    names = [t.name for t in signature.outputs]
    output = step.params.output
    if output is None and len(names) != 1:
        return [
            Problem(
                step.id,
                "params.output",
                f"model '{signature.name}' has outputs {', '.join(names)}: name one",
            )
        ]
    if output is not None and output not in names:
        return [
            Problem(
                step.id,
                "params.output",
                f"model '{signature.name}' has no output "
                f"'{output}'; its outputs: {', '.join(names)}",
            )
        ]
    return []


def _references(plan: Plan) -> list[tuple[str | None, str, Ref]]:
    refs: list[tuple[str | None, str, Ref]] = [
        (s.id, f"inputs.{b.port}", b.ref) for s in plan.steps for b in s.inputs
    ]
    refs += [(None, f"outputs.{o.name}", o.ref) for o in plan.outputs]
    return refs


def _check_output_ref(
    reader: str | None, field: str, ref: Ref, signature: ModelSignature
) -> list[Problem]:
    names = [t.name for t in signature.outputs]
    if ref.port is None and len(names) != 1:
        return [
            Problem(
                reader,
                field,
                f"'{ref.step}' runs model '{signature.name}', which has "
                f"outputs {', '.join(names)}: write '{ref.step}.<output>'",
            )
        ]
    if ref.port is not None and ref.port not in names:
        return [
            Problem(
                reader,
                field,
                f"model '{signature.name}' (step '{ref.step}') has no "
                f"output '{ref.port}'; its outputs: {', '.join(names)}",
            )
        ]
    return []
