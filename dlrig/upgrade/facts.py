"""Controller side of hardware detection: the host's ``dlrig_hardware`` facts as typed data.

``dlrig.rig.hardware_facts`` runs on the host (Python 3.6, plain dicts); this module turns what it
returned into dataclasses and names each GPU through the catalogue (PCI device id first, then the
name nvidia-smi printed), so that the live checks compare models with models.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlrig.errors import InputError
from dlrig.plan.catalogue import GpuSpec, find_gpu, gpu_by_pci_id

FACT = "dlrig_hardware"


@dataclass(frozen=True)
class DetectedGpu:
    """One NVIDIA display device on the host's PCI bus."""

    pci_address: str
    device_id: str | None
    model: str  # the catalogue's name, else nvidia-smi's, else "NVIDIA 10de:<id>"
    spec: GpuSpec | None
    present: bool  # False: on the bus but not answering (fell off the bus)
    problems: tuple[str, ...] = ()
    slot: str | None = None
    current_link_width: int | None = None
    max_link_width: int | None = None
    current_link_gen: int | None = None
    max_link_gen: int | None = None
    memory_total_mib: int | None = None
    power_limit_w: float | None = None
    power_min_limit_w: float | None = None
    power_max_limit_w: float | None = None
    power_default_limit_w: float | None = None

    @property
    def where(self) -> str:
        """``0000:0a:00.0`` or ``0000:0a:00.0 in slot 1`` for messages."""
        return f"{self.pci_address} in slot {self.slot}" if self.slot else self.pci_address


@dataclass(frozen=True)
class DetectedHardware:
    """Everything detection found on one host."""

    gpus: tuple[DetectedGpu, ...] = ()
    cpu_model: str | None = None
    ram_gb: float | None = None
    kernel: str | None = None
    secure_boot: str | None = None
    nvidia_module_loaded: bool = False
    driver_answers: bool = False
    driver_version: str | None = None
    smi_errors: tuple[str, ...] = field(default_factory=tuple)

    @property
    def present_gpus(self) -> tuple[DetectedGpu, ...]:
        return tuple(g for g in self.gpus if g.present)

    @property
    def lost_gpus(self) -> tuple[DetectedGpu, ...]:
        return tuple(g for g in self.gpus if not g.present)

    def count_by_model(self, *, include_lost: bool = False) -> dict[str, int]:
        """``{"GeForce RTX 2070": 2}``: answering GPUs per model (all GPUs with ``include_lost``)."""
        gpus = self.gpus if include_lost else self.present_gpus
        return dict(Counter(g.model for g in gpus))


def _opt_int(value: Any, host: str | None, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(host, path, f"expected a whole number, got {value!r}")
    try:
        return int(value)
    except ValueError as exc:
        raise InputError(host, path, f"expected a whole number, got {value!r}") from exc


def _opt_float(value: Any, host: str | None, path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(host, path, f"expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(host, path, f"expected a number, got {value!r}") from exc


def identify(device_id: str | None, smi_name: str | None) -> tuple[str, GpuSpec | None]:
    """The model name and catalogue entry of a GPU: by PCI device id, else by nvidia-smi's name."""
    spec = gpu_by_pci_id(device_id) if device_id else None
    if spec is None and smi_name:
        spec = find_gpu(smi_name)
    if spec is not None:
        return spec.name, spec
    if smi_name:
        return smi_name.removeprefix("NVIDIA ").strip(), None
    return f"NVIDIA 10de:{device_id or '????'}", None


def _gpu(raw: Any, host: str | None, path: str) -> DetectedGpu:
    if not isinstance(raw, Mapping):
        raise InputError(host, path, f"expected a mapping, got {raw!r}")
    address = raw.get("pci_address")
    if not isinstance(address, str) or not address:
        raise InputError(host, f"{path}.pci_address", f"expected a PCI address, got {address!r}")
    smi = raw.get("smi") or {}
    if not isinstance(smi, Mapping):
        raise InputError(host, f"{path}.smi", f"expected a mapping or null, got {smi!r}")
    device_id = raw.get("device_id")
    model, spec = identify(str(device_id) if device_id else None, smi.get("name"))
    problems = raw.get("problems") or ()
    if isinstance(problems, str) or not isinstance(problems, Sequence):
        raise InputError(host, f"{path}.problems", f"expected a list, got {problems!r}")

    def link(key: str) -> int | None:
        # sysfs first; nvidia-smi's view when sysfs had none (e.g. facts from nvidia-smi alone).
        value = raw.get(key)
        return _opt_int(value if value is not None else smi.get(key), host, f"{path}.{key}")

    return DetectedGpu(
        pci_address=address,
        device_id=str(device_id) if device_id else None,
        model=model,
        spec=spec,
        present=bool(raw.get("present", True)),
        problems=tuple(str(p) for p in problems),
        slot=None if raw.get("slot") is None else str(raw.get("slot")),
        current_link_width=link("current_link_width"),
        max_link_width=link("max_link_width"),
        current_link_gen=link("current_link_gen"),
        max_link_gen=link("max_link_gen"),
        memory_total_mib=_opt_int(smi.get("memory_total_mib"), host, f"{path}.smi.memory_total_mib"),
        power_limit_w=_opt_float(smi.get("power_limit_w"), host, f"{path}.smi.power_limit_w"),
        power_min_limit_w=_opt_float(smi.get("power_min_limit_w"), host, f"{path}.smi.power_min_limit_w"),
        power_max_limit_w=_opt_float(smi.get("power_max_limit_w"), host, f"{path}.smi.power_max_limit_w"),
        power_default_limit_w=_opt_float(
            smi.get("power_default_limit_w"), host, f"{path}.smi.power_default_limit_w"
        ),
    )


def from_facts(facts: Mapping[str, Any], host: str | None = None) -> DetectedHardware:
    """Typed view of ``dlrig_hardware`` (the inner mapping, or a mapping that holds it under that key).

    Raises :class:`~dlrig.errors.InputError` naming the fact path when the facts are malformed.
    """
    if not isinstance(facts, Mapping):
        raise InputError(host, FACT, f"expected a mapping, got {facts!r}")
    if FACT in facts:
        facts = facts[FACT]
        if not isinstance(facts, Mapping):
            raise InputError(host, FACT, f"expected a mapping, got {facts!r}")
    raw_gpus = facts.get("gpus", [])
    if not isinstance(raw_gpus, Sequence) or isinstance(raw_gpus, str):
        raise InputError(host, f"{FACT}.gpus", f"expected a list, got {raw_gpus!r}")
    gpus = tuple(_gpu(g, host, f"{FACT}.gpus[{i}]") for i, g in enumerate(raw_gpus))
    errors = facts.get("nvidia_smi_errors") or []
    return DetectedHardware(
        gpus=gpus,
        cpu_model=facts.get("cpu_model"),
        ram_gb=_opt_float(facts.get("ram_gb"), host, f"{FACT}.ram_gb"),
        kernel=facts.get("kernel"),
        secure_boot=facts.get("secure_boot"),
        nvidia_module_loaded=bool(facts.get("nvidia_module_loaded", False)),
        driver_answers=bool(facts.get("driver_answers", False)),
        driver_version=facts.get("driver_version"),
        smi_errors=tuple(str(e.get("message", e)) if isinstance(e, Mapping) else str(e) for e in errors),
    )
