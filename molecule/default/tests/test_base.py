"""Role base on the Molecule target: apt/dpkg foundation, build tools, DKMS, everyday tools."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import run_ok

EVERYDAY = ["build-essential", "dkms", "git", "tmux", "htop", "pciutils", "kmod", "curl", "ca-certificates"]


@pytest.mark.parametrize("name", EVERYDAY)
def test_build_tools_and_everyday_tools_installed(host: Any, name: str) -> None:
    assert host.package(name).is_installed, name


def test_compiler_and_dkms_work(host: Any) -> None:
    assert "gcc" in run_ok(host, "gcc --version").lower()
    run_ok(host, "dkms status")


def test_nvtop_follows_the_release_policy(host: Any) -> None:
    # Debian 12 ships nvtop only in "contrib", which dlrig does not enable (vars/Debian-12.yml).
    assert not host.package("nvtop").is_installed


def test_apt_waits_for_its_lock_and_retries(host: Any, inventory_vars: dict[str, Any]) -> None:
    conf = host.file("/etc/apt/apt.conf.d/80-dlrig")
    assert conf.exists and conf.user == "root" and conf.mode == 0o644
    assert "Managed by dlrig" in conf.content_string
    timeout = inventory_vars.get("base_apt_lock_timeout", 600)
    dump = run_ok(host, "apt-config dump")
    assert f'DPkg::Lock::Timeout "{timeout}";' in dump
    assert 'Acquire::Retries "3";' in dump


def test_package_index_was_refreshed(host: Any) -> None:
    lists = run_ok(host, "find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*'")
    assert lists.strip(), "no package index file: the cache refresh did not run"


def test_no_kernel_headers_for_the_hosts_kernel_in_a_container(host: Any) -> None:
    # The running kernel is the container host's: the role must skip its headers, not fail on them.
    kernel = run_ok(host, "uname -r").strip()
    assert not host.package(f"linux-headers-{kernel}").is_installed
    assert not host.package("linux-headers-amd64").is_installed


def test_dpkg_has_nothing_unfinished(host: Any) -> None:
    assert run_ok(host, "dpkg --audit").strip() == ""
