"""The figures of the transient, circuit and fit checks (dlrig/data/power_fit.yml), each with its source."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from dlrig.plan.catalogue import normalise


@dataclass(frozen=True)
class Sourced:
    value: Any
    source: str
    unverified: bool = False


@dataclass(frozen=True)
class CardForm:
    slot_width: float
    cooler: str
    source: str
    unverified: bool = False


@dataclass(frozen=True)
class PowerFitData:
    window: str
    default_factor: float
    factors: dict[str, Sourced]          # arch (lower case) -> spike factor
    tolerances: dict[str, Sourced]       # atx2 / atx3 -> multiple of the rating
    excursions_atx3: tuple[tuple[str, int], ...]
    continuous_pct: float
    circuit_source: str
    cards: dict[str, CardForm]           # normalised model -> form
    boards: dict[str, Sourced]           # normalised model -> gpu_slot_positions
    default_expansion_slots: int
    case_source: str


def _unverified(entry: dict[str, Any]) -> bool:
    return bool(entry.get("unverified"))


@lru_cache(maxsize=1)
def load() -> PowerFitData:
    text = resources.files("dlrig").joinpath("data/power_fit.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    tr, circuit, case = data["transients"], data["circuit"], data["case"]
    return PowerFitData(
        window=str(tr["window"]),
        default_factor=float(tr["default_factor"]),
        factors={str(e["arch"]).lower(): Sourced(float(e["factor"]), str(e["source"]), _unverified(e))
                 for e in tr["architectures"]},
        tolerances={str(e["standard"]): Sourced(float(e["tolerance"]), str(e["source"]), _unverified(e))
                    for e in tr["psu_standards"]},
        excursions_atx3=tuple((str(e["duration"]), int(e["pct"])) for e in tr["excursions_atx3"]),
        continuous_pct=float(circuit["continuous_pct"]),
        circuit_source=str(circuit["source"]),
        cards={normalise(str(e["model"])): CardForm(float(e["slot_width"]), str(e["cooler"]),
                                                    str(e["source"]), _unverified(e)) for e in data["gpus"]},
        boards={normalise(str(e["model"])): Sourced([int(p) for p in e["gpu_slot_positions"]],
                                                    str(e["source"]), _unverified(e))
                for e in data["motherboards"]},
        default_expansion_slots=int(case["default_expansion_slots"]),
        case_source=str(case["source"]),
    )


def spike_factor(arch: str | None) -> tuple[float, str]:
    """The ms-scale spike factor of an architecture and where it comes from (the default when unknown)."""
    data = load()
    found = data.factors.get((arch or "").lower())
    if found is None:
        return data.default_factor, f"architecture {arch or 'unknown'} not listed: the highest factor"
    return float(found.value), f"{arch}: {found.source}" + (" (unverified)" if found.unverified else "")


def spike_estimated(arch: str | None) -> bool:
    """Whether the spike factor of ``arch`` is an estimate: not listed (the default) or marked unverified."""
    found = load().factors.get((arch or "").lower())
    return found is None or found.unverified


def card_form(model: str) -> CardForm | None:
    return load().cards.get(normalise(model))


def board_positions(model: str | None) -> Sourced | None:
    return load().boards.get(normalise(model)) if model else None
