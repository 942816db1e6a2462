"""A change of driver branch on dlrig-drvpol-branch (never converged by `converge`; one RTX 3090, the 580
module loaded, no reboot allowed). converge.yml is run here four times, in this order:

1. branch 580 (the inventory's): the 580 packages are installed and held;
2. branch 590 with --check: the run passes and the host keeps 580;
3. branch 590: the holds of 580 are released, cuda-drivers-580 is removed, the other packages are
   upgraded to 590 and held, the pin names 590, and a reboot is pending (580 loaded, 590 on disk);
4. branch 590 again: nothing changes.

What each run left on the host is read right after it (``Outcome``), so the checks do not depend on the
order in which the tests run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import DRIVER_VERSION, FACTS_FILE, NEWER_VERSION, PlaybookRun, read_json, run_converge, run_ok

HOST = "dlrig-drvpol-branch"
testinfra_hosts = [f"ansible://{HOST}"]

PACKAGES = ("nvidia-kernel-open-dkms", "nvidia-persistenced", "cuda-drivers-580", "cuda-drivers-590")
PIN = "/etc/apt/preferences.d/dlrig-nvidia-driver.pref"
RELEASE_TASK = "nvidia_driver : Release the holds of the other branch's packages"
REMOVE_TASK = "nvidia_driver : Remove the other branch's branch-named packages"
SAY_TASK = "nvidia_driver : Say that the driver changes branch"


@dataclass(frozen=True)
class Outcome:
    """A run of converge.yml and what it left on the host: package -> (version, dpkg selection), the pin."""

    run: PlaybookRun
    packages: dict[str, tuple[str, str] | None]
    pin: str
    reboot_pending: bool


def _converge(host: Any, tmp: Path, branch: str | None, check: bool = False) -> Outcome:
    run = run_converge(HOST, tmp, {"nvidia_driver_branch": branch} if branch else None, check=check)
    packages: dict[str, tuple[str, str] | None] = {}
    for name in PACKAGES:
        # dpkg-query fails for a package it never knew; a removed one reads "deinstall ok config-files".
        got = host.run(f"dpkg-query -W -f='${{Status}}|${{Version}}' {name}")
        status, _, version = got.stdout.partition("|")
        installed = got.rc == 0 and status.endswith(" installed")
        packages[name] = (version, status.split()[0]) if installed else None
    facts = read_json(host, FACTS_FILE) if host.file(FACTS_FILE).exists else {}
    return Outcome(run, packages, run_ok(host, f"cat {PIN}"), bool(facts.get("nvidia_driver_reboot_pending")))


@pytest.fixture(scope="module")
def runs(host: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    tmp = tmp_path_factory.mktemp("branch-change")
    done: dict[str, Outcome] = {}
    done["580"] = _converge(host, tmp, None)
    done["590-check"] = _converge(host, tmp, "590", check=True)
    done["590"] = _converge(host, tmp, "590")
    done["590-again"] = _converge(host, tmp, "590")
    return done


def test_branch_580_is_installed_and_held_first(runs: dict[str, Outcome]) -> None:
    first = runs["580"]
    assert first.run.rc == 0, first.run.stderr
    assert first.packages["nvidia-kernel-open-dkms"] == (DRIVER_VERSION, "hold")
    assert first.packages["cuda-drivers-580"] == (DRIVER_VERSION, "hold")
    assert first.packages["cuda-drivers-590"] is None
    assert "Pin: version 580.*" in first.pin
    # Nothing of another branch on a fresh host: the change-of-branch steps only read.
    assert first.run.task(SAY_TASK).get("skipped")
    assert RELEASE_TASK not in first.run.changed() and REMOVE_TASK not in first.run.changed()


def test_check_mode_passes_and_leaves_branch_580(runs: dict[str, Outcome]) -> None:
    check = runs["590-check"]
    assert check.run.rc == 0, check.run.stderr
    assert check.packages == runs["580"].packages
    assert "Pin: version 580.*" in check.pin
    assert "from branch 580 to 590" in " ".join(check.run.task(SAY_TASK)["msg"].split())
    stops = check.run.task("nvidia_driver : Tell that --check mode stops short of the driver packages")
    assert "the driver changes branch" in stops["msg"] and "cuda-drivers-590" in stops["msg"]


def test_the_change_to_590_releases_removes_upgrades_and_holds(runs: dict[str, Outcome]) -> None:
    change = runs["590"]
    assert change.run.rc == 0, change.run.stderr
    assert change.packages["nvidia-kernel-open-dkms"] == (NEWER_VERSION, "hold")
    assert change.packages["nvidia-persistenced"] == (NEWER_VERSION, "hold")
    assert change.packages["cuda-drivers-590"] == (NEWER_VERSION, "hold")
    assert change.packages["cuda-drivers-580"] is None
    assert "Pin: version 590.*" in change.pin
    said = " ".join(change.run.task(SAY_TASK)["msg"].split())
    assert "from branch 580 to 590" in said and "removing cuda-drivers-580" in said
    assert RELEASE_TASK in change.run.changed() and REMOVE_TASK in change.run.changed()


def test_the_new_module_waits_for_a_reboot_that_is_not_allowed(runs: dict[str, Outcome]) -> None:
    assert not runs["580"].reboot_pending  # 580 loaded, 580 on disk
    assert runs["590"].reboot_pending      # 580 loaded, 590 on disk, nvidia_driver_reboot_allowed: false


def test_a_second_run_on_590_changes_nothing(runs: dict[str, Outcome]) -> None:
    again = runs["590-again"]
    assert again.run.rc == 0, again.run.stderr
    assert again.run.changed() == []
    assert again.packages == runs["590"].packages
