#!/usr/bin/python
# The documentation of the dlrig.rig.warn action; the work is done on the controller by
# plugins/action/warn.py, so this module never runs on a host.
DOCUMENTATION = r"""
---
module: warn
short_description: Show a message as an Ansible warning and go on
description:
  - "Shows I(msg) as an Ansible warning (C([WARNING]: ...)) for the current host. The task never changes
    anything and does not fail the host."
  - For a role that skips its work for a reason the user should act on.
  - Never connects to the host. Whitespace in the message (newlines included) is folded to single spaces.
version_added: "0.1.0"
author: dlrig contributors
options:
  msg:
    description: The message, one line; name the host and the variable to set.
    type: str
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Say why JupyterLab is skipped
  dlrig.rig.warn:
    msg: "{{ inventory_hostname }}: JupyterLab skipped: set jupyterlab_user"
"""

RETURN = r"""
warnings:
  description: The message, shown by Ansible as a warning.
  returned: success
  type: list
  elements: str
"""

if __name__ == "__main__":
    raise SystemExit("dlrig.rig.warn runs as an action plugin on the controller")
