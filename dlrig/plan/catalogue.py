"""The hardware catalogue (dlrig/data/catalogue.yml): GPUs and CPUs by model name or PCI device id.

Names match case-insensitively and without vendor words, so ``GeForce RTX 2070``, ``RTX 2070`` and
``NVIDIA GeForce RTX 2070`` (as nvidia-smi prints it) are the same card, and ``AMD Ryzen Threadripper
1900X 8-Core Processor`` (as lscpu prints it) finds the Threadripper 1900X.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from dlrig.output.numbers import whole

_GPU_FIELDS = ("name", "watts", "vram_gb", "arch", "compute_capability", "pcie_gen", "source")
_CPU_FIELDS = ("name", "watts", "pcie_lanes", "pcie_gen", "source")

# Words that never distinguish two parts: vendor and family prefixes, marketing suffixes.
_NOISE = re.compile(
    r"\((?:r|tm)\)|\b(?:nvidia|geforce|tesla|amd|intel|ryzen|core|generation|founders edition)\b"
    r"|\b\d+-core processor\b|\bprocessor\b|\bcpu\b|@\s*[\d.]+\s*ghz"
)


@dataclass(frozen=True)
class GpuSpec:
    """What the catalogue knows about one GPU model."""

    name: str
    watts: float
    vram_gb: float
    arch: str
    compute_capability: str
    pcie_gen: int
    fp16_tflops: float | None
    fp32_tflops: float | None
    pci_device_ids: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class CpuSpec:
    """What the catalogue knows about one CPU model."""

    name: str
    watts: float
    pcie_lanes: int
    pcie_gen: int
    source: str


def normalise(model: str) -> str:
    """The matching key of a model name: lower case, no vendor words, no spaces, dashes or underscores."""
    text = model.lower().replace("_", " ")
    text = _NOISE.sub(" ", text)
    return re.sub(r"[\s\-]+", "", text)


@dataclass(frozen=True)
class _Catalogue:
    gpus: tuple[GpuSpec, ...]
    cpus: tuple[CpuSpec, ...]
    gpu_keys: dict[str, GpuSpec]
    cpu_keys: dict[str, CpuSpec]
    gpu_ids: dict[str, GpuSpec]


def _load_yaml() -> dict[str, Any]:
    text = resources.files("dlrig").joinpath("data/catalogue.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):  # pragma: no cover - the shipped file is a mapping
        raise ValueError("dlrig/data/catalogue.yml: expected a mapping at the top")
    return data


def _gpu(entry: dict[str, Any]) -> GpuSpec:
    missing = [f for f in (*_GPU_FIELDS, "pci_device_ids") if entry.get(f) in (None, "")]
    if missing:
        raise ValueError(f"catalogue GPU {entry.get('name')!r}: missing {', '.join(missing)}")
    return GpuSpec(
        name=str(entry["name"]),
        watts=whole(entry["watts"]),
        vram_gb=whole(entry["vram_gb"]),
        arch=str(entry["arch"]),
        compute_capability=str(entry["compute_capability"]),
        pcie_gen=int(entry["pcie_gen"]),
        fp16_tflops=None if entry.get("fp16_tflops") is None else whole(entry["fp16_tflops"]),
        fp32_tflops=None if entry.get("fp32_tflops") is None else whole(entry["fp32_tflops"]),
        pci_device_ids=tuple(str(i).lower() for i in entry["pci_device_ids"]),
        source=str(entry["source"]),
    )


def _cpu(entry: dict[str, Any]) -> CpuSpec:
    missing = [f for f in _CPU_FIELDS if entry.get(f) in (None, "")]
    if missing:
        raise ValueError(f"catalogue CPU {entry.get('name')!r}: missing {', '.join(missing)}")
    return CpuSpec(
        name=str(entry["name"]),
        watts=whole(entry["watts"]),
        pcie_lanes=int(entry["pcie_lanes"]),
        pcie_gen=int(entry["pcie_gen"]),
        source=str(entry["source"]),
    )


def _index(entries: list[dict[str, Any]], specs: tuple[Any, ...]) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for entry, spec in zip(entries, specs, strict=True):
        for name in (entry["name"], *entry.get("aliases", [])):
            key = normalise(str(name))
            if key in keys and keys[key] is not spec:
                raise ValueError(f"catalogue: {name!r} names both {keys[key].name!r} and {spec.name!r}")
            keys[key] = spec
    return keys


@lru_cache(maxsize=1)
def load() -> _Catalogue:
    """The catalogue, read once per process."""
    data = _load_yaml()
    gpu_entries, cpu_entries = list(data.get("gpus", [])), list(data.get("cpus", []))
    gpus = tuple(_gpu(e) for e in gpu_entries)
    cpus = tuple(_cpu(e) for e in cpu_entries)
    gpu_ids: dict[str, GpuSpec] = {}
    for spec in gpus:
        for device_id in spec.pci_device_ids:
            gpu_ids[device_id] = spec
    return _Catalogue(gpus, cpus, _index(gpu_entries, gpus), _index(cpu_entries, cpus), gpu_ids)


def find_gpu(model: str) -> GpuSpec | None:
    """The catalogued GPU of this model name (any spelling), or None."""
    return load().gpu_keys.get(normalise(model))


def gpu_by_pci_id(device_id: str | int) -> GpuSpec | None:
    """The catalogued GPU of a PCI device id (``0x1f02``, ``1F02``, ``10de:1f02`` or 0x1f02), or None."""
    if isinstance(device_id, int):
        key = f"0x{device_id:04x}"
    else:
        text = device_id.strip().lower()
        text = text.split(":")[-1]
        if text.startswith("0x") and len(text) == 10:  # nvidia-smi's 0x1F0210DE: device, then vendor
            text = text[2:6]
        key = "0x" + text.removeprefix("0x")
    return load().gpu_ids.get(key)


def find_cpu(model: str) -> CpuSpec | None:
    """The catalogued CPU of this model name (any spelling), or None."""
    return load().cpu_keys.get(normalise(model))


def _suggest(model: str, names: list[str], n: int) -> list[str]:
    by_key = {normalise(name): name for name in names}
    keys = difflib.get_close_matches(normalise(model), list(by_key), n=n, cutoff=0.5)
    return [by_key[k] for k in keys]


def suggest_gpus(model: str, n: int = 3) -> list[str]:
    """Up to ``n`` catalogued GPU names closest to ``model``."""
    return _suggest(model, [g.name for g in load().gpus], n)


def suggest_cpus(model: str, n: int = 3) -> list[str]:
    """Up to ``n`` catalogued CPU names closest to ``model``."""
    return _suggest(model, [c.name for c in load().cpus], n)


def gpus() -> tuple[GpuSpec, ...]:
    """Every catalogued GPU."""
    return load().gpus


def cpus() -> tuple[CpuSpec, ...]:
    """Every catalogued CPU."""
    return load().cpus
