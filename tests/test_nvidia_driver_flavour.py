"""roles/nvidia_driver: which installed packages belong to the other kernel module flavour (issue 20: a
Pascal card forces 595 open -> 580 proprietary; Pascal has no open kernel modules). The role's own
expressions (defaults/main.yml, vars/main.yml) and release vars are templated by Ansible itself, one play
per case, with the installed packages given instead of package_facts."""

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
# The role's expressions a case needs (the installed packages come from the case instead of package_facts).
DEFAULTS = ("nvidia_driver_packages", "nvidia_driver_extra_packages", "nvidia_driver_flavour_package_regex")
VARS = ("nvidia_driver_other_flavour", "nvidia_driver_other_flavour_installed")

# (release vars file, installed packages, branch asked, flavour asked, the other flavour's packages found)
CASES: list[tuple[str, list[str], str, str, list[str]]] = [
    # The box: Ubuntu 22.04 on 595 open; the Pascal card asks for 580 proprietary. The unsuffixed
    # metas of 590+ are the open flavour's; nvidia-driver-pinning-595 carries a branch (released elsewhere).
    ("Ubuntu.yml", ["nvidia-driver-pinning-595", "nvidia-open", "nvidia-driver-open", "libnvidia-compute"],
     "580", "proprietary", ["nvidia-driver-open", "nvidia-open"]),
    # And back: the Pascal card leaves, 580 proprietary -> 595 open.
    ("Ubuntu.yml", ["cuda-drivers-580", "nvidia-driver-580", "libnvidia-compute-580"],
     "595", "open", ["cuda-drivers-580", "nvidia-driver-580"]),
    # A flavour change on the same branch (580 open -> 580 proprietary).
    ("Ubuntu.yml", ["nvidia-open-580", "nvidia-driver-580-open"], "580", "proprietary",
     ["nvidia-driver-580-open", "nvidia-open-580"]),
    # 595 proprietary -> 595 open: the unsuffixed cuda-drivers goes, the pinning package stays (asked for).
    ("Ubuntu.yml", ["nvidia-driver-pinning-595", "cuda-drivers", "nvidia-driver"], "595", "open",
     ["cuda-drivers", "nvidia-driver"]),
    # No change of flavour: nothing, whatever the branch.
    ("Ubuntu.yml", ["nvidia-driver-pinning-595", "nvidia-open"], "580", "open", []),
    ("Ubuntu.yml", ["nvidia-driver-pinning-595", "cuda-drivers"], "595", "proprietary", []),
    # Debian 12 (the Molecule scenario's case): the module package is the flavour's; cuda-drivers-<branch>
    # and nvidia-persistenced serve both.
    ("Debian-12.yml", ["nvidia-kernel-open-dkms", "cuda-drivers-590", "nvidia-persistenced"], "580",
     "proprietary", ["nvidia-kernel-open-dkms"]),
    ("Debian-12.yml",
     ["nvidia-kernel-dkms", "cuda-drivers-580", "nvidia-persistenced", "nvidia-open-kernel-dkms"],
     "580", "open", ["nvidia-kernel-dkms"]),
    ("Debian-12.yml", ["nvidia-kernel-open-dkms", "nvidia-open-kernel-dkms", "nvidia-open"], "580",
     "proprietary", ["nvidia-kernel-open-dkms", "nvidia-open", "nvidia-open-kernel-dkms"]),
    ("Debian-12.yml", ["nvidia-kernel-open-dkms", "cuda-drivers-580"], "580", "open", []),
]


def _found(tmp_path: Path) -> list[Any]:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    plays = []
    for i, (release, installed, branch, flavour, _) in enumerate(CASES):
        play_vars = {**{k: defaults[k] for k in DEFAULTS}, **{k: role_vars[k] for k in VARS},
                     "nvidia_driver_installed_packages": {name: [{"version": "1"}] for name in installed},
                     "nvidia_driver_branch": branch, "nvidia_driver_flavour": flavour}
        plays.append({"hosts": "localhost", "gather_facts": False, "vars": play_vars, "tasks": [
            {"ansible.builtin.include_vars": str(ROLE / "vars" / release)},
            {"ansible.builtin.copy": {"dest": str(tmp_path / f"{i}.json"),
                                      "content": "{{ nvidia_driver_other_flavour_installed | to_json }}"}},
        ]})
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump(plays))
    command = [str(PLAYBOOK), "-i", "localhost,", "-c", "local", str(play),
               "-e", f"ansible_python_interpreter={sys.executable}"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [json.loads((tmp_path / f"{i}.json").read_text()) for i in range(len(CASES))]


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    return _found(tmp_path_factory.mktemp("flavour"))


@pytest.mark.parametrize("index", range(len(CASES)),
                         ids=[f"{c[0][:-4]}-{'+'.join(c[1])}->{c[2]}-{c[3]}" for c in CASES])
def test_the_other_flavours_installed_packages(found: list[Any], index: int) -> None:
    assert found[index] == CASES[index][4]


def test_every_release_names_the_packages_of_both_flavours() -> None:
    for vars_file in sorted((ROLE / "vars").glob("[A-Z]*.yml")):
        regex = yaml.safe_load(vars_file.read_text()).get("nvidia_driver_vars_flavour_regex")
        assert regex and set(regex) == {"open", "proprietary"}, vars_file.name
