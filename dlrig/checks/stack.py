"""The ``stack`` check: the driver, CUDA, Python and framework set resolved for a host."""

from __future__ import annotations

from typing import Any

from dlrig.result import CheckResult


def check_stack(plan: Any) -> CheckResult:
    """Placeholder until the resolver lands: reports that the stack is not resolved yet."""
    return CheckResult(id="stack", status="warn", message="stack resolution not available yet", figures={})
