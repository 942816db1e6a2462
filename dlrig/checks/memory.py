"""``ram_vs_vram``: system RAM against the sum of all GPUs' memory.

Tim Dettmers asks for at least as much RAM as the largest GPU's memory; dlrig follows the stricter
reading of the reference build (RAM >= the sum of all VRAM), so every GPU's batch can be staged in RAM.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dlrig.checks._common import plural, skipped
from dlrig.checks.registry import plan_check
from dlrig.output.numbers import num
from dlrig.plan.model import HostPlan
from dlrig.result import CheckResult

CHECK_ID = "ram_vs_vram"


def key_figures(f: Mapping[str, Any], currency: str | None) -> str:
    if "ram_gb" not in f:
        return ""
    return f"{num(f['ram_gb'])} GB RAM / {num(f.get('vram_gb'))} GB VRAM"


@plan_check(CHECK_ID, order=40, figures=("ram_gb", "vram_gb"), key_figures=key_figures)
def check_ram_vs_vram(plan: HostPlan) -> CheckResult:
    hw = plan.hardware
    if hw is None or hw.memory is None:
        return skipped(CHECK_ID, "hardware.memory is not declared")
    ram, vram = hw.memory.gb, hw.vram_gb
    largest = max((g.vram_gb for g in hw.gpus), default=0.0)
    figures = {"ram_gb": ram, "vram_gb": vram, "largest_gpu_vram_gb": largest}
    if not hw.gpus:
        return CheckResult(CHECK_ID, "ok", f"{ram:g} GB RAM, no GPUs declared", figures)
    gpus = plural(hw.gpu_count, "GPU")
    if ram < vram:
        target = 2 ** math.ceil(math.log2(vram))
        size = f"{vram:g} GB" if target == vram else f"{vram:g} GB (e.g. {target} GB)"
        return CheckResult(CHECK_ID, "warn", f"{ram:g} GB RAM is less than the {vram:g} GB VRAM of {gpus}: "
                           f"add RAM to at least {size} so every GPU's data can be staged in memory",
                           figures)
    return CheckResult(CHECK_ID, "ok", f"{ram:g} GB RAM for {vram:g} GB VRAM on {gpus}", figures)
