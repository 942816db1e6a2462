"""The preflight checks: each takes a HostPlan and returns a CheckResult (data in, data out)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from dlrig.checks.energy import check_energy
from dlrig.checks.memory import check_ram
from dlrig.checks.pcie import check_pcie
from dlrig.checks.psu import check_psu
from dlrig.checks.slots import check_slots
from dlrig.hardware import HostPlan
from dlrig.result import CheckResult

Check = Callable[[HostPlan], CheckResult]

# The plan checks, in report order. They run only for hosts that declare `hardware`.
PLAN_CHECKS: dict[str, Check] = {
    "psu_headroom": check_psu,
    "pcie_lanes": check_pcie,
    "gpu_slots": check_slots,
    "ram_vs_vram": check_ram,
    "energy": check_energy,
}

_STACK_MODULE = "dlrig.checks.stack"


def stack_check() -> Check | None:
    """The ``stack`` check of the resolver (dlrig/checks/stack.py), or None while it does not exist."""
    try:
        module = importlib.import_module(_STACK_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == _STACK_MODULE:
            return None
        raise
    check: Check | None = getattr(module, "check_stack", None)
    return check


def run_checks(plan: HostPlan) -> list[CheckResult]:
    """Every check for one host: the plan checks, then ``stack``. A host without ``hardware``: none."""
    if plan.hardware is None:
        return []
    results = [check(plan) for check in PLAN_CHECKS.values()]
    stack = stack_check()
    if stack is not None:
        results.append(stack(plan))
    return results
