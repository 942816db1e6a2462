"""A driver downgrade that changes the kernel module flavour, on dlrig-drvpol-flavour (issue 20: the issue's
own example, a Pascal GTX 1080 Ti added to a Turing box on the open modules; Pascal has no open kernel
modules, and 580 is its last branch). `converge` left branch 590 with the open modules there (host_vars).
converge.yml is run here three times, with the Pascal card declared (extra-vars `hardware`) and what the
preflight resolves for the two cards on Debian 12 (branch 580, proprietary modules):

1. without consent: the role stops before it changes anything (packages, holds, pin, no file under /etc,
   /usr, /lib or dpkg's database newer than the run's start);
2. with nvidia_driver_allow_downgrade: true: the holds of nvidia-kernel-open-dkms, cuda-drivers-590 and
   nvidia-persistenced are released, nvidia-kernel-open-dkms and cuda-drivers-590 removed,
   nvidia-kernel-dkms, cuda-drivers-580 and nvidia-persistenced 580 installed with apt's downgrade
   permission and held, the pin names 580 and the proprietary modules, and a reboot is pending (590 open
   loaded, 580 proprietary on disk);
3. the same again: nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from conftest import DRIVER_VERSION, FACTS_FILE, NEWER_VERSION, PlaybookRun, read_json, run_converge, run_ok

HOST = "dlrig-drvpol-flavour"
testinfra_hosts = [f"ansible://{HOST}"]

PACKAGES = ("nvidia-kernel-open-dkms", "nvidia-kernel-dkms", "nvidia-persistenced", "cuda-drivers-580",
            "cuda-drivers-590")
PIN = "/etc/apt/preferences.d/dlrig-nvidia-driver.pref"
MARK = "/run/dlrig-test/flavour-refused.mark"
STOP_TASK = "nvidia_driver : Stop a driver downgrade nobody consented to (nothing is changed on the host)"
SAY_DOWN = "nvidia_driver : Say that the driver moves down a branch, and who consented"
SAY_FLAVOUR = "nvidia_driver : Say that the kernel modules change flavour"
INSTALL_TASK = "nvidia_driver : Install the NVIDIA driver packages of branch and flavour 580-proprietary"
# The Turing card the box had, and the Pascal card its owner adds (host_vars has the first only).
HARDWARE_GPUS = [{"model": "GeForce RTX 2070", "count": 1, "watts": 175, "vram_gb": 8},
                 {"model": "GeForce GTX 1080 Ti", "count": 1, "watts": 250, "vram_gb": 11}]


@dataclass(frozen=True)
class Outcome:
    run: PlaybookRun
    packages: dict[str, tuple[str, str] | None]
    pin: str
    reboot_pending: bool


def _state(host: Any, run: PlaybookRun) -> Outcome:
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
def runs(host: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("flavour")
    switch = {"nvidia_driver_branch": "580", "nvidia_driver_flavour": "proprietary",
              "hardware": {"gpus": HARDWARE_GPUS}}
    done: dict[str, Any] = {"590": _state(host, PlaybookRun(0, {}, [], ""))}
    run_ok(host, f"touch {MARK}")
    refused = run_converge(HOST, tmp, switch)
    done["refused"] = _state(host, refused)
    # Every file the refused run wrote where a driver change would write (Ansible's own temporary files
    # live in the remote user's home and the facts record under /var/lib/dlrig-test, neither of them here).
    find = f"find /etc /usr /lib /var/lib/dpkg /opt -xdev -newer {MARK} -print"
    done["written"] = run_ok(host, find).split()
    consent = {**switch, "nvidia_driver_allow_downgrade": True}
    done["580"] = _state(host, run_converge(HOST, tmp, consent))
    done["580-again"] = _state(host, run_converge(HOST, tmp, consent))
    return done


def test_converge_left_590_with_the_open_modules_held_and_pinned(runs: dict[str, Any]) -> None:
    first = runs["590"]
    assert first.packages["nvidia-kernel-open-dkms"] == (NEWER_VERSION, "hold")
    assert first.packages["cuda-drivers-590"] == (NEWER_VERSION, "hold")
    assert first.packages["nvidia-kernel-dkms"] is None and first.packages["cuda-drivers-580"] is None
    assert "Pin: version 590.*" in first.pin and "(open kernel modules)" in first.pin


def test_without_consent_the_switch_is_refused_and_nothing_changes(runs: dict[str, Any]) -> None:
    refused = runs["refused"]
    assert refused.run.rc != 0
    said = " ".join(refused.run.task(STOP_TASK)["msg"].split())
    assert "The installed driver is branch 590" in said and "older branch 580: a downgrade" in said
    assert ("a change of the kernel modules to the proprietary flavour (nvidia-kernel-open-dkms replaced)"
            in said)
    assert "nvidia_driver_allow_downgrade: true" in said and "Nothing was changed." in said
    assert refused.run.changed() == []
    assert refused.packages == runs["590"].packages
    assert refused.pin == runs["590"].pin
    assert runs["written"] == []


def test_with_consent_580_proprietary_replaces_590_open(runs: dict[str, Any]) -> None:
    down = runs["580"]
    assert down.run.rc == 0, down.run.stderr
    assert down.packages == {
        "nvidia-kernel-open-dkms": None,
        "nvidia-kernel-dkms": (DRIVER_VERSION, "hold"),
        "nvidia-persistenced": (DRIVER_VERSION, "hold"),
        "cuda-drivers-580": (DRIVER_VERSION, "hold"),
        "cuda-drivers-590": None,
    }
    assert "Pin: version 580.*" in down.pin and "(proprietary kernel modules)" in down.pin
    said = " ".join(down.run.task(SAY_DOWN)["msg"].split())
    assert ("from branch 590 to 580 (nvidia_driver_allow_downgrade: true), kernel modules open -> proprietary"
            in said)
    flavour = " ".join(down.run.task(SAY_FLAVOUR)["msg"].split())
    assert "from the open flavour to the proprietary flavour" in flavour
    assert "removing nvidia-kernel-open-dkms;" in flavour
    assert INSTALL_TASK in down.run.changed()


def test_the_proprietary_module_waits_for_a_reboot_that_is_not_allowed(runs: dict[str, Any]) -> None:
    assert not runs["590"].reboot_pending  # converge's record: 590 loaded, 590 on disk
    assert runs["580"].reboot_pending             # 590 open loaded, 580 proprietary on disk


def test_a_second_run_changes_nothing(runs: dict[str, Any]) -> None:
    again = runs["580-again"]
    assert again.run.rc == 0, again.run.stderr
    assert again.run.changed() == []
    assert again.packages == runs["580"].packages
    assert again.pin == runs["580"].pin
    assert again.reboot_pending
