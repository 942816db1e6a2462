"""The dlrig.rig.warn action (plugins/action/warn.py) through a real ansible-playbook run on this machine:
the message is shown once as an Ansible warning, the task neither changes nor fails anything, and a
newline or an escape sequence in the message (a host name, an inventory value) does not reach the
terminal raw."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tools import play_on_localhost, tool

ROOT = Path(__file__).resolve().parent.parent
PLAY = """\
- name: dlrig.rig.warn (test)
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Warn
      dlrig.rig.warn:
        msg: "{{ message }}"
    - name: After the warning
      ansible.builtin.debug:
        msg: "AFTER the warning"
"""

pytestmark = pytest.mark.skipif(tool("ansible-playbook") is None, reason="ansible-playbook is not installed")


def warn(tmp_path: Path, message: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "play.yml").write_text(PLAY)
    (tmp_path / "vars.json").write_text(json.dumps({"message": message,
                                                    "ansible_python_interpreter": sys.executable}))
    return play_on_localhost(ROOT, tmp_path / "play.yml", tmp_path / "vars.json")


def test_the_message_is_one_warning_and_the_play_goes_on(tmp_path):
    run = warn(tmp_path, "host1: something was skipped; set some_variable")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr.count("[WARNING]: host1: something was skipped; set some_variable") == 1, run.stderr
    assert "AFTER the warning" in run.stdout
    assert "changed=0" in run.stdout and "failed=0" in run.stdout


def test_newlines_and_escape_sequences_do_not_reach_the_terminal(tmp_path):
    run = warn(tmp_path, "evil\n[WARNING]: forged line\x1b[31m red")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "\x1b" not in run.stdout + run.stderr
    assert "[WARNING]: evil [WARNING]: forged line?[31m red" in run.stderr, run.stderr
    assert "\n[WARNING]: forged" not in run.stderr


def test_an_empty_message_fails_the_task(tmp_path):
    run = warn(tmp_path, "  ")
    assert run.returncode != 0
    assert "dlrig.rig.warn: msg must be a non-empty string" in run.stdout
