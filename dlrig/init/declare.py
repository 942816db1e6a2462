"""Detection + catalogue -> a host's declaration, every figure with where it came from.

The declaration is a tree of mappings and lists whose leaves are :class:`Figure`: a value and its
provenance (``detected``, ``catalogue``, ``default``, ``placeholder``; ``answered`` and ``declared``
once questions or an existing file came in). :func:`plain` gives the values alone, which is what the
preflight reads.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlrig.init.probe import Drive, Probe
from dlrig.plan import placeholders
from dlrig.plan.catalogue import find_cpu, suggest_cpus
from dlrig.plan.model import EFFICIENCY_CLASSES
from dlrig.plan.parse import architecture_names
from dlrig.upgrade.facts import from_facts

DETECTED, CATALOGUE, DEFAULT, PLACEHOLDER, ANSWERED, DECLARED = (
    "detected", "catalogue", "default", "placeholder", "answered", "declared")

# Typical maximum draw of a drive by kind (W): what `init` writes when it cannot know the model's figure.
DRIVE_WATTS = {"nvme": 10, "ssd": 5, "hdd": 20, "usb": 5}
MOTHERBOARD_W = 25      # chipset, VRM losses, fans on the board
COOLER_W = 10           # the reference build's CPU cooler
DIMM_W = 3              # one DDR4/DDR5 DIMM under load
CURRENCY = "EUR"
HEADROOM_PCT = 10


@dataclass
class Figure:
    """One value of the declaration and where it came from."""

    value: Any
    origin: str
    note: str = ""
    question: str = ""      # placeholders: what to ask on a terminal
    kind: str = "number"    # how an answer is read: number, whole, slots, efficiency, text

    @property
    def comment(self) -> str:
        return f"{self.origin}: {self.note}" if self.note else self.origin


def placeholder(what: str, question: str, kind: str = "number", note: str = "") -> Figure:
    return Figure(placeholders.make(what), PLACEHOLDER, note or "not detectable", question=question,
                  kind=kind)


def plain(tree: Any) -> Any:
    """The values alone (what goes to YAML and to the preflight)."""
    if isinstance(tree, Figure):
        return tree.value
    if isinstance(tree, Mapping):
        return {k: plain(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [plain(v) for v in tree]
    return tree


def figures(tree: Any, path: str = "") -> list[tuple[str, Figure]]:
    """``(variable path, figure)`` for every leaf, in order."""
    if isinstance(tree, Figure):
        return [(path, tree)]
    out: list[tuple[str, Figure]] = []
    if isinstance(tree, Mapping):
        for k, v in tree.items():
            out += figures(v, f"{path}.{k}" if path else k)
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += figures(v, f"{path}[{i}]")
    return out


def installed_gb(mem_total_gb: float) -> int:
    """The installed RAM from MemTotal (1-3 % below it: firmware and kernel reserve some): up to 4 GB."""
    return max(1, math.ceil(mem_total_gb / 4) * 4) if mem_total_gb >= 3 else max(1, math.ceil(mem_total_gb))


def _dimms(gb: float) -> int:
    return 2 if gb <= 32 else 4 if gb <= 128 else 8


def _cpu(model: str | None) -> dict[str, Figure]:
    if not model:
        return {"model": placeholder("the CPU model (Model name in lscpu)", "CPU model", "text"),
                "watts": placeholder("the CPU TDP in W", "CPU TDP in W"),
                "pcie_lanes": placeholder("the CPU PCIe lanes (without the chipset link)", "CPU PCIe lanes",
                                          "whole")}
    spec = find_cpu(model)
    out = {"model": Figure(model, DETECTED, "/proc/cpuinfo")}
    if spec is not None:
        out["watts"] = Figure(spec.watts, CATALOGUE, f"{spec.name} (dlrig/data/catalogue.yml)")
        out["pcie_lanes"] = Figure(spec.pcie_lanes, CATALOGUE, f"{spec.name}, without the chipset link")
        return out
    near = suggest_cpus(model)
    hint = f"not in the catalogue; closest: {', '.join(near)}" if near else "not in the catalogue"
    out["watts"] = placeholder("the CPU TDP in W (vendor spec page)", "CPU TDP in W", note=hint)
    out["pcie_lanes"] = placeholder("the CPU PCIe lanes, without the chipset link (vendor spec page)",
                                    "CPU PCIe lanes (without the chipset link)", "whole",
                                    note="not in the catalogue")
    return out


def _gpus(probe: Probe) -> list[dict[str, Figure]]:
    detected = from_facts(probe.hardware)
    counts = Counter(g.model for g in detected.gpus)
    lost = Counter(g.model for g in detected.lost_gpus)
    out = []
    for model, count in counts.items():
        first = next(g for g in detected.gpus if g.model == model)
        how = "sysfs PCI devices" + (f"; {lost[model]} on the bus but not answering" if lost[model] else "")
        entry = {"model": Figure(model, DETECTED, "PCI device id / nvidia-smi" if first.spec
                                 else "not in the catalogue: nvidia-smi's name or the PCI id"),
                 "count": Figure(count, DETECTED, how)}
        if first.spec is not None:
            entry["watts"] = Figure(first.spec.watts, CATALOGUE, f"{first.spec.name}, reference board power")
            entry["vram_gb"] = Figure(first.spec.vram_gb, CATALOGUE, first.spec.name)
        else:
            if first.power_default_limit_w:
                entry["watts"] = Figure(round(first.power_default_limit_w), DETECTED,
                                        "nvidia-smi power.default_limit")
            else:
                entry["watts"] = placeholder(f"the board power of the {model} in W (vendor spec page)",
                                             f"board power of the {model} in W")
            if first.memory_total_mib:
                entry["vram_gb"] = Figure(round(first.memory_total_mib / 1024, 1), DETECTED,
                                          "nvidia-smi memory.total")
            else:
                entry["vram_gb"] = placeholder(f"the memory of the {model} in GB",
                                               f"memory of the {model} in GB")
            # Without its architecture the preflight resolves no stack for it (docs/preflight.md).
            archs = architecture_names()
            entry["arch"] = placeholder(f"the architecture of the {model} ({archs[0]} ... {archs[-1]})",
                                       f"architecture of the {model} ({', '.join(archs)})", "text")
        out.append(entry)
    return out


def _drive(drive: Drive) -> dict[str, Figure]:
    kind = drive.interface if drive.interface in ("nvme", "usb") else ("hdd" if drive.rotational else "ssd")
    label = {"nvme": "an NVMe SSD", "ssd": "a SATA SSD", "hdd": "a hard disk", "usb": "a USB drive"}[kind]
    model = drive.model or f"{drive.name} ({drive.size_gb} GB)"
    entry = {"model": Figure(model, DETECTED, f"/sys/block/{drive.name}"),
             "interface": Figure(drive.interface, DETECTED, f"{drive.name} is {drive.how}")}
    if drive.interface == "nvme":
        entry["pcie_lanes"] = Figure(4, DEFAULT, "an M.2/U.2 NVMe drive's link")
    entry["watts"] = Figure(DRIVE_WATTS[kind], DEFAULT, f"typical maximum draw of {label}")
    return entry


def declaration(probe: Probe) -> dict[str, Any]:
    """The declaration of the probed box: ``os``, ``hardware``, ``power`` as Figure trees."""
    facts = probe.hardware
    tree: dict[str, Any] = {}
    if probe.os:
        tree["os"] = {"distribution": Figure(probe.os[0], DETECTED, "/etc/os-release"),
                      "release": Figure(probe.os[1], DETECTED, "/etc/os-release")}
    board = ({"model": Figure(probe.board, DETECTED, "DMI board vendor and name")} if probe.board else {})
    board["gpu_slots"] = placeholder(
        "the lanes of each GPU slot, all slots populated, e.g. [16, 16, 8, 8]",
        "electrical lanes of each GPU slot with all slots populated (board manual), e.g. 16,16,8,8",
        "slots", note="the board manual gives them")
    board["watts"] = Figure(MOTHERBOARD_W, DEFAULT,
                            "typical board draw (chipset, VRMs); 0 when counted elsewhere")
    ram = facts.get("ram_gb")
    if ram:
        gb = installed_gb(float(ram))
        memory = {"gb": Figure(gb, DETECTED, f"MemTotal {ram} GB rounded up to the installed size"),
                  "watts": Figure(DIMM_W * _dimms(gb), DEFAULT,
                                  f"{DIMM_W} W per DIMM, {_dimms(gb)} DIMMs assumed")}
    else:
        memory = {"gb": placeholder("the installed RAM in GB", "installed RAM in GB"),
                  "watts": Figure(DIMM_W * 2, DEFAULT, f"{DIMM_W} W per DIMM, 2 DIMMs assumed")}
    tree["hardware"] = {
        "cpu": _cpu(facts.get("cpu_model")),
        "motherboard": board,
        "memory": memory,
        "cooler": {"watts": Figure(COOLER_W, DEFAULT, "fans and pump of a tower cooler")},
        "storage": [_drive(d) for d in probe.drives],
        "gpus": _gpus(probe),
        "psu": {"watts": placeholder("the PSU rated output in W (on its label)", "PSU rated output in W"),
                "efficiency": placeholder(
                    f"the PSU 80 PLUS class: {', '.join(EFFICIENCY_CLASSES)}",
                    f"PSU 80 PLUS class ({', '.join(EFFICIENCY_CLASSES)})", "efficiency")},
    }
    tree["power"] = {
        "price_per_kwh": placeholder("the electricity price per kWh (on your bill)",
                                     "electricity price per kWh"),
        "currency": Figure(CURRENCY, DEFAULT, "the currency of price_per_kwh"),
        "headroom_pct": Figure(HEADROOM_PCT, DEFAULT, "PSU capacity kept free"),
    }
    return tree
