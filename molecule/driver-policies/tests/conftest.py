"""Shared helpers of the driver-policies scenario's testinfra tests.

Each test module names the one container it checks (``testinfra_hosts``). Some behaviours are a run of the
role itself (it must stop, or say something): ``run_converge`` runs this scenario's ``converge.yml`` again
against one container, with extra vars, through the JSON callback, and returns what each task did.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
SCENARIO = PROJECT / "molecule" / "driver-policies"
FAKE_DIR = "/var/lib/dlrig-fake-nvidia"            # files/nvidia-smi: gpus.json, calls.log
FACTS_FILE = "/var/lib/dlrig-test/nvidia_driver-facts.json"   # written by converge.yml
DRIVER_PACKAGES = ("nvidia-kernel-open-dkms", "cuda-drivers-580", "nvidia-persistenced")
DRIVER_VERSION = "580.95.05-1"                      # molecule/resources/apt-mirror/build.sh: DRIVER
NEWER_VERSION = "590.44.01-1"                       # ... DRIVER_NEWER, which the pin must keep out


@dataclass(frozen=True)
class PlaybookRun:
    """One ansible-playbook run against one host: exit code, each task's result for it, stderr."""

    rc: int
    results: dict[str, dict[str, Any]]
    order: list[str]
    stderr: str

    def task(self, name: str) -> dict[str, Any]:
        assert name in self.results, f"task {name!r} did not run; ran: {self.order}"
        return self.results[name]

    def changed(self) -> list[str]:
        return [n for n in self.order if self.results[n].get("changed")]


def _ansible_playbook() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else shutil.which("ansible-playbook") or "ansible-playbook"


def run_converge(
    host: str, tmp: Path, extra_vars: dict[str, Any] | None = None, check: bool = False
) -> PlaybookRun:
    """Run converge.yml against ``host`` alone (driver_policies_hosts), with ``extra_vars``; ``--check``
    when ``check``."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_ROLES_PATH": str(PROJECT / "roles"),
        "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "collections"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACKS_ENABLED": "",  # profile_tasks would print into the JSON
        "ANSIBLE_CACHE_PLUGIN": "memory",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_LOCAL_TEMP": str(tmp),
    })
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    assert inventory, "run through `molecule verify -s driver-policies` (MOLECULE_INVENTORY_FILE is unset)"
    variables = {"driver_policies_hosts": host, **(extra_vars or {})}
    cmd = [_ansible_playbook(), "-i", inventory, str(SCENARIO / "converge.yml"), "-e", json.dumps(variables)]
    cmd += ["--check"] if check else []
    done = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.stdout.strip(), f"no JSON from ansible-playbook (rc {done.returncode}):\n{done.stderr}"
    doc = json.loads(done.stdout)
    results: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for play in doc["plays"]:
        for task in play["tasks"]:
            if host in task["hosts"]:
                name = task["task"]["name"]
                if name not in results:
                    order.append(name)
                results[name] = task["hosts"][host]
    return PlaybookRun(done.returncode, results, order, done.stderr)


def read_json(host: Any, path: str) -> Any:
    content = host.file(path)
    assert content.exists, f"{path} is missing on {host.backend.get_pretty_hostname()}"
    return json.loads(content.content_string)


def nvidia_smi_calls(host: Any) -> list[list[str]]:
    """Every call of the nvidia-smi double so far, as argument lists (none: the file does not exist)."""
    log = host.file(f"{FAKE_DIR}/calls.log")
    if not log.exists:
        return []
    return [json.loads(line) for line in log.content_string.splitlines() if line.strip()]


def power_limit_calls(host: Any) -> list[list[str]]:
    return [call for call in nvidia_smi_calls(host) if "-pl" in call]


def run_ok(host: Any, command: str) -> str:
    """Run a command on the target, fail the test with its output unless it exits 0; return stdout."""
    result = host.run(command)
    assert result.rc == 0, f"{command!r} exited {result.rc}:\n{result.stdout}\n{result.stderr}"
    return str(result.stdout)
