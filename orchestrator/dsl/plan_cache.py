"""Compiled plans by canonical (pipeline, settings): a hot pipeline is parsed once.

Still stateless: the cache is a per-process memo whose loss costs one re-parse. Model
signatures are not part of the key: they are checked on every task against Triton's live
metadata (cached there for a few seconds), since the ML team can roll out a new version at any
time.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from orchestrator.dsl.parser import PipelineParser
from orchestrator.dsl.plan import Plan


class PlanCache:
    """A least-recently-used front of PipelineParser; invalid pipelines are never cached."""

    def __init__(self, parser: PipelineParser, size: int) -> None:
        self._parser = parser
        self._size = size
        self._plans: OrderedDict[str, Plan] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def parse(self, pipeline: Any, settings: Mapping[str, Any]) -> Plan:
        """The plan for ``pipeline`` with ``settings``; RequestInvalid as PipelineParser raises."""
        key = _canonical_key(pipeline, settings)
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
                self.hits += 1
                return plan
            self.misses += 1
        plan = self._parser.parse(pipeline, settings)
        if self._size:
            with self._lock:
                self._plans[key] = plan
                while len(self._plans) > self._size:
                    self._plans.popitem(last=False)
        return plan


def _canonical_key(pipeline: Any, settings: Mapping[str, Any]) -> str:
    """Equal JSON documents give equal keys, whatever their key order or spacing."""
    text = json.dumps([pipeline, settings], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
