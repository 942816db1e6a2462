"""roles/nvidia_driver/vars: the driver packages each release gets for a branch, templated by Ansible
itself (branches before 590 carry the branch in the name; from 590 Ubuntu uses a pinning package)."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def packages(tmp_path: Path, release: str, branch: str) -> dict[str, list[str]]:
    """The packages of ``release`` ("Ubuntu-22.04"), its vars file found as the role finds it
    (tasks/release_vars.yml: the shared lookup dlrig.rig.release_vars)."""
    distribution, version = release.split("-")
    play = tmp_path / "play.yml"
    out = tmp_path / "out.json"
    play.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "vars": {
        "ansible_distribution": distribution, "ansible_distribution_version": version}, "tasks": [
        {"ansible.builtin.include_vars": "{{ lookup('dlrig.rig.release_vars', vars_dir) }}",
         "vars": {"vars_dir": str(ROOT / "roles" / "nvidia_driver" / "vars")}},
        {"ansible.builtin.copy": {"dest": str(out),
                                  "content": "{{ nvidia_driver_vars_packages | to_json }}"}},
    ]}]))
    command = [str(PLAYBOOK), "-i", "localhost,", "-c", "local", str(play),
               "-e", f"nvidia_driver_branch={branch}", "-e", f"ansible_python_interpreter={sys.executable}"]
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return json.loads(out.read_text())


@pytest.mark.parametrize("release", ["Ubuntu-18.04", "Ubuntu-20.04", "Ubuntu-22.04", "Ubuntu-24.04"])
def test_ubuntu_branches_before_590_are_in_the_package_name(tmp_path, release):
    assert packages(tmp_path, release, "580") == {"open": ["nvidia-open-580"],
                                                  "proprietary": ["cuda-drivers-580"]}


@pytest.mark.parametrize("release", ["Ubuntu-22.04", "Ubuntu-24.04"])
def test_ubuntu_590_and_later_select_the_branch_with_the_pinning_package(tmp_path, release):
    assert packages(tmp_path, release, "595") == {
        "open": ["nvidia-driver-pinning-595", "nvidia-open"],
        "proprietary": ["nvidia-driver-pinning-595", "cuda-drivers"],
    }


def test_debian_keeps_the_branch_package(tmp_path):
    got = packages(tmp_path, "Debian-12", "580")
    assert "cuda-drivers-580" in got["open"] and "nvidia-kernel-open-dkms" in got["open"]


# What cuda-drivers-580 depends on in NVIDIA's debian12 repository, each bounded from below only
# (forums.developer.nvidia.com/t/353805): without the role's pin, apt installs the newest branch's.
DEBIAN_CUDA_DRIVERS_DEPENDS = ("nvidia-driver", "nvidia-driver-cuda", "nvidia-kernel-dkms", "nvidia-settings",
                               "nvidia-xconfig")


def test_the_branch_pin_covers_every_dependency_of_debians_cuda_drivers_package():
    defaults = yaml.safe_load((ROOT / "roles" / "nvidia_driver" / "defaults" / "main.yml").read_text())
    patterns = defaults["nvidia_driver_pin_packages"]
    for package in (*DEBIAN_CUDA_DRIVERS_DEPENDS, "nvidia-kernel-open-dkms", "nvidia-persistenced"):
        assert any(fnmatch.fnmatchcase(package, p) for p in patterns), (
            f"{package} is not in nvidia_driver_pin_packages: cuda-drivers-<branch> would pull its newest "
            "branch")
