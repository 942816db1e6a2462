"""Live preflight: the inventory's declared build against the hardware detected on the host.

``live_checks(plan, detected)`` takes a parsed :class:`~dlrig.hardware.HostPlan` and the host's
``dlrig_hardware`` facts (from ``dlrig.rig.hardware_facts``) and returns three verdicts:

- ``gpu_count`` — fail when the number or the models of the GPUs differ, naming the cards (PCI
  address, slot when the firmware names it) that are missing, not answering or unexpected;
- ``pcie_link`` — warn when a GPU's link runs narrower than the declared slot gives ("check the
  riser/slot");
- ``ram`` — warn when the RAM the kernel sees differs from ``hardware.memory.gb`` by more than
  ``max(1 GB, 5 %)``. The kernel's MemTotal sits 1–3 % below the installed size (firmware and kernel
  reservations), so a 16 GB box reads about 15.6 GiB: inside the tolerance; a missing DIMM is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlrig.catalogue import normalise
from dlrig.detect import DetectedGpu, DetectedHardware, from_facts
from dlrig.hardware import HostPlan
from dlrig.result import CheckResult

RAM_TOLERANCE_GB = 1.0
RAM_TOLERANCE_PCT = 5.0


def _addresses(gpus: list[DetectedGpu]) -> str:
    return ", ".join(g.where for g in gpus)


def _not_answering(gpus: list[DetectedGpu]) -> str:
    why = "; ".join(sorted({p for g in gpus for p in g.problems})) or "it does not answer"
    verb = "is" if len(gpus) == 1 else "are"
    return f"{_addresses(gpus)} {verb} on the bus but not answering ({why})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def check_gpu_count(plan: HostPlan, hw: DetectedHardware) -> CheckResult:
    """Declared vs detected GPUs, per model."""
    declared: dict[str, tuple[str, int]] = {}
    if plan.hardware is not None:
        for decl in plan.hardware.gpus:
            key = normalise(decl.model)
            name, count = declared.get(key, (decl.model, 0))
            declared[key] = (name, count + decl.count)
    present: dict[str, list[DetectedGpu]] = {}
    lost: dict[str, list[DetectedGpu]] = {}
    for gpu in hw.gpus:
        (present if gpu.present else lost).setdefault(normalise(gpu.model), []).append(gpu)

    figures: dict[str, Any] = {
        "declared": {name: count for name, count in declared.values()},
        "detected": hw.count_by_model(),
        "not_answering": [{"pci_address": g.pci_address, "model": g.model, "problems": list(g.problems)}
                          for g in hw.lost_gpus],
    }
    problems: list[str] = []
    keys = list(declared) + [k for k in (*present, *lost) if k not in declared]
    for key in keys:
        name, want = declared.get(key, ("", 0))
        seen = present.get(key, [])
        gone = lost.get(key, [])
        name = name or (seen or gone)[0].model
        if len(seen) < want:
            missing = want - len(seen)
            text = f"declared {want}× {name}, detected {len(seen)}"
            if seen:
                text += f" ({_addresses(seen)})"
            verb = "is" if missing == 1 else "are"
            text += f"; {_plural(missing, 'declared GPU')} {verb} missing"
            if gone:
                text += f": {_not_answering(gone)} — reseat it, check its power cables and riser,"
                text += " or fix hardware.gpus"
            else:
                text += " — reseat it or fix hardware.gpus"
            problems.append(text)
        elif len(seen) > want:
            extra = len(seen) - want
            if want == 0:
                problems.append(
                    f"detected {len(seen)}× {name} ({_addresses(seen)}) that hardware.gpus does not declare"
                    " — add it to hardware.gpus or remove the card"
                )
            else:
                problems.append(
                    f"declared {want}× {name}, detected {len(seen)} ({_addresses(seen)}); "
                    f"{_plural(extra, 'GPU')} more than declared — fix the count in hardware.gpus"
                )
        if gone and len(seen) >= want:
            problems.append(f"{name} {_not_answering(gone)} — reseat it and check its power cables and riser")

    if problems:
        return CheckResult("gpu_count", "fail", "; ".join(problems), figures)
    if plan.hardware is None and hw.gpus:
        return CheckResult("gpu_count", "warn",
                           f"no hardware declared; detected {_addresses(list(hw.gpus))}", figures)
    if not declared:
        return CheckResult("gpu_count", "ok", "no GPU declared, none detected", figures)
    summary = "; ".join(f"{len(present.get(k, []))}× {name} ({_addresses(present.get(k, []))})"
                        for k, (name, _count) in declared.items())
    return CheckResult("gpu_count", "ok", f"declared and detected: {summary}", figures)


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


def check_ram(plan: HostPlan, hw: DetectedHardware) -> CheckResult:
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


def live_checks(plan: HostPlan, detected: Mapping[str, Any]) -> list[CheckResult]:
    """``gpu_count``, ``pcie_link`` and ``ram`` for one host from its ``dlrig_hardware`` facts."""
    hw = from_facts(detected, plan.name)
    return [check_gpu_count(plan, hw), check_pcie_link(plan, hw), check_ram(plan, hw)]


def _same_release(declared: str, running: str) -> bool:
    """``"12"`` matches Debian's ``"12.7"``; ``"18.04"`` matches ``"18.04"`` (not ``"18.10"``)."""
    return running == declared or running.startswith(declared + ".")


def check_os(plan: HostPlan, distribution: str | None, release: str | None) -> CheckResult:
    """``os``: the declared release (what the preflight resolved the stack for) against the host's facts."""
    if not distribution or not release:
        return CheckResult("os", "ok", "no OS facts gathered: nothing to compare", {"skipped": True})
    running = f"{distribution} {release}"
    figures = {"running": running, "declared": None}
    if plan.os is None:
        return CheckResult("os", "ok", f"{running}: the stack is resolved from the host's facts", figures)
    declared = f"{plan.os.distribution} {plan.os.release}"
    figures["declared"] = declared
    if plan.os.distribution.lower() != distribution.lower() or not _same_release(plan.os.release, release):
        return CheckResult(
            "os", "fail",
            f"the inventory declares os {declared} but the host runs {running}; the stack was resolved for "
            f"{declared} — set os: {{distribution: {distribution}, release: \"{release}\"}} (or remove `os`)",
            figures)
    return CheckResult("os", "ok", f"{running} as declared", figures)
