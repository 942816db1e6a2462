"""``energy``: the monthly electricity cost at full load around the clock, at the wall.

Wall power = the build's maximum draw divided by the PSU's 80 PLUS efficiency at that load
(dlrig/data/psu_efficiency.yml, interpolated linearly between the 20/50/100 % points). A month is
30 days of 24 hours. The check also says what one 80 PLUS class up saves and one class down costs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from dlrig.checks._common import fmt_w, skipped
from dlrig.checks.psu import max_draw_w
from dlrig.checks.registry import plan_check
from dlrig.plan.model import EFFICIENCY_CLASSES, HostPlan
from dlrig.result import CheckResult

CHECK_ID = "energy"
HOURS_PER_MONTH = 24 * 30


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[int, list[tuple[float, float]]]]:
    text = resources.files("dlrig").joinpath("data/psu_efficiency.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    table: dict[str, dict[int, list[tuple[float, float]]]] = {}
    for entry in data["classes"]:
        table[entry["name"]] = {int(v): sorted((float(load), float(pct)) for load, pct in points.items())
                                for v, points in entry["mains"].items()}
    return table


def efficiency_at(efficiency_class: str, load: float, mains_v: int = 230) -> float:
    """The PSU's efficiency (0..1) at ``load`` (fraction of its rating) for an 80 PLUS class."""
    points = _table()[efficiency_class][mains_v]
    if load <= points[0][0]:
        return points[0][1] / 100
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if load <= x1:
            return (y0 + (y1 - y0) * (load - x0) / (x1 - x0)) / 100
    return points[-1][1] / 100


def monthly_cost(draw_w: float, efficiency: float, price_per_kwh: float) -> float:
    """Cost of drawing ``draw_w`` (DC) for a month of 30 days through a PSU of ``efficiency`` (0..1)."""
    return draw_w / efficiency * HOURS_PER_MONTH / 1000 * price_per_kwh


def key_figures(f: Mapping[str, Any], currency: str | None) -> str:
    if f.get("monthly_cost") is None:
        return ""
    return f"{f['monthly_cost']:.2f} {currency or f.get('currency') or ''}/month".replace(" /", "/")


@plan_check(CHECK_ID, order=50, figures=("monthly_cost", "currency", "wall_w"), key_figures=key_figures,
            summary=("monthly_cost",))
def check_energy(plan: HostPlan) -> CheckResult:
    hw = plan.hardware
    if hw is None or hw.psu is None:
        return skipped(CHECK_ID, "hardware.psu is not declared")
    price, currency, mains = plan.power.price_per_kwh, plan.power.currency, plan.power.mains_v
    if price is None:
        return skipped(CHECK_ID, "power.price_per_kwh is not declared")
    draw = max_draw_w(hw)
    load = draw / hw.psu.watts
    eff = efficiency_at(hw.psu.efficiency, load, mains)
    cost = monthly_cost(draw, eff, price)
    figures: dict[str, Any] = {
        "max_draw_w": round(draw, 1), "load_pct": round(100 * load, 1), "efficiency_class": hw.psu.efficiency,
        "efficiency_pct": round(100 * eff, 1), "wall_w": round(draw / eff, 1), "mains_v": mains,
        "kwh_month": round(draw / eff * HOURS_PER_MONTH / 1000, 1), "price_per_kwh": price,
        "monthly_cost": round(cost, 2), "currency": currency,
    }
    rank = EFFICIENCY_CLASSES.index(hw.psu.efficiency)
    parts = [f"{fmt_w(draw)} at {figures['load_pct']:g} % load is {figures['wall_w']:.0f} W at the wall "
             f"({hw.psu.efficiency}, {figures['efficiency_pct']:g} %): "
             f"{cost:.2f} {currency} a month at full load"]
    if rank + 1 < len(EFFICIENCY_CLASSES):
        up = EFFICIENCY_CLASSES[rank + 1]
        up_cost = monthly_cost(draw, efficiency_at(up, load, mains), price)
        figures["class_up"] = {"class": up, "monthly_cost": round(up_cost, 2),
                               "saves": round(cost - up_cost, 2)}
        parts.append(f"{up} would save {cost - up_cost:.2f}")
    if rank > 0:
        down = EFFICIENCY_CLASSES[rank - 1]
        down_cost = monthly_cost(draw, efficiency_at(down, load, mains), price)
        figures["class_down"] = {"class": down, "monthly_cost": round(down_cost, 2),
                                 "costs": round(down_cost - cost, 2)}
        parts.append(f"{down} would cost {down_cost - cost:.2f} more")
    return CheckResult(CHECK_ID, "ok", "; ".join(parts), figures)
