"""The one document model of every output (docs/preflight.schema.json).

``{"schema_version": 2, "mode": "plan" | "what_if" | "live", ...the mode's fields, "hosts": [...]}``;
every host has the same shape in every mode: ``name``, ``declared``, ``verdict``, ``checks[]`` and
``summary``, with the mode's own fields beside them (what-if: ``today``, ``planned``, ``comparison``, ...;
live: ``reachable``, ``detected``, ``driver``). The exit code is decided here, once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TextIO

from dlrig.plan.model import HostPlan
from dlrig.result import CheckResult, worst

SCHEMA_VERSION = 2
Mode = Literal["plan", "what_if", "live"]
EXIT_OK, EXIT_FAIL = 0, 1

#: The summary's figures that come from the declaration itself (the checks add theirs: registry summary).
_DECLARED = ("max_draw_w", "psu_w", "load_pct", "lanes_used", "lanes_available", "gpu_count", "vram_gb",
             "ram_gb")


def summary(plan: HostPlan, results: Sequence[CheckResult]) -> dict[str, Any]:
    """The host's headline figures; None where the build does not declare what a figure needs."""
    from dlrig.checks.pcie import lanes_used
    from dlrig.checks.psu import max_draw_w
    from dlrig.checks.registry import REGISTRY

    out: dict[str, Any] = dict.fromkeys((*_DECLARED, *REGISTRY.summary_keys()))
    out["currency"] = plan.power.currency
    hw = plan.hardware
    if hw is None:
        return out
    draw = max_draw_w(hw)
    out.update(max_draw_w=round(draw, 1), gpu_count=hw.gpu_count, vram_gb=hw.vram_gb,
               lanes_used=lanes_used(hw))
    if hw.psu:
        out.update(psu_w=hw.psu.watts, load_pct=round(100 * draw / hw.psu.watts, 1))
    if hw.cpu:
        out["lanes_available"] = hw.cpu.pcie_lanes
    if hw.memory:
        out["ram_gb"] = hw.memory.gb
    for result in results:
        check = REGISTRY.describe(result.id)
        if check is not None and not result.figures.get("skipped"):
            out.update({key: result.figures.get(key) for key in check.summary})
    return out


def host_entry(plan: HostPlan, results: Sequence[CheckResult], **mode_fields: Any) -> dict[str, Any]:
    """One entry of ``hosts``: name, declared, verdict, checks and summary, then the mode's fields."""
    return {
        "name": plan.name,
        "declared": plan.hardware is not None,
        "verdict": worst([r.status for r in results]),
        "checks": [r.as_dict() for r in results],
        "summary": summary(plan, results),
        **mode_fields,
    }


def document(mode: Mode, hosts: Sequence[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "mode": mode, **fields, "hosts": list(hosts)}


def exit_code(doc: dict[str, Any], strict: bool = False) -> int:
    """0 when nothing fails (warnings allowed), 1 when a host's verdict or the cluster section fails (or
    warns, with ``strict``)."""
    verdicts = {host["verdict"] for host in doc["hosts"]}
    if doc.get("cluster"):
        verdicts.add(doc["cluster"]["status"])
    return EXIT_FAIL if "fail" in verdicts or (strict and "warn" in verdicts) else EXIT_OK


def plan_document(plans: Sequence[HostPlan],
                  hostvars: Sequence[tuple[str, Mapping[str, Any]]] = (),
                  limit: str | None = None) -> dict[str, Any]:
    """The plan report: every host's plan checks run and summarised; ``circuits``: one entry per named
    wall circuit, the hosts of the run on it counted together (``limit``: the run's --limit pattern, named
    on every circuit: hosts it left out are not counted); when the inventory has Slurm groups
    (``hostvars``: the loaded hosts, with ``groups``), a ``cluster`` section beside the hosts judges the
    set of hosts (dlrig.cluster: Slurm versions, one torch build, the cluster summary)."""
    from dlrig.checks import run_checks
    from dlrig.checks.circuit import circuits, hosts_together  # hosts on one wall circuit add up (issue 12)
    from dlrig.cluster import cluster_section

    with hosts_together(plans, limit):
        hosts = [host_entry(plan, run_checks(plan)) for plan in plans]
    cluster = cluster_section(hostvars, {h["name"]: t for h in hosts if (t := _resolved_torch(h))})
    sections: dict[str, Any] = {"circuits": circuits(plans, limit)}
    if cluster:
        sections["cluster"] = cluster
    return document("plan", hosts, **sections)


def _resolved_torch(host: Mapping[str, Any]) -> str | None:
    """The torch build the stack check resolved for a host (``2.14.1+cu132``), None without one."""
    for check in host["checks"]:
        versions = check.get("versions") if check.get("id") == "stack" else None
        if isinstance(versions, Mapping) and versions.get("torch"):
            variant = versions.get("torch_cuda_variant")
            return f"{versions['torch']}+{variant}" if variant else str(versions["torch"])
    return None


def emit(doc: dict[str, Any], fmt: str, stream: TextIO) -> None:
    """Print a document: JSON as it is, or text by the renderer of its mode (escaped, coloured on a tty)."""
    if fmt == "json":
        stream.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return
    from dlrig.errors import escaped
    from dlrig.output.text import render

    colour = stream.isatty() and not os.environ.get("NO_COLOR")
    stream.write(render(escaped(doc), colour=colour))  # type: ignore[arg-type]
