#!/usr/bin/python
# The documentation of the dlrig.rig.preflight action; the work is done on the controller by
# plugins/action/preflight.py, so this module never runs on a host.
DOCUMENTATION = r"""
---
module: preflight
short_description: Check a host's declared build (PSU, PCIe lanes, GPU slots, RAM, energy, stack)
description:
  - Runs dlrig's preflight checks on the controller for the current host, from its inventory
    variables C(hardware), C(power), C(os) and C(stack) (see docs/preflight.md).
  - Fails the host when a check fails, naming the failing checks; bad input (wrong type, unknown
    model without figures, ...) fails it with a one-line message naming the variable path.
  - Never connects to the host.
  - Sets the facts C(dlrig_stack) (the resolved software versions) and C(dlrig_preflight)
    (verdict and summary figures).
version_added: "0.1.0"
author: dlrig contributors
options:
  strict:
    description: Fail on warnings too.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Run the preflight checks on the controller
  dlrig.rig.preflight:

- name: Also stop on warnings
  dlrig.rig.preflight:
    strict: true
"""

RETURN = r"""
verdict:
  description: The worst status of the host's checks.
  returned: always
  type: str
  sample: ok
checks:
  description: Every check with its id, status, message and figures.
  returned: always
  type: list
  elements: dict
summary:
  description: max_draw_w, psu_w, load_pct, lanes_used, lanes_available, gpu_count, vram_gb, ram_gb,
    monthly_cost, currency.
  returned: always
  type: dict
ansible_facts:
  description: dlrig_stack (resolved versions) and dlrig_preflight (verdict and summary).
  returned: always
  type: dict
"""

if __name__ == "__main__":
    raise SystemExit("dlrig.rig.preflight runs as an action plugin on the controller")
