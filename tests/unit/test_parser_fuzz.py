"""Whatever JSON arrives, the parser answers a Plan or RequestInvalid, and the API never a 5xx."""

from __future__ import annotations

import copy
import json
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.dsl.document import STEP_ID_PATTERN
from orchestrator.dsl.parser import PipelineParser
from orchestrator.dsl.plan import Plan
from orchestrator.errors import RequestInvalid
from orchestrator.settings import Limits
from orchestrator.steps.library import build_registry
from tests.conftest import BUCKET, ROOT, TENANT, task

PARSER = PipelineParser(build_registry(), Limits())
EXAMPLES = tuple(
    json.loads(path.read_text()) for path in sorted((ROOT / "examples").glob("*.json"))
)
OPS = tuple(t.op for t in build_registry())
IDS = tuple(sorted({s["id"] for e in EXAMPLES for s in e["steps"]}))
PARAMS = tuple(sorted({name for t in build_registry() for name in t.params.model_fields}))
PORTS = tuple(sorted({p for e in EXAMPLES for s in e["steps"] for p in s.get("inputs", {})}))
REFS = tuple(
    sorted({r for e in EXAMPLES for s in e["steps"] for r in s.get("inputs", {}).values()})
)
WORDS = (
    *OPS,
    *IDS,
    *REFS,
    "$source",
    "$setting",
    "default",
    "nonempty",
    "faces.min_size",
)
KEYS = ("version", "steps", "outputs", "id", "op", "params", "inputs", "when", *WORDS)
MISSING_IMAGE = f"gs://{BUCKET}/{TENANT}/originals/fuzz-missing.jpg"
PER_EXAMPLE_S = 2.0

Json = Any
Path = tuple[str | int, ...]


def json_values(finite: bool) -> st.SearchStrategy[Json]:
    """Any JSON value, with strings and keys biased towards the DSL's own words."""
    texts = st.sampled_from(WORDS) | st.text(max_size=12)
    leaves = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=not finite, allow_infinity=not finite)
        | texts
    )
    keys = st.sampled_from(KEYS) | st.text(max_size=8)
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=16,
    )


TASK_SETTINGS = st.dictionaries(
    st.sampled_from(("faces", "classification", "redaction", "min_score")) | st.text(max_size=6),
    json_values(finite=True)
    | st.dictionaries(
        st.sampled_from(("min_size", "min_score", "top_k", "enabled", "method")),
        json_values(finite=True),
        max_size=3,
    ),
    max_size=3,
)


# mutations of the example pipelines


def paths(node: Json, prefix: Path = ()) -> Iterator[Path]:
    """Every path in a JSON document, the root (empty path) first."""
    yield prefix
    children: list[tuple[str | int, Json]] = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    for key, child in children:
        yield from paths(child, (*prefix, key))


def at(document: Json, path: Path) -> Json:
    for key in path:
        document = document[key]
    return document


def steps_of(document: Json) -> list[dict[str, Json]]:
    found = document.get("steps") if isinstance(document, dict) else None
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []


Draw = Callable[[st.SearchStrategy[Any]], Any]


def drop(draw: Draw, document: Json) -> Json:
    inner = list(paths(document))[1:]
    if inner:
        path = draw(st.sampled_from(inner))
        del at(document, path[:-1])[path[-1]]
    return document


def replace(draw: Draw, document: Json) -> Json:
    path = draw(st.sampled_from(list(paths(document))))
    value = draw(json_values(finite=False))
    if not path:
        return value
    at(document, path[:-1])[path[-1]] = value
    return document


def add_unknown_key(draw: Draw, document: Json) -> Json:
    objects = [p for p in paths(document) if isinstance(at(document, p), dict)]
    if objects:
        at(document, draw(st.sampled_from(objects)))[draw(st.text(max_size=8))] = draw(
            json_values(finite=False)
        )
    return document


def rename_op(draw: Draw, document: Json) -> Json:
    steps = steps_of(document)
    if steps:
        draw(st.sampled_from(steps))["op"] = draw(st.sampled_from(OPS) | st.text(max_size=12))
    return document


def rename_id(draw: Draw, document: Json) -> Json:
    steps = steps_of(document)
    if steps:
        draw(st.sampled_from(steps))["id"] = draw(
            st.sampled_from(IDS) | st.from_regex(STEP_ID_PATTERN, fullmatch=True) | st.text()
        )
    return document


