"""roles/cuda: the cuDNN the role installs for the stack the preflight resolves, templated by Ansible
itself (the role's release_vars.yml run on localhost): the major from the resolver's series ("8.9" ->
libcudnn8), and libcudnn8 pinned to the build for the CUDA version in use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"

RELEASES = {"Ubuntu-18.04": ("Ubuntu", "18.04", "18"), "Ubuntu-22.04": ("Ubuntu", "22.04", "22"),
            "Debian-12": ("Debian", "12.7", "12")}


def cuda_vars(tmp_path: Path, release: str, role_vars: dict[str, Any]) -> dict[str, Any]:
    """cuda_cudnn_major and cuda_cudnn_packages on ``release`` after the role's release_vars.yml."""
    distribution, version, major = RELEASES[release]
    out = tmp_path / "out.json"
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "vars": {
        "ansible_distribution": distribution, "ansible_distribution_version": version,
        "ansible_distribution_major_version": major, **role_vars}, "tasks": [
        {"ansible.builtin.include_role": {"name": "cuda", "tasks_from": "release_vars", "public": True}},
        {"ansible.builtin.copy": {"dest": str(out), "content": "{{ {'major': cuda_cudnn_major,"
                                  " 'version': cuda_cudnn_version,"
                                  " 'packages': cuda_cudnn_packages} | to_json }}"},
         "check_mode": False},
    ]}]))
    command = [str(PLAYBOOK), "-i", "localhost,", "-c", "local", str(play),
               "-e", f"ansible_python_interpreter={sys.executable}"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    return json.loads(out.read_text())


def test_the_reference_builds_cudnn_8_9_pins_the_cuda_12_1_build(tmp_path):
    got = cuda_vars(tmp_path, "Ubuntu-18.04", {"dlrig_stack": {"cuda": "12.1", "cudnn": "8.9"}})
    assert got == {"major": "8", "version": "8.9",
                   "packages": ["libcudnn8=8.9.*-1+cuda12.1", "libcudnn8-dev=8.9.*-1+cuda12.1"]}


@pytest.mark.parametrize(("cuda", "build"), [
    ("11.8", "11.8"), ("11.4", "11.8"), ("12.0", "12.1"), ("12.1", "12.1"), ("12.2", "12.2"),
    ("12.9", "12.2"),
])
def test_cudnn_8_takes_the_newest_build_of_the_cuda_major_in_use(tmp_path, cuda, build):
    got = cuda_vars(tmp_path, "Ubuntu-22.04", {"dlrig_stack": {"cuda": cuda, "cudnn": "8.9"}})
    assert got["packages"] == [f"libcudnn8=8.9.*-1+cuda{build}", f"libcudnn8-dev=8.9.*-1+cuda{build}"]


def test_cudnn_9_is_one_package_per_cuda_major(tmp_path):
    got = cuda_vars(tmp_path, "Debian-12", {"dlrig_stack": {"cuda": "13.2", "cudnn": "9"},
                                            "cuda_versions": ["12.9", "13.2"],
                                            "cuda_default_version": "13.2"})
    assert got == {"major": "9", "version": "9", "packages": ["cudnn9-cuda-12", "cudnn9-cuda-13"]}


def test_without_a_stack_the_release_decides(tmp_path):
    assert cuda_vars(tmp_path, "Ubuntu-18.04", {})["packages"][0] == "libcudnn8=8.*-1+cuda12.2"
    assert cuda_vars(tmp_path, "Ubuntu-22.04", {})["packages"] == ["cudnn9-cuda-12"]


def test_a_major_set_by_hand_wins_over_the_stack(tmp_path):
    got = cuda_vars(tmp_path, "Ubuntu-22.04", {"dlrig_stack": {"cuda": "12.1", "cudnn": "9"},
                                               "cuda_cudnn_major": "8"})
    assert got["packages"] == ["libcudnn8=8.*-1+cuda12.1", "libcudnn8-dev=8.*-1+cuda12.1"]
