"""``psu_headroom``: the build's maximum draw against the PSU's rating and the wanted headroom."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dlrig.checks._common import fmt_w, skipped
from dlrig.checks.registry import plan_check
from dlrig.output.numbers import num, whole
from dlrig.plan.model import Hardware, HostPlan
from dlrig.result import CheckResult

CHECK_ID = "psu_headroom"


def power_items(hw: Hardware) -> list[dict[str, Any]]:
    """Every declared part with the watts it counts for in the budget (GPUs: count x power limit or watts)."""
    items: list[dict[str, Any]] = []
    if hw.cpu:
        items.append({"part": f"CPU {hw.cpu.model}", "watts": hw.cpu.watts})
    if hw.motherboard:
        board = f"motherboard {hw.motherboard.model or ''}".rstrip()
        items.append({"part": board, "watts": hw.motherboard.watts})
    if hw.memory:
        items.append({"part": f"memory {hw.memory.gb:g} GB", "watts": hw.memory.watts})
    if hw.cooler:
        items.append({"part": f"cooler {hw.cooler.model or ''}".rstrip(), "watts": hw.cooler.watts})
    for drive in hw.storage:
        items.append({"part": f"{drive.interface} {drive.model or 'drive'}", "watts": drive.watts})
    for dev in hw.other_pcie:
        items.append({"part": f"PCIe {dev.model or 'card'}", "watts": dev.watts})
    for gpu in hw.gpus:
        limit = f" limited to {fmt_w(gpu.budget_w)}" if gpu.power_limit_w is not None else ""
        items.append({"part": f"GPU {gpu.count}x {gpu.model}{limit}", "watts": gpu.count * gpu.budget_w,
                      "each_w": gpu.budget_w})
    return items


def with_spikes(hw: Hardware, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The budget's spike column: every part's watts in the GPUs' millisecond excursions (the
    psu_transients check's figures, dlrig/data/power_fit.yml): a GPU line x its architecture's spike
    factor (``spike_factor``, ``spike_estimated`` when the factor is not sourced), the rest as it is."""
    from dlrig.checks._fitdata import spike_estimated, spike_factor

    gpu_items = [i for i in items if "each_w" in i]
    out = [{**i, "spike_w": i["watts"]} for i in items if "each_w" not in i]
    for item, gpu in zip(gpu_items, hw.gpus, strict=True):
        arch = gpu.arch or (gpu.spec.arch if gpu.spec else None)
        factor = spike_factor(arch)[0]
        out.append({**item, "spike_w": round(item["watts"] * factor, 1), "spike_factor": factor,
                    "spike_estimated": spike_estimated(arch)})
    return out


def max_draw_w(hw: Hardware) -> float:
    """The sum of every part's watts: the most the build can ask of the PSU (transients aside)."""
    total: float = sum(item["watts"] for item in power_items(hw))
    return total


def cards_within(watts: float, card_w: float) -> int:
    """Whole cards drawing ``card_w`` each that fit in ``watts`` (never negative): the PSU check's "could
    feed N more" and the what-if capacity."""
    return max(0, math.floor(watts / card_w + 1e-9))


def _round_up(watts: float, step: int = 50) -> int:
    return int(math.ceil(watts / step) * step)


def power_budget(check: Mapping[str, Any]) -> list[str]:
    """The power budget under the check's row: every part's watts, then the draw against the PSU."""
    if check.get("skipped"):
        return []
    spikes = "spike_w" in check.get("peak", {}) or all("spike_w" in i for i in check["items"])
    if not spikes:  # a document of an older dlrig: no spike column
        lines = ["  power budget"]
        for item in check["items"]:
            lines.append(f"    {item['part']:<52} {item['watts']:>6.0f} W")
        lines.append(f"    {'max draw':<52} {check['max_draw_w']:>6.0f} W  of {check['psu_w']:.0f} W "
                     f"({check['load_pct']:g} %), {check['usable_w']:.0f} W usable with "
                     f"{check['headroom_pct']:g} % headroom")
        return lines
    window = check.get("spike_window") or "ms"
    lines = [f"  {'power budget':<53} {'sustained':>9}  {'spike':>8}  ({window} excursions)"]
    estimated = False
    for item in check["items"]:
        factor = ""
        if "spike_factor" in item:
            factor = f"  x{num(item['spike_factor'])}" + (" est." if item.get("spike_estimated") else "")
            estimated = estimated or bool(item.get("spike_estimated"))
        lines.append(f"    {item['part']:<52} {item['watts']:>6.0f} W  {item['spike_w']:>6.0f} W{factor}")
    lines.append(f"    {'max draw':<52} {check['max_draw_w']:>6.0f} W  {check['spike_peak_w']:>6.0f} W  "
                 f"of {check['psu_w']:.0f} W ({check['load_pct']:g} % sustained), {check['usable_w']:.0f} W "
                 f"usable with {check['headroom_pct']:g} % headroom")
    if estimated:
        lines.append("    est.: an estimated spike factor, no public measurement found (docs/preflight.md)")
    return lines


