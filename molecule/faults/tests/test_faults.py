"""After the six faults (faults.yml) and one normal converge (then an idempotent one): the host is whole.
The environments work, nothing half-built is left, apt's sources all work, dpkg has nothing unfinished,
and no test double is still running."""

from __future__ import annotations

import re
from typing import Any

import pytest

ENVS = [("/opt/dlrig/envs", "small"), ("/opt/dlrig/envs-full", "full")]


def run_ok(host: Any, command: str) -> str:
    result = host.run(command)
    assert result.rc == 0, f"{command!r} exited {result.rc}:\n{result.stdout}\n{result.stderr}"
    return str(result.stdout)


@pytest.mark.parametrize(("prefix", "name"), ENVS)
def test_the_environment_works_and_nothing_half_built_is_left(host: Any, prefix: str, name: str) -> None:
    version = run_ok(host, f"{prefix}/{name}/bin/python -c 'import six; print(six.__version__)'")
    assert version.strip() == "1.17.0"
    assert run_ok(host, f"find {prefix} -maxdepth 1 -name '.staging-{name}-*'").split() == []
    versions = run_ok(host, f"find {prefix} -maxdepth 1 -type d -name '{name}-*'").split()
    assert versions and all(host.file(f"{v}/.dlrig-env.json").exists for v in versions), versions


def test_the_full_file_system_has_its_space_back(host: Any) -> None:
    assert not host.file("/opt/dlrig/envs-full/.dlrig-ballast").exists


def test_apt_update_of_the_user_works(host: Any) -> None:
    result = host.run("apt-get update")
    assert result.rc == 0, result.stdout + result.stderr
    assert "Err:" not in result.stdout and "\nE:" not in "\n" + result.stderr, result.stdout + result.stderr


def test_every_signed_by_key_of_a_source_exists(host: Any) -> None:
    sources = run_ok(host, "cat /etc/apt/sources.list.d/*.list 2>/dev/null || true")
    keys = re.findall(r"signed-by=([^\s\]]+)", sources)
    assert keys, sources
    for key in keys:
        assert host.file(key).exists, f"source names {key}, which is missing"


def test_dpkg_has_nothing_unfinished_and_the_killed_package_is_configured(host: Any) -> None:
    assert run_ok(host, "dpkg --audit").strip() == ""
    assert run_ok(host, "dpkg-query -W -f='${Status}' dlrig-fault-probe") == "install ok installed"


def test_no_lock_holder_and_no_test_double_left_running(host: Any) -> None:
    procs = run_ok(host, "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\" 2>/dev/null; echo; done")
    for marker in ("hold_dpkg_lock", "stall_index", "apt-get install", "dlrig-fault-probe.postinst"):
        assert marker not in procs, f"{marker} still running"
