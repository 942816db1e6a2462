"""``driver`` (live): a driver downgrade the upgrade would do (a declared card needs an older branch than
the installed one) fails before any task runs unless something consents to it
(``nvidia_driver_allow_downgrade`` or a driver pin in ``stack:``)."""

from __future__ import annotations

from dlrig.checks.registry import Context, live_check
from dlrig.plan.model import HostPlan
from dlrig.result import CheckResult
from dlrig.upgrade.driver import DriverDecision, change_lines, consent_hint


def driver_check(plan: HostPlan, decision: DriverDecision) -> CheckResult | None:
    """The live preflight's ``driver`` check for a downgrade (None for anything else): it fails, before
    any task runs, when nothing consents to it."""
    if decision.action != "downgrade":
        return None
    figures = {"driver": decision.as_dict(), "changes": change_lines(decision)}
    if decision.needs_consent:
        return CheckResult("driver", "fail", consent_hint(decision, plan.name), figures=figures)
    return CheckResult("driver", "ok", "; ".join(change_lines(decision)), figures=figures)


@live_check("driver", order=60)
def run(ctx: Context) -> CheckResult | None:
    decision = ctx.driver_decision
    return None if decision is None else driver_check(ctx.plan, decision)
