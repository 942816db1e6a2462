"""roles/nvidia_driver: nvidia-persistenced drops to a user the driver packages created (Ubuntu's
nvidia-persistenced, Debian's nvpd), or to none when they created neither; run with Ansible itself:
the role's own set_fact (tasks/persistenced.yml) and unit drop-in template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ROLE = ROOT / "roles" / "nvidia_driver"
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def exec_start(tmp_path: Path, users: list[str], extra: dict[str, Any] | None = None) -> str:
    """The drop-in's ExecStart on a host whose passwd database has ``users``."""
    pick = next(t for t in yaml.safe_load((ROLE / "tasks" / "persistenced.yml").read_text())
                if "nvidia_driver_persistenced_run_as" in t.get("ansible.builtin.set_fact", {}))
    out = tmp_path / "dropin.conf"
    play = [{"hosts": "localhost", "gather_facts": False,
             "vars": {**yaml.safe_load((ROLE / "defaults" / "main.yml").read_text()), **(extra or {}),
                      # what ansible.builtin.getent (database: passwd) returns as facts
                      "ansible_facts": {"getent_passwd": {u: ["x", "999"] for u in users}}},
             "tasks": [
                 pick,
                 {"ansible.builtin.copy": {
                     "dest": str(out),
                     "content": "{{ lookup('ansible.builtin.template', '%s') }}"
                                % (ROLE / "templates" / "nvidia-persistenced.conf.j2")}},
             ]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    run = subprocess.run([str(PLAYBOOK), "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"),
                          "-e", json.dumps({"ansible_python_interpreter": sys.executable})],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    return next(line for line in out.read_text().splitlines() if line.startswith("ExecStart=/"))


@pytest.mark.parametrize(("users", "expected"), [
    (["root", "nvidia-persistenced"], "--user nvidia-persistenced --persistence-mode"),  # Ubuntu
    (["root", "nvpd"], "--user nvpd --persistence-mode"),  # Debian
    (["root"], "--persistence-mode"),  # a packaging that creates neither
])
def test_the_daemon_drops_to_a_user_that_exists(tmp_path, users, expected):
    assert exec_start(tmp_path, users) == f"ExecStart=/usr/bin/nvidia-persistenced {expected} --verbose"


def test_a_user_set_in_the_inventory_wins(tmp_path):
    got = exec_start(tmp_path, ["root", "nvpd"], {"nvidia_driver_persistenced_user": "gpu"})
    assert got == "ExecStart=/usr/bin/nvidia-persistenced --user gpu --persistence-mode --verbose"
