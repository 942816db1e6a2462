"""``pcie_link`` (live): warn when a GPU's link runs narrower than the declared slot gives ("check the
riser/slot")."""

from __future__ import annotations

from typing import Any

from dlrig.checks.registry import Context, live_check
from dlrig.plan.model import HostPlan
from dlrig.result import CheckResult
from dlrig.upgrade.facts import DetectedHardware


def check_pcie_link(plan: HostPlan, hw: DetectedHardware) -> CheckResult:
    """Each answering GPU's current link width against the slot it should sit in.

    GPUs are matched to the widest declared slots (``motherboard.gpu_slots``, the widths with all slots
    populated): the narrowest link to the narrowest of those slots. The expected width is the slot's,
    capped by the card's own maximum (an x8 card in an x16 slot is fine). Link *speed* is not judged:
    GPUs drop to PCIe gen 1 when idle to save power.
    """
    gpus = [g for g in hw.present_gpus if g.current_link_width]
    slots: list[int] = []
    if plan.hardware is not None and plan.hardware.motherboard is not None:
        slots = sorted((int(w) for w in plan.hardware.motherboard.slots_for(len(gpus))), reverse=True)
    links = []
    warnings = []
    ranked = sorted(gpus, key=lambda g: (-(g.current_link_width or 0), g.pci_address))
    for i, gpu in enumerate(ranked):
        slot_width = slots[i] if i < len(slots) else None
        caps = [w for w in (slot_width, gpu.max_link_width) if w]
        expected = min(caps) if caps else None
        links.append({
            "pci_address": gpu.pci_address, "model": gpu.model, "current_width": gpu.current_link_width,
            "max_width": gpu.max_link_width, "slot_width": slot_width, "current_gen": gpu.current_link_gen,
            "max_gen": gpu.max_link_gen,
        })
        if expected and gpu.current_link_width and gpu.current_link_width < expected:
            against = (f"its slot gives x{slot_width}" if slot_width
                       else f"the card supports x{gpu.max_link_width}")
            warnings.append(f"{gpu.model} at {gpu.where} runs at x{gpu.current_link_width}, {against}"
                            " — check the riser/slot")
    figures: dict[str, Any] = {"links": links, "declared_slots": slots}
    if warnings:
        return CheckResult("pcie_link", "warn", "; ".join(warnings), figures)
    if not gpus:
        return CheckResult("pcie_link", "ok", "no answering GPU to check", figures)
    summary = ", ".join(f"{g.where} x{g.current_link_width}" for g in ranked)
    return CheckResult("pcie_link", "ok", f"every GPU link is as wide as its slot allows: {summary}", figures)



@live_check("pcie_link", order=20)
def run(ctx: Context) -> CheckResult:
    assert ctx.detected is not None
    return check_pcie_link(ctx.plan, ctx.detected)
