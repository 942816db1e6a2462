"""After a failed and a killed build (interrupt.yml), the previous environment still works; the next
run cleans up and completes. The tests run in file order: the last ones converge v2 again."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

SCENARIO = Path(__file__).resolve().parents[1]
PREFIX = "/opt/dlrig/envs"
LINK = f"{PREFIX}/small"
KERNEL = "/usr/local/share/jupyter/kernels/dlrig-small/kernel.json"


def lock_sha256(name: str) -> str:
    text = (SCENARIO / "files" / f"{name}.txt").read_text()
    return hashlib.sha256((text.rstrip() + "\n").encode()).hexdigest()


def run_ok(host: Any, command: str) -> str:
    result = host.run(command)
    assert result.rc == 0, f"{command!r} exited {result.rc}:\n{result.stdout}\n{result.stderr}"
    return str(result.stdout)


def active_marker(host: Any) -> dict[str, Any]:
    return json.loads(host.file(f"{host.file(LINK).linked_to}/.dlrig-env.json").content_string)


def staging_dirs(host: Any) -> list[str]:
    return run_ok(host, f"find {PREFIX} -maxdepth 1 -name '.staging-small-*'").split()


def converge(lock: str) -> subprocess.CompletedProcess[str]:
    """Run the scenario's converge.yml with another lock, as `molecule converge` would."""
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return subprocess.run(
        ["ansible-playbook", "-i", inventory, str(SCENARIO / "converge.yml"),
         "-e", f"env_interrupt_lock={lock}"],
        capture_output=True, text=True, check=False, timeout=900,
    )


def recap_changed(output: str) -> int:
    match = re.search(r"changed=(\d+)", output.split("PLAY RECAP", 1)[-1])
    assert match, output[-3000:]
    return int(match.group(1))


# ---- state left by interrupt.yml ----

def test_symlink_still_points_to_v1(host):
    assert host.file(LINK).is_symlink
    assert active_marker(host)["lock_sha256"] == lock_sha256("small-v1")


def test_v1_still_imports_and_is_still_v1(host):
    assert run_ok(host, f"{LINK}/bin/python -c 'import six; print(six.__version__)'").strip() == "1.17.0"
    assert host.run(f"{LINK}/bin/python -c 'import torch'").rc != 0


def test_the_killed_build_left_only_an_unfinished_staging_directory(host):
    dirs = staging_dirs(host)
    assert len(dirs) == 1, dirs
    staging = dirs[0]
    # pip had started: part of v2 is on disk, but the build never got to its marker or its move.
    assert host.file(f"{staging}/dlrig-lock.txt").exists
    assert not host.file(f"{staging}/.dlrig-env.json").exists
    key = staging.rsplit("-", 1)[1]
    assert not host.file(f"{PREFIX}/small-{key}").exists
    # No process of the killed build survived (the async watchdog kills the whole process group).
    cmdlines = "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '"
    assert run_ok(host, f"{cmdlines} | grep -c 'staging-smal[l]-' || true").strip() == "0"


def test_the_kernel_still_describes_v1(host):
    spec = json.loads(host.file(KERNEL).content_string)
    assert spec["metadata"]["dlrig"]["lock_sha256"] == lock_sha256("small-v1")
    assert "torch" not in spec["display_name"]


# ---- the next run ----

@pytest.fixture(scope="module")
def rerun() -> subprocess.CompletedProcess[str]:
    return converge("small-v2")


def test_next_run_completes(rerun):
    assert rerun.returncode == 0, rerun.stdout[-4000:] + rerun.stderr[-2000:]
    assert recap_changed(rerun.stdout) > 0


def test_next_run_removed_the_staging_directory_and_switched_to_v2(host, rerun):
    assert staging_dirs(host) == []
    assert active_marker(host)["lock_sha256"] == lock_sha256("small-v2")
    out = run_ok(host, f"{LINK}/bin/python -c 'import six, torch; print(torch.__version__)'")
    assert out.strip() == "2.13.0+cpu"
    spec = json.loads(host.file(KERNEL).content_string)
    assert "torch 2.13.0+cpu" in spec["display_name"]


def test_previous_version_is_kept_for_a_rollback(host, rerun):
    versions = run_ok(host, f"find {PREFIX} -maxdepth 1 -name 'small-*' -type d").split()
    assert len(versions) == 2, versions


def test_run_after_that_changes_nothing(rerun):
    again = converge("small-v2")
    assert again.returncode == 0, again.stdout[-4000:]
    assert recap_changed(again.stdout) == 0, again.stdout[-4000:]