def rewire(draw: Draw, document: Json) -> Json:
    steps = steps_of(document)
    if steps:
        chosen = draw(st.sampled_from(steps))
        if not isinstance(chosen.get("inputs"), dict):
            chosen["inputs"] = {}
        port = draw(st.sampled_from(PORTS) | st.sampled_from(("data", "image", "*")))
        chosen["inputs"][port] = draw(st.sampled_from((*REFS, *IDS, "$source")))
    return document


def set_param(draw: Draw, document: Json) -> Json:
    steps = steps_of(document)
    if steps:
        chosen = draw(st.sampled_from(steps))
        if not isinstance(chosen.get("params"), dict):
            chosen["params"] = {}
        value = json_values(finite=False)
        chosen["params"][draw(st.sampled_from(PARAMS))] = draw(
            value | st.fixed_dictionaries({"$setting": st.sampled_from(WORDS), "default": value})
        )
    return document


def set_condition(draw: Draw, document: Json) -> Json:
    steps = steps_of(document)
    if steps:
        draw(st.sampled_from(steps))["when"] = draw(
            st.fixed_dictionaries({"nonempty": st.sampled_from((*REFS, *IDS))})
            | st.fixed_dictionaries(
                {"$setting": st.sampled_from(WORDS)},
                optional={"default": st.booleans() | json_values(finite=False)},
            )
            | json_values(finite=False)
        )
    return document


GENTLE = (rename_op, rename_id, rewire, set_param, set_condition)
ROUGH = (drop, replace, add_unknown_key)


@st.composite
def mutated_examples(draw: Draw) -> Json:
    """An example pipeline after one to three edits, three in four of them step-level."""
    document = copy.deepcopy(draw(st.sampled_from(EXAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        mutation = draw(
            st.sampled_from(GENTLE) if draw(st.integers(0, 3)) else st.sampled_from(ROUGH)
        )
        document = mutation(draw, document)
    return document


# the properties


class Hang(Exception):
    """A parse ran past PER_EXAMPLE_S."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block with Hang after ``seconds`` (SIGALRM: main thread, POSIX only)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"parsing took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def compile_or_refuse(raw: Json, task_settings: dict[str, Json]) -> Plan | RequestInvalid:
    """The plan, or the RequestInvalid raised; any other exception escapes and fails the test."""
    try:
        with time_limit(PER_EXAMPLE_S):
            return PARSER.parse(raw, task_settings)
    except RequestInvalid as exc:
        return exc


def assert_plan_or_located_problems(outcome: Plan | RequestInvalid) -> None:
    if isinstance(outcome, RequestInvalid):
        assert outcome.problems
        for problem in outcome.problems:
            assert problem.step is None or isinstance(problem.step, str)
            assert problem.field is None or isinstance(problem.field, str)
            assert isinstance(problem.message, str)
    else:
        assert isinstance(outcome, Plan)


@settings(max_examples=300, deadline=None, database=None)
@given(raw=json_values(finite=False), task_settings=TASK_SETTINGS)
def test_random_json_is_a_plan_or_located_problems(
    raw: Json, task_settings: dict[str, Json]
) -> None:
    """Arbitrary JSON never makes the parser raise anything but RequestInvalid."""
    outcome = compile_or_refuse(raw, task_settings)

    assert_plan_or_located_problems(outcome)


@settings(max_examples=300, deadline=None, database=None)
@given(raw=mutated_examples(), task_settings=TASK_SETTINGS)
def test_mutated_examples_are_a_plan_or_located_problems(
    raw: Json, task_settings: dict[str, Json]
) -> None:
    """Example pipelines with keys dropped, values replaced, ops, ids and wiring changed."""
    outcome = compile_or_refuse(raw, task_settings)

    assert_plan_or_located_problems(outcome)


BODIES = (
    json_values(finite=True)
    | st.builds(task, st.just(MISSING_IMAGE), mutated_examples(), settings=TASK_SETTINGS)
    | st.builds(
        lambda pipeline, task_settings: {
            "pipeline_definition": pipeline,
            "settings": task_settings,
        },
        mutated_examples(),
        TASK_SETTINGS,
    )
)


@settings(max_examples=40, deadline=None, database=None)
@given(path=st.sampled_from(("/tasks", "/pipelines/validate")), body=BODIES)
def test_random_bodies_never_get_a_server_error(
    worker: httpx.Client, path: str, body: Json
) -> None:
    """Through the real app, a random or mangled body is answered 2xx or 4xx, never 5xx."""
    # Encoded here, not by httpx: NaN and Infinity must reach the server (and be refused there).
    response = worker.post(path, content=json.dumps(body), timeout=30)

    assert response.status_code < 500, response.text
