"""``detect`` (live): the one verdict of a host whose hardware could not be detected (unreachable, the
module failed); the checks that need detected facts do not run for it."""

from __future__ import annotations

from dlrig.checks.registry import Context, live_check
from dlrig.result import CheckResult


@live_check("detect", order=0, needs="plan")
def run(ctx: Context) -> CheckResult | None:
    if ctx.detection_error is None:
        return None
    return CheckResult("detect", "fail", f"could not detect the hardware: {ctx.detection_error}",
                       {"unreachable": ctx.unreachable})
