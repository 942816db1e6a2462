"""The dlrig.rig.preflight action through a real ansible-playbook run of playbooks/preflight.yml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = yaml.safe_load((ROOT / "inventory/host_vars/deep-al.yml").read_text())
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"

pytestmark = pytest.mark.skipif(not ANSIBLE_PLAYBOOK.exists(), reason="ansible-playbook is not in this venv")


def build(**gpu) -> dict:
    data = yaml.safe_load(yaml.safe_dump(REFERENCE))
    data["hardware"]["gpus"] = [{"model": "GeForce RTX 2070", "count": 1, "watts": 185, "vram_gb": 8, **gpu}]
    data["ansible_connection"] = "local"
    return data


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("play")
    inventory = {
        "all": {
            "hosts": {
                "good": build(),
                "over": build(model="GeForce RTX 2080", count=4, watts=225, vram_gb=8),
                "typo": build(count="two"),
                "bare": {"ansible_connection": "local"},
            }
        }
    }
    (tmp / "hosts.yml").write_text(yaml.safe_dump(inventory))
    # The project's preflight play, then a play that must only run when the preflight passed.
    (tmp / "play.yml").write_text(
        yaml.safe_dump(
            [
                {"import_playbook": str(ROOT / "playbooks" / "preflight.yml")},
                {
                    "name": "After the preflight",
                    "hosts": "all",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Show what the preflight left",
                            "ansible.builtin.debug": {
                                "msg": "AFTER {{ inventory_hostname }} verdict={{ dlrig_preflight.verdict }} "
                                "draw={{ dlrig_preflight.summary.max_draw_w }} "
                                "declared={{ dlrig_preflight.declared }} "
                                "cuda={{ dlrig_stack.cuda | default('none') }}"
                            },
                        }
                    ],
                },
            ],
            sort_keys=False,
        )
    )
    return tmp


def playbook(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",  # one line per message: assertions read it whole
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(project / "facts"),
        "PYTHONPATH": "",
    }
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(project / "hosts.yml"), str(project / "play.yml"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        check=False,
        timeout=300,
    )


def test_a_failing_build_stops_the_whole_run_with_the_message(project):
    run = playbook(project)
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "preflight failed: psu_headroom: max draw 1131 W of the 1000 W PSU" in output
    assert ("preflight: typo: hardware.gpus[0].count: expected a whole number >= 1 and <= 64, got 'two'"
            in output)
    assert "AFTER" not in output  # any_errors_fatal: no later task ran on any host, not even the good one
    assert "Traceback" not in output


def test_a_good_build_sets_dlrig_preflight_and_dlrig_stack(project):
    run = playbook(project, "--limit", "good,bare")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "AFTER good verdict=ok draw=416 declared=True" in output
    assert (
        "AFTER bare verdict=ok draw= declared=False cuda=none" in output
    )  # not declared: no checks, no stack
    good_line = next(line for line in output.splitlines() if "AFTER good" in line)
    assert "cuda=none" not in good_line  # dlrig_stack carries the resolver's versions
