"""Secure Boot on dlrig-drvpol-sb (never converged; Secure Boot on: files/SecureBoot-on.efivar). converge.yml
is run here three times, in this order:

1. no Machine Owner Key given: the role stops in its Secure Boot check, before it touches the host, with the
   commands to create and enroll a MOK, and leaves no driver package, repository, key, pin or blacklist;
2. the MOK of /var/lib/dkms given, not enrolled (files/mokutil): it stops again, before the driver, and
   says how to enroll it;
3. the same MOK, enrolled: DKMS is told to sign with it before the driver packages are installed.

What each run left on the host is read right after it (``Outcome``), so the checks do not depend on the
order in which the tests run.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import DRIVER_PACKAGES, PlaybookRun, run_converge, run_ok

HOST = "dlrig-drvpol-sb"
testinfra_hosts = [f"ansible://{HOST}"]

READ_TASK = "nvidia_driver : Read the Secure Boot state (the variable's last byte is 1 when it is on)"
NO_MOK_TASK = "nvidia_driver : Stop when Secure Boot is on and no Machine Owner Key was given"
NOT_ENROLLED_TASK = "nvidia_driver : Stop when the MOK certificate is not enrolled yet"
SIGN_TASK = "nvidia_driver : Make DKMS sign the modules it builds with the MOK"
INSTALL_TASK = "nvidia_driver : Install the NVIDIA driver packages of branch and flavour 580-open"
MOK = {"nvidia_driver_mok_key_path": "/var/lib/dkms/mok.key",
       "nvidia_driver_mok_cert_path": "/var/lib/dkms/mok.pub"}
ENROLLED = "/etc/dlrig-fake/mok-enrolled"      # files/mokutil: certificates MokManager has enrolled
FRAMEWORK_CONF = "/etc/dkms/framework.conf"
DRIVER_FILES = (
    "/etc/apt/sources.list.d/dlrig-nvidia-cuda.list",
    "/usr/share/keyrings/dlrig-nvidia-cuda-archive-keyring.asc",
    "/etc/apt/preferences.d/dlrig-nvidia-driver.pref",
    "/etc/modprobe.d/dlrig-blacklist-nouveau.conf",
    "/etc/systemd/system/nvidia-persistenced.service.d/dlrig.conf",
    FRAMEWORK_CONF,
)


@dataclass(frozen=True)
class Outcome:
    """A run of converge.yml and what it left on the host."""

    run: PlaybookRun
    installed: dict[str, bool]
    present: dict[str, bool]


def _converge(host: Any, tmp: Path, extra_vars: dict[str, Any] | None = None) -> Outcome:
    run = run_converge(HOST, tmp, extra_vars)
    installed = {p: host.package(p).is_installed for p in DRIVER_PACKAGES}
    present = {path: host.file(path).exists for path in DRIVER_FILES}
    return Outcome(run, installed, present)


@pytest.fixture(scope="module")
def no_mok(host: Any, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    return _converge(host, tmp_path_factory.mktemp("secure-boot-no-mok"))


@pytest.fixture(scope="module")
def mok_not_enrolled(host: Any, tmp_path_factory: pytest.TempPathFactory, no_mok: Outcome) -> Outcome:
    run_ok(host, f"rm -f {ENROLLED}")
    return _converge(host, tmp_path_factory.mktemp("secure-boot-mok-not-enrolled"), MOK)


@pytest.fixture(scope="module")
def mok_enrolled(host: Any, tmp_path_factory: pytest.TempPathFactory, mok_not_enrolled: Outcome) -> Outcome:
    run_ok(host, f"echo {MOK['nvidia_driver_mok_cert_path']} >{ENROLLED}")
    return _converge(host, tmp_path_factory.mktemp("secure-boot-mok-enrolled"), MOK)


# --- 1. no MOK -----------------------------------------------------------------------------------------


def test_the_role_read_secure_boot_on_from_the_efi_variable(no_mok: Outcome) -> None:
    assert list(base64.b64decode(no_mok.run.task(READ_TASK)["content"])) == [6, 0, 0, 0, 1]
    assert no_mok.run.task("nvidia_driver : Record whether Secure Boot is on")["ansible_facts"] == {
        "nvidia_driver_secure_boot": True}


def test_without_a_mok_the_run_stops_at_the_secure_boot_check(no_mok: Outcome) -> None:
    assert no_mok.run.rc == 2, no_mok.run.stderr[-2000:]
    assert no_mok.run.task(NO_MOK_TASK)["failed"] is True
    assert no_mok.run.order[-1] == NO_MOK_TASK, "the role went on after the Secure Boot check"
    assert no_mok.run.changed() == []


def test_the_message_explains_both_ways_out(no_mok: Outcome) -> None:
    message = no_mok.run.task(NO_MOK_TASK)["msg"]
    assert message.startswith("Secure Boot is on: the kernel loads only modules signed by an enrolled key")
    assert "Nothing was installed." in message
    for step in ("openssl req -new -x509 -newkey rsa:2048", "mokutil --import /var/lib/dkms/mok.pub",
                 "MokManager", "nvidia_driver_mok_key_path: /var/lib/dkms/mok.key",
                 "nvidia_driver_mok_cert_path: /var/lib/dkms/mok.pub",
                 "turn Secure Boot off in the firmware setup"):
        assert step in message, step


def test_without_a_mok_no_driver_package_was_installed(no_mok: Outcome) -> None:
    assert no_mok.installed == dict.fromkeys(DRIVER_PACKAGES, False)


def test_without_a_mok_nothing_of_the_driver_s_configuration_was_written(no_mok: Outcome) -> None:
    assert [path for path, exists in no_mok.present.items() if exists] == []


# --- 2. a MOK that is not enrolled -------------------------------------------------------------------------


def test_a_mok_not_enrolled_stops_the_run_before_the_driver(mok_not_enrolled: Outcome) -> None:
    run = mok_not_enrolled.run
    assert run.rc == 2, run.stderr[-2000:]
    assert run.order[-1] == NOT_ENROLLED_TASK
    assert run.task("nvidia_driver : Ask the firmware whether the MOK certificate is enrolled")["stdout"] == (
        "/var/lib/dkms/mok.pub is not enrolled")
    message = run.task(NOT_ENROLLED_TASK)["msg"]
    assert message.startswith(
        "/var/lib/dkms/mok.pub is not enrolled, so a module signed with it would not load.")
    assert "Run `mokutil --import /var/lib/dkms/mok.pub`, reboot, confirm the key in MokManager" in message
    assert mok_not_enrolled.installed == dict.fromkeys(DRIVER_PACKAGES, False)
    assert [path for path, exists in mok_not_enrolled.present.items() if exists] == []


# --- 3. an enrolled MOK ---------------------------------------------------------------------------------


def test_an_enrolled_mok_lets_the_role_go_on_and_install_the_driver(mok_enrolled: Outcome) -> None:
    run = mok_enrolled.run
    assert run.rc == 0, run.stderr[-2000:]
    assert NO_MOK_TASK not in run.results or run.task(NO_MOK_TASK).get("skipped")
    assert mok_enrolled.installed == dict.fromkeys(DRIVER_PACKAGES, True)


def test_dkms_is_told_to_sign_with_the_mok_before_the_driver_is_installed(
        host: Any, mok_enrolled: Outcome) -> None:
    run = mok_enrolled.run
    assert run.task(SIGN_TASK)["changed"] is True
    assert run.order.index(SIGN_TASK) < run.order.index(INSTALL_TASK)
    lines = host.file(FRAMEWORK_CONF).content_string.splitlines()
    assert "mok_signing_key=/var/lib/dkms/mok.key" in lines
    assert "mok_certificate=/var/lib/dkms/mok.pub" in lines
