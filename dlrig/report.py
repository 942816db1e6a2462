"""The preflight report as data: the JSON document of the CLI contract (issue 2, section 4)."""

from __future__ import annotations

from typing import Any

from dlrig.checks import run_checks
from dlrig.hardware import HostPlan
from dlrig.output.document import summary
from dlrig.result import CheckResult, worst


def host_report(plan: HostPlan, results: list[CheckResult]) -> dict[str, Any]:
    """One entry of ``hosts``: name, verdict, checks and summary."""
    return {
        "name": plan.name,
        "declared": plan.hardware is not None,
        "verdict": worst([r.status for r in results]),
        "checks": [r.as_dict() for r in results],
        "summary": summary(plan, results),
    }


def build_report(plans: list[HostPlan]) -> dict[str, Any]:
    """The whole report: every host's checks run and summarised."""
    from dlrig.checks.circuit import hosts_together  # hosts on one wall circuit add up (issue 12)

    with hosts_together(plans):
        return {"hosts": [host_report(plan, run_checks(plan)) for plan in plans]}


def exit_code(report: dict[str, Any], strict: bool = False) -> int:
    """0 when nothing fails (warnings allowed), 1 when a check fails (or warns, with ``strict``)."""
    verdicts = {host["verdict"] for host in report["hosts"]}
    if "fail" in verdicts or (strict and "warn" in verdicts):
        return 1
    return 0
