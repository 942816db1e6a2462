"""``circuit``: every host on one wall circuit (``power.circuit.name``) at the wall against the breaker
(issue 12).

A host's wall draw is its maximum draw (psu_headroom's sum) divided by its PSU's 80 PLUS efficiency at
that load (the energy check's table; no PSU declared: the flat 75 % of ``efficiency: none``). The hosts
naming one circuit add up. The breaker's continuous rating is ``continuous_pct`` (80 %, US NEC
210.19(A)(1)/210.20(A), dlrig/data/power_fit.yml) of volts × amps: ``warn`` above it (a training run is
a continuous load), ``fail`` above the breaker's full rating.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dlrig.checks._common import fmt_w, skipped
from dlrig.checks._fitdata import load
from dlrig.checks.energy import efficiency_at
from dlrig.checks.psu import max_draw_w
from dlrig.checks.registry import plan_check
from dlrig.errors import InputError
from dlrig.output.numbers import num
from dlrig.plan.model import HostPlan
from dlrig.result import CheckResult

CHECK_ID = "circuit"

# The hosts of the report being built (report.build_report sets them): a host's circuit counts every
# host naming the same circuit. Outside a report (a single-host action, a what-if) the host stands alone.
_HOSTS: contextvars.ContextVar[tuple[HostPlan, ...]] = contextvars.ContextVar("dlrig_circuit_hosts",
                                                                              default=())
# The --limit pattern of the run (None: the whole inventory): hosts it left out are not counted.
_LIMIT: contextvars.ContextVar[str | None] = contextvars.ContextVar("dlrig_circuit_limit", default=None)


@contextmanager
def hosts_together(plans: Sequence[HostPlan], limit: str | None = None) -> Iterator[None]:
    """Count ``plans`` together on their circuits while checks run (InputError on a circuit given two
    ratings); ``limit``: the run's --limit pattern, named in every circuit's result."""
    validate_circuits(plans)
    token = _HOSTS.set(tuple(plans))
    limit_token = _LIMIT.set(limit)
    try:
        yield
    finally:
        _HOSTS.reset(token)
        _LIMIT.reset(limit_token)


def wall_w(plan: HostPlan) -> float | None:
    """The host's draw at the wall at full load, or None without a hardware declaration."""
    hw = plan.hardware
    if hw is None:
        return None
    draw = max_draw_w(hw)
    if hw.psu is None:
        return draw / efficiency_at("none", 1.0, plan.power.mains_v)
    return draw / efficiency_at(hw.psu.efficiency, draw / hw.psu.watts, plan.power.mains_v)


def validate_circuits(plans: Sequence[HostPlan]) -> None:
    """Hosts naming one circuit must give it the same volts and amps (InputError naming the host)."""
    seen: dict[str, HostPlan] = {}
    for plan in plans:
        circuit = plan.power.circuit
        if circuit is None:
            continue
        first = seen.setdefault(circuit.name, plan)
        known = first.power.circuit
        assert known is not None
        for key in ("volts", "amps"):
            if getattr(known, key) != getattr(circuit, key):
                raise InputError(plan.name, f"power.circuit.{key}",
                                 f"circuit {circuit.name!r} is {getattr(known, key):g} {key} on {first.name} "
                                 f"but {getattr(circuit, key):g} here; one circuit has one rating")


def _groups(plans: Sequence[HostPlan]) -> dict[str, list[HostPlan]]:
    groups: dict[str, list[HostPlan]] = {}
    for plan in plans:
        if plan.power.circuit is not None:
            groups.setdefault(plan.power.circuit.name, []).append(plan)
    return groups


def circuit_results(plans: Sequence[HostPlan], limit: str | None = None) -> dict[str, CheckResult]:
    """The ``circuit`` result of every host, all the hosts of each circuit counted together."""
    validate_circuits(plans)
    groups = _groups(plans)
    results: dict[str, CheckResult] = {}
    for plan in plans:
        if plan.power.circuit is None:
            results[plan.name] = skipped(CHECK_ID, "power.circuit is not declared")
        else:
            results[plan.name] = check_circuit(plan, groups[plan.power.circuit.name], limit)
    return results


