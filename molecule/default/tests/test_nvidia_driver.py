"""Role nvidia_driver on the Molecule target: NVIDIA's repository (the local signed mirror here),
the driver branch installed, held and pinned, nouveau blacklisted, nvidia-persistenced running.

The mirror also offers a newer branch (590) of the same packages: the installed versions prove
that the apt pin keeps the chosen branch."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import run_ok

KEYRING = "/usr/share/keyrings/dlrig-nvidia-cuda-archive-keyring.asc"
SOURCES = "/etc/apt/sources.list.d/dlrig-nvidia-cuda.list"
PIN = "/etc/apt/preferences.d/dlrig-nvidia-driver.pref"


@pytest.fixture
def branch(inventory_vars: dict[str, Any]) -> str:
    return str(inventory_vars.get("nvidia_driver_branch", "580"))


@pytest.fixture
def driver_packages(branch: str) -> list[str]:
    # roles/nvidia_driver/vars/Debian-12.yml, flavour "open"
    return ["nvidia-kernel-open-dkms", f"cuda-drivers-{branch}", "nvidia-persistenced"]


def status_and_version(host: Any, name: str) -> tuple[str, str]:
    out = run_ok(host, "dpkg-query -W -f=%s %s", "${db:Status-Abbrev}|${Version}", name)
    status, version = out.split("|")
    return status.strip(), version.strip()


def test_driver_packages_installed_and_held(host: Any, driver_packages: list[str]) -> None:
    held = run_ok(host, "apt-mark showhold").split()
    for name in driver_packages:
        status, _ = status_and_version(host, name)
        assert status == "hi", f"{name}: dpkg status {status!r}, expected hold + installed"
        assert name in held


def test_driver_packages_are_of_the_chosen_branch_despite_a_newer_one(
    host: Any, driver_packages: list[str], branch: str
) -> None:
    for name in driver_packages:
        _, version = status_and_version(host, name)
        assert version.startswith(f"{branch}."), f"{name} {version} is not of branch {branch}"
    # The mirror offers 590 too: apt's candidate stays on the branch because of the pin.
    policy = run_ok(host, "apt-cache policy nvidia-kernel-open-dkms")
    assert "590." in policy, "the mirror should offer a newer branch for this test to mean anything"
    candidate = next(ln for ln in policy.splitlines() if "Candidate:" in ln)
    assert f"Candidate: {branch}." in candidate


def test_pin_file_keeps_the_branch(host: Any, branch: str) -> None:
    pin = host.file(PIN)
    assert pin.exists and pin.user == "root" and pin.mode == 0o644
    text = pin.content_string
    assert "Managed by dlrig" in text
    assert f"Pin: version {branch}.*" in text
    assert "Pin-Priority: 1000" in text
    assert "nvidia-*" in text and "cuda-drivers*" in text


def test_repository_is_signed_by_its_own_keyring(
    host: Any, inventory_vars: dict[str, Any], mirror_url: str
) -> None:
    # The inventory's value is a template over DLRIG_MIRROR_URL (group_vars/all/nvidia_driver.yml).
    base = mirror_url + "/"
    line = host.file(SOURCES).content_string.strip()
    assert line == f"deb [signed-by={KEYRING}] {base} /"
    key = host.file(KEYRING)
    assert key.exists and key.user == "root" and key.mode == 0o644
    assert key.content_string.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")


def test_no_key_was_added_to_apts_global_keyring(host: Any) -> None:
    # never apt-key: nothing in the legacy global keyring, no copy of the key in trusted.gpg.d
    assert not host.file("/etc/apt/trusted.gpg").exists
    trusted = run_ok(host, "ls -A /etc/apt/trusted.gpg.d").split()
    assert all("nvidia" not in name and "cuda" not in name and "dlrig" not in name for name in trusted)


def test_apt_checks_the_repository_signature(host: Any) -> None:
    # With its keyring the repository updates cleanly; with another (Debian's) apt refuses it.
    # Separate list directories: the host's own package index must stay as it is.
    good_lists = "/tmp/dlrig-good-lists"
    run_ok(host, f"mkdir -p {good_lists}/partial")
    only_ours = f"-o Dir::Etc::SourceList={SOURCES} -o Dir::Etc::SourceParts=/dev/null"
    good = host.run(f"apt-get update {only_ours} -o Dir::State::Lists={good_lists}")
    host.run(f"rm -rf {good_lists}")
    assert good.rc == 0 and "NO_PUBKEY" not in good.stdout + good.stderr, good.stdout + good.stderr
    wrong = "/tmp/dlrig-wrong-key.list"
    debian_key = "/usr/share/keyrings/debian-archive-keyring.gpg"
    line = host.file(SOURCES).content_string.replace(KEYRING, debian_key)
    run_ok(host, f"sh -c 'printf \"%s\" \"$1\" > {wrong}' sh '{line}'")
    lists = "/tmp/dlrig-wrong-lists"
    run_ok(host, f"mkdir -p {lists}/partial")
    bad = host.run(
        f"apt-get update -o Dir::Etc::SourceList={wrong} -o Dir::Etc::SourceParts=/dev/null "
        f"-o Dir::State::Lists={lists}"
    )
    host.run(f"rm -rf {wrong} {lists}")
    output = bad.stdout + bad.stderr
    assert bad.rc != 0 and ("NO_PUBKEY" in output or "is not signed" in output), output


def test_nouveau_is_blacklisted(host: Any) -> None:
    conf = host.file("/etc/modprobe.d/dlrig-blacklist-nouveau.conf")
    assert conf.exists and conf.mode == 0o644
    assert "Managed by dlrig" in conf.content_string
    config = run_ok(host, "modprobe --showconfig")
    assert "blacklist nouveau" in config
    assert "options nouveau modeset=0" in config


def test_initramfs_carries_the_blacklist(host: Any) -> None:
    # The handler runs update-initramfs; only a host with a kernel in /boot has an initramfs to check.
    images = host.run("ls /boot/initrd.img-*").stdout.split()
    if not images:
        pytest.skip("no initramfs in a container (no kernel installed): the handler had nothing to rebuild")
    for image in images:
        assert "dlrig-blacklist-nouveau.conf" in run_ok(host, "lsinitramfs %s", image)


def test_persistenced_enabled_and_running_in_persistence_mode(host: Any) -> None:
    service = host.service("nvidia-persistenced")
    assert service.is_enabled
    assert service.is_running
    dropin = host.file("/etc/systemd/system/nvidia-persistenced.service.d/dlrig.conf")
    assert "Managed by dlrig" in dropin.content_string
    exec_start = run_ok(host, "systemctl show -p ExecStart nvidia-persistenced")
    assert "--persistence-mode" in exec_start and "--no-persistence-mode" not in exec_start


def test_no_dkms_signing_configured_without_secure_boot(host: Any) -> None:
    # The container reports no Secure Boot: the role must not have touched DKMS's signing settings.
    conf = host.file("/etc/dkms/framework.conf")
    if conf.exists:
        assert "mok_signing_key=" not in "\n".join(
            ln for ln in conf.content_string.splitlines() if not ln.lstrip().startswith("#")
        )


def test_gpu_steps_skipped_because_no_gpu_is_declared(host: Any, gpu_count: int) -> None:
    assert gpu_count == 0
    assert not host.file("/sys/module/nvidia").exists
    assert not host.exists("nvidia-smi")
