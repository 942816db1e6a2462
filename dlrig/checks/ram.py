"""``ram`` (live): warn when the RAM the kernel sees differs from ``hardware.memory.gb`` by more than
``max(1 GB, 5 %)``. The kernel's MemTotal sits 1–3 % below the installed size (firmware and kernel
reservations), so a 16 GB box reads about 15.6 GiB: inside the tolerance; a missing DIMM is not."""

from __future__ import annotations

from typing import Any

from dlrig.checks.registry import Context, live_check
from dlrig.plan.model import HostPlan
from dlrig.result import CheckResult
from dlrig.upgrade.facts import DetectedHardware

RAM_TOLERANCE_GB = 1.0
RAM_TOLERANCE_PCT = 5.0


def check_detected_ram(plan: HostPlan, hw: DetectedHardware) -> CheckResult:
    """Detected RAM (MemTotal, GiB) against ``hardware.memory.gb``."""
    declared = None
    if plan.hardware is not None and plan.hardware.memory is not None:
        declared = float(plan.hardware.memory.gb)
    figures: dict[str, Any] = {"declared_gb": declared, "detected_gb": hw.ram_gb}
    if hw.ram_gb is None:
        return CheckResult("ram", "warn", "could not read the host's RAM (/proc/meminfo)", figures)
    if declared is None:
        return CheckResult("ram", "ok", f"detected {hw.ram_gb:g} GB; no hardware.memory declared", figures)
    tolerance = max(RAM_TOLERANCE_GB, declared * RAM_TOLERANCE_PCT / 100)
    figures["tolerance_gb"] = round(tolerance, 2)
    diff = hw.ram_gb - declared
    if diff < -tolerance:
        return CheckResult(
            "ram", "warn",
            f"declared {declared:g} GB, the kernel sees {hw.ram_gb:g} GB — a DIMM may be missing or unseated "
            "(check the BIOS memory summary), or fix hardware.memory.gb",
            figures,
        )
    if diff > tolerance:
        return CheckResult(
            "ram", "warn",
            f"declared {declared:g} GB, the kernel sees {hw.ram_gb:g} GB — update hardware.memory.gb",
            figures,
        )
    return CheckResult("ram", "ok", f"declared {declared:g} GB, the kernel sees {hw.ram_gb:g} GB", figures)



@live_check("ram", order=30)
def run(ctx: Context) -> CheckResult:
    assert ctx.detected is not None
    return check_detected_ram(ctx.plan, ctx.detected)