def circuits(plans: Sequence[HostPlan], limit: str | None = None) -> list[dict[str, Any]]:
    """One entry per named circuit (the document's ``circuits``): its figures, the hosts counted on it and
    its verdict, in the order the circuits are first named."""
    out = []
    for name, hosts in _groups(plans).items():
        result = check_circuit(hosts[0], hosts, limit)
        out.append({"name": name, "status": result.status, "message": result.message,
                    **{k: v for k, v in result.figures.items() if k != "circuit"}})
    return out


def key_figures(f: Mapping[str, Any], currency: str | None) -> str:
    if "total_wall_w" not in f:
        return ""
    return f"{num(round(f['total_wall_w']))} of {num(f.get('continuous_w'))} W on {f.get('circuit')}"


@plan_check(CHECK_ID, order=55, figures=("circuit", "total_wall_w", "continuous_w", "load_pct"),
            key_figures=key_figures)
def check_circuit_of(plan: HostPlan) -> CheckResult:
    """The registered check: ``plan``'s circuit with the hosts of the report on the same circuit."""
    circuit = plan.power.circuit
    peers = [p for p in _HOSTS.get() if circuit is not None and p.power.circuit is not None
             and p.power.circuit.name == circuit.name]
    if plan.name not in {p.name for p in peers}:
        peers = [plan, *peers]
    return check_circuit(plan, [plan if p.name == plan.name else p for p in peers], _LIMIT.get())


def check_circuit(plan: HostPlan, hosts: Sequence[HostPlan] | None = None,
                  limit: str | None = None) -> CheckResult:
    """``plan``'s circuit with every host on it (``hosts``, default: ``plan`` alone); ``limit``: the run's
    --limit pattern (hosts it left out are not counted, and the result says so)."""
    circuit = plan.power.circuit
    if circuit is None:
        return skipped(CHECK_ID, "power.circuit is not declared")
    data = load()
    on_it = list(hosts) if hosts else [plan]
    listed: list[dict[str, Any]] = []
    for host in on_it:
        watts = wall_w(host)
        listed.append({"name": host.name, "wall_w": None if watts is None else round(watts, 1)})
    total = sum(h["wall_w"] or 0 for h in listed)
    rating = circuit.volts * circuit.amps
    continuous = rating * data.continuous_pct / 100
    figures: dict[str, Any] = {
        "circuit": circuit.name, "volts": circuit.volts, "amps": circuit.amps, "rating_w": round(rating, 1),
        "continuous_pct": data.continuous_pct, "continuous_w": round(continuous, 1), "hosts": listed,
        "total_wall_w": round(total, 1), "load_pct": round(100 * total / rating, 1),
        "amps_drawn": round(total / circuit.volts, 1), "source": data.circuit_source,
    }
    undeclared = [h["name"] for h in listed if h["wall_w"] is None]
    not_counted = []
    if undeclared:
        not_counted.append(f"{', '.join(undeclared)} (no hardware declared)")
    if limit is not None:
        not_counted.append(f"hosts of the inventory outside --limit {limit}")
    figures["counted"] = [h["name"] for h in listed if h["wall_w"] is not None]
    figures["limit"] = limit
    figures["not_counted"] = "; ".join(not_counted) or None
    names = " + ".join(f"{h['name']} {fmt_w(h['wall_w'])}" for h in listed if h["wall_w"] is not None)
    what = (f"circuit {circuit.name} ({circuit.volts:g} V / {circuit.amps:g} A = {fmt_w(rating)}; "
            f"{data.continuous_pct:g} % continuous = {fmt_w(continuous)}): {names or 'nothing declared'} "
            f"= {fmt_w(total)} at the wall ({figures['amps_drawn']:g} A)")
    if not_counted:
        what += f"; not counted: {figures['not_counted']}"
    if total > rating:
        return CheckResult(CHECK_ID, "fail", f"{what}: above the breaker's rating; the breaker trips — "
                           "move a host to another circuit or set power_limit_w on the GPUs", figures)
    if total > continuous:
        return CheckResult(CHECK_ID, "warn", f"{what}: above the {data.continuous_pct:g} % a continuous load "
                           "may use — move a host to another circuit or set power_limit_w on the GPUs",
                           figures)
    return CheckResult(CHECK_ID, "ok", what, figures)
