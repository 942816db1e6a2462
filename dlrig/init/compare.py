"""An existing declaration against a fresh detection: the differences, and the merge ``--update`` writes.

Merge rule, per figure: what was *detected* replaces what is declared; a catalogue figure, a default
or a placeholder yields to a declared value (the user may know the card's real board power, and
has filled in the PSU). A part whose model changed (a new GPU) is taken whole from the detection. Keys
the detection does not produce (``stack``, ``other_pcie``, a GPU's ``power_limit_w``, ...) are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlrig.init.declare import DECLARED, DETECTED, Figure, plain
from dlrig.init.render import scalar
from dlrig.plan.catalogue import normalise


def _same_model(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    model = new.get("model")
    if not isinstance(model, Figure) or "model" not in old:
        return True
    return normalise(str(model.value)) == normalise(str(old["model"]))


def _kept(value: Any) -> Any:
    return value if isinstance(value, dict) else Figure(value, DECLARED, "kept from the previous file")


def merge(new: Any, old: Any) -> Any:
    """``new`` (a Figure tree) with the declared values ``old`` kept where the rule above says so."""
    if isinstance(new, Figure):
        if old is None or new.origin == DETECTED:
            return new
        return Figure(old, DECLARED, f"kept from the previous file ({new.comment})")
    if isinstance(new, dict):
        old_map = old if isinstance(old, Mapping) else {}
        if not _same_model(new, old_map):
            return new
        out = {k: merge(v, old_map.get(k)) for k, v in new.items()}
        out.update({k: _kept(v) for k, v in old_map.items() if k not in new})
        return out
    if isinstance(new, list):  # what detection found (GPUs, drives) replaces the list; entries are merged
        old_list = list(old) if isinstance(old, list) else []
        merged = []
        for entry in new:
            match = next((o for o in old_list if isinstance(o, Mapping) and isinstance(entry, dict)
                          and "model" in o and _same_model(entry, o)), None)
            merged.append(merge(entry, match))
        return merged
    return new


def merge_declaration(new: dict[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """The whole file: ``new``'s sections merged, other top-level keys of ``old`` kept as they were."""
    out = {k: merge(v, old.get(k)) for k, v in new.items()}
    out.update({k: v for k, v in old.items() if k not in new})
    return out


def _flat(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{path}.{k}" if path else str(k)))
        return out or {path: {}}
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flat(v, f"{path}[{i}]"))
        return out
    return {path: value}


def differences(old: Mapping[str, Any], merged: Mapping[str, Any]) -> list[str]:
    """One line per variable whose value would change: ``path: declared X, detected Y``."""
    before, after = _flat(plain(old)), _flat(plain(merged))
    lines = []
    for path in [*before, *(p for p in after if p not in before)]:
        if before.get(path, ...) == after.get(path, ...):
            continue
        was = scalar(before[path]) if path in before else "(nothing)"
        now = scalar(after[path]) if path in after else "(nothing)"
        lines.append(f"{path}: declared {was}, detected {now}")
    return lines
