"""The jupyterlab role's refusals (tasks/validate.yml), run by ansible-playbook on this machine.

Nothing is installed: the play runs only the role's checks, with its defaults, against localhost.
Each refused configuration stops with one line naming the host and the variable; the accepted ones
(127.0.0.1 without a password, LAN mode with TLS and a hashed password) pass. Without a workstation
user the whole role runs (it then installs nothing): one warning, and the play goes on.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tools import play_on_localhost, tool

ROOT = Path(__file__).resolve().parent.parent
ROLE = ROOT / "roles" / "jupyterlab"
HASH = (
    "argon2:$argon2id$v=19$m=10240,t=10,p=8$vbNW1lupihN2yqgg08IMPA$30uwFa2nWNjDDj+isAJyN8dIpDhWF2Val6GOjzRJ5pU"
)
PLAYBOOK = f"""\
- name: The jupyterlab role's checks (test)
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [{ROLE}/defaults/main.yml]
  tasks:
    - name: Check
      ansible.builtin.import_tasks: {ROLE}/tasks/validate.yml
    - name: Show what the role decided
      ansible.builtin.debug:
        msg: "DECIDED lan={{{{ jupyterlab_lan }}}} tls={{{{ jupyterlab_tls }}}}"
"""

pytestmark = pytest.mark.skipif(tool("ansible-playbook") is None, reason="ansible-playbook is not installed")


def _user() -> str:
    """An existing user that is not root: nobody exists on every Debian/Ubuntu machine."""
    return "nobody"


def check(tmp_path: Path, **variables: Any) -> subprocess.CompletedProcess[str]:
    variables.setdefault("jupyterlab_user", _user())
    variables.setdefault("ansible_python_interpreter", sys.executable)
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    return play_on_localhost(ROOT, tmp_path / "play.yml", tmp_path / "vars.json")


def refusal(run: subprocess.CompletedProcess[str]) -> str:
    """The one-line message of the failed task (the run must have failed)."""
    assert run.returncode != 0, run.stdout
    found = re.findall(r'"msg": "([^"\n]*)"', run.stdout)
    assert found, run.stdout + run.stderr
    return found[-1]


def test_the_default_127_0_0_1_without_a_password_is_accepted(tmp_path):
    run = check(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "DECIDED lan=False tls=False" in run.stdout


def test_lan_mode_with_self_signed_tls_and_a_hash_is_accepted(tmp_path):
    run = check(
        tmp_path, jupyterlab_ip="0.0.0.0", jupyterlab_tls_self_signed=True, jupyterlab_password_hash=HASH
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "DECIDED lan=True tls=True" in run.stdout


def test_lan_mode_with_your_certificate_and_a_hash_is_accepted(tmp_path):
    run = check(
        tmp_path,
        jupyterlab_ip="192.168.1.20",
        jupyterlab_tls_cert_file="c.pem",
        jupyterlab_tls_key_file="k.pem",
        jupyterlab_password_hash=HASH,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "DECIDED lan=True tls=True" in run.stdout


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"jupyterlab_user": "root"}, "jupyterlab_user is root"),
        (
            {"jupyterlab_user": "dlrig-no-such-user"},
            "jupyterlab_user is dlrig-no-such-user, which does not exist",
        ),
        ({"jupyterlab_port": 70000}, "jupyterlab_port is 70000"),
        ({"jupyterlab_ip": "0.0.0.0", "jupyterlab_password_hash": HASH}, "(LAN mode) without TLS"),
        ({"jupyterlab_ip": "0.0.0.0", "jupyterlab_tls_self_signed": True}, "(LAN mode) without a password"),
        ({"jupyterlab_ip": "10.0.0.5"}, "(LAN mode) without TLS"),
        (
            {
                "jupyterlab_ip": "0.0.0.0",
                "jupyterlab_tls_cert_file": "c.pem",
                "jupyterlab_password_hash": HASH,
            },
            "jupyterlab_tls_cert_file and jupyterlab_tls_key_file go together",
        ),
        (
            {
                "jupyterlab_tls_self_signed": True,
                "jupyterlab_tls_cert_file": "c.pem",
                "jupyterlab_tls_key_file": "k.pem",
            },
            "jupyterlab_tls_self_signed is true and jupyterlab_tls_cert_file is set",
        ),
        (
            {"jupyterlab_password_hash": "my-secret-password"},
            "jupyterlab_password_hash is not a hashed password",
        ),
    ],
    ids=[
        "root",
        "missing",
        "port",
        "lan-no-tls",
        "lan-no-password",
        "lan-nothing",
        "cert-no-key",
        "both-tls",
        "plain-password",
    ],
)
def test_refused(tmp_path, variables, expected):
    message = refusal(check(tmp_path, **variables))
    assert message.startswith("localhost: jupyterlab_"), message
    assert expected in message, message
    # A password given in the wrong place never shows in the output.
    assert "my-secret-password" not in message


def test_a_plain_password_in_the_hash_variable_never_reaches_the_output(tmp_path):
    run = check(tmp_path, jupyterlab_password_hash="my-secret-password")
    assert "my-secret-password" not in run.stdout + run.stderr


@pytest.mark.parametrize("ip", ["127.0.0.1", "127.0.1.1", "localhost", "::1"])
def test_loopback_addresses_are_not_lan_mode(tmp_path, ip):
    run = check(tmp_path, jupyterlab_ip=ip)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "DECIDED lan=False" in run.stdout


# The role's tasks/main.yml with its defaults (not its meta dependencies, which would set up a Python on
# this machine), then a task that must still run: what site.yml does on a host without a workstation user.
ROLE_PLAY = f"""\
- name: The jupyterlab role, then the rest of the run (test)
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [{ROLE}/defaults/main.yml]
  tasks:
    - name: The role
      ansible.builtin.import_tasks: {ROLE}/tasks/main.yml
    - name: After the role
      ansible.builtin.debug:
        msg: "AFTER the role"
