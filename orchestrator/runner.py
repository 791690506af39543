"""Executes a Plan: independent branches concurrently, CPU steps off the event loop."""

from __future__ import annotations

import asyncio
import graphlib
import logging
import time
from dataclasses import dataclass

import anyio
import anyio.to_thread

from orchestrator.dsl.plan import SOURCE, Plan, PlanStep, Ref
from orchestrator.errors import MLWorkerError, StepFailed
from orchestrator.settings import Limits
from orchestrator.steps.context import ModelUse, StepContext
from orchestrator.triton.client import TritonClient
from orchestrator.values import Classes, Detections, SourceBytes, Tensor, Value

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunResult:
    """The plan's named outputs (None when skipped), step timings, skipped steps, models used."""

    outputs: dict[str, Value | None]
    timings_ms: dict[str, float]
    skipped: tuple[str, ...]
    models: dict[str, ModelUse]


class Runner:
    """Runs plans; one per app, shared by all requests."""

    def __init__(self, triton: TritonClient, limits: Limits, cpu_workers: int) -> None:
        self._triton = triton
        self._limits = limits
        self._cpu = anyio.CapacityLimiter(cpu_workers)

    async def run(self, plan: Plan, source: bytes) -> RunResult:
        """Every step of ``plan`` on ``source``; the first failure cancels the rest."""
        values: dict[tuple[str, str | None], Value] = {(SOURCE, None): SourceBytes(source)}
        timings: dict[str, float] = {}
        models: dict[str, ModelUse] = {}
        skipped: list[str] = []
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter(
            {s.id: s.depends_on for s in plan.steps}
        )
        sorter.prepare()
        running: dict[asyncio.Task[None], str] = {}
        try:
            while sorter.is_active():
                for step_id in sorter.get_ready():
                    step = plan.step(step_id)
                    if not _should_run(step, values):
                        skipped.append(step_id)
                        sorter.done(step_id)
                        continue
                    task = asyncio.create_task(self._run_step(step, values, timings, models))
                    running[task] = step_id
                if not running:
                    continue
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    step_id = running.pop(task)
                    task.result()
                    sorter.done(step_id)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        outputs = {o.name: values.get((o.ref.step, o.ref.port)) for o in plan.outputs}
        return RunResult(outputs, timings, tuple(skipped), models)

    async def _run_step(
        self,
        step: PlanStep,
        values: dict[tuple[str, str | None], Value],
        timings: dict[str, float],
        models: dict[str, ModelUse],
    ) -> None:
        inputs = {b.port: _lookup(values, b.ref) for b in step.inputs}
        ctx = StepContext(step.id, self._triton, self._limits, models)
        started = time.perf_counter()
        try:
            if step.type.cpu is not None:
                outputs = await anyio.to_thread.run_sync(
                    step.type.cpu, step.params, inputs, ctx, limiter=self._cpu
                )
            elif step.type.run_async is not None:
                outputs = await step.type.run_async(step.params, inputs, ctx)
            else:
                raise StepFailed(step.id, f"op '{step.type.op}' has no implementation")
        except MLWorkerError:
            raise
        except Exception as exc:
            log.exception("step %s (%s) failed", step.id, step.type.op)
            raise StepFailed(
                step.id, f"{step.type.op} failed: {type(exc).__name__}: {exc}"
            ) from exc
        timings[step.id] = round((time.perf_counter() - started) * 1000, 3)
        for port, value in outputs.items():
            values[(step.id, port)] = value
        if outputs:
            values[(step.id, None)] = next(iter(outputs.values()))


def _lookup(values: dict[tuple[str, str | None], Value], ref: Ref) -> Value:
    return values[(ref.step, ref.port)]


def _should_run(step: PlanStep, values: dict[tuple[str, str | None], Value]) -> bool:
    """False when disabled, when an input comes from a skipped step, or the condition is empty."""
    if not step.enabled or any((r.step, r.port) not in values for r in step.reads):
        return False
    condition = step.run_if_nonempty
    return condition is None or not _is_empty(_lookup(values, condition))


def _is_empty(value: Value) -> bool:
    if isinstance(value, Detections):
        return len(value) == 0
    if isinstance(value, Classes):
        return len(value.items) == 0
    if isinstance(value, Tensor):
        return value.data.shape[0] == 0
    return False
