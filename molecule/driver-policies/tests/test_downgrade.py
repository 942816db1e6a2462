"""A consented driver downgrade on dlrig-drvpol-downgrade (issue 20; never converged by `converge`; one
GPU, the 590 module loaded, no reboot allowed, no driver pin in `stack:`). converge.yml is run here four
times, in this order:

1. branch 590: the 590 packages are installed, held and pinned;
2. branch 580 without consent: the role stops before it changes anything (packages, holds, pin as before);
3. branch 580 with nvidia_driver_allow_downgrade: true: the holds of 590 are released, cuda-drivers-590 is
   removed, the 580 packages are installed with apt's downgrade permission and held, the pin names 580,
   and a reboot is pending (590 loaded, 580 on disk);
4. the same again: nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import DRIVER_VERSION, FACTS_FILE, NEWER_VERSION, PlaybookRun, read_json, run_converge, run_ok

HOST = "dlrig-drvpol-downgrade"
testinfra_hosts = [f"ansible://{HOST}"]

PACKAGES = ("nvidia-kernel-open-dkms", "nvidia-persistenced", "cuda-drivers-580", "cuda-drivers-590")
PIN = "/etc/apt/preferences.d/dlrig-nvidia-driver.pref"
STOP_TASK = "nvidia_driver : Stop a driver downgrade nobody consented to (nothing is changed on the host)"
SAY_TASK = "nvidia_driver : Say that the driver moves down a branch, and who consented"
INSTALL_TASK = "nvidia_driver : Install the NVIDIA driver packages of branch and flavour 580-open"


@dataclass(frozen=True)
class Outcome:
    run: PlaybookRun
    packages: dict[str, tuple[str, str] | None]
    pin: str
    reboot_pending: bool


def _converge(host: Any, tmp: Path, extra: dict[str, Any]) -> Outcome:
    run = run_converge(HOST, tmp, extra)
    packages: dict[str, tuple[str, str] | None] = {}
    for name in PACKAGES:
        got = host.run(f"dpkg-query -W -f='${{Status}}|${{Version}}' {name}")
        status, _, version = got.stdout.partition("|")
        installed = got.rc == 0 and status.endswith(" installed")
        packages[name] = (version, status.split()[0]) if installed else None
    facts = read_json(host, FACTS_FILE) if host.file(FACTS_FILE).exists else {}
    pin = run_ok(host, f"cat {PIN}") if host.file(PIN).exists else ""
    return Outcome(run, packages, pin, bool(facts.get("nvidia_driver_reboot_pending")))


@pytest.fixture(scope="module")
def runs(host: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    tmp = tmp_path_factory.mktemp("downgrade")
    done: dict[str, Outcome] = {}
    done["590"] = _converge(host, tmp, {"nvidia_driver_branch": "590"})
    done["580-refused"] = _converge(host, tmp, {"nvidia_driver_branch": "580"})
    consent = {"nvidia_driver_branch": "580", "nvidia_driver_allow_downgrade": True}
    done["580"] = _converge(host, tmp, consent)
    done["580-again"] = _converge(host, tmp, consent)
    return done


def test_branch_590_is_installed_held_and_pinned_first(runs: dict[str, Outcome]) -> None:
    first = runs["590"]
    assert first.run.rc == 0, first.run.stderr
    assert first.packages["nvidia-kernel-open-dkms"] == (NEWER_VERSION, "hold")
    assert first.packages["cuda-drivers-590"] == (NEWER_VERSION, "hold")
    assert first.packages["cuda-drivers-580"] is None
    assert "Pin: version 590.*" in first.pin
    assert first.run.task(STOP_TASK).get("skipped") and first.run.task(SAY_TASK).get("skipped")


def test_a_downgrade_without_consent_is_refused_and_changes_nothing(runs: dict[str, Outcome]) -> None:
    refused = runs["580-refused"]
    assert refused.run.rc != 0
    stop = refused.run.task(STOP_TASK)
    assert stop.get("failed")
    said = " ".join(stop["msg"].split())
    assert "The installed driver is branch 590" in said and "older branch 580: a downgrade" in said
    assert "nvidia_driver_allow_downgrade: true" in said and 'stack: {driver: "580"}' in said
    assert "Nothing was changed." in said
    assert refused.run.changed() == []
    assert refused.packages == runs["590"].packages
    assert refused.pin == runs["590"].pin


def test_the_consented_downgrade_releases_removes_installs_holds_and_pins(runs: dict[str, Outcome]) -> None:
    down = runs["580"]
    assert down.run.rc == 0, down.run.stderr
    assert down.packages["nvidia-kernel-open-dkms"] == (DRIVER_VERSION, "hold")
    assert down.packages["nvidia-persistenced"] == (DRIVER_VERSION, "hold")
    assert down.packages["cuda-drivers-580"] == (DRIVER_VERSION, "hold")
    assert down.packages["cuda-drivers-590"] is None
    assert "Pin: version 580.*" in down.pin
    said = " ".join(down.run.task(SAY_TASK)["msg"].split())
    assert "from branch 590 to 580 (nvidia_driver_allow_downgrade: true)" in said
    assert INSTALL_TASK in down.run.changed()


def test_the_older_module_waits_for_a_reboot_that_is_not_allowed(runs: dict[str, Outcome]) -> None:
    assert not runs["590"].reboot_pending  # 590 loaded, 590 on disk
    assert runs["580"].reboot_pending      # 590 loaded, 580 on disk, nvidia_driver_reboot_allowed: false


def test_a_second_run_on_580_changes_nothing(runs: dict[str, Outcome]) -> None:
    again = runs["580-again"]
    assert again.run.rc == 0, again.run.stderr
    assert again.run.changed() == []
    assert again.packages == runs["580"].packages
