"""The checks, plan and live: one module each, registered in :mod:`dlrig.checks.registry`.

A plan check takes a HostPlan and returns a CheckResult (data in, data out); a live check takes the
registry's :class:`~dlrig.checks.registry.Context` (the plan and what detection found).
"""

from __future__ import annotations

from dlrig.checks.registry import REGISTRY, Context, Mode, run
from dlrig.plan.model import HostPlan
from dlrig.result import CheckResult


def run_checks(plan: HostPlan, mode: Mode = "plan") -> list[CheckResult]:
    """Every plan check for one host, in report order. A host without ``hardware``: none."""
    return run(Context(plan, mode))


def plan_check_ids() -> list[str]:
    """The ids of the plan checks, in report order."""
    return [c.id for c in REGISTRY.checks("plan")]
