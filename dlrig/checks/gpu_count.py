"""``gpu_count`` (live): the declared GPUs against those detected — fail when the number or the models
differ, naming the cards (PCI address, slot when the firmware names it) that are missing, not answering or
unexpected."""

from __future__ import annotations

from typing import Any

from dlrig.checks._common import plural
from dlrig.checks.registry import Context, live_check
from dlrig.plan.catalogue import normalise
from dlrig.plan.model import HostPlan
from dlrig.result import CheckResult
from dlrig.upgrade.facts import DetectedGpu, DetectedHardware


def _addresses(gpus: list[DetectedGpu]) -> str:
    return ", ".join(g.where for g in gpus)


def _not_answering(gpus: list[DetectedGpu]) -> str:
    why = "; ".join(sorted({p for g in gpus for p in g.problems})) or "it does not answer"
    verb = "is" if len(gpus) == 1 else "are"
    return f"{_addresses(gpus)} {verb} on the bus but not answering ({why})"


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
            text += f"; {plural(missing, 'declared GPU')} {verb} missing"
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
                    f"{plural(extra, 'GPU')} more than declared — fix the count in hardware.gpus"
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



@live_check("gpu_count", order=10)
def run(ctx: Context) -> CheckResult:
    assert ctx.detected is not None
    return check_gpu_count(ctx.plan, ctx.detected)
