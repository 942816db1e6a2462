"""``psu_transients``: the GPUs' millisecond power excursions plus the rest of the build against what the PSU
rides (issue 12).

Peak = the non-GPU parts at their watts + each GPU's budget watts (power limit, else board power) × its
architecture's spike factor (dlrig/data/power_fit.yml). Tolerated = the PSU's rating × its standard's
tolerance for that window (ATX 2.x: 100 %, nothing defined; ATX 3.x: 160 % for 10 ms, Intel's design
guide). ``fail`` above it, ``warn`` within ``power.headroom_pct`` of it, else ``ok``; a warning or a
failure says what passes: the power limit that fits, or an ATX 3 unit of N W.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dlrig.checks._common import fmt_w, skipped
from dlrig.checks._fitdata import load, spike_estimated, spike_factor
from dlrig.checks.psu import max_draw_w
from dlrig.checks.registry import plan_check
from dlrig.output.numbers import num
from dlrig.plan.model import GpuDecl, HostPlan
from dlrig.result import CheckResult

CHECK_ID = "psu_transients"


def _arch(gpu: GpuDecl) -> str | None:
    return gpu.arch or (gpu.spec.arch if gpu.spec else None)


def _round_up(watts: float, step: int = 50) -> int:
    return int(math.ceil(watts / step) * step)


def gpu_spikes(gpus: list[GpuDecl]) -> list[dict[str, Any]]:
    """Per GPU line: the watts it counts for, its factor and its excursion (each card and the line)."""
    lines = []
    for gpu in gpus:
        factor, source = spike_factor(_arch(gpu))
        lines.append({"model": gpu.model, "count": gpu.count, "each_w": gpu.budget_w, "factor": factor,
                      "estimated": spike_estimated(_arch(gpu)),
                      "spike_each_w": round(gpu.budget_w * factor, 1),
                      "spike_w": round(gpu.count * gpu.budget_w * factor, 1), "source": source})
    return lines


def spike_verdict(check: Mapping[str, Any]) -> list[str]:
    """Under the check's row: the power budget's spike column (psu_headroom's details) summed against what
    the PSU rides (what passes is in the check's message)."""
    if check.get("skipped") or not check.get("gpus"):
        return []
    standard = str(check["standard"]).upper()
    line = (f"  transients ({check['window']}): spike {num(round(check['peak_w']))} W against the "
            f"{num(check['tolerated_w'])} W that the {num(check['psu_w'])} W {standard} PSU rides "
            f"({num(check['tolerance_pct'])} %)")
    if check.get("tolerance_estimated"):
        line += " est."
    return [line]


def key_figures(f: Mapping[str, Any], currency: str | None) -> str:
    if "peak_w" not in f:
        return ""
    return f"{num(round(f['peak_w']))} W spikes of {num(f.get('tolerated_w'))} W ({f.get('standard')})"


@plan_check(CHECK_ID, order=12, figures=("peak_w", "tolerated_w", "standard", "atx3_psu_w",
                                         "power_limit_that_fits_w"),
            key_figures=key_figures, details=spike_verdict)
def check_transients(plan: HostPlan) -> CheckResult:
    hw = plan.hardware
    if hw is None or hw.psu is None:
        return skipped(CHECK_ID, "hardware.psu is not declared")
    data = load()
    sustained = max_draw_w(hw)
    gpu_w = sum(g.count * g.budget_w for g in hw.gpus)
    rest = sustained - gpu_w
    spikes = gpu_spikes(hw.gpus)
    peak = rest + sum(s["spike_w"] for s in spikes)
    psu_w, standard = hw.psu.watts, hw.psu.standard
    tolerance = data.tolerances[standard]
    tolerated = psu_w * float(tolerance.value)
    headroom = plan.power.headroom_pct
    usable = tolerated * (1 - headroom / 100)
    atx3 = float(data.tolerances["atx3"].value)
    atx3_w = _round_up(max(peak / atx3, sustained) / (1 - headroom / 100))
    factor_sum = sum(g.count * s["factor"] for g, s in zip(hw.gpus, spikes, strict=True))
    limit = math.floor((usable - rest) / factor_sum) if factor_sum else None
    figures: dict[str, Any] = {
        "window": data.window, "peak_w": round(peak, 1), "sustained_w": round(sustained, 1),
        "rest_w": round(rest, 1), "psu_w": psu_w, "standard": standard,
        "tolerance_pct": round(100 * float(tolerance.value)), "tolerated_w": round(tolerated, 1),
        "headroom_pct": headroom, "usable_w": round(usable, 1), "gpus": spikes,
        "power_limit_that_fits_w": limit if limit and limit > 0 else None, "atx3_psu_w": atx3_w,
        "source": tolerance.source + (" (unverified)" if tolerance.unverified else ""),
        "tolerance_estimated": tolerance.unverified,
    }
    what = (f"GPU excursions ({data.window}) {fmt_w(peak - rest)} + rest {fmt_w(rest)} = {fmt_w(peak)} "
            f"against {fmt_w(tolerated)} that the {fmt_w(psu_w)} {standard.upper()} PSU rides "
            f"({figures['tolerance_pct']} %)")
    if not hw.gpus:
        return CheckResult(CHECK_ID, "ok", f"no GPU: peak {fmt_w(peak)} is the sustained draw", figures)
    if peak <= usable:
        return CheckResult(CHECK_ID, "ok", what, figures)
    fixes = []
    if figures["power_limit_that_fits_w"]:
        fixes.append(f"power_limit_w: {limit} (or lower) on every GPU")
    if standard == "atx2" or atx3_w > psu_w:
        fixes.append(f"an ATX 3 PSU of {atx3_w} W")
    advice = "; passes with " + " or ".join(fixes) if fixes else ""
    if peak > tolerated:
        return CheckResult(CHECK_ID, "fail", f"{what}: exceeds it by {fmt_w(peak - tolerated)} — an older "
                           f"PSU's over-current protection switches the box off under load{advice}", figures)
    return CheckResult(CHECK_ID, "warn", f"{what}: less than the {headroom:g} % headroom left{advice}",
                       figures)
