"""Questions on a terminal for what detection cannot know, with the catalogue's suggestions.

Each placeholder of the declaration becomes one question; an empty answer keeps the placeholder (the
preflight will ask for it again), a wrong one is explained and asked again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TextIO

from dlrig.init.declare import ANSWERED, PLACEHOLDER, Figure, figures
from dlrig.plan.catalogue import find_cpu, find_gpu, suggest_cpus, suggest_gpus
from dlrig.plan.parse import SLOT_WIDTHS, efficiency_class

TRIES = 3


def _number(text: str, whole: bool) -> float | int:
    value = float(text)
    if not math.isfinite(value) or value < 0 or (whole and not value.is_integer()):
        raise ValueError("expected a whole number >= 0" if whole else "expected a number >= 0")
    return int(value) if value.is_integer() else value


def parse(kind: str, text: str) -> Any:
    """An answer as the declaration's value; ValueError (with a reason a person can act on) otherwise."""
    text = text.strip()
    if kind == "text":
        return text
    if kind == "efficiency":
        found = efficiency_class(text)
        if found is None:
            raise ValueError("expected none, white, bronze, silver, gold, platinum or titanium")
        return found
    if kind == "slots":
        try:
            widths = [int(w) for w in text.replace("[", "").replace("]", "").replace(",", " ").split()]
        except ValueError:
            widths = []
        if not widths or any(w not in SLOT_WIDTHS for w in widths):
            raise ValueError("expected slot widths of 1, 2, 4, 8 or 16 lanes, e.g. 16,16,8,8")
        return widths
    try:
        return _number(text, kind == "whole")
    except ValueError:
        raise ValueError("expected a whole number" if kind == "whole" else "expected a number") from None


def _known_draw(tree: dict[str, Any]) -> float:
    """The max draw of the parts whose watts are known so far (for the PSU suggestion)."""
    hw = tree.get("hardware", {})
    total = 0.0
    for path, fig in figures(hw):
        if not path.endswith("watts") or not isinstance(fig.value, (int, float)) or path.startswith("psu"):
            continue
        if path.startswith("gpus["):
            index = int(path[5:path.index("]")])
            count = hw["gpus"][index].get("count")
            n = count.value if isinstance(count, Figure) and isinstance(count.value, int) else 1
            total += fig.value * n
        else:
            total += fig.value
    return total


def suggestion(tree: dict[str, Any], path: str) -> str:
    """What the catalogue (or the declaration so far) suggests for one placeholder, or ''."""
    hw = tree.get("hardware", {})
    if path.startswith("hardware.cpu.") and isinstance(hw.get("cpu", {}).get("model"), Figure):
        model = str(hw["cpu"]["model"].value)
        cpus = [s for s in (find_cpu(n) for n in suggest_cpus(model)) if s]
        return "; ".join(f"{s.name}: {s.watts:g} W, {s.pcie_lanes} lanes" for s in cpus)
    if path.startswith("hardware.gpus["):
        entry = hw["gpus"][int(path[len("hardware.gpus["):path.index("]")])]
        gpus = [g for g in (find_gpu(n) for n in suggest_gpus(str(entry["model"].value))) if g]
        return "; ".join(f"{g.name}: {g.watts:g} W, {g.vram_gb:g} GB" for g in gpus)
    if path == "hardware.psu.watts":
        draw = _known_draw(tree)
        return f"the parts declared so far draw {draw:g} W: {math.ceil(draw / 0.9 / 50) * 50} W or more " \
               "keeps 10 % free" if draw else ""
    if path == "hardware.motherboard.gpu_slots":
        return "e.g. 16,16,8,8 for an X399 board; 16,4 for many desktop boards"
    return ""


def ask(tree: dict[str, Any], read: Callable[[str], str], out: TextIO) -> int:
    """Ask for every placeholder of ``tree`` (in place); the number answered."""
    answered = 0
    out.write("Some figures cannot be detected. Answer, or press Enter to leave a placeholder "
              "(the preflight asks for it again).\n")
    for path, fig in figures(tree):
        if fig.origin != PLACEHOLDER:
            continue
        hint = suggestion(tree, path)
        if hint:
            out.write(f"  catalogue/suggestion: {hint}\n")
        for _ in range(TRIES):
            out.flush()
            text = read(f"{path} — {fig.question}: ")
            if not text.strip():
                break
            try:
                value = parse(fig.kind, text)
            except ValueError as exc:
                out.write(f"  {exc}\n")
                continue
            fig.value, fig.origin, fig.note = value, ANSWERED, "given at `dlrig init`"
            answered += 1
            break
    return answered
