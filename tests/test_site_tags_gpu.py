"""``site.yml --tags gpu`` gets past the roles' argument checks (issue 19, finding 1: Ansible runs every
role's argument validation under any tag, and pytorch_env's default read a fact only python_runtime's
skipped tasks set, so the run stopped before any upgrade step).

The test plays site.yml's imports (the preflights and the provision play) with ``--check --tags gpu``
on localhost, for a box whose inventory declares no ``os``; the upgrade steps themselves are left out
here (they would look at this machine's driver; tests/test_upgrade_playbook.py plays them against stubs).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")


def _site_imports_without_the_upgrade_steps(tmp_path: Path) -> Path:
    site = yaml.safe_load((ROOT / "site.yml").read_text())
    plays = [{"name": entry["name"],
              "ansible.builtin.import_playbook": str(ROOT / entry["ansible.builtin.import_playbook"])}
             for entry in site if "never" not in (entry.get("tags") or [])]
    assert len(plays) >= 3, "the preflight, live preflight and provision imports"
    path = tmp_path / "site-without-upgrade-steps.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return path


def test_tags_gpu_passes_every_roles_argument_check(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"box": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "hardware": {"gpus": []}}}}}))   # no `os:` declared: the stack comes from the facts
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_CALLBACKS_ENABLED": "",
           "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(tmp_path / "facts"),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "t"), "ANSIBLE_NOCOLOR": "1"}
    playbook = _site_imports_without_the_upgrade_steps(tmp_path)
    cmd = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(playbook), "--check", "--tags", "gpu"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "is undefined" not in out
    for role in ("python_runtime", "pytorch_env", "tensorflow_env"):
        assert f"TASK [{role} : Validating arguments against arg spec 'main'" in out, role
