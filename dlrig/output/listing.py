"""``preflight --list-models [gpu|cpu]``: the catalogue's models, with the figures a declaration of a
catalogued part may leave out (issue 19, finding 4)."""

from __future__ import annotations

from typing import Any, TextIO

from dlrig.output.numbers import num
from dlrig.plan import catalogue

KINDS = ("gpu", "cpu", "all")


def models(kind: str) -> dict[str, list[dict[str, Any]]]:
    """``{"gpus": [...], "cpus": [...]}`` (only the asked-for kind), in catalogue order."""
    out: dict[str, list[dict[str, Any]]] = {}
    if kind in ("gpu", "all"):
        out["gpus"] = [{"model": g.name, "arch": g.arch, "watts": g.watts, "vram_gb": g.vram_gb,
                        "compute_capability": g.compute_capability, "pcie_gen": g.pcie_gen}
                       for g in catalogue.gpus()]
    if kind in ("cpu", "all"):
        out["cpus"] = [{"model": c.name, "watts": c.watts, "pcie_lanes": c.pcie_lanes, "pcie_gen": c.pcie_gen}
                       for c in catalogue.cpus()]
    return out


def render(listing: dict[str, list[dict[str, Any]]]) -> str:
    lines: list[str] = []
    if "gpus" in listing:
        lines.append(f"{'GPU':<32} {'arch':<10} {'watts':>6} {'VRAM GB':>8} {'cc':>5} {'PCIe':>5}")
        lines += [f"{g['model']:<32} {g['arch']:<10} {num(g['watts']):>6} {num(g['vram_gb']):>8} "
                  f"{g['compute_capability']:>5} {g['pcie_gen']:>5}" for g in listing["gpus"]]
    if "cpus" in listing:
        if lines:
            lines.append("")
        lines.append(f"{'CPU':<40} {'watts':>6} {'lanes':>6} {'PCIe':>5}")
        lines += [f"{c['model']:<40} {num(c['watts']):>6} {c['pcie_lanes']:>6} {c['pcie_gen']:>5}"
                  for c in listing["cpus"]]
    lines.append("")
    lines.append("A model not listed: declare its figures (GPU: watts, vram_gb, arch; CPU: watts, "
                 "pcie_lanes); docs/preflight.md, 'The hardware declaration'.")
    return "\n".join(lines) + "\n"


def emit(kind: str, fmt: str, stream: TextIO) -> None:
    import json

    listing = models(kind)
    stream.write(json.dumps(listing, indent=2) + "\n" if fmt == "json" else render(listing))
