"""``measured_power`` (live): the power gpu_verify measured under load against the declared budget (issue 12).

The gpu_verify role samples nvidia-smi (power.draw, power.limit, temperature.gpu,
clocks_throttle_reasons.active) and RAPL while its probes load every GPU, and writes the figures into the
verify report's ``power``; ``dlrig.rig.hardware_facts`` hands the last report's section to the live
preflight as ``dlrig_hardware.verify_power``. Per GPU (matched by model, in PCI order):

- ``warn`` when the measured peak exceeds the card's declared ``power_limit_w`` (else ``watts``) by more
  than nvidia-smi's accuracy (``TOLERANCE_W``): the power budget is understated;
- ``warn`` when the limit the driver enforced is above the declared one (the card may draw that much);
- ``warn`` when it throttled for power (``sw_power_cap``, ``hw_power_brake_slowdown``) or heat
  (``sw_thermal_slowdown``, ``hw_thermal_slowdown``, ``hw_slowdown``);
- the CPU package's RAPL peak against ``hardware.cpu.watts`` likewise, when RAPL was readable.

No report on the host (gpu_verify has not run yet): no entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlrig.checks.registry import Context, live_check
from dlrig.output.numbers import num
from dlrig.plan.catalogue import normalise
from dlrig.plan.model import HostPlan
from dlrig.result import CheckResult

CHECK_ID = "measured_power"
# nvidia-smi's power.draw is accurate to about +/- 5 W (nvidia-smi(1), "Power Draw").
TOLERANCE_W = 5.0
POWER_REASONS = ("sw_power_cap", "hw_power_brake_slowdown")
HEAT_REASONS = ("sw_thermal_slowdown", "hw_thermal_slowdown", "hw_slowdown")


def _declared_caps(plan: HostPlan) -> dict[str, float]:
    """Declared watts per card model: the power limit when set, else the board power (the highest line)."""
    caps: dict[str, float] = {}
    for gpu in plan.hardware.gpus if plan.hardware else []:
        key = normalise(gpu.model)
        caps[key] = max(caps.get(key, 0.0), float(gpu.budget_w))
    return caps


def compare_measured(plan: HostPlan, verify_power: Mapping[str, Any]) -> CheckResult:
    """The verify report's measured figures (``verify_power``: hardware_facts' ``{report, power}``)."""
    power = verify_power.get("power") or {}
    report = verify_power.get("report")
    if power.get("error"):
        return CheckResult(CHECK_ID, "ok", f"not measured: {power['error']}",
                           {"skipped": True, "report": report})
    caps = _declared_caps(plan)
    gpus: list[dict[str, Any]] = []
    findings: list[str] = []
    for measured in power.get("gpus") or []:
        name = str(measured.get("name") or "?")
        cap = caps.get(normalise(name))
        peak, limit = measured.get("peak_w"), measured.get("limit_w")
        reasons = [str(r) for r in measured.get("throttle_reasons") or []]
        entry = {"index": measured.get("index"), "model": name, "declared_w": cap, "peak_w": peak,
                 "mean_w": measured.get("mean_w"), "limit_w": limit,
                 "peak_temp_c": measured.get("peak_temp_c"),
                 "throttle_reasons": reasons, "over_budget": False, "throttled_power": False,
                 "throttled_heat": False}
        who = f"GPU {measured.get('index')} {name}"
        if cap is not None and peak is not None and peak > cap + TOLERANCE_W:
            entry["over_budget"] = True
            findings.append(f"{who} drew {num(peak)} W, above its declared {num(cap)} W: the power budget is "
                            f"understated — declare watts/power_limit_w {num(round(peak))}")
        elif cap is not None and limit is not None and limit > cap + 0.5:
            entry["over_budget"] = True
            findings.append(f"{who} runs with a {num(limit)} W limit, above its declared {num(cap)} W: "
                            "it may draw that much — set power_limit_w or declare watts to match")
        power_hits = [r for r in reasons if r in POWER_REASONS]
        heat_hits = [r for r in reasons if r in HEAT_REASONS]
        if power_hits:
            entry["throttled_power"] = True
            findings.append(f"{who} throttled for power ({', '.join(power_hits)}) at {num(limit)} W")
        if heat_hits:
            entry["throttled_heat"] = True
            findings.append(f"{who} throttled for heat ({', '.join(heat_hits)}) at "
                            f"{num(measured.get('peak_temp_c'))} °C: check its airflow")
        entry["verdict"] = "warn" if entry["over_budget"] or power_hits or heat_hits else "ok"
        gpus.append(entry)
    cpu = power.get("cpu_package") or None
    cpu_w = plan.hardware.cpu.watts if plan.hardware and plan.hardware.cpu else None
    if cpu and cpu_w is not None and cpu.get("peak_w") is not None and cpu["peak_w"] > cpu_w + TOLERANCE_W:
        findings.append(f"CPU package drew {num(cpu['peak_w'])} W (RAPL), above its declared {num(cpu_w)} W")
    figures: dict[str, Any] = {"report": report, "gpus": gpus, "cpu_package": cpu, "cpu_declared_w": cpu_w,
                               "cpu_package_note": power.get("cpu_package_note"), "tolerance_w": TOLERANCE_W}
    if not gpus:
        return CheckResult(CHECK_ID, "ok", "the verify report measured no GPU", figures)
    if findings:
        return CheckResult(CHECK_ID, "warn", "; ".join(findings), figures)
    peaks = ", ".join(f"GPU {g['index']} {num(g['peak_w'])} of {num(g['declared_w'])} W" for g in gpus)
    return CheckResult(CHECK_ID, "ok", f"measured under load within the declared budget: {peaks}", figures)


def _w(value: Any) -> str:
    return "?" if value is None else f"{num(value)} W"


def measured_lines(check: Mapping[str, Any]) -> list[str]:
    """Under the live report's row: per GPU its measured peak and mean draw against the declared watts (or
    power_limit_w), the limit the driver enforced, its peak temperature, throttle reasons and verdict; the
    CPU package's RAPL peak."""
    if check.get("skipped") or not check.get("gpus"):
        return []
    lines = [f"  measured under load (verify report {check.get('report') or '?'})"]
    for gpu in check["gpus"]:
        temp = "?" if gpu.get("peak_temp_c") is None else f"{num(gpu['peak_temp_c'])} °C"
        reasons = ", ".join(gpu.get("throttle_reasons") or []) or "none"
        lines.append(f"    GPU {gpu.get('index')} {gpu['model']}: peak {_w(gpu['peak_w'])}, "
                     f"mean {_w(gpu['mean_w'])} "
                     f"of {_w(gpu['declared_w'])} declared; limit {_w(gpu['limit_w'])}; peak {temp}; "
                     f"throttled: {reasons}  {str(gpu.get('verdict') or '').upper()}".rstrip())
    cpu = check.get("cpu_package")
    if cpu and cpu.get("peak_w") is not None:
        lines.append(f"    CPU package (RAPL): peak {_w(cpu['peak_w'])}, mean {_w(cpu.get('mean_w'))} of "
                     f"{_w(check.get('cpu_declared_w'))} declared")
    elif check.get("cpu_package_note"):
        lines.append(f"    CPU package: {check['cpu_package_note']}")
    return lines


@live_check(CHECK_ID, order=70, details=measured_lines)
def run(ctx: Context) -> CheckResult | None:
    verify_power = (ctx.facts or {}).get("verify_power")
    if not isinstance(verify_power, Mapping) or not isinstance(verify_power.get("power"), Mapping):
        return None  # no verify report on the host yet
    return compare_measured(ctx.plan, verify_power)
