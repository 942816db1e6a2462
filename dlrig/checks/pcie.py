"""``pcie_lanes``: lanes taken by GPUs, CPU-attached NVMe and other cards against the CPU's lanes.

Each GPU takes the electrical width of the slot it sits in (slots filled in the declared order).
The transfer time of one batch of 32 ImageNet images (32x225x225x3, fp32) follows the reference
analysis (Tim Dettmers): nominal 1 GiB/s per PCIe 3.0 lane, doubling per generation, which gives
1.1 / 2.3 / 4.5 ms at x16 / x8 / x4. It is a lower bound: protocol overhead makes real copies slower.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlrig.checks._common import skipped
from dlrig.checks.registry import plan_check
from dlrig.output.numbers import num
from dlrig.plan.model import Hardware, HostPlan
from dlrig.result import CheckResult

CHECK_ID = "pcie_lanes"
BATCH_BYTES = 32 * 225 * 225 * 3 * 4
# Nominal GiB/s per lane and direction, per PCIe generation.
LANE_GIBPS = {1: 0.25, 2: 0.5, 3: 1.0, 4: 2.0, 5: 4.0, 6: 8.0, 7: 16.0}
DEFAULT_GEN = 3
MIN_LANES_MULTI_GPU = 8


def transfer_ms(lanes: int, gen: int = DEFAULT_GEN, nbytes: int = BATCH_BYTES) -> float | None:
    """Milliseconds to copy ``nbytes`` host-to-GPU over a link of ``lanes`` lanes of PCIe ``gen``."""
    if lanes <= 0:
        return None
    return nbytes / (lanes * LANE_GIBPS.get(gen, LANE_GIBPS[DEFAULT_GEN]) * 2**30) * 1000


def gpu_lanes(hw: Hardware) -> list[dict[str, Any]]:
    """The lane map: one row per physical GPU with its slot, width, link generation and batch time."""
    slots = hw.motherboard.slots_for(hw.gpu_count) if hw.motherboard else []
    rows: list[dict[str, Any]] = []
    for decl in hw.gpus:
        for _ in range(decl.count):
            index = len(rows)
            width = slots[index] if index < len(slots) else 0
            gens = [g for g in (decl.spec.pcie_gen if decl.spec else None,
                                hw.cpu.pcie_gen if hw.cpu else None,
                                hw.motherboard.pcie_gen if hw.motherboard else None) if g]
            gen = min(gens) if gens else DEFAULT_GEN
            ms = transfer_ms(width, gen)
            rows.append({"index": index, "model": decl.model, "slot": index + 1 if width else None,
                         "lanes": width, "pcie_gen": gen,
                         "batch_transfer_ms": None if ms is None else round(ms, 2)})
    return rows


def other_lanes(hw: Hardware) -> list[dict[str, Any]]:
    """CPU-attached NVMe drives and PCIe cards (those not behind the chipset) with their lanes."""
    rows = [{"part": f"{d.interface} {d.model or 'drive'}", "lanes": d.pcie_lanes}
            for d in hw.storage if d.pcie_lanes and not d.via_chipset]
    rows += [{"part": f"PCIe {d.model or 'card'}", "lanes": d.pcie_lanes}
             for d in hw.other_pcie if d.pcie_lanes and not d.via_chipset]
    return rows


def lanes_used(hw: Hardware) -> int:
    return int(sum(r["lanes"] for r in gpu_lanes(hw)) + sum(r["lanes"] for r in other_lanes(hw)))


def lane_map(check: Mapping[str, Any]) -> list[str]:
    """The lane map under the check's row: each GPU's slot, width and batch time, then the other cards."""
    if check.get("skipped"):
        return []
    lines = ["  lane map"]
    for gpu in check["gpus"]:
        where = f"slot {gpu['slot']}" if gpu["slot"] else "no slot"
        batch = f"~{gpu['batch_transfer_ms']:.1f} ms/batch" if gpu["batch_transfer_ms"] is not None else ""
        lines.append(f"    GPU {gpu['index'] + 1} {gpu['model']:<34} {where:<8} x{gpu['lanes']:<3} "
                     f"PCIe {gpu['pcie_gen']}  {batch}")
    for other in check["other"]:
        lines.append(f"    {other['part']:<40} {'':<8} x{other['lanes']}")
    lines.append(f"    {check['lanes_used']} of {check['lanes_available']} CPU lanes used")
    return lines


def key_figures(f: Mapping[str, Any], currency: str | None) -> str:
    if "lanes_used" not in f:
        return ""
    return f"{num(f['lanes_used'])} of {num(f.get('lanes_available'))} lanes"


@plan_check(CHECK_ID, order=20, figures=("lanes_used", "lanes_available"), key_figures=key_figures,
            details=lane_map)
def check_pcie(plan: HostPlan) -> CheckResult:
    hw = plan.hardware
    if hw is None or hw.cpu is None:
        return skipped(CHECK_ID, "hardware.cpu is not declared")
    if hw.gpus and not (hw.motherboard and (hw.motherboard.gpu_slots or hw.motherboard.gpu_slots_declared)):
        return skipped(CHECK_ID, "hardware.motherboard.gpu_slots is not declared")
    gpus, others = gpu_lanes(hw), other_lanes(hw)
    used, available = lanes_used(hw), hw.cpu.pcie_lanes
    figures = {"lanes_used": used, "lanes_available": available, "gpus": gpus, "other": others}
    summary = f"{used} of {available} CPU lanes used"
    if gpus:
        summary += " (GPUs " + ", ".join(f"x{g['lanes']}" if g["lanes"] else "no slot" for g in gpus) + ")"
    if used > available:
        return CheckResult(CHECK_ID, "fail", f"{summary}: {used - available} lanes more than the "
                           f"{hw.cpu.model} provides; put NVMe drives on the chipset (via_chipset: true), "
                           "use narrower slots, or choose a CPU with more lanes", figures)
    narrow = [g for g in gpus if 0 < g["lanes"] < MIN_LANES_MULTI_GPU]
    if len(gpus) >= 2 and narrow:
        first = narrow[0]
        x16 = transfer_ms(16, first["pcie_gen"]) or 0
        return CheckResult(CHECK_ID, "warn", f"{summary}: GPU {first['index'] + 1} ({first['model']}) "
                           f"gets only x{first['lanes']}, about {first['batch_transfer_ms']:.1f} ms "
                           "per batch of 32 images "
                           f"vs {x16:.1f} ms at x16; with several GPUs prefer x8 or more per GPU "
                           "(x4 costs about 5-10 % in parallel training)", figures)
    detail = ""
    if gpus and gpus[0]["batch_transfer_ms"] is not None:
        detail = f"; a batch of 32 images takes about {gpus[0]['batch_transfer_ms']:.1f} ms to GPU 1"
    return CheckResult(CHECK_ID, "ok", summary + detail, figures)
