"""Nesting depth of decoded JSON, measured without recursion.

Deeply nested documents would otherwise reach Python's recursion limit in pydantic or in the
settings substitution and surface as a 500; no legitimate task nests this deep.
"""

from __future__ import annotations

from typing import Any

MAX_JSON_DEPTH = 32


def exceeds_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``value`` nests lists/objects more than ``limit`` levels deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False
