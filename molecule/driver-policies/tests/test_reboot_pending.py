"""A module that cannot be loaded, on dlrig-drvpol-nomod: GPUs declared, no nvidia module loaded, the kernel
refuses it (files/modprobe; on a kernel without module support /proc/modules is missing and the modprobe
module fails before it calls modprobe), nvidia_driver_reboot_allowed false. The role records a pending
reboot, says so, skips the power limit, and does not reboot — on converge, on the idempotence run, and on
the run this module makes once more to read what the role said.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import (
    DRIVER_PACKAGES,
    FACTS_FILE,
    FAKE_DIR,
    PlaybookRun,
    nvidia_smi_calls,
    read_json,
    run_converge,
    run_ok,
)

HOST = "dlrig-drvpol-nomod"
testinfra_hosts = [f"ansible://{HOST}"]

LOAD_TASK = "nvidia_driver : Load the nvidia module now (nothing else holds the GPU)"
REBOOT_TASK = "nvidia_driver : Reboot to load the new nvidia module"
PENDING_TASK = "nvidia_driver : Record that a reboot is pending"
SAY_TASK = "nvidia_driver : Say clearly that a reboot is pending"
POWER_SKIP_TASK = "nvidia_driver : Say why the power limits are skipped"
STILL_NOT_LOADED_TASK = (
    "nvidia_driver : Stop when the module still does not load (never leave a driver that cannot load)")


@pytest.fixture(scope="module")
def rerun(tmp_path_factory: pytest.TempPathFactory) -> PlaybookRun:
    return run_converge(HOST, tmp_path_factory.mktemp("reboot-pending"))


def pid1_starttime(host: Any) -> str:
    return run_ok(host, "cat /proc/1/stat").rsplit(")", 1)[1].split()[19]


def test_the_facts_say_reboot_pending_and_no_module(host: Any) -> None:
    facts = read_json(host, FACTS_FILE)
    assert facts["nvidia_driver_reboot_pending"] is True
    assert facts["nvidia_driver_module_loaded"] is False
    assert facts["nvidia_driver_in_container"] is False


def test_the_driver_is_installed_and_held_for_the_reboot(host: Any) -> None:
    for package in DRIVER_PACKAGES:
        assert run_ok(host, f"dpkg-query -W -f='${{Status}}' {package}") == "hold ok installed"
    assert host.service("dlrig-gpu-power-limits.service").is_enabled   # the limit follows at the next boot


def test_no_module_is_loaded_and_no_power_limit_was_set(host: Any) -> None:
    assert not host.file("/sys/module/nvidia").exists
    # power limits need the module: nvidia-smi was not even asked
    assert nvidia_smi_calls(host) == []
    assert read_json(host, f"{FAKE_DIR}/gpus.json")[0]["power.limit"] == 350


def test_the_run_says_reboot_pending_with_the_reason(rerun: PlaybookRun) -> None:
    assert rerun.rc == 0, rerun.stderr[-2000:]
    load = rerun.task(LOAD_TASK)
    assert load["failed"] is True                       # ignored by the role, handled as "reboot needed"
    message = rerun.task(SAY_TASK)["msg"]
    assert message.startswith(
        f"REBOOT PENDING on {HOST}: the nvidia module 580.95.05 is installed but cannot be loaded now "
        "(loaded: none, nouveau loaded: False, modprobe: "), message
    assert load["msg"] in message
    assert "Reboot the host (or set nvidia_driver_reboot_allowed: true) and run dlrig again" in message
    assert rerun.task(PENDING_TASK)["ansible_facts"] == {"nvidia_driver_reboot_pending": True}


def test_the_run_does_not_reboot_and_skips_what_needs_the_module(rerun: PlaybookRun) -> None:
    reboot = rerun.task(REBOOT_TASK)
    assert reboot.get("skipped") is True
    assert reboot.get("false_condition") == "nvidia_driver_reboot_allowed | bool"
    assert rerun.task(STILL_NOT_LOADED_TASK).get("skipped") is True
    assert rerun.task(POWER_SKIP_TASK)["msg"] == "Power limits skipped: a reboot is pending."
    assert not any(n.startswith("nvidia_driver : Set the power limit") and not r.get("skipped")
                   for n, r in rerun.results.items())


def test_a_pending_reboot_run_changes_nothing(rerun: PlaybookRun) -> None:
    assert rerun.changed() == []


def test_the_host_did_not_reboot(host: Any, rerun: PlaybookRun) -> None:
    # prepare.yml wrote PID 1's start time into /run (a tmpfs): a reboot would have emptied /run and
    # restarted PID 1; after three runs of the role both are as prepare left them.
    assert rerun.rc == 0
    recorded = host.file("/run/dlrig-test/pid1-starttime")
    assert recorded.exists
    assert recorded.content_string.strip() == pid1_starttime(host)
    assert run_ok(host, "systemctl is-system-running || true").strip() in ("running", "degraded")
