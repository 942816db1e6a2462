"""Debian 12's driver risks of issue 9, item 5, as decided in docs/decisions.md ("Reference scenario and the
open risks"): no role enables Debian's contrib; the other kernel-module flavour is checked for after the
install (tasks/flavour.yml); from 590 on Debian keeps cuda-drivers-<branch>, and NVIDIA's pinning-package
names (introduced "for Debian and Ubuntu") are inside the role's apt pin already."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

ROOT = Path(__file__).resolve().parent.parent
DEBIAN = ROOT / "roles/nvidia_driver/vars/Debian-12.yml"


def debian_vars(flavour: str, branch: str = "580") -> dict[str, object]:
    variables = dict(yaml.safe_load(DEBIAN.read_text()))
    variables.update({"nvidia_driver_flavour": flavour, "nvidia_driver_branch": branch})
    templar = Templar(loader=DataLoader(), variables=variables)
    return {"packages": templar.template(variables["nvidia_driver_vars_packages"]),
            "other": templar.template(variables["nvidia_driver_vars_other_flavour_module"]).strip()}


@pytest.mark.parametrize(("flavour", "other"), [("open", "proprietary"), ("proprietary", "open")])
def test_the_flavour_check_looks_for_the_other_flavours_module(flavour: str, other: str) -> None:
    mine, theirs = debian_vars(flavour), debian_vars(other)
    module = {"open": "nvidia-kernel-open-dkms", "proprietary": "nvidia-kernel-dkms"}
    assert mine["other"] == module[other]
    assert module[other] in theirs["packages"][other] and module[other] not in mine["packages"][flavour]


def test_the_flavour_check_runs_after_the_install_and_before_the_module_is_loaded() -> None:
    names = re.findall(r"import_tasks: (\S+)", (ROOT / "roles/nvidia_driver/tasks/main.yml").read_text())
    assert names.index("install.yml") < names.index("flavour.yml") < names.index("kernel_module.yml")


def test_no_role_enables_debians_contrib() -> None:
    for path in sorted(ROOT.glob("roles/*/**/*.yml")) + sorted(ROOT.glob("roles/*/**/*.j2")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            where = f"{path.relative_to(ROOT)}:{number}"
            assert not re.search(r"\bcontrib\b", code), f"{where} enables contrib: {line.strip()}"


@pytest.mark.parametrize("branch", ["580", "590", "595"])
def test_debian_keeps_the_branch_meta_package_and_the_pin_covers_the_pinning_packages(branch: str) -> None:
    got = debian_vars("open", branch)["packages"]["open"]
    assert f"cuda-drivers-{branch}" in got
    defaults = yaml.safe_load((ROOT / "roles/nvidia_driver/defaults/main.yml").read_text())
    patterns = defaults["nvidia_driver_pin_packages"]
    for name in (f"nvidia-driver-pinning-{branch}", "cuda-drivers", f"cuda-drivers-{branch}"):
        assert any(fnmatch.fnmatchcase(name, p) for p in patterns), name
