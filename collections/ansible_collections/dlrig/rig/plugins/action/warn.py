# dlrig.rig.warn: show one message as an Ansible warning ([WARNING]: ...) and go on. For a role that skips
# its work for a reason the user should see (e.g. jupyterlab without a workstation user): a debug task's
# output hides among the results, a failed task stops the host.
from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    """Return the message as a warning; never changes anything, never fails for its content."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("msg",))
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        message = self._task.args.get("msg")
        if not isinstance(message, str) or not message.strip():
            result.update(failed=True, msg="dlrig.rig.warn: msg must be a non-empty string")
            return result
        # One line of printable characters: a warning is read in a terminal, where a newline or an escape
        # sequence from the inventory (a host name, a variable) would forge lines or colours.
        line = "".join(ch if ch.isprintable() else "?" for ch in " ".join(message.split()))
        result.update(changed=False, warnings=[line])
        return result
