# dlrig.rig.preflight: the plan checks of scripts/preflight.py, run on the controller for one host.
# It never connects to the host: it reads the host's variables (task_vars), so site.yml can stop the
# whole run before any task touches any machine.
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ansible.plugins.action import ActionBase

# The repository root (collections/ansible_collections/dlrig/rig/plugins/action/preflight.py -> 6 up),
# so that dlrig imports even where it is not pip-installed.
_ROOT = Path(__file__).resolve().parents[6]
if (_ROOT / "dlrig" / "__init__.py").is_file() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

class ActionModule(ActionBase):
    """Run dlrig's preflight checks for the current host and fail it when a check fails."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("strict",))
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        strict = bool(self._task.args.get("strict", False))
        host = str(task_vars.get("inventory_hostname", "?"))
        try:
            from dlrig.checks import run_checks
            from dlrig.checks.stack import stack_facts
            from dlrig.errors import InputError
            from dlrig.output.document import host_entry
            from dlrig.plan.inventory import template_plan_vars
            from dlrig.plan.parse import parse_host
            from dlrig.result import outcome
        except ImportError as exc:
            result.update(failed=True, msg=f"dlrig is not importable from {_ROOT}: {exc}")
            return result
        try:
            hostvars = template_plan_vars(host, task_vars, templar=self._templar)
            plan = parse_host(host, hostvars)
            checks = run_checks(plan)
        except InputError as exc:
            result.update(failed=True, changed=False, msg=f"preflight: {exc}")
            return result
        report = host_entry(plan, checks)
        result.update(
            changed=False,
            verdict=report["verdict"],
            declared=report["declared"],
            checks=report["checks"],
            summary=report["summary"],
            ansible_facts={
                "dlrig_stack": stack_facts(report["checks"]),
                "dlrig_preflight": {"verdict": report["verdict"], "declared": report["declared"],
                                    "summary": report["summary"]},
            },
        )
        result.update(outcome(checks, strict, prefix="preflight failed: "))
        if result.get("failed"):
            return result
        if not report["declared"]:
            result["msg"] = f"{host}: hardware not declared, no plan checks"
        else:
            result["msg"] = f"{host}: preflight {report['verdict']}"
        return result
