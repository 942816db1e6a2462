"""Secure Boot on and no Machine Owner Key, on dlrig-drvpol-sb (never converged): converge.yml run here must
stop in the role's Secure Boot check, before it touches the host, with the commands to create and enroll a
MOK — and leave no driver package, repository, key, pin or blacklist behind.
"""

from __future__ import annotations

import pytest
from conftest import DRIVER_PACKAGES, PlaybookRun, run_converge

HOST = "dlrig-drvpol-sb"
testinfra_hosts = [f"ansible://{HOST}"]

STOP_TASK = "nvidia_driver : Stop when Secure Boot is on and no Machine Owner Key was given"
READ_TASK = "nvidia_driver : Read the Secure Boot state (the variable's last byte is 1 when it is on)"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> PlaybookRun:
    return run_converge(HOST, tmp_path_factory.mktemp("secure-boot"))


def test_the_role_read_secure_boot_on_from_the_efi_variable(run):
    assert run.task(READ_TASK)["stdout"].split() == ["6", "0", "0", "0", "1"]
    assert run.task("nvidia_driver : Record whether Secure Boot is on")["ansible_facts"] == {
        "nvidia_driver_secure_boot": True}


def test_the_run_stops_at_the_secure_boot_check(run):
    assert run.rc == 2, run.stderr[-2000:]
    assert run.task(STOP_TASK)["failed"] is True
    assert run.order[-1] == STOP_TASK, "the role went on after the Secure Boot check"
    assert run.changed() == []


def test_the_message_explains_both_ways_out(run):
    message = run.task(STOP_TASK)["msg"]
    assert message.startswith("Secure Boot is on: the kernel loads only modules signed by an enrolled key")
    assert "Nothing was installed." in message
    for step in ("openssl req -new -x509 -newkey rsa:2048", "mokutil --import /var/lib/dkms/mok.pub",
                 "MokManager", "nvidia_driver_mok_key_path: /var/lib/dkms/mok.key",
                 "nvidia_driver_mok_cert_path: /var/lib/dkms/mok.pub",
                 "turn Secure Boot off in the firmware setup"):
        assert step in message, step


@pytest.mark.parametrize("package", DRIVER_PACKAGES)
def test_no_driver_package_was_installed(host, run, package):
    assert run.rc == 2
    assert not host.package(package).is_installed


def test_nothing_of_the_driver_s_configuration_was_written(host, run):
    assert run.rc == 2
    for path in ("/etc/apt/sources.list.d/dlrig-nvidia-cuda.list",
                 "/usr/share/keyrings/dlrig-nvidia-cuda-archive-keyring.asc",
                 "/etc/apt/preferences.d/dlrig-nvidia-driver.pref",
                 "/etc/modprobe.d/dlrig-blacklist-nouveau.conf",
                 "/etc/systemd/system/nvidia-persistenced.service.d/dlrig.conf",
                 "/etc/dkms/framework.conf"):
        assert not host.file(path).exists, path
    assert run.task(STOP_TASK)["failed"]
