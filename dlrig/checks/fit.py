"""``fit``: whether the cards physically fit the board and the case, and whether they can breathe (issue 12).

Each GPU slot sits at an expansion-slot position (``hardware.motherboard.gpu_slot_positions``, else the
catalogue's board, dlrig/data/power_fit.yml); a card in it covers ``ceil(slot_width)`` positions from
there down. Cards fill the GPU slots in ``gpu_slots`` order unless a line names its ``slot``.

- ``fail`` when a card covers another card's GPU slot, or runs past the case's expansion slots when
  ``hardware.case`` is declared;
- ``warn`` when an open-air card has no free position below it before the next card (it breathes that
  card's heat), or a card runs past the 7 slots an undeclared case is assumed to have;
- ``ok`` otherwise. Figures: the slot map (``slots``), ``cards``, ``airflow``, ``fits_case``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

from dlrig.checks._common import skipped
from dlrig.checks._fitdata import board_positions, card_form, load
from dlrig.checks.registry import plan_check
from dlrig.output.numbers import num
from dlrig.plan.model import GpuDecl, HostPlan
from dlrig.result import CheckResult

CHECK_ID = "fit"
ASSUMED_WIDTH = 2.0
ASSUMED_COOLER = "open-air"


def _form(gpu: GpuDecl) -> tuple[float, str, str]:
    """Thickness, cooler and where they come from (inventory, catalogue or assumed)."""
    form = card_form(gpu.model)
    width = gpu.slot_width if gpu.slot_width is not None else (form.slot_width if form else None)
    cooler = gpu.cooler or (form.cooler if form else None)
    if gpu.slot_width is not None and gpu.cooler:
        source = "inventory"
    elif form is not None:
        source = "inventory and catalogue" if (gpu.slot_width or gpu.cooler) else "catalogue"
        source += f": {form.source}" + (" (unverified)" if form.unverified else "")
    else:
        source = "assumed: a dual-slot open-air card (most consumer cards); give slot_width and cooler"
    return (width if width is not None else ASSUMED_WIDTH), (cooler or ASSUMED_COOLER), source


def _form_estimated(gpu: GpuDecl) -> bool:
    """Whether the card's thickness is an estimate: assumed, or the catalogue's figure marked unverified."""
    if gpu.slot_width is not None:
        return False
    form = card_form(gpu.model)
    return form is None or form.unverified


def _assign(gpus: list[GpuDecl], slots: int) -> list[tuple[GpuDecl, int | None]]:
    """Every card with its GPU slot (1-based; None when the board has no free slot left for it)."""
    taken = {g.slot + i for g in gpus if g.slot is not None for i in range(g.count)}
    free = [n for n in range(1, slots + 1) if n not in taken]
    cards: list[tuple[GpuDecl, int | None]] = []
    for gpu in gpus:
        for i in range(gpu.count):
            if gpu.slot is not None:
                cards.append((gpu, gpu.slot + i))
            else:
                cards.append((gpu, free.pop(0) if free else None))
    return cards


def slot_map(check: Mapping[str, Any]) -> list[str]:
    """The slot map under the check's row: each expansion-slot position, what sits there or covers it."""
    if check.get("skipped"):
        return []
    cards = {c["index"]: c for c in check["cards"]}
    lines = [f"  slot map ({num(check['expansion_slots'])} expansion slots"
             f"{'' if check['case_declared'] else ', assumed'}"
             f"{'; slot positions estimated' if check.get('positions_estimated') else ''})"]
    for row in check["slots"]:
        where = f"GPU slot {row['gpu_slot']} x{row['lanes']}" if row["gpu_slot"] else ""
        if row["card"]:
            card = cards[row["card"]]
            est = " est." if card.get("form_estimated") else ""
            what = (f"GPU {card['index']} {card['model']} ({num(card['slot_width'])}-slot{est} "
                    f"{card['cooler']})")
        elif row["covered_by"]:
            what = f"covered by GPU {row['covered_by']}"
        else:
            what = "free"
        past = "  PAST THE CASE" if row["beyond_case"] else ""
        lines.append(f"    {row['position']:>2}  {where:<16} {what}{past}")
    return lines


def key_figures(f: Mapping[str, Any], currency: str | None) -> str:
    if "fits_case" not in f:
        return ""
    airflow = len(f.get("airflow") or [])
    fits = f"{'fits' if f['fits_case'] else 'past'} {num(f.get('expansion_slots'))} slots"
    return f"{fits}, {airflow} airflow" if airflow else fits


@plan_check(CHECK_ID, order=35, figures=("fits_case", "last_card_fits", "airflow", "expansion_slots"),
            key_figures=key_figures, details=slot_map)
