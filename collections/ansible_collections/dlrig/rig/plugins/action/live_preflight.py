# dlrig.rig.live_preflight: the hardware detected in a host (dlrig_hardware facts) against its
# declaration in the inventory, judged on the controller by dlrig.checks.live.live_checks.
# It never connects to the host: run dlrig.rig.hardware_facts first.
from __future__ import annotations

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


def _gathered_os(task_vars: dict[str, Any]) -> tuple[str, str] | None:
    """The host's OS release from the play's gathered facts, None when they were not gathered."""
    facts = task_vars.get("ansible_facts") or {}
    distribution = facts.get("distribution") or task_vars.get("ansible_distribution")
    version = facts.get("distribution_version") or task_vars.get("ansible_distribution_version")
    return (str(distribution), str(version)) if distribution and version else None


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
            from dlrig.checks.stack import stack_facts
            from dlrig.errors import InputError
            from dlrig.plan.inventory import template_plan_vars
            from dlrig.plan.parse import parse_host
            from dlrig.result import CheckResult, outcome
            from dlrig.upgrade.live import live_host
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
            entry = live_host(plan, detected, os_release=_gathered_os(task_vars))
        except InputError as exc:
            result.update(failed=True, changed=False, msg=f"live preflight: {exc}")
            return result

        # The same function as `preflight --live`: the same checks, verdicts and driver decision.
        checks = [CheckResult(c["id"], c["status"], c["message"]) for c in entry["checks"]]
        verdict = entry["verdict"]
        result.update(
            changed=False,
            verdict=verdict,
            checks=entry["checks"],
            ansible_facts={
                "dlrig_live_preflight": {"verdict": verdict, "checks": entry["checks"],
                                         "driver": entry["driver"]},
                # No `os` in the inventory: the stack resolved from the host's facts now, for the roles.
                **({"dlrig_stack": stack_facts(entry["checks"])}
                   if any(c["id"] == "stack" for c in entry["checks"]) else {}),
            },
        )
        result.update(outcome(checks, strict, prefix="live preflight failed: "))
        if not result.get("failed"):
            result["msg"] = f"{host}: live preflight {verdict}: " + "; ".join(
                f"{c.id} {c.status}" for c in checks)
        return result
