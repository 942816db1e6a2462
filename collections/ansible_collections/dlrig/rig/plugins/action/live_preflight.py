# dlrig.rig.live_preflight: the hardware detected in a host (dlrig_hardware facts) against its
# declaration in the inventory, judged on the controller by dlrig.checks.live.live_checks.
# It never connects to the host: run dlrig.rig.hardware_facts first.
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

from ansible.plugins.action import ActionBase

# The repository root (collections/ansible_collections/dlrig/rig/plugins/action/live_preflight.py -> 6 up),
# so that dlrig imports even where it is not pip-installed.
_ROOT = Path(__file__).resolve().parents[6]
if (_ROOT / "dlrig" / "__init__.py").is_file() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

FACT = "dlrig_hardware"


def _os_release(task_vars: dict[str, Any], plan: Any) -> tuple[str | None, str | None]:
    """The host's OS release: its facts when gathered (a live host), else the inventory's ``os``."""
    facts = task_vars.get("ansible_facts") or {}
    distribution = facts.get("distribution") or task_vars.get("ansible_distribution")
    version = facts.get("distribution_version") or task_vars.get("ansible_distribution_version")
    if distribution and version:
        return str(distribution), str(version)
    if plan.os is not None:
        return plan.os.distribution, plan.os.release
    return None, None


class ActionModule(ActionBase):
    """Run the live checks for the current host; fail it when one fails."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("detected", "strict"))
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        host = str(task_vars.get("inventory_hostname", "?"))
        strict = bool(self._task.args.get("strict", False))
        try:
            from dlrig.checks.live import check_os, live_checks
            from dlrig.checks.declaration import with_declaration
            from dlrig.checks.stack import check_stack, role_facts
            from dlrig.hardware import OsRelease
            from dlrig.errors import InputError
            from dlrig.hardware import parse_host
            from dlrig.inventory import template_plan_vars
            from dlrig.result import CheckResult, outcome, worst
            from dlrig.upgrade import allow_downgrade, decide_driver, driver_check
        except ImportError as exc:
            result.update(failed=True, msg=f"dlrig is not importable from {_ROOT}: {exc}")
            return result

        detected = self._task.args.get("detected")
        if detected is None:
            detected = (task_vars.get("ansible_facts") or {}).get(FACT, task_vars.get(FACT))
        if not isinstance(detected, dict):
            result.update(failed=True, changed=False,
                          msg=f"live preflight: no '{FACT}' facts for {host}; run dlrig.rig.hardware_facts "
                              "first (or pass them as 'detected')")
            return result
        try:
            hostvars = template_plan_vars(host, task_vars, templar=self._templar)
            plan = parse_host(host, hostvars)
            checks = live_checks(plan, detected)
        except InputError as exc:
            result.update(failed=True, changed=False, msg=f"live preflight: {exc}")
            return result

        distribution, release = _os_release(task_vars, plan)
        checks.append(check_os(plan, distribution, release))
        checks = with_declaration(plan, checks)
        facts_out: dict[str, Any] = {}
        if plan.os is None and plan.hardware is not None and distribution and release:
            # No `os` in the inventory: resolve the stack from the host's facts now, for the roles.
            try:
                stack = check_stack(dataclasses.replace(plan, os=OsRelease(distribution, release)))
            except InputError as exc:
                stack = CheckResult("stack", "fail", str(exc))
            checks.append(stack)
            facts_out["dlrig_stack"] = role_facts(stack.figures) if stack.status != "fail" else {}
        try:
            allow = allow_downgrade(plan)
        except InputError as exc:  # nvidia_driver_allow_downgrade that is not a boolean
            result.update(failed=True, changed=False, msg=f"live preflight: {exc}")
            return result
        try:
            chosen = decide_driver(plan, detected.get("driver_version"), distribution, release, allow=allow)
            decision = chosen.as_dict()
            # A downgrade (a declared card needs an older branch) fails here, before any task, unless
            # nvidia_driver_allow_downgrade or a driver pin in `stack:` consents to it.
            downgrade = driver_check(plan, chosen)
            if downgrade is not None:
                checks.append(downgrade)
        except InputError as exc:  # e.g. an OS release the resolver does not know: not a live-check failure
            decision = {"action": "resolved", "branch": None, "reason": str(exc), "stack": {}}

        entries = [c.as_dict() for c in checks]
        verdict = worst([c.status for c in checks])
        result.update(
            changed=False,
            verdict=verdict,
            checks=entries,
            ansible_facts={
                "dlrig_live_preflight": {"verdict": verdict, "checks": entries, "driver": decision},
                **facts_out,
            },
        )
        result.update(outcome(checks, strict, prefix="live preflight failed: "))
        if not result.get("failed"):
            result["msg"] = f"{host}: live preflight {verdict}: " + "; ".join(
                f"{c.id} {c.status}" for c in checks)
        return result
