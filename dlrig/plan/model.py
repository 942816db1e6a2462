"""The declared build of one host, as data: what :func:`dlrig.plan.parse.parse_host` returns and every
plan check reads (no validation here: the values are checked where they are parsed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dlrig.plan.catalogue import CpuSpec, GpuSpec

EFFICIENCY_CLASSES = ("none", "white", "bronze", "silver", "gold", "platinum", "titanium")


@dataclass(frozen=True)
class Cpu:
    model: str
    watts: float
    pcie_lanes: int
    pcie_gen: int | None
    spec: CpuSpec | None


@dataclass(frozen=True)
class Motherboard:
    model: str | None
    gpu_slots: list[int]
    watts: float
    pcie_gen: int | None = None
    # The board's lane sharing (its manual's table): the slot widths when only N cards are fitted, e.g.
    # {1: [16]} for a board whose first slot runs x16 alone and x8 with a second card (issue 19).
    gpu_slots_by_count: dict[int, list[int]] = field(default_factory=dict)
    # gpu_slots given, even as an empty list (a board without GPU slots), not just left out.
    gpu_slots_declared: bool = False

    def slots_for(self, cards: int) -> list[int]:
        """The slot widths with ``cards`` GPUs fitted: the declared sharing for that many cards, the
        remaining slots as with all populated; ``gpu_slots`` when no sharing is declared for it."""
        shared = self.gpu_slots_by_count.get(cards)
        if shared is None:
            return list(self.gpu_slots)
        return list(shared) + list(self.gpu_slots[len(shared):])


@dataclass(frozen=True)
class Memory:
    gb: float
    watts: float


@dataclass(frozen=True)
class Cooler:
    model: str | None
    watts: float


@dataclass(frozen=True)
class Drive:
    model: str | None
    interface: str
    pcie_lanes: int
    watts: float
    via_chipset: bool


@dataclass(frozen=True)
class PcieDevice:
    model: str | None
    pcie_lanes: int
    watts: float
    via_chipset: bool


@dataclass(frozen=True)
class GpuDecl:
    """One line of ``hardware.gpus``: ``count`` identical cards."""

    model: str
    count: int
    watts: float
    vram_gb: float
    power_limit_w: float | None
    spec: GpuSpec | None
    arch: str | None = None  # the inventory's `arch` (e.g. Maxwell), for a card the catalogue lacks

    @property
    def budget_w(self) -> float:
        """Watts one card counts for in the power budget: its power limit when set, else its board power."""
        return self.power_limit_w if self.power_limit_w is not None else self.watts


@dataclass(frozen=True)
class Psu:
    watts: float
    efficiency: str


@dataclass(frozen=True)
class Hardware:
    cpu: Cpu | None
    motherboard: Motherboard | None
    memory: Memory | None
    cooler: Cooler | None
    storage: list[Drive]
    other_pcie: list[PcieDevice]
    gpus: list[GpuDecl]
    psu: Psu | None

    @property
    def gpu_count(self) -> int:
        return sum(g.count for g in self.gpus)

    @property
    def vram_gb(self) -> float:
        return sum(g.vram_gb * g.count for g in self.gpus)


@dataclass(frozen=True)
class Power:
    price_per_kwh: float | None = None
    currency: str = "EUR"
    headroom_pct: float = 10.0
    mains_v: int = 230


@dataclass(frozen=True)
class OsRelease:
    distribution: str
    release: str


@dataclass(frozen=True)
class HostPlan:
    name: str
    hardware: Hardware | None
    power: Power
    os: OsRelease | None
    stack_pins: dict[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)
