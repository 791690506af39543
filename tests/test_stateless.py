"""MLWorker is stateless: no database client, driver or connection setting anywhere."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Spelled in pieces so this file does not match itself.
FORBIDDEN = ("sql" + "alchemy", "async" + "pg", "green" + "let", "DATABASE" + "_URL")


@pytest.mark.parametrize("word", FORBIDDEN)
def test_no_database_dependency_in_tracked_files(word: str) -> None:
    """No tracked file (code, config, docs, lock data) mentions a database dependency."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.split(b"\0")

    hits = [
        name.decode()
        for name in tracked
        if name
        and not name.endswith(b".onnx")
        and word.lower().encode() in (ROOT / name.decode()).read_bytes().lower()
    ]

    assert hits == []