def check_fit(plan: HostPlan) -> CheckResult:
    hw = plan.hardware
    if hw is None or hw.motherboard is None or not hw.motherboard.gpu_slots:
        return skipped(CHECK_ID, "hardware.motherboard.gpu_slots is not declared")
    if not hw.gpus:
        return skipped(CHECK_ID, "no GPU declared")
    board = hw.motherboard
    data = load()
    positions_estimated = False
    if board.gpu_slot_positions is not None:
        positions, positions_source = list(board.gpu_slot_positions), "inventory"
    else:
        known = board_positions(board.model)
        if known is None:
            return skipped(CHECK_ID, f"the slot positions of {board.model or 'the motherboard'} are not in "
                           "the catalogue; give hardware.motherboard.gpu_slot_positions (the expansion-slot "
                           "position of each GPU slot, e.g. [1, 3, 5, 7])")
        positions = list(known.value)
        positions_source = f"catalogue: {known.source}" + (" (unverified)" if known.unverified else "")
        positions_estimated = known.unverified
    case_declared = hw.case is not None
    case_slots = hw.case.expansion_slots if hw.case else data.default_expansion_slots

    cards: list[dict[str, Any]] = []
    covered: dict[int, int] = {}  # position -> card index (1-based)
    problems: list[str] = []
    for index, (gpu, slot) in enumerate(_assign(hw.gpus, len(board.gpu_slots)), start=1):
        width, cooler, source = _form(gpu)
        card: dict[str, Any] = {"index": index, "model": gpu.model, "gpu_slot": slot, "slot_width": width,
                                "cooler": cooler, "form_source": source,
                                "form_estimated": _form_estimated(gpu),
                                "position": None, "covers": []}
        cards.append(card)
        if slot is None:
            problems.append(f"GPU {index} ({gpu.model}) has no GPU slot left on the board")
            continue
        top = positions[slot - 1]
        card["position"] = top
        card["covers"] = list(range(top, top + math.ceil(width)))
        for pos in card["covers"]:
            if pos in covered:
                problems.append(f"GPU {index} ({gpu.model}, {width:g} slots) in GPU slot {slot} at position "
                                f"{top} collides with GPU {covered[pos]} at position {pos}")
                break
            covered[pos] = index

    placed = sorted((c for c in cards if c["position"] is not None), key=lambda c: c["position"])
    airflow = []
    for upper, lower in itertools.pairwise(placed):
        gap = lower["position"] - (upper["position"] + math.ceil(upper["slot_width"]))
        if upper["cooler"] == "open-air" and gap <= 0:
            airflow.append({"upper": upper["index"], "lower": lower["index"], "gap": max(gap, 0)})
    beyond = [c for c in placed if c["covers"] and c["covers"][-1] > case_slots]
    last_pos = max([case_slots, *covered]) if covered else case_slots
    slot_at = {p: n for n, p in enumerate(positions, start=1)}
    slots_map = []
    for pos in range(1, last_pos + 1):
        gpu_slot = slot_at.get(pos)
        owner = covered.get(pos)
        card_here = owner if owner is not None and cards[owner - 1]["position"] == pos else None
        slots_map.append({"position": pos, "gpu_slot": gpu_slot,
                          "lanes": board.gpu_slots[gpu_slot - 1] if gpu_slot else None,
                          "card": card_here, "covered_by": owner if card_here is None else None,
                          "beyond_case": pos > case_slots})
    passive = [c["index"] for c in cards if c["cooler"] == "passive"]
    last = placed[-1] if placed else None
    figures: dict[str, Any] = {
        "expansion_slots": case_slots, "case_declared": case_declared, "positions_source": positions_source,
        "positions_estimated": positions_estimated,
        "case_source": "inventory" if case_declared else f"assumed: {data.case_source}",
        "cards": cards, "slots": slots_map, "airflow": airflow, "fits_case": not beyond,
        "last_card_fits": bool(last) and last not in beyond, "passive": passive,
    }
    parts = []
    for c in beyond:
        overhang = c["covers"][-1] - case_slots
        parts.append(f"GPU {c['index']} ({c['model']}, {c['slot_width']:g} slots at position "
                     f"{c['position']}) needs {c['covers'][-1]} expansion slots, the case has {case_slots}"
                     f"{'' if case_declared else ' (assumed: declare hardware.case.expansion_slots)'}: "
                     f"it does not fit by {overhang} slot{'s' if overhang > 1 else ''}")
    if airflow:
        pairs = ", ".join(f"GPU {a['upper']} above GPU {a['lower']}" for a in airflow)
        parts.append(f"open-air cards with no free slot below them ({pairs}): each breathes the heat of the "
                     "card below — leave a slot free, use blower cards, or lower the power limits")
    if passive:
        parts.append(f"GPU {', '.join(map(str, passive))} passive: needs a server chassis's forced airflow")
    fits = ("every card fits the case" if not beyond
            else f"the last card {'fits' if figures['last_card_fits'] else 'does not fit'} the case")
    summary = (f"{len(cards)} card(s) in {len(board.gpu_slots)} GPU slots, {case_slots} expansion slots; "
               f"{fits}")
    if problems or (beyond and case_declared):
        return CheckResult(CHECK_ID, "fail", "; ".join([summary, *problems, *parts]), figures)
    if parts:
        return CheckResult(CHECK_ID, "warn", "; ".join([summary, *parts]), figures)
    return CheckResult(CHECK_ID, "ok", summary, figures)
