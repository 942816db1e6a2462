"""The preflight for a set of hosts that form one Slurm cluster (issue 14).

Input: each host's inventory variables (``hardware``, ``os``, optional ``stack``) and the groups
``slurm_controller`` / ``slurm_nodes``. Output: Slurm version compatibility between the controller's
release and each node's, the same torch build on every node, and a cluster summary (nodes, GPUs by model,
total VRAM, wall power at peak) as text and JSON:

    python -m dlrig.cluster HOSTS.json [--json]

where HOSTS.json is ``{"groups": {"slurm_controller": [...], "slurm_nodes": [...]},
"hostvars": {HOST: {...}}}``
(what ``ansible-inventory --list`` prints has that shape: ``_meta.hostvars`` and per-group ``hosts``).

Slurm's rule (https://slurm.schedmd.com/upgrades.html, "Compatibility Window"): daemons talk to
daemons of the previous two major releases (three from 24.11 on), and slurmctld must be at least as new as
every slurmd. The Slurm each release ships is in ``SLURM_BY_RELEASE`` (the distributions' packages).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

COMPAT_SOURCE = "https://slurm.schedmd.com/upgrades.html (Compatibility Window)"

# Major releases in order (year.month).
MAJORS = (
    "17.02",
    "17.11",
    "18.08",
    "19.05",
    "20.02",
    "20.11",
    "21.08",
    "22.05",
    "23.02",
    "23.11",
    "24.05",
    "24.11",
    "25.05",
    "25.11",
)

# The slurm-wlm package of each release (packages.debian.org, packages.ubuntu.com).
SLURM_BY_RELEASE: dict[tuple[str, str], str] = {
    ("ubuntu", "18.04"): "17.11.2",
    ("ubuntu", "20.04"): "19.05.5",
    ("ubuntu", "22.04"): "21.08.5",
    ("ubuntu", "24.04"): "23.11.4",
    ("debian", "11"): "20.11.4",
    ("debian", "12"): "22.05.8",
    ("debian", "13"): "24.11.5",
}


def _major(version: str) -> str:
    return ".".join(version.split(".")[:2])


def window(controller_major: str) -> int:
    """How many major releases before the controller's its daemons still talk to."""
    return 3 if MAJORS.index(controller_major) >= MAJORS.index("24.11") else 2


def compatible(controller: str, node: str) -> tuple[bool, str]:
    """Whether a slurmd of version ``node`` can join a slurmctld of version ``controller``, and why."""
    c, n = _major(controller), _major(node)
    if c not in MAJORS or n not in MAJORS:
        return False, f"Slurm {controller if c not in MAJORS else node} is not a major release dlrig knows"
    ci, ni = MAJORS.index(c), MAJORS.index(n)
    if ni > ci:
        return (
            False,
            f"slurmd {node} is newer than slurmctld {controller} (the controller must be the newest)",
        )
    if ci - ni > window(c):
        return False, (
            f"slurmd {node} is {ci - ni} major releases behind slurmctld {controller}; "
            f"Slurm {c} talks to the previous {window(c)} only"
        )
    return True, f"slurmd {node} can join slurmctld {controller}"


@dataclass
class ClusterReport:
    controller: str
    nodes: list[str]
    checks: list[dict[str, Any]] = field(default_factory=list)
    gpus_by_model: dict[str, int] = field(default_factory=dict)
    vram_gb: float = 0.0
    wall_w: float = 0.0
    unknown_power: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        states = {c["status"] for c in self.checks}
        return "fail" if "fail" in states else "warn" if "warn" in states else "ok"

    def as_json(self) -> dict[str, Any]:
        return {
            "controller": self.controller,
            "nodes": self.nodes,
            "status": self.status,
            "checks": self.checks,
            "summary": {
                "nodes": len(self.nodes),
                "gpus_by_model": self.gpus_by_model,
                "gpus": sum(self.gpus_by_model.values()),
                "vram_gb": round(self.vram_gb, 1),
                "wall_w_peak": round(self.wall_w),
                "power_not_declared": self.unknown_power,
            },
        }

    def as_text(self) -> str:
        return "\n".join(section_lines(self.as_json()))