def key_figures(f: Mapping[str, Any], currency: str | None) -> str:
    if "max_draw_w" not in f:
        return ""
    return f"{num(f['max_draw_w'])} of {num(f.get('psu_w'))} W ({num(f.get('load_pct'))} %)"


@plan_check(CHECK_ID, order=10, figures=("max_draw_w", "psu_w", "load_pct", "free_w", "more_gpus"),
            key_figures=key_figures, details=power_budget)
def check_psu(plan: HostPlan) -> CheckResult:
    result = _check_psu(plan)
    hw = plan.hardware
    over = [g for g in (hw.gpus if hw else []) if g.power_limit_w is not None and g.power_limit_w > g.watts]
    if not over:
        return result
    # A limit above the board power is counted as given, but the card itself caps it: nvidia-smi accepts
    # only its own range, and the nvidia_driver role stops on a limit outside it.
    note = "; ".join(f"{g.model}: power_limit_w {fmt_w(g.power_limit_w or 0)} is above its board power "
                     f"{fmt_w(g.watts)}" for g in over)
    status = "warn" if result.status == "ok" else result.status
    return CheckResult(CHECK_ID, status, f"{result.message}; {note} — most cards accept only a little above "
                       "it (nvidia-smi -q -d POWER shows the range); lower the limit or correct watts",
                       result.figures)


def _check_psu(plan: HostPlan) -> CheckResult:
    hw = plan.hardware
    if hw is None or hw.psu is None:
        return skipped(CHECK_ID, "hardware.psu is not declared")
    psu_w, headroom = hw.psu.watts, plan.power.headroom_pct
    draw = max_draw_w(hw)
    usable = psu_w * (1 - headroom / 100)
    free = psu_w - draw
    figures: dict[str, Any] = {
        "max_draw_w": whole(draw, 1), "psu_w": psu_w, "load_pct": round(100 * draw / psu_w, 1),
        "free_w": whole(free, 1), "headroom_pct": headroom, "usable_w": whole(usable, 1),
        "recommended_psu_w": _round_up(draw / (1 - headroom / 100)),
    }
    from dlrig.checks._fitdata import load

    figures["items"] = with_spikes(hw, power_items(hw))
    figures["spike_window"] = load().window
    figures["spike_peak_w"] = round(sum(i["spike_w"] for i in figures["items"]), 1)
    more = {g.model: cards_within(usable - draw, g.budget_w) for g in hw.gpus}
    figures["more_gpus"] = more
    budget = f"max draw {fmt_w(draw)} of the {fmt_w(psu_w)} PSU ({figures['load_pct']:g} %)"
    if draw > psu_w:
        return CheckResult(CHECK_ID, "fail", f"{budget} exceeds its rating by {fmt_w(draw - psu_w)}: "
                           f"{_remedy(hw, draw, usable, figures['recommended_psu_w'], headroom)}", figures)
    if free < psu_w * headroom / 100:
        return CheckResult(CHECK_ID, "warn", f"{budget} leaves {fmt_w(free)} free, less than the "
                           f"{headroom:g} % headroom ({fmt_w(psu_w - usable)}): "
                           f"{_remedy(hw, draw, usable, figures['recommended_psu_w'], headroom)}", figures)
    tail = ""
    if hw.gpus:
        first = hw.gpus[0]
        tail = (f"; the PSU could feed {more[first.model]} more {first.model} "
                f"within the {headroom:g} % headroom")
    return CheckResult(CHECK_ID, "ok", f"{budget}{tail}", figures)


def _remedy(hw: Hardware, draw: float, usable: float, recommended: int, headroom: float) -> str:
    advice = f"use a PSU of at least {recommended} W ({fmt_w(draw)} + {headroom:g} % headroom)"
    gpu_count = hw.gpu_count
    if gpu_count:
        rest = draw - sum(g.count * g.budget_w for g in hw.gpus)
        limit = math.floor((usable - rest) / gpu_count)
        if limit > 0:
            advice += f", or set power_limit_w: {limit} (or lower) on the GPUs"
    return advice
