"""What ``dlrig init`` detects on a box: the ``dlrig_hardware`` fact, the OS release, the board, the drives.

Local detection runs the host-side parser of ``dlrig.rig.hardware_facts`` (module_utils/hwdetect.py) on
this machine, so ``init`` and the live preflight read the box the same way. Everything reads under a
root directory and runs commands given by name or path, so tests point it at tests/fixtures/hw.
Over SSH the same module runs through Ansible (:mod:`dlrig.init.remote`) and :func:`from_ansible`
turns its facts and Ansible's own (``ansible_devices``, ``ansible_distribution``, ``ansible_board_*``)
into the same :class:`Probe`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

HWDETECT = (Path(__file__).resolve().parents[2] / "collections" / "ansible_collections" / "dlrig" / "rig"
            / "plugins" / "module_utils" / "hwdetect.py")

# Block devices that are not drives: loop devices, RAM disks, device-mapper, software RAID, optical.
_NOT_DRIVES = ("loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd")


@dataclass(frozen=True)
class Drive:
    name: str                # kernel name: nvme0n1, sda, vda
    model: str | None
    interface: str           # nvme, sata, usb (the preflight's vocabulary)
    rotational: bool
    size_gb: float | None
    how: str                 # how the interface was told, for the provenance comment


@dataclass(frozen=True)
class Probe:
    """Everything ``init`` learnt about one box."""

    hardware: Mapping[str, Any]                 # the dlrig_hardware fact
    os: tuple[str, str] | None = None           # (distribution, release)
    board: str | None = None                    # "vendor name" from DMI
    drives: tuple[Drive, ...] = ()
    where: str = "this machine"                 # for the header: "this machine", "over SSH from ADDR"
    notes: tuple[str, ...] = field(default_factory=tuple)


@cache
def hwdetect() -> ModuleType:
    """module_utils/hwdetect.py, loaded by path (it is host-side code, not part of the dlrig package)."""
    spec = importlib.util.spec_from_file_location("dlrig_init_hwdetect", HWDETECT)
    if spec is None or spec.loader is None:  # pragma: no cover - the file ships with dlrig
        raise RuntimeError(f"cannot load {HWDETECT}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(root: str, *parts: str) -> str | None:
    try:
        return Path(root, *parts).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _command(name: str | None, args: list[str]) -> tuple[str, bool] | None:
    """(stdout + stderr, whether it exited 0) as the module collects them; None when not installed."""
    if not name:
        return None
    path = name if os.sep in name else shutil.which(name)
    if not path or not os.access(path, os.X_OK):
        return None
    try:
        done = subprocess.run([path, *args], capture_output=True, text=True, timeout=60, check=False,
                              env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout + done.stderr, done.returncode == 0


def os_release(root: str) -> tuple[str, str] | None:
    """(distribution, release) from ``etc/os-release`` as Ansible names them (Ubuntu 22.04, Debian 12)."""
    text = _read(root, "etc", "os-release")
    if not text:
        return None
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"').strip("'")
    ident, version = values.get("ID", ""), values.get("VERSION_ID")
    if not version:
        return None
    names = {"ubuntu": "Ubuntu", "debian": "Debian", "rocky": "Rocky", "almalinux": "AlmaLinux",
             "centos": "CentOS", "fedora": "Fedora"}
    name = names.get(ident.lower()) or (values.get("NAME") or ident).split()[0]
    return name, version


def board(root: str) -> str | None:
    """The motherboard's vendor and name from DMI (readable without root), or None."""
    parts = [_read(root, "sys", "class", "dmi", "id", f) for f in ("board_vendor", "board_name")]
    text = " ".join(p for p in parts if p and p.lower() not in {"to be filled by o.e.m.", "default string"})
    return text or None


def _interface(name: str, device_path: str) -> tuple[str, str] | None:
    if name.startswith("nvme"):
        return "nvme", "an NVMe namespace"
    if "/usb" in device_path:
        return "usb", "on a USB bus"
    if name.startswith("sd"):
        return "sata", "a SCSI disk (SATA or SAS: sata assumed)"
    if name.startswith(("vd", "xvd")):
        return "sata", "a virtual disk (counted as sata)"
    if name.startswith("mmcblk"):
        return "usb", "an MMC/SD card (counted as usb)"
    return None


def drives(root: str) -> tuple[Drive, ...]:
    """The drives under ``sys/block`` (no partitions, loop/RAM/device-mapper/optical devices skipped)."""
    block = Path(root, "sys", "block")
    try:
        names = sorted(p.name for p in block.iterdir())
    except OSError:
        return ()
    found = []
    for name in names:
        if name.startswith(_NOT_DRIVES) or _read(root, "sys", "block", name, "removable") == "1":
            continue
        kind = _interface(name, os.path.realpath(block / name))
        if kind is None:
            continue
        sectors = _read(root, "sys", "block", name, "size")
        size = round(int(sectors) * 512 / 1e9) if sectors and sectors.isdigit() else None
        if size == 0:
            continue
        found.append(Drive(name, _read(root, "sys", "block", name, "device", "model") or None, kind[0],
                           _read(root, "sys", "block", name, "queue", "rotational") == "1", size, kind[1]))
    return tuple(found)


def local(root: str = "/", nvidia_smi: str | None = "nvidia-smi", lspci: str | None = "lspci") -> Probe:
    """Detect this machine (or a fixture tree under ``root`` with stand-in commands)."""
    hw = hwdetect()
    lspci_out = _command(lspci, ["-vmmnD"])
    lspci_text = lspci_out[0] if lspci_out and lspci_out[1] else None
    smi_out = _command(nvidia_smi, list(hw.NVIDIA_SMI_ARGS))
    facts = hw.detect(root, lspci_text, smi_out[0] if smi_out else None)
    return Probe(facts, os_release(root), board(root), drives(root))


def _ansible_drive(name: str, dev: Mapping[str, Any]) -> Drive | None:
    if name.startswith(_NOT_DRIVES) or str(dev.get("removable", "0")) == "1":
        return None
    host = str(dev.get("host") or "")
    kind = _interface(name, "/usb" if "usb" in host.lower() else "")
    if kind is None:
        return None
    sectors = str(dev.get("sectors") or "")
    size = round(int(sectors) * int(dev.get("sectorsize") or 512) / 1e9) if sectors.isdigit() else None
    if size == 0:
        return None
    model = dev.get("model")
    return Drive(name, str(model).strip() if model else None, kind[0], str(dev.get("rotational")) == "1",
                 size, kind[1])


def from_ansible(facts: Mapping[str, Any], where: str) -> Probe:
    """A :class:`Probe` from the facts of an Ansible run (``dlrig_hardware`` plus ``ansible_*``)."""
    distribution, release = facts.get("ansible_distribution"), facts.get("ansible_distribution_version")
    vendor, name = facts.get("ansible_board_vendor"), facts.get("ansible_board_name")
    board_text = " ".join(str(v) for v in (vendor, name) if v and str(v) not in {"NA", "Default string"})
    devices = facts.get("ansible_devices") or {}
    found = [_ansible_drive(n, d) for n, d in sorted(devices.items()) if isinstance(d, Mapping)]
    return Probe(facts.get("dlrig_hardware") or {},
                 (str(distribution), str(release)) if distribution and release else None,
                 board_text or None, tuple(d for d in found if d), where)
