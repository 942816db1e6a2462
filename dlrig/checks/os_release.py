"""``os`` (live): the declared OS release (what the preflight resolved the stack for) against the one the
host runs."""

from __future__ import annotations

from dlrig.checks.registry import Context, live_check
from dlrig.plan.model import HostPlan
from dlrig.result import CheckResult


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


@live_check("os", order=40)
def run(ctx: Context) -> CheckResult | None:
    """Nothing to say when the host's release is not known (no ``os`` in its facts, none gathered)."""
    if ctx.running_os is None:
        return None
    return check_os(ctx.plan, *ctx.running_os)
