"""``--what-if``: the planned build's checks next to today's (the comparison keeps each check's key
figures, as the registry declares them), the capacity and the software the plan changes; the document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dlrig.errors import InputError
from dlrig.upgrade.capacity import capacity_for
from dlrig.upgrade.spec import apply_what_if, parse_specs

# The figures worth a column in the side-by-side view, in display order.
SUMMARY_FIGURES = (
    ("gpu_count", "GPUs", ""),
    ("vram_gb", "VRAM", "GB"),
    ("ram_gb", "RAM", "GB"),
    ("max_draw_w", "max draw", "W"),
    ("psu_w", "PSU", "W"),
    ("load_pct", "PSU load", "%"),
    ("lanes_used", "lanes used", ""),
    ("lanes_available", "lanes available", ""),
    ("monthly_cost", "energy / month", ""),
)

@dataclass(frozen=True)
class CheckRow:
    id: str
    today: dict[str, Any] | None
    planned: dict[str, Any] | None

    @property
    def changed(self) -> bool:
        return (self.today or {}).get("status") != (self.planned or {}).get("status")

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "today": self.today, "planned": self.planned, "changed": self.changed}


def _check_view(check: Mapping[str, Any]) -> dict[str, Any]:
    from dlrig.checks.registry import REGISTRY

    described = REGISTRY.get(str(check.get("id")), "what_if")
    keys = described.figures if described is not None else ()
    figures = {k: check[k] for k in keys if k in check}
    return {"status": check.get("status"), "message": check.get("message"), "figures": figures}


def compare(today: Mapping[str, Any], planned: Mapping[str, Any]) -> dict[str, Any]:
    """Side by side: each check's status, message and key figures, and the summaries' figures.

    ``today``/``planned`` are host entries of the preflight JSON (``{"name", "verdict", "checks",
    "summary"}``).
    """
    t_checks = {c.get("id"): c for c in today.get("checks") or []}
    p_checks = {c.get("id"): c for c in planned.get("checks") or []}
    ids = list(t_checks) + [i for i in p_checks if i not in t_checks]
    rows = [CheckRow(id=str(i),
                     today=_check_view(t_checks[i]) if i in t_checks else None,
                     planned=_check_view(p_checks[i]) if i in p_checks else None) for i in ids]
    t_sum = today.get("summary") or {}
    p_sum = planned.get("summary") or {}
    figures = [{"figure": key, "label": label, "unit": unit, "today": t_sum.get(key),
                "planned": p_sum.get(key)}
               for key, label, unit in SUMMARY_FIGURES if key in t_sum or key in p_sum]
    return {
        "verdict": {"today": today.get("verdict"), "planned": planned.get("verdict")},
        "checks": [r.as_dict() for r in rows],
        "figures": figures,
        "currency": p_sum.get("currency") or t_sum.get("currency"),
    }


def _spec_hint(problem: str) -> str:
    """A planned card's missing figures go into the spec, not the inventory (issue 19, finding 8)."""
    return problem.replace(
        "in the inventory",
        "in the spec, e.g. 'gpus=2x MODEL@250W vram=6 arch=Maxwell' (@ is watts, vram in GB)")


def what_if_host(name: str, hostvars: dict[str, Any], specs: Sequence[str]) -> dict[str, Any]:
    """One host's what-if entry: today's and the planned report, their comparison, the capacity."""
    from dlrig.checks import run_checks
    from dlrig.output.document import host_entry
    from dlrig.plan.parse import parse_host

    plan = parse_specs(specs, host=name)
    today_plan = parse_host(name, hostvars)
    if today_plan.hardware is None:
        return host_entry(today_plan, [], what_if=list(specs), changes=plan.describe(), today=None,
                          planned=None, comparison=None, capacity=None, software=None)
    try:
        planned_vars = apply_what_if(hostvars, plan)
    except InputError as exc:
        raise InputError(name, exc.path, exc.problem) from None
    try:
        planned_plan = parse_host(name, planned_vars)
    except InputError as exc:   # an unknown model, a PSU class the inventory parser refuses, ...
        raise InputError(name, "--what-if", f"{exc.path}: {_spec_hint(exc.problem)}") from None
    today_checks = run_checks(today_plan, "what_if")
    planned_checks = run_checks(planned_plan, "what_if")
    today = host_entry(today_plan, today_checks)
    planned = host_entry(planned_plan, planned_checks)
    cap = capacity_for(planned_plan)
    # The host's own checks and summary are the planned build's; today's and the comparison beside them.
    return host_entry(planned_plan, planned_checks, what_if=list(specs), changes=plan.describe(),
                      today=today, planned=planned, comparison=compare(today, planned),
                      capacity=None if cap is None else cap.as_dict(),
                      software=planned_software(today, planned_plan))


def planned_software(today: dict[str, Any], planned_plan: Any) -> dict[str, Any] | None:
    """What the plan does to the software: the driver decision the upgrade would take on a box running
    today's resolved stack, and its lines ("driver 595 → 580 (downgrade: …)", "CUDA 13.2 → 12.9",
    "PyTorch environment rebuilt (cu132 → cu126)", …). None when today's stack is not resolved."""
    from dlrig.checks.stack import resolved_driver
    from dlrig.upgrade.driver import change_lines, decide_driver

    branch = resolved_driver(today.get("checks") or [])
    if planned_plan.os is None or not branch:
        return None
    decision = decide_driver(planned_plan, str(branch), planned_plan.os.distribution, planned_plan.os.release)
    changes = decision.action in ("upgrade", "downgrade")
    return {"driver": decision.as_dict(), "changes": changes, "lines": change_lines(decision)}


def what_if_document(hosts: Sequence[tuple[str, dict[str, Any]]], specs: Sequence[str]) -> dict[str, Any]:
    from dlrig.output.document import document

    parse_specs(specs)  # a bad spec is reported once, before any host
    return document("what_if", [what_if_host(name, hostvars, specs) for name, hostvars in hosts],
                    what_if=list(specs))
