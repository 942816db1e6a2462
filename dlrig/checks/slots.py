"""``gpu_slots``: the GPUs (counting ``count``) against the motherboard's GPU slots."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlrig.checks._common import plural, skipped
from dlrig.checks.registry import plan_check
from dlrig.output.numbers import num
from dlrig.plan.model import HostPlan
from dlrig.result import CheckResult

CHECK_ID = "gpu_slots"


def key_figures(f: Mapping[str, Any], currency: str | None) -> str:
    if "gpu_count" not in f:
        return ""
    return f"{num(f['gpu_count'])} GPU(s) in {num(f.get('gpu_slots'))} slots"


@plan_check(CHECK_ID, order=30, figures=("gpu_count", "gpu_slots", "free_slots"), key_figures=key_figures)
def check_slots(plan: HostPlan) -> CheckResult:
    hw = plan.hardware
    if hw is None or hw.motherboard is None:
        return skipped(CHECK_ID, "hardware.motherboard is not declared")
    if not hw.motherboard.gpu_slots and hw.motherboard.gpu_slots_declared:
        # gpu_slots: [] is a board without GPU slots, not a list left out.
        board = hw.motherboard.model or "the motherboard"
        figures = {"gpu_count": hw.gpu_count, "gpu_slots": 0, "free_slots": 0, "slot_widths": []}
        if hw.gpu_count:
            return CheckResult(CHECK_ID, "fail", f"{plural(hw.gpu_count, 'GPU')} declared but {board} has no "
                               "GPU slot (gpu_slots: []); list its slots' widths, e.g. gpu_slots: [16, 8]",
                               figures)
        return CheckResult(CHECK_ID, "ok", f"no GPU and no GPU slot on {board}", figures)
    if not hw.motherboard.gpu_slots:  # as pcie_lanes: no slot list, nothing to check against
        return skipped(CHECK_ID, "hardware.motherboard.gpu_slots is not declared")
    slots, gpus = len(hw.motherboard.gpu_slots), hw.gpu_count
    board = hw.motherboard.model or "the motherboard"
    figures = {"gpu_count": gpus, "gpu_slots": slots, "free_slots": max(0, slots - gpus),
               "slot_widths": list(hw.motherboard.gpu_slots)}
    if gpus > slots:
        return CheckResult(CHECK_ID, "fail", f"{plural(gpus, 'GPU')} declared but {board} has "
                           f"{plural(slots, 'GPU slot')}: {gpus - slots} would have nowhere to go; "
                           "remove GPUs, use risers/a board with more slots, or correct gpu_slots", figures)
    return CheckResult(CHECK_ID, "ok", f"{plural(gpus, 'GPU')} in {plural(slots, 'GPU slot')} "
                       f"({figures['free_slots']} free)", figures)
