#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dlrig contributors
# MIT License (see the collection's galaxy.yml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: hardware_facts
short_description: Detect the GPUs, CPU, RAM, kernel and Secure Boot state of a deep-learning host
version_added: "0.1.0"
description:
  - Reads C(/sys/bus/pci/devices) for NVIDIA display controllers (vendor 0x10de, PCI class 0x03) with their
    PCI address, device and subsystem ids and the current and maximum PCIe link width and generation.
  - Enriches them with C(lspci -vmmnD) (physical slot; a revision of ff marks a card that fell off the bus)
    and, when the NVIDIA driver answers, with C(nvidia-smi --query-gpu) (name, VRAM, power limit and its
    allowed range, driver version).
  - Reads the CPU model from C(/proc/cpuinfo), the RAM from C(/proc/meminfo), the kernel release, the
    Secure Boot EFI variable and whether the C(nvidia) kernel module is loaded.
  - Only reads; never changes anything. Commands run without a shell.
options:
  sysfs_root:
    description:
      - Directory under which C(sys/) and C(proc/) are read. Tests point it at a fixture tree.
    type: path
    default: /
  nvidia_smi:
    description:
      - The nvidia-smi executable (a name looked up in C(PATH), or a path). Skipped when not found.
    type: str
    default: nvidia-smi
  lspci:
    description:
      - The lspci executable (a name looked up in C(PATH), or a path). Skipped when not found.
    type: str
    default: lspci
  verify_report:
    description:
      - The last verification report of the C(gpu_verify) role. Its C(power) section (the power measured
        under the probes' load) becomes C(dlrig_hardware.verify_power), for the live preflight's
        C(measured_power) check. Absent or unreadable, C(verify_power) is null. An empty string skips it.
    type: str
    default: /var/lib/dlrig/verify-report.json
author:
  - dlrig contributors
notes:
  - Supports check mode; the module never changes the host.
  - Runs on Python 3.6 targets (Ubuntu 18.04).
"""

EXAMPLES = r"""
- name: Detect the hardware actually in the box
  dlrig.rig.hardware_facts:

- name: Read a captured sysfs tree and canned command outputs (tests)
  dlrig.rig.hardware_facts:
    sysfs_root: tests/fixtures/hw/two-gpus/root
    nvidia_smi: tests/fixtures/hw/two-gpus/bin/nvidia-smi
    lspci: tests/fixtures/hw/two-gpus/bin/lspci

- name: Say how many GPUs answered
  ansible.builtin.debug:
    msg: "{{ dlrig_hardware.gpus | selectattr('present') | list | length }} GPU(s) on the bus"
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    dlrig_hardware:
      description: What dlrig detected on the host.
      returned: always
      type: dict
      contains:
        gpus:
          description:
            - One entry per NVIDIA display device, sorted by PCI address. Keys C(pci_address), C(device_id),
              C(subsystem_vendor_id), C(subsystem_device_id), C(revision), C(driver), C(slot),
              C(current_link_width), C(max_link_width), C(current_link_gen), C(max_link_gen),
              C(current_link_speed), C(max_link_speed), C(present) (false when the card does not answer),
              C(problems) (why not), C(source) and C(smi) (its nvidia-smi row or null).
          type: list
          elements: dict
          sample:
            - pci_address: "0000:0a:00.0"
              device_id: "1f02"
              current_link_width: 16
              max_link_width: 16
              current_link_gen: 1
              max_link_gen: 3
              present: true
        nvidia_smi:
          description:
            - nvidia-smi's rows (C(index), C(pci_address), C(name), C(memory_total_mib), C(power_limit_w),
              C(power_min_limit_w), C(power_max_limit_w), C(power_default_limit_w), C(driver_version),
              C(current_link_gen), C(current_link_width), C(max_link_gen), C(max_link_width)); values
              nvidia-smi reports as C([N/A]) or C([Not Supported]) are null. Empty when the driver does not
              answer.
          type: list
          elements: dict
        nvidia_smi_errors:
          description:
            - Lines of nvidia-smi output that were not GPU rows
              (e.g. "Unable to determine the device handle").
          type: list
          elements: dict
        driver_answers:
          description: Whether nvidia-smi returned at least one GPU row.
          type: bool
        driver_version:
          description: The driver version nvidia-smi or the loaded module reports, or null.
          type: str
        cpu_model:
          description: The CPU model name.
          type: str
          sample: AMD Ryzen Threadripper 1900X 8-Core Processor
        cpu_threads:
          description: Logical CPUs.
          type: int
        ram_kib:
          description: MemTotal in KiB (what the kernel can use, a little below the installed size).
          type: int
        ram_gb:
          description: MemTotal in GiB, one decimal.
          type: float
          sample: 15.6
        kernel:
          description: The running kernel's release.
          type: str
        secure_boot:
          description: C(enabled), C(disabled), C(unsupported) (no EFI) or C(unknown).
          type: str
        nvidia_module_loaded:
          description: Whether the nvidia kernel module is loaded.
          type: bool
        nvidia_module_version:
          description: The loaded nvidia module's version, or null.
          type: str
        verify_power:
          description:
            - The C(power) section of the last C(gpu_verify) report (option I(verify_report)) as
              C({report, verdict, power}), or null when there is none.
          type: dict
        commands:
          description:
            - The commands that ran, each with its C(path) and exit status C(rc) (absent when not found).
          type: dict
          sample:
            lspci: {"path": "/usr/bin/lspci", "rc": 0}
            nvidia_smi: {"path": "/usr/bin/nvidia-smi", "rc": 0}
