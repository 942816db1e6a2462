"""The preflight report as data: the JSON document of the CLI contract (issue 2, section 4)."""

from __future__ import annotations

from typing import Any

from dlrig.checks import run_checks
from dlrig.checks.pcie import lanes_used
from dlrig.checks.psu import max_draw_w
from dlrig.hardware import HostPlan
from dlrig.result import CheckResult, worst


def summary(plan: HostPlan, results: list[CheckResult]) -> dict[str, Any]:
    """The host's headline figures; None where the build does not declare what a figure needs."""
    hw = plan.hardware
    energy = next((r.figures for r in results if r.id == "energy" and not r.figures.get("skipped")), {})
    out: dict[str, Any] = dict.fromkeys(
        ("max_draw_w", "psu_w", "load_pct", "lanes_used", "lanes_available", "gpu_count", "vram_gb",
         "ram_gb", "monthly_cost"))
    out["currency"] = plan.power.currency
    if hw is None:
        return out
    draw = max_draw_w(hw)
    out.update(max_draw_w=round(draw, 1), gpu_count=hw.gpu_count, vram_gb=hw.vram_gb,
               lanes_used=lanes_used(hw))
    if hw.psu:
        out.update(psu_w=hw.psu.watts, load_pct=round(100 * draw / hw.psu.watts, 1))
    if hw.cpu:
        out["lanes_available"] = hw.cpu.pcie_lanes
    if hw.memory:
        out["ram_gb"] = hw.memory.gb
    out["monthly_cost"] = energy.get("monthly_cost")
    return out


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
    return {"hosts": [host_report(plan, run_checks(plan)) for plan in plans]}


def exit_code(report: dict[str, Any], strict: bool = False) -> int:
    """0 when nothing fails (warnings allowed), 1 when a check fails (or warns, with ``strict``)."""
    verdicts = {host["verdict"] for host in report["hosts"]}
    if "fail" in verdicts or (strict and "warn" in verdicts):
        return 1
    return 0