"""
SKIPPED = "[WARNING]: localhost: JupyterLab skipped: no workstation user"


def whole_role(tmp_path: Path, **variables: Any) -> subprocess.CompletedProcess[str]:
    variables.setdefault("ansible_python_interpreter", sys.executable)
    (tmp_path / "play.yml").write_text(ROLE_PLAY)
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    return play_on_localhost(ROOT, tmp_path / "play.yml", tmp_path / "vars.json")


@pytest.mark.parametrize("variables", [{}, {"jupyterlab_user": ""}], ids=["default", "empty"])
def test_without_a_workstation_user_the_role_warns_once_and_the_run_goes_on(tmp_path, variables):
    """No jupyterlab_user and no SUDO_USER (facts not gathered: the default is empty), or an empty one."""
    run = whole_role(tmp_path, **variables)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert output.count("JupyterLab skipped") == 1, output
    # Ansible wraps a warning to the terminal's width: the paragraph up to the next blank line, joined.
    start = output.index(SKIPPED)
    warning = " ".join(output[start:].split("\n\n", 1)[0].split())
    assert "set jupyterlab_user" in warning, warning
    assert "AFTER the role" in run.stdout
    # Nothing of the server's tasks ran: no environment, no unit.
    assert "server.yml" not in run.stdout and "Build the JupyterLab environment" not in run.stdout


def test_a_workstation_user_that_does_not_exist_still_fails_the_run(tmp_path):
    run = whole_role(tmp_path, jupyterlab_user="dlrig-no-such-user")
    message = refusal(run)
    expected = "localhost: jupyterlab_user is dlrig-no-such-user, which does not exist"
    assert message.startswith(expected), message
    assert "AFTER the role" not in run.stdout
    assert "JupyterLab skipped" not in run.stdout + run.stderr


def test_root_s_own_sudo_is_no_workstation_user(tmp_path):
    """SUDO_USER=root (sudo from a root shell) is not taken as the user: skipped, not refused as root."""
    run = whole_role(tmp_path, ansible_facts={"env": {"SUDO_USER": "root"}})
    assert run.returncode == 0, run.stdout + run.stderr
    assert SKIPPED in run.stdout + run.stderr