"""

import json
import os
from typing import Any, Dict, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dlrig.rig.plugins.module_utils import hwdetect


def _find(module: AnsibleModule, name: str) -> Optional[str]:
    """An executable's path: an absolute/relative path as given, else looked up in PATH; None when absent."""
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    return module.get_bin_path(name, required=False)


def _run(module: AnsibleModule, executable: str, args: List[str]) -> Tuple[int, str]:
    """Run without a shell; return (rc, stdout + stderr)."""
    rc, out, err = module.run_command([executable, *args], check_rc=False, environ_update={"LC_ALL": "C"})
    return rc, (out or "") + (err or "")


def _verify_power(path: Optional[str]) -> Optional[Dict[str, Any]]:
    """The ``power`` section of the last verification report (with the report's path), or None."""
    if not path:
        return None
    try:
        with open(path) as handle:
            report = json.load(handle)
    except (OSError, ValueError):
        return None
    power = report.get("power") if isinstance(report, dict) else None
    if not isinstance(power, dict):
        return None
    return {"report": path, "verdict": report.get("verdict"), "power": power}


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            sysfs_root=dict(type="path", default="/"),
            nvidia_smi=dict(type="str", default="nvidia-smi"),
            lspci=dict(type="str", default="lspci"),
            verify_report=dict(type="str", default="/var/lib/dlrig/verify-report.json"),
        ),
        supports_check_mode=True,
    )
    commands: Dict[str, Dict[str, Any]] = {}
    lspci_text = None
    lspci = _find(module, module.params["lspci"])
    if lspci:
        rc, text = _run(module, lspci, ["-vmmnD"])
        commands["lspci"] = {"path": lspci, "rc": rc}
        lspci_text = text if rc == 0 else None

    smi_text = None
    nvidia_smi = _find(module, module.params["nvidia_smi"])
    if nvidia_smi:
        rc, smi_text = _run(module, nvidia_smi, list(hwdetect.NVIDIA_SMI_ARGS))
        commands["nvidia_smi"] = {"path": nvidia_smi, "rc": rc}

    facts = hwdetect.detect(module.params["sysfs_root"], lspci_text, smi_text)
    facts["commands"] = commands
    facts["verify_power"] = _verify_power(module.params["verify_report"])

    module.exit_json(changed=False, ansible_facts={"dlrig_hardware": facts})


if __name__ == "__main__":
    main()
