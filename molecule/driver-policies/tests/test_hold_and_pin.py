"""Hold and pin on dlrig-drvpol-gpu: the signed test mirror offers the driver branch 580 and a newer 590
(molecule/resources/apt-mirror/build.sh); the apt pin and the dpkg hold each keep the driver on 580, and
without both apt would take 590 (the control that makes the two checks mean something).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import DRIVER_PACKAGES, DRIVER_VERSION, NEWER_VERSION, run_ok

testinfra_hosts = ["ansible://dlrig-drvpol-gpu"]

# apt-get options that leave out the pin (an empty preferences file and directory) or the hold.
NO_PIN = '-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts="$d"'
NO_HOLD = "-o APT::Ignore-Hold=true"
UPGRADED = re.compile(r"^Inst (nvidia-\S+|cuda-drivers-\S+) \[(\S+)\] \((\S+) ", re.MULTILINE)


def simulate_dist_upgrade(host: Any, options: str) -> str:
    """`apt-get -s dist-upgrade` with the given options (nothing is installed)."""
    return run_ok(host, f'd=$(mktemp -d) && apt-get -s {options} dist-upgrade; s=$?; rmdir "$d"; exit $s')


def driver_moves(output: str) -> list[tuple[str, str, str]]:
    return UPGRADED.findall(output)


def test_the_mirror_offers_a_newer_branch(host: Any) -> None:
    versions = run_ok(host, "apt-cache madison nvidia-kernel-open-dkms")
    assert DRIVER_VERSION in versions and NEWER_VERSION in versions
    assert "cuda-drivers-590" in run_ok(host, "apt-cache pkgnames cuda-drivers-")


@pytest.mark.parametrize("package", DRIVER_PACKAGES)
def test_the_driver_packages_are_installed_from_the_branch_and_held(host: Any, package: str) -> None:
    assert host.package(package).is_installed
    assert host.package(package).version == DRIVER_VERSION
    assert run_ok(host, f"dpkg-query -W -f='${{Status}}' {package}").startswith("hold ")


def test_the_newer_branch_s_package_is_not_installed(host: Any) -> None:
    assert not host.package("cuda-drivers-590").is_installed


def test_the_pin_keeps_apt_s_candidate_on_the_branch(host: Any) -> None:
    policy = run_ok(host, "apt-cache policy nvidia-kernel-open-dkms nvidia-persistenced")
    assert policy.count(f"Candidate: {DRIVER_VERSION}") == 2, policy
    assert re.search(rf"{re.escape(DRIVER_VERSION)} 1000\b", policy), policy
    install = run_ok(host, "apt-get -s install nvidia-kernel-open-dkms")
    assert f"nvidia-kernel-open-dkms is already the newest version ({DRIVER_VERSION})" in install


def test_without_pin_and_hold_apt_would_take_the_newer_branch(host: Any) -> None:
    # Which driver package apt moves first depends on the mirror's dependency graph (its proprietary
    # nvidia-kernel-dkms, which conflicts with the open one, makes apt keep the module package and move
    # nvidia-persistenced); what matters is that some package of the branch would leave it.
    moves = driver_moves(simulate_dist_upgrade(host, f"{NO_PIN} {NO_HOLD}"))
    assert any(old == DRIVER_VERSION and new == NEWER_VERSION for _, old, new in moves), moves


def test_the_pin_alone_keeps_an_upgrade_on_the_branch(host: Any) -> None:
    assert driver_moves(simulate_dist_upgrade(host, NO_HOLD)) == []


def test_the_hold_alone_keeps_an_upgrade_on_the_branch(host: Any) -> None:
    output = simulate_dist_upgrade(host, NO_PIN)
    assert driver_moves(output) == []
    kept_back = output.split("The following packages have been kept back:", 1)[1].split("\n", 2)[1]
    assert "nvidia-kernel-open-dkms" in kept_back.split()


def test_a_plain_upgrade_leaves_the_driver_alone(host: Any) -> None:
    assert driver_moves(simulate_dist_upgrade(host, "")) == []
    assert "Remv cuda-drivers-580" not in run_ok(host, "apt-get -s upgrade")