def section_lines(section: Mapping[str, Any]) -> list[str]:
    """The cluster section of a report (``as_json``'s shape) as text lines: the preflight's renderer and
    ``python -m dlrig.cluster`` print the same."""
    s = section["summary"]
    gpus = ", ".join(f"{n} x {m}" for m, n in sorted(s["gpus_by_model"].items())) or "none"
    lines = [
        f"cluster: controller {section['controller']}, {s['nodes']} node(s): {', '.join(section['nodes'])}"
        f" — {section['status']}",
        f"  GPUs: {gpus} ({s['gpus']} in all), {s['vram_gb']:g} GB VRAM",
        f"  wall power at peak: {s['wall_w_peak']} W"
        + (f" (not declared: {', '.join(s['power_not_declared'])})" if s["power_not_declared"] else ""),
    ]
    lines += [f"  {c['status']:<4} {c['id']}: {c['message']}" for c in section["checks"]]
    return lines


def cluster_section(hosts: Sequence[tuple[str, Mapping[str, Any]]],
                    resolved_torch: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The preflight report's ``cluster`` section for the loaded hosts ``[(name, hostvars)]``, or None when
    the inventory has no host in ``slurm_controller`` / ``slurm_nodes`` (a set of single boxes).

    The groups are the inventory's (``groups`` of any host); a host of the groups that ``--limit`` left out
    has no variables here, and its checks say so. ``resolved_torch``: the torch build the preflight
    resolved for each host (``2.14.1+cu132``), compared across the nodes where the inventory pins no
    ``stack.torch``."""
    if not hosts:
        return None
    all_groups = hosts[0][1].get("groups")
    if not isinstance(all_groups, Mapping):
        return None
    groups = {g: [str(h) for h in all_groups.get(g) or []] for g in ("slurm_controller", "slurm_nodes")}
    if not any(groups.values()):
        return None
    hostvars: dict[str, Mapping[str, Any]] = {}
    for name, hv in hosts:
        stack = hv.get("stack") if isinstance(hv.get("stack"), Mapping) else {}
        torch = (resolved_torch or {}).get(name)
        if torch and not (stack or {}).get("torch"):
            hv = {**hv, "stack": {**(stack or {}), "torch": torch}}
        hostvars[name] = hv
    return check_cluster(groups, hostvars).as_json()


def _release(hostvars: Mapping[str, Any]) -> tuple[str, str] | None:
    os_ = hostvars.get("os")
    if not isinstance(os_, Mapping):
        return None
    return str(os_.get("distribution", "")).lower(), str(os_.get("release", ""))


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _wall_w(hw: Mapping[str, Any]) -> float | None:
    """Peak draw of the declared parts at the wall (PSU efficiency at that load), None without a PSU."""
    from dlrig.checks.energy import efficiency_at

    psu = hw.get("psu")
    if not isinstance(psu, Mapping) or not _num(psu.get("watts")):
        return None
    dc = sum(
        _num((hw.get(k) or {}).get("watts"))
        for k in ("cpu", "motherboard", "memory", "cooler")
        if isinstance(hw.get(k), Mapping)
    )
    dc += sum(
        _num(d.get("watts"))
        for k in ("storage", "other_pcie")
        for d in hw.get(k) or []
        if isinstance(d, Mapping)
    )
    dc += sum(
        _num(g.get("power_limit_w") or g.get("watts")) * int(_num(g.get("count", 1)))
        for g in hw.get("gpus") or []
        if isinstance(g, Mapping)
    )
    return dc / efficiency_at(str(psu.get("efficiency", "none")), dc / _num(psu["watts"]))


def check_cluster(
    groups: Mapping[str, Sequence[str]], hostvars: Mapping[str, Mapping[str, Any]]
) -> ClusterReport:
    controllers = list(groups.get("slurm_controller", []))
    nodes = list(groups.get("slurm_nodes", []))
    report = ClusterReport(controllers[0] if controllers else "-", nodes)
    if len(controllers) != 1 or not nodes:
        report.checks.append(
            {
                "id": "cluster_groups",
                "status": "fail",
                "message": f"needs one host in slurm_controller (has {len(controllers)}) and at least one "
                f"in slurm_nodes (has {len(nodes)})",
            }
        )
        return report
    ctl_rel = _release(hostvars.get(report.controller, {}))
    ctl_slurm = SLURM_BY_RELEASE.get(ctl_rel) if ctl_rel else None
    for n in nodes:
        rel = _release(hostvars.get(n, {}))
        node_slurm = SLURM_BY_RELEASE.get(rel) if rel else None
        if ctl_slurm is None or node_slurm is None:
            who = report.controller if ctl_slurm is None else n
            report.checks.append(
                {
                    "id": "slurm_version",
                    "host": n,
                    "status": "warn",
                    "message": f"{who}: no known Slurm package for its os "
                    "(declare os: distribution, release)",
                }
            )
            continue
        ok, why = compatible(ctl_slurm, node_slurm)
        report.checks.append(
            {
                "id": "slurm_version",
                "host": n,
                "status": "ok" if ok else "fail",
                "message": f"{n} ({' '.join(rel or ())}): {why} [{COMPAT_SOURCE}]",
                "controller_slurm": ctl_slurm,
                "node_slurm": node_slurm,
            }
        )
    torch = {n: str((hostvars.get(n, {}).get("stack") or {}).get("torch", "")) for n in nodes}
    builds = {v for v in torch.values() if v}
    if len(builds) > 1:
        report.checks.append(
            {
                "id": "torch_build",
                "status": "fail",
                "message": "multi-node training needs the same torch/NCCL build on every node: "
                + ", ".join(f"{n} {v or '?'}" for n, v in sorted(torch.items())),
            }
        )
    else:
        report.checks.append(
            {
                "id": "torch_build",
                "status": "ok",
                "message": "same torch on every node "
                f"({next(iter(builds)) if builds else 'resolved per node'})",
            }
        )
    for h in dict.fromkeys([report.controller, *nodes]):
        hw = hostvars.get(h, {}).get("hardware") or {}
        if h in nodes:
            for g in hw.get("gpus") or []:
                count = int(_num(g.get("count", 1)))
                model = str(g.get("model", "?"))[:60]
                report.gpus_by_model[model] = report.gpus_by_model.get(model, 0) + count
                report.vram_gb += _num(g.get("vram_gb")) * count
        wall = _wall_w(hw) if isinstance(hw, Mapping) else None
        if wall is None:
            report.unknown_power.append(h)
        else:
            report.wall_w += wall
    return report


def _load(path: str) -> tuple[dict[str, list[str]], dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        doc = json.load(handle)
    if "_meta" in doc:  # ansible-inventory --list
        hostvars = doc["_meta"].get("hostvars", {})
        groups = {g: list(v.get("hosts", [])) for g, v in doc.items() if isinstance(v, dict) and g != "_meta"}
        return groups, hostvars
    return doc.get("groups", {}), doc.get("hostvars", {})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dlrig.cluster", description="Preflight of a Slurm cluster."
    )
    parser.add_argument("hosts", help="JSON: ansible-inventory --list output, or {groups, hostvars}")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        groups, hostvars = _load(args.hosts)
    except (OSError, ValueError, AttributeError) as exc:
        print(f"dlrig cluster: {args.hosts}: {exc.__class__.__name__}: {str(exc)[:200]}", file=sys.stderr)
        return 2
    report = check_cluster(groups, hostvars)
    print(json.dumps(report.as_json(), indent=2) if args.json else report.as_text())
    return {"ok": 0, "warn": 0}.get(report.status, 1)


if __name__ == "__main__":
    sys.exit(main())
