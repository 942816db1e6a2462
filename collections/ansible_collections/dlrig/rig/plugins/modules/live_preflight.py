#!/usr/bin/python
# The documentation of the dlrig.rig.live_preflight action; the work is done on the controller by
# plugins/action/live_preflight.py, so this module never runs on a host.
DOCUMENTATION = r"""
---
module: live_preflight
short_description: Compare the hardware detected in a host with its declaration in the inventory
description:
  - Runs dlrig's live checks on the controller for the current host, from the C(dlrig_hardware) facts
    that M(dlrig.rig.hardware_facts) gathered and the host's inventory variables C(hardware), C(power),
    C(os) and C(stack).
  - C(gpu_count) fails when the GPUs detected differ from the declared ones in number or model, naming the
    card (PCI address, slot) that is missing, not answering or unexpected; C(pcie_link) warns when a GPU's
    link is narrower than its slot gives ("check the riser/slot"); C(ram) warns when the RAM the kernel
    sees differs from C(hardware.memory.gb).
  - Also decides what the GPU-upgrade flow does with the NVIDIA driver (keep the installed branch when it
    serves every declared GPU, else upgrade to the branch the resolver picks; install when none answers),
    from the host's OS facts (else the inventory's C(os)).
  - Fails the host when a check fails; warnings are shown as warnings. Never connects to the host.
version_added: "0.1.0"
author: dlrig contributors
options:
  detected:
    description:
      - The detected hardware (the C(dlrig_hardware) fact's value). Defaults to the host's
        C(dlrig_hardware) fact.
    type: dict
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
notes:
  - "Sets the fact C(dlrig_live_preflight) with C(verdict), C(checks) and C(driver); C(driver) holds C(action)
    (keep, upgrade, install or resolved), C(branch), C(reason), C(installed_version), C(installed_branch),
    C(resolved_branch) and C(stack), the software set that goes with C(branch)."
"""

EXAMPLES = r"""
- name: Detect the hardware actually in the box
  dlrig.rig.hardware_facts:

- name: Compare it with the inventory's declaration (fails on a missing or unexpected GPU)
  dlrig.rig.live_preflight:

- name: Say what the upgrade would do with the driver
  ansible.builtin.debug:
    msg: "{{ dlrig_live_preflight.driver.action }}: {{ dlrig_live_preflight.driver.reason }}"
"""

RETURN = r"""
verdict:
  description: The worst status of the live checks.
  returned: success
  type: str
  sample: ok
checks:
  description: The live checks, each with C(id), C(status), C(message) and its figures.
  returned: success
  type: list
  elements: dict
"""
