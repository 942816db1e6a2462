"""How many cards of one model a planned build's PSU, GPU slots and CPU lanes could take (``--what-if``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dlrig.checks.psu import cards_within
from dlrig.errors import InputError
from dlrig.output.numbers import whole
from dlrig.plan.catalogue import normalise
from dlrig.upgrade.spec import OPTION


@dataclass(frozen=True)
class Capacity:
    """How many cards of one model the PSU, the slots and the CPU's lanes could take."""

    model: str
    card_w: float
    by_psu: int            # within the PSU's rating
    by_psu_headroom: int   # keeping the declared headroom free
    by_slots: int
    by_lanes: int

    @property
    def limit(self) -> int:
        return max(0, min(self.by_psu, self.by_slots, self.by_lanes))

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "card_w": whole(self.card_w), "by_psu": self.by_psu,
                "by_psu_headroom": self.by_psu_headroom, "by_slots": self.by_slots,
                "by_lanes": self.by_lanes, "limit": self.limit}


def capacity(*, model: str, card_w: float, gpu_count: int, gpus_w: float, max_draw_w: float,
             psu_w: float, headroom_pct: float, slots: Sequence[int], lanes_available: int,
             lanes_other: int) -> Capacity:
    """Cards of ``model`` (each drawing ``card_w``) that could replace the host's GPUs.

    ``max_draw_w`` is the whole build's draw with its ``gpu_count`` cards, ``gpus_w`` those cards'
    share of it; ``slots`` the electrical widths of the GPU slots (filled in order); ``lanes_other`` the
    CPU lanes that NVMe and other PCIe devices take.
    """
    if card_w <= 0:
        raise InputError(None, OPTION, f"{model}: a card's watts must be > 0")
    base = max_draw_w - gpus_w
    by_psu = cards_within(psu_w - base, card_w)
    by_headroom = cards_within(psu_w * (1 - headroom_pct / 100) - base, card_w)
    by_lanes = 0
    used = lanes_other
    for width in slots:
        if used + width > lanes_available:
            break
        used += width
        by_lanes += 1
    return Capacity(model=model, card_w=card_w, by_psu=by_psu, by_psu_headroom=by_headroom,
                    by_slots=len(slots), by_lanes=by_lanes)


def capacity_for(plan: Any, model: str | None = None) -> Capacity | None:
    """:func:`capacity` for a parsed :class:`dlrig.plan.model.HostPlan`: cards of ``model`` (default: the
    plan's last GPU line, i.e. the card being added) that its PSU, slots and CPU lanes could take.

    ``None`` when the plan lacks what the question needs (no GPU, PSU, CPU or motherboard declared).
    """
    from dlrig.checks.pcie import other_lanes
    from dlrig.checks.psu import max_draw_w

    hw = plan.hardware
    if hw is None or not hw.gpus or hw.psu is None or hw.cpu is None or hw.motherboard is None:
        return None
    target = hw.gpus[-1]
    if model is not None:
        target = next((g for g in hw.gpus if normalise(g.model) == normalise(model)), target)
    gpus_w = sum(g.count * g.budget_w for g in hw.gpus)
    return capacity(model=target.model, card_w=target.budget_w, gpu_count=hw.gpu_count, gpus_w=gpus_w,
                    max_draw_w=max_draw_w(hw), psu_w=hw.psu.watts, headroom_pct=plan.power.headroom_pct,
                    slots=hw.motherboard.gpu_slots, lanes_available=hw.cpu.pcie_lanes,
                    lanes_other=sum(r["lanes"] for r in other_lanes(hw)))
