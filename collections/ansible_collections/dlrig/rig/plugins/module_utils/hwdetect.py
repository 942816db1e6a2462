# -*- coding: utf-8 -*-
# Copyright: dlrig contributors
# MIT License (see the collection's galaxy.yml)
"""Hardware detection for dlrig: pure parsing functions over sysfs, procfs and command output.

Runs on the managed host inside the ``dlrig.rig.hardware_facts`` module, so it must work with
Python 3.6 (Ubuntu 18.04's system Python): no dataclasses, no f-string ``=``, no walrus, plain
dicts only. Every reader takes a ``root`` so that tests feed fixture trees instead of the real
``/sys`` and ``/proc``; the command parsers take the command's text output.

Sources (Linux kernel ABI documentation, Documentation/ABI/testing/sysfs-bus-pci):
``/sys/bus/pci/devices/<address>/{vendor,device,class,subsystem_vendor,subsystem_device,revision,
current_link_width,max_link_width,current_link_speed,max_link_speed,config,uevent}``.
"""

from __future__ import absolute_import, division, print_function

import csv
import os
import re
from typing import Any, Dict, List, Optional  # typing, not list[...]: Python 3.6 evaluates annotations

__metaclass__ = type

NVIDIA_VENDOR_ID = "10de"
DISPLAY_CLASS_PREFIX = "03"  # PCI base class 0x03: display controller (VGA 0300, 3D 0302)
SECURE_BOOT_EFIVAR = "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

# The fields dlrig asks nvidia-smi for, in this order (``--format=csv,noheader,nounits``).
NVIDIA_SMI_FIELDS = (
    "index",
    "pci.bus_id",
    "name",
    "memory.total",
    "power.limit",
    "power.min_limit",
    "power.max_limit",
    "power.default_limit",
    "driver_version",
    "pcie.link.gen.current",
    "pcie.link.width.current",
    "pcie.link.gen.max",
    "pcie.link.width.max",
)
NVIDIA_SMI_ARGS = [
    "--query-gpu=" + ",".join(NVIDIA_SMI_FIELDS),
    "--format=csv,noheader,nounits",
]
# The key each field gets in dlrig's facts.
_SMI_KEYS = (
    "index",
    "pci_address",
    "name",
    "memory_total_mib",
    "power_limit_w",
    "power_min_limit_w",
    "power_max_limit_w",
    "power_default_limit_w",
    "driver_version",
    "current_link_gen",
    "current_link_width",
    "max_link_gen",
    "max_link_width",
)
_SMI_INTS = frozenset(
    ["index", "memory_total_mib", "current_link_gen", "current_link_width", "max_link_gen", "max_link_width"]
)
_SMI_FLOATS = frozenset(["power_limit_w", "power_min_limit_w", "power_max_limit_w", "power_default_limit_w"])
_SMI_MISSING = frozenset(["[N/A]", "N/A", "[Not Supported]", "Not Supported", "[Unknown Error]", ""])
_SMI_HANDLE_ERROR = re.compile(
    r"Unable to determine the device handle for (?:GPU)?\s*(?:\d+:\s+)?"
    r"(?P<address>[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7])?"
    r"[^:]*:?\s*(?P<reason>.*)$"
)

# PCIe transfer rate per lane (GT/s) -> generation (PCI-SIG base specifications 1.0 .. 6.0).
_GT_PER_GEN = ((2.5, 1), (5.0, 2), (8.0, 3), (16.0, 4), (32.0, 5), (64.0, 6))
# Usable bandwidth per lane and direction in GB/s after line coding (8b/10b for gen 1-2, 128b/130b after).
LANE_GBPS = {1: 0.25, 2: 0.5, 3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}
# A link that does not answer reads as all ones: width field 0x3f.
_DEAD_LINK_WIDTH = 63
# One GPU as the facts describe it (pci_address, vendor_id, ..., present, problems, source).
Gpu = Dict[str, Any]


# --- small readers ---------------------------------------------------------------------------

def _path(root: Optional[str], *parts: str) -> str:
    """``root`` joined with ``parts`` taken as relative to it (``/`` works as the real root)."""
    return os.path.join(root or "/", *[p.lstrip("/") for p in parts])


def read_text(root: Optional[str], *parts: str) -> Optional[str]:
    """A file's text without its trailing newline; ``None`` when it is missing or unreadable."""
    try:
        with open(_path(root, *parts)) as handle:
            return handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return None


