"""``bin/dlrig playbook`` / ``bin/dlrig ansible`` run the controller environment's ansible-playbook and
ansible with the project's ansible.cfg, so the commands the docs show work without activating the venv
(issue 19, finding 5). A stand-in venv (its stamp current, fake tools that print what they got) keeps the
test hermetic: nothing is installed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _fake_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    for tool in ("ansible", "ansible-playbook"):
        script = venv / "bin" / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $* | $ANSIBLE_CONFIG | $VIRTUAL_ENV"\n')
        script.chmod(0o755)
    files = [*sorted(ROOT.glob("requirements-*.txt")), ROOT / "pyproject.toml"]
    stamp = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]
    (venv / ".dlrig-stamp-requirements-controller.txt").write_text(stamp + "\n")
    return venv


@pytest.mark.parametrize(("sub", "tool"), [("playbook", "ansible-playbook"), ("ansible", "ansible")])
def test_dlrig_runs_the_tool_from_the_controller_environment(tmp_path: Path, sub: str, tool: str) -> None:
    venv = _fake_venv(tmp_path)
    env = {**os.environ, "DLRIG_VENV": str(venv), "DLRIG_PYTHON": sys.executable}
    env.pop("ANSIBLE_CONFIG", None)
    proc = subprocess.run([str(ROOT / "bin" / "dlrig"), sub, "playbooks/upgrade-gpu.yml", "--check"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "installing" not in proc.stderr  # the stamp was current: nothing fetched
    expected = f"{tool} playbooks/upgrade-gpu.yml --check | {ROOT / 'ansible.cfg'} | {venv}"
    assert proc.stdout.strip() == expected


def test_usage_lists_the_new_commands() -> None:
    proc = subprocess.run([str(ROOT / "bin" / "dlrig")], capture_output=True, text=True, timeout=30,
                          check=False)
    assert proc.returncode == 2
    assert "bin/dlrig playbook" in proc.stdout and "bin/dlrig ansible" in proc.stdout
    assert "re-synced" in proc.stdout  # the whole header, not cut short
