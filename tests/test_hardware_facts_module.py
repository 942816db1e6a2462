"""dlrig.rig.hardware_facts run through Ansible itself against the fixture trees and outputs."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
from hwfixtures import FIXTURES, PROJECT
from tools import tool

ANSIBLE = tool("ansible")  # the Ansible of the venv running pytest first, as dlrig/upgrade/live.py finds it
pytestmark = pytest.mark.skipif(ANSIBLE is None, reason="ansible is neither beside this Python nor on PATH")


def run_module(args: dict[str, str], *extra: str) -> dict[str, Any]:
    """Run the module on localhost and return its result (the json callback's host entry)."""
    env = dict(
        os.environ,
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_CACHE_PLUGIN="memory",  # keep fixture facts out of the project's .cache/facts
        ANSIBLE_CALLBACKS_ENABLED="",
        ANSIBLE_NOCOLOR="1",
    )
    command = [
        str(ANSIBLE),
        "localhost",
        "-c",
        "local",
        "-m",
        "dlrig.rig.hardware_facts",
        "-a",
        json.dumps(args),
        *extra,
    ]
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
    out = json.loads(done.stdout[done.stdout.index("{") :])
    (play,) = out["plays"]
    (task,) = play["tasks"]
    return task["hosts"]["localhost"]


def case_args(case: str, nvidia_smi: bool = True) -> dict[str, str]:
    top = FIXTURES / case
    return {
        "sysfs_root": str(top / "root"),
        "lspci": str(top / "bin/lspci"),
        "nvidia_smi": str(top / "bin/nvidia-smi") if nvidia_smi else str(top / "bin/absent-nvidia-smi"),
        "df": str(top / "bin/df"),
    }


def test_one_rtx_2070():
    result = run_module(case_args("rtx2070"))
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    hw = result["ansible_facts"]["dlrig_hardware"]
    (gpu,) = hw["gpus"]
    assert gpu["pci_address"] == "0000:0a:00.0" and gpu["device_id"] == "1f02"
    assert gpu["smi"]["name"] == "NVIDIA GeForce RTX 2070"
    assert gpu["smi"]["power_max_limit_w"] == 215.0
    assert hw["nvidia_smi"][0]["memory_total_mib"] == 8192
    assert hw["driver_answers"] is True and hw["driver_version"] == "530.30.02"
    assert hw["cpu_model"] == "AMD Ryzen Threadripper 1900X 8-Core Processor"
    assert hw["ram_gb"] == 15.6
    assert hw["kernel"] == "4.15.0-213-generic"
    assert hw["secure_boot"] == "disabled"
    assert hw["nvidia_module_loaded"] is True
    assert hw["commands"]["lspci"]["rc"] == 0 and hw["commands"]["nvidia_smi"]["rc"] == 0
    # The file systems' free space, with ansible_mounts' keys (the live preflight's disk_space check).
    assert hw["commands"]["df"]["rc"] == 0
    assert {"mount": "/", "size_total": 490577010688, "size_available": 212301443072} in hw["mounts"]


def test_the_real_df_and_no_df():
    """Without a double, the host's own df answers (this machine has a root file system); df='' skips it."""
    real = run_module({"sysfs_root": str(FIXTURES / "rtx2070" / "root"), "lspci": "", "nvidia_smi": ""})
    mounts = real["ansible_facts"]["dlrig_hardware"]["mounts"]
    root = next(m for m in mounts if m["mount"] == "/")
    assert 0 < root["size_available"] <= root["size_total"]
    st = os.statvfs("/")
    assert abs(root["size_available"] - st.f_bavail * st.f_frsize) < 1024**3   # df and statvfs agree
    skipped = run_module({**case_args("rtx2070"), "df": ""})
    hw = skipped["ansible_facts"]["dlrig_hardware"]
    assert hw["mounts"] == [] and "df" not in hw["commands"]


def test_gpu_that_fell_off_the_bus_in_check_mode():
    result = run_module(case_args("fell-off-bus"), "--check")
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    hw = result["ansible_facts"]["dlrig_hardware"]
    assert [(g["pci_address"], g["present"]) for g in hw["gpus"]] == [
        ("0000:0a:00.0", False),
        ("0000:42:00.0", True),
    ]
    assert hw["commands"]["nvidia_smi"]["rc"] == 15
    assert hw["nvidia_smi_errors"][0]["pci_address"] == "0000:0a:00.0"


def test_no_gpu_and_no_nvidia_smi_installed():
    result = run_module(case_args("no-gpu", nvidia_smi=False))
    assert result.get("failed") is not True, result
    hw = result["ansible_facts"]["dlrig_hardware"]
    assert hw["gpus"] == [] and hw["nvidia_smi"] == []
    assert hw["driver_answers"] is False and hw["driver_version"] is None
    assert "nvidia_smi" not in hw["commands"]
    assert hw["secure_boot"] == "unsupported" and hw["nvidia_module_loaded"] is False


def test_unknown_option_is_refused():
    result = run_module({"sysfs_root": "/", "colour": "green"})
    assert result["failed"] is True
    assert "colour" in result["msg"]
