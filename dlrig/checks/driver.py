"""``driver`` (live): a driver downgrade the upgrade would do (a declared card needs an older branch than
the installed one) fails before any task runs unless something consents to it (dlrig.upgrade)."""

from __future__ import annotations

from dlrig.checks.registry import Context, live_check
from dlrig.result import CheckResult


@live_check("driver", order=60)
def run(ctx: Context) -> CheckResult | None:
    from dlrig.upgrade.driver import driver_check

    decision = ctx.driver_decision
    return None if decision is None else driver_check(ctx.plan, decision)
