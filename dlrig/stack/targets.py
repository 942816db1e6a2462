"""The declared GPUs as the resolver sees them: one function for the preflight's ``stack`` check and the
upgrade's driver decision, so both place a card the same way (a declared ``arch`` wins over the
catalogue's; a card with neither cannot be placed)."""

from __future__ import annotations

from typing import Any

from dlrig.stack.frameworks import GpuTarget


def gpu_targets(plan: Any) -> tuple[list[GpuTarget], list[tuple[int, str]]]:
    """The declared GPUs as resolver targets, and ``(index, model)`` of those whose architecture is not
    known (not in the catalogue, no ``arch`` declared)."""
    targets: list[GpuTarget] = []
    unknown: list[tuple[int, str]] = []
    for i, decl in enumerate(plan.hardware.gpus if plan.hardware is not None else []):
        spec = decl.spec
        if decl.arch:  # declared in the inventory: it wins over the catalogue's
            targets.append(GpuTarget(decl.model, decl.arch, ""))
        elif spec is None or not spec.arch:
            unknown.append((i, decl.model))
        else:
            targets.append(GpuTarget(spec.name, spec.arch, spec.compute_capability))
    return targets, unknown
