"""Sanity of the Molecule target itself: if these fail, the role tests' failures mean nothing."""

from __future__ import annotations

import os

from conftest import run_ok


def test_target_is_debian_12(host):
    assert host.system_info.distribution == "debian"
    assert host.system_info.release.split(".")[0] == "12"


def test_systemd_is_pid_1_and_booted(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in {"running", "degraded"}, host.run("systemctl --failed --no-legend").stdout


def test_inventory_declares_no_gpu(inventory_vars, gpu_count):
    # The GPU steps are skipped because the inventory says so, not because none was found.
    assert inventory_vars["os"] == {"distribution": "Debian", "release": "12"}
    assert inventory_vars["hardware"]["gpus"] == []
    assert gpu_count == 0


def test_no_gpu_visible_in_container(host):
    assert not host.file("/dev/nvidia0").exists


def test_local_package_mirrors_are_mounted_read_only(host):
    # molecule/resources/env.sh sets the slots from the mirrors this machine's environment names.
    paths = [os.environ[f"DLRIG_PIP_MOUNT_{slot}"].split(":")[1] for slot in range(1, 7)]
    for path in paths:
        assert host.file(path).is_directory, path
        assert host.mount_point(path).exists, path
        assert "ro" in host.mount_point(path).options, path


def test_python_trusts_pypi_through_the_system_store(host):
    # The host's extra CAs (egress proxy) are in /etc/ssl/certs/ca-certificates.crt after prepare.yml.
    script = 'import urllib.request as u; print(u.urlopen("https://pypi.org/simple/pip/", timeout=60).status)'
    out = run_ok(host, "python3 -c %s", script)
    assert out.strip() == "200"


def test_apt_is_healthy(host):
    # Nothing half-installed or held broken after the whole converge.
    assert run_ok(host, "dpkg --audit").strip() == ""
    run_ok(host, "apt-get check -qq")