def read_bytes(root: Optional[str], *parts: str) -> Optional[bytes]:
    """A file's bytes; ``None`` when it is missing or unreadable."""
    try:
        with open(_path(root, *parts), "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _hex_id(value: Optional[str], width: int = 4) -> Optional[str]:
    """``0x10de`` / ``10DE`` -> ``10de``; ``None`` stays ``None``."""
    if value is None:
        return None
    value = value.strip().lower()
    if value.startswith("0x"):
        value = value[2:]
    if not value or not re.match(r"^[0-9a-f]+$", value):
        return None
    return value.zfill(width)


def _int_or_none(value: Any) -> Optional[int]:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _float_or_none(value: Any) -> Optional[float]:
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def normalize_pci_address(address: Optional[str]) -> Optional[str]:
    """``00000000:0A:00.0`` (nvidia-smi) or ``0a:00.0`` (lspci without -D) -> ``0000:0a:00.0``."""
    if not address:
        return None
    match = re.match(
        r"^(?:(?P<domain>[0-9A-Fa-f]{1,8}):)?(?P<bus>[0-9A-Fa-f]{2}):(?P<dev>[0-9A-Fa-f]{2})\.(?P<fn>[0-7])$",
        address.strip(),
    )
    if not match:
        return None
    domain = int(match.group("domain") or "0", 16)
    bus, dev = match.group("bus").lower(), match.group("dev").lower()
    return "%04x:%s:%s.%s" % (domain, bus, dev, match.group("fn"))


def pcie_gen_from_speed(speed: Optional[str]) -> Optional[int]:
    """Kernel link speed text (``8.0 GT/s PCIe``, ``2.5 GT/s``, ``Unknown``) -> generation or ``None``."""
    if not speed:
        return None
    match = re.search(r"([0-9]+(?:\.[0-9]+)?)\s*GT/s", speed)
    if not match:
        return None
    rate = float(match.group(1))
    for gt_per_s, gen in _GT_PER_GEN:
        if abs(rate - gt_per_s) < 0.01:
            return gen
    return None


def link_bandwidth_gbps(gen: Optional[int], width: Optional[int]) -> Optional[float]:
    """Theoretical one-direction bandwidth of a PCIe link in GB/s, or ``None`` when unknown."""
    if not gen or not width or gen not in LANE_GBPS:
        return None
    return round(LANE_GBPS[gen] * width, 2)


# --- PCI devices -------------------------------------------------------------------------------

def _sysfs_slots(root: str) -> Dict[str, str]:
    """``{'0000:0a:00': '2', ...}``: the physical slot names the firmware exposes, when it does."""
    slots: Dict[str, str] = {}
    base = _path(root, "sys/bus/pci/slots")
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return slots
    for name in names:
        address = read_text(root, "sys/bus/pci/slots", name, "address")
        if address:
            slots[address.lower()] = name
    return slots


def _uevent(root: str, address: str) -> Dict[str, str]:
    text = read_text(root, "sys/bus/pci/devices", address, "uevent") or ""
    values = {}
    for line in text.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def _config_answers(root: str, address: str) -> bool:
    """``False`` when the device's config space reads all ones (it fell off the bus), else ``True``.

    Unknown (no readable ``config`` file) counts as answering: absence of evidence is not a failure.
    """
    config = read_bytes(root, "sys/bus/pci/devices", address, "config")
    if not config or len(config) < 4:
        return True
    return bytearray(config[:4]) != bytearray(b"\xff\xff\xff\xff")


def _driver(root: str, address: str) -> Optional[str]:
    link = _path(root, "sys/bus/pci/devices", address, "driver")
    if os.path.islink(link):
        return os.path.basename(os.readlink(link))
    return _uevent(root, address).get("DRIVER")


def scan_pci_gpus(root: str = "/") -> List[Gpu]:
    """NVIDIA display-class devices found under ``<root>/sys/bus/pci/devices``, sorted by address."""
    base = _path(root, "sys/bus/pci/devices")
    try:
        addresses = sorted(os.listdir(base))
    except OSError:
        return []
    slots = _sysfs_slots(root)
    gpus = []
    for address in addresses:
        vendor = _hex_id(read_text(root, "sys/bus/pci/devices", address, "vendor"))
        pci_class = _hex_id(read_text(root, "sys/bus/pci/devices", address, "class"), 6)
        if vendor != NVIDIA_VENDOR_ID or not pci_class or not pci_class.startswith(DISPLAY_CLASS_PREFIX):
            continue
        dev = ["sys/bus/pci/devices", address]
        current_speed = read_text(root, *dev, "current_link_speed")
        max_speed = read_text(root, *dev, "max_link_speed")
        current_width = _int_or_none(read_text(root, *dev, "current_link_width"))
        max_width = _int_or_none(read_text(root, *dev, "max_link_width"))
        answers = _config_answers(root, address)
        link_dead = current_width == _DEAD_LINK_WIDTH or (current_speed or "").lower().startswith("unknown")
        problems = []
        if not answers:
            problems.append("config space reads all ones (the card fell off the bus)")
        elif link_dead:
            problems.append("its PCIe link does not answer (width/speed unknown)")
        gpus.append(
            {
                "pci_address": address.lower(),
                "vendor_id": vendor,
                "device_id": _hex_id(read_text(root, *dev, "device")),
                "subsystem_vendor_id": _hex_id(read_text(root, *dev, "subsystem_vendor")),
                "subsystem_device_id": _hex_id(read_text(root, *dev, "subsystem_device")),
                "class": pci_class,
                "revision": _hex_id(read_text(root, *dev, "revision"), 2),
                "driver": _driver(root, address),
                "slot": slots.get(address.lower().rsplit(".", 1)[0]),
                "current_link_width": None if link_dead else current_width,
                "max_link_width": max_width,
                "current_link_speed": None if link_dead else current_speed,
                "max_link_speed": max_speed,
                "current_link_gen": None if link_dead else pcie_gen_from_speed(current_speed),
                "max_link_gen": pcie_gen_from_speed(max_speed),
                "present": not problems,
                "problems": problems,
                "source": "sysfs",
            }
        )
    return gpus


def parse_lspci_vmmn(text: Optional[str]) -> List[Dict[str, str]]:
    """``lspci -vmmnD`` output -> one dict per device (keys as lspci prints them: Slot, Class, ...)."""
    devices = []
    current: Dict[str, str] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            if current:
                devices.append(current)
                current = {}
            continue
        if ":" not in line:
            continue
        key, value = line.split(":", 1)
        current[key.strip()] = value.strip()
    if current:
        devices.append(current)
    return devices


def lspci_gpus(text: Optional[str]) -> List[Gpu]:
    """NVIDIA display devices from ``lspci -vmmnD`` output, in the shape of :func:`scan_pci_gpus`."""
    gpus = []
    for dev in parse_lspci_vmmn(text):
        vendor = _hex_id(dev.get("Vendor"))
        pci_class = (dev.get("Class") or "").lower()
        if vendor != NVIDIA_VENDOR_ID or not pci_class.startswith(DISPLAY_CLASS_PREFIX):
            continue
        revision = _hex_id(dev.get("Rev"), 2)
        problems = []
        if revision == "ff":
            problems.append("lspci reads revision ff (the card fell off the bus)")
        gpus.append(
            {
                "pci_address": normalize_pci_address(dev.get("Slot")),
                "vendor_id": vendor,
                "device_id": _hex_id(dev.get("Device")),
                "subsystem_vendor_id": _hex_id(dev.get("SVendor")),
                "subsystem_device_id": _hex_id(dev.get("SDevice")),
                "class": pci_class,
                "revision": revision,
                "driver": None,
                "slot": dev.get("PhySlot"),
                "current_link_width": None,
                "max_link_width": None,
                "current_link_speed": None,
                "max_link_speed": None,
                "current_link_gen": None,
                "max_link_gen": None,
                "present": not problems,
                "problems": problems,
                "source": "lspci",
            }
        )
    return gpus


def merge_lspci(gpus: List[Gpu], lspci: List[Gpu]) -> List[Gpu]:
    """Enrich sysfs GPUs with lspci's view; lspci alone when sysfs showed none (no /sys mounted)."""
    if not gpus:
        return [dict(g) for g in lspci]
    by_address = dict((g["pci_address"], g) for g in lspci)
    merged = []
    for gpu in gpus:
        gpu = dict(gpu)
        seen = by_address.get(gpu["pci_address"])
        if seen:
            if not gpu.get("slot") and seen.get("slot"):
                gpu["slot"] = seen["slot"]
            if seen["revision"] == "ff" and gpu["present"]:
                gpu["present"] = False
                gpu["problems"] = list(gpu["problems"]) + seen["problems"]
        merged.append(gpu)
    return merged


# --- nvidia-smi ----------------------------------------------------------------------------------

def _smi_value(key: str, raw: str) -> Any:
    raw = raw.strip()
    if raw in _SMI_MISSING or raw.startswith("[N/A") or raw.startswith("[Not Supported"):
        return None
    if key in _SMI_INTS:
        return _int_or_none(raw)
    if key in _SMI_FLOATS:
        return _float_or_none(raw)
    if key == "pci_address":
        return normalize_pci_address(raw)
    return raw


def parse_nvidia_smi(text: Optional[str]) -> Dict[str, Any]:
    """Parse dlrig's ``nvidia-smi --query-gpu=... --format=csv,noheader,nounits`` output.

    Returns ``{"gpus": [...], "errors": [...], "driver_answers": bool}``: one dict per GPU row
    (missing values such as ``[N/A]`` or ``[Not Supported]`` become ``None``), one dict per line
    that is not a GPU row (``{"pci_address": ..., "message": ...}``; the address is known for
    "Unable to determine the device handle" lines).
    """
    gpus = []
    errors = []
    lines = [line for line in (text or "").splitlines() if line.strip()]
    for row, line in zip(csv.reader(lines, skipinitialspace=True), lines):
        if len(row) == len(NVIDIA_SMI_FIELDS) and _int_or_none(row[0]) is not None:
            gpus.append(dict((key, _smi_value(key, raw)) for key, raw in zip(_SMI_KEYS, row)))
            continue
        message = line.strip()
        match = _SMI_HANDLE_ERROR.search(message)
        address = normalize_pci_address(match.group("address")) if match and match.group("address") else None
        errors.append({"pci_address": address, "message": message})
    return {"gpus": gpus, "errors": errors, "driver_answers": bool(gpus)}


def merge_nvidia_smi(gpus: List[Gpu], smi: Dict[str, Any]) -> List[Gpu]:
    """Attach each nvidia-smi row to the PCI GPU at the same address (key ``smi``).

    A GPU named in a device-handle error is marked not present. Rows for addresses sysfs did not
    show are appended as GPUs of their own (source ``nvidia-smi``).
    """
    merged = []
    rows = dict((row["pci_address"], row) for row in smi.get("gpus", []))
    failed = dict((err["pci_address"], err["message"]) for err in smi.get("errors", []) if err["pci_address"])
    for gpu in gpus:
        gpu = dict(gpu)
        address = gpu["pci_address"]
        gpu["smi"] = rows.pop(address, None)
        if address in failed:
            gpu["present"] = False
            gpu["problems"] = [*gpu["problems"], "nvidia-smi: " + failed[address]]
        merged.append(gpu)
    for address in sorted(rows):
        row = rows[address]
        merged.append(
            {
                "pci_address": address,
                "vendor_id": NVIDIA_VENDOR_ID,
                "device_id": None,
                "subsystem_vendor_id": None,
                "subsystem_device_id": None,
                "class": None,
                "revision": None,
                "driver": "nvidia",
                "slot": None,
                "current_link_width": row["current_link_width"],
                "max_link_width": row["max_link_width"],
                "current_link_speed": None,
                "max_link_speed": None,
                "current_link_gen": row["current_link_gen"],
                "max_link_gen": row["max_link_gen"],
                "present": True,
                "problems": [],
                "source": "nvidia-smi",
                "smi": row,
            }
        )
    return merged


# --- CPU, memory, kernel, firmware ----------------------------------------------------------------

def cpu_info(root: str = "/") -> Dict[str, Any]:
    """``{"cpu_model": ..., "cpu_threads": n}`` from ``/proc/cpuinfo`` (x86 ``model name``; Arm fallbacks)."""
    text = read_text(root, "proc/cpuinfo") or ""
    model = None
    threads = 0
    for line in text.splitlines():
        if ":" not in line:
            continue
        key, value = [part.strip() for part in line.split(":", 1)]
        if key == "processor":
            threads += 1
        elif key in ("model name", "Model", "Hardware", "cpu model") and model is None and value:
            model = " ".join(value.split())
    return {"cpu_model": model, "cpu_threads": threads or None}


def memory_kib(root: str = "/") -> Optional[int]:
    """``MemTotal`` of ``/proc/meminfo`` in KiB, or ``None``."""
    text = read_text(root, "proc/meminfo") or ""
    match = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def kernel_release(root: str = "/") -> Optional[str]:
    """The running kernel's release (``/proc/sys/kernel/osrelease``, what ``uname -r`` prints)."""
    return read_text(root, "proc/sys/kernel/osrelease")


_OS_NAMES = {"ubuntu": "Ubuntu", "debian": "Debian"}


def os_release(root: str = "/") -> Optional[Dict[str, str]]:
    """``{"distribution": "Ubuntu", "release": "18.04"}`` from ``/etc/os-release`` (or
    ``/usr/lib/os-release``), named as Ansible's facts name them; ``None`` when neither is readable."""
    text = read_text(root, "etc/os-release") or read_text(root, "usr/lib/os-release")
    if not text:
        return None
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip("\"'")
    ident = fields.get("ID", "").lower()
    name = _OS_NAMES.get(ident) or (fields.get("NAME") or ident).split(" ")[0]
    release = fields.get("VERSION_ID")
    if not name or not release:
        return None
    return {"distribution": name, "release": release}


def secure_boot_state(root: str = "/") -> str:
    """``enabled``, ``disabled``, ``unsupported`` (booted without EFI) or ``unknown``.

    The EFI variable's file holds 4 bytes of attributes, then the value: its last byte is 1 when
    Secure Boot is on.
    """
    if not os.path.isdir(_path(root, "sys/firmware/efi")):
        return "unsupported"
    data = read_bytes(root, "sys/firmware/efi/efivars", SECURE_BOOT_EFIVAR)
    if not data or len(data) < 5:
        return "unknown"
    return "enabled" if bytearray(data)[-1] == 1 else "disabled"


def nvidia_module(root: str = "/") -> Dict[str, Any]:
    """``{"loaded": bool, "version": str|None}`` from ``/proc/modules`` or ``/sys/module/nvidia``."""
    modules = read_text(root, "proc/modules") or ""
    loaded = any(line.split(" ", 1)[0] == "nvidia" for line in modules.splitlines())
    if os.path.isdir(_path(root, "sys/module/nvidia")):
        loaded = True
    version = read_text(root, "sys/module/nvidia/version") if loaded else None
    return {"loaded": loaded, "version": version}


def host_facts(root: str = "/") -> Dict[str, Any]:
    """Everything :mod:`hardware_facts` reports that needs no command: GPUs, CPU, RAM, kernel, firmware."""
    kib = memory_kib(root)
    cpu = cpu_info(root)
    module = nvidia_module(root)
    return {
        "gpus": scan_pci_gpus(root),
        "cpu_model": cpu["cpu_model"],
        "cpu_threads": cpu["cpu_threads"],
        "ram_kib": kib,
        "ram_gb": round(kib / 1048576.0, 1) if kib else None,
        "kernel": kernel_release(root),
        "os": os_release(root),
        "secure_boot": secure_boot_state(root),
        "nvidia_module_loaded": module["loaded"],
        "nvidia_module_version": module["version"],
    }


def detect(root: str = "/", lspci_text: Optional[str] = None,
           nvidia_smi_text: Optional[str] = None) -> Dict[str, Any]:
    """The whole ``dlrig_hardware`` fact from the trees under ``root`` and the commands' outputs.

    ``lspci_text``: ``lspci -vmmnD`` output, or ``None`` when lspci is not installed or failed.
    ``nvidia_smi_text``: output of ``nvidia-smi`` with :data:`NVIDIA_SMI_ARGS` (stdout and stderr),
    or ``None`` when nvidia-smi is not installed.
    """
    facts = host_facts(root)
    if lspci_text is not None:
        facts["gpus"] = merge_lspci(facts["gpus"], lspci_gpus(lspci_text))
    smi: Dict[str, Any] = {"gpus": [], "errors": [], "driver_answers": False}
    if nvidia_smi_text is not None:
        smi = parse_nvidia_smi(nvidia_smi_text)
    facts["gpus"] = merge_nvidia_smi(facts["gpus"], smi)
    facts["nvidia_smi"] = smi["gpus"]
    facts["nvidia_smi_errors"] = smi["errors"]
    facts["driver_answers"] = smi["driver_answers"]
    versions = [row["driver_version"] for row in smi["gpus"] if row.get("driver_version")]
    facts["driver_version"] = versions[0] if versions else facts["nvidia_module_version"]
    return facts
