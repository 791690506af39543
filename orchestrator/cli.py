"""Command line: the generated contract files, and pipeline validation without the server.

    python -m orchestrator schema   [--out PATH] [--check]   JSON Schema of the pipeline DSL
    python -m orchestrator openapi  [--out PATH] [--check]   OpenAPI 3.1 of the HTTP API
    python -m orchestrator docs     [--out DIR]  [--check]   DIR/steps.md, the step reference
    python -m orchestrator validate FILE [--settings JSON_FILE] [--triton-url URL]

Exit status: 0 fine; 1 the pipeline is invalid, or ``--check`` found a file that differs from
a fresh generation; 2 a usage error, an unreadable file, or a Triton that cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from orchestrator.api.openapi import openapi_document
from orchestrator.api.routes import describe
from orchestrator.dsl.json_schema import pipeline_schema
from orchestrator.dsl.model_check import check_models
from orchestrator.dsl.parser import PipelineParser
from orchestrator.dsl.plan import Plan
from orchestrator.dsl.reference import step_reference
from orchestrator.errors import DependencyUnavailable, Problem, RequestInvalid
from orchestrator.settings import Settings
from orchestrator.steps.library import build_registry
from orchestrator.steps.registry import StepRegistry
from orchestrator.triton.client import TritonClient

OK, INVALID, UNUSABLE = 0, 1, 2
DOCS_FILE = "steps.md"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command in ``argv`` (default: the process arguments); the exit status."""
    args = _arguments().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.command
    return command(args)


def render_json(document: dict[str, Any]) -> str:
    """The committed form of a generated JSON document."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def schema_text(registry: StepRegistry) -> str:
    """schema/pipeline.schema.json as it should be."""
    return render_json(pipeline_schema(registry))


def openapi_text(registry: StepRegistry) -> str:
    """schema/openapi.json as it should be."""
    return render_json(openapi_document(registry))


def problem_line(problem: Problem) -> str:
    """``step/field: message``, leaving out what the problem does not name."""
    where = "/".join(p for p in (problem.step, problem.field) if p) or "pipeline"
    return f"{where}: {problem.message}"


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m orchestrator",
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    check_help = "exit 1 if the file at --out differs from a fresh generation; write nothing"

    schema = commands.add_parser("schema", help="JSON Schema (2020-12) of the pipeline DSL")
    schema.add_argument("--out", type=Path, help="file to write (default: stdout)")
    schema.add_argument("--check", action="store_true", help=check_help)
    schema.set_defaults(command=_generated("schema", schema_text))

    openapi = commands.add_parser("openapi", help="OpenAPI 3.1 document of the HTTP API")
    openapi.add_argument("--out", type=Path, help="file to write (default: stdout)")
    openapi.add_argument("--check", action="store_true", help=check_help)
    openapi.set_defaults(command=_generated("openapi", openapi_text))

    docs = commands.add_parser("docs", help=f"the step reference, written to DIR/{DOCS_FILE}")
    docs.add_argument("--out", type=Path, metavar="DIR", help="folder (default: stdout)")
    docs.add_argument("--check", action="store_true", help=check_help)
    docs.set_defaults(command=_generated("docs", step_reference, DOCS_FILE))

    validate = commands.add_parser(
        "validate",
        help="check a pipeline file; print its plan, or every problem",
        description="Exit 0 and print the compiled plan, or exit 1 and print one "
        "'step/field: message' line per problem.",
    )
    validate.add_argument("file", type=Path, metavar="FILE", help="pipeline JSON ('-': stdin)")
    validate.add_argument(
        "--settings", type=Path, metavar="JSON_FILE", help="the tenant settings it would get"
    )
    validate.add_argument(
        "--triton-url", metavar="URL", help="also check model steps against this Triton (gRPC)"
    )
    validate.set_defaults(command=_validate)
    return parser


def _generated(
    name: str, render: Callable[[StepRegistry], str], file_name: str | None = None
) -> Callable[[argparse.Namespace], int]:
    """The command that writes, prints or checks one generated file."""

    def run(args: argparse.Namespace) -> int:
        text = render(build_registry())
        out: Path | None = args.out
        if out is not None and file_name is not None:
            out = out / file_name
        if args.check:
            if out is None:
                _unusable("--check needs --out")
            current = out.read_text(encoding="utf-8") if out.is_file() else None
            if current != text:
                print(
                    f"{out} is not what the code generates; run: "
                    f"python -m orchestrator {name} --out {args.out}",
                    file=sys.stderr,
                )
                return INVALID
            return OK
        if out is None:
            sys.stdout.write(text)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        return OK

    return run


def _validate(args: argparse.Namespace) -> int:
    try:
        raw = json.loads(_read(args.file), parse_constant=_reject_constant)
    except ValueError as exc:
        print(problem_line(Problem(None, "body", f"not valid JSON: {exc}")))
        return INVALID
    settings = _settings(args.settings)
    config = Settings() if args.triton_url is None else Settings(triton_url=args.triton_url)
    try:
        plan = PipelineParser(build_registry(), config.limits).parse(raw, settings)
        if args.triton_url is not None:
            problems = asyncio.run(_live_problems(plan, config))
            if problems:
                raise RequestInvalid(problems)
    except RequestInvalid as exc:
        for problem in exc.problems:
            print(problem_line(problem))
        return INVALID
    except DependencyUnavailable as exc:
        _unusable(f"Triton at {config.triton_url}: {exc.message}")
    print(render_json(describe(plan)), end="")
    return OK


async def _live_problems(plan: Plan, config: Settings) -> tuple[Problem, ...]:
    triton = TritonClient(config.triton_url, config.triton_timeout_s, config.model_metadata_ttl_s)
    try:
        return await check_models(plan, triton)
    finally:
        await triton.close()


def _settings(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        settings = json.loads(_read(path))
    except ValueError as exc:
        _unusable(f"{path}: not valid JSON: {exc}")
    if not isinstance(settings, dict):
        _unusable(f"{path}: settings must be a JSON object")
    return settings


def _unusable(message: str) -> NoReturn:
    """Stop with exit status 2: the command cannot do its job, whatever the pipeline says."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(UNUSABLE)


def _reject_constant(name: str) -> None:
    """NaN and Infinity are not JSON, and the server refuses them too."""
    raise ValueError(f"{name} is not a JSON number")


def _read(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _unusable(f"cannot read {path}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
