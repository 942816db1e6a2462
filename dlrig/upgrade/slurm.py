"""What the GPU upgrade did to the Slurm cluster, in words for the upgrade summary (issue 14).

A host of the cluster (``slurm_controller`` / ``slurm_nodes``) whose GPUs change needs its ``gres.conf``
(its own GPUs and device files) and everybody's ``slurm.conf`` (its ``NodeName`` line: ``Gres=gpu:TYPE:N``)
rendered again. The role ``slurm`` restarts a daemon only where a file it reads changed (handlers):
slurmctld on the controller when slurm.conf changed there, slurmd on a node when its slurm.conf,
gres.conf or cgroup.conf changed — Slurm 22.05 reads a node's gres and devices only when slurmd starts,
and a changed node definition needs slurmctld restarted too (slurm.conf(5), "RECONFIGURATION"); an
``scontrol reconfigure`` does not apply either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FILES = ("slurm.conf", "gres.conf", "cgroup.conf")


def _names(hosts: Sequence[str]) -> str:
    return ", ".join(hosts) if hosts else "none"


def slurm_summary(host: str, groups: Mapping[str, Sequence[str]],
                  rendered: Mapping[str, Mapping[str, Any] | None],
                  gres: Sequence[str] = (), drained: str = "",
                  controller_group: str = "slurm_controller", nodes_group: str = "slurm_nodes") -> list[str]:
    """The summary's Slurm lines for ``host``; none when it is not a host of the cluster.

    ``rendered``: for each host of the cluster, what the ``slurm`` role's templates changed in this run
    (``{"slurm.conf": bool, "gres.conf": bool, "cgroup.conf": bool}``), None for a host the run did not
    re-render. ``gres``: this host's gres as now rendered (``["gpu:rtx2070:2"]``); ``drained``: the reason
    the role drained it with (detected GPUs differ from the declaration), "" when it is in service.
    """
    controllers = list(groups.get(controller_group) or [])
    nodes = list(groups.get(nodes_group) or [])
    if host not in controllers and host not in nodes:
        return []
    role = " and ".join(r for r, member in (("controller", host in controllers),
                                            ("compute node", host in nodes)) if member)
    missing = [h for h in dict.fromkeys([*controllers, *nodes]) if not rendered.get(h)]
    if missing:
        return [f"Slurm: {host} is the cluster's {role}, but this run did not re-render the configuration of "
                f"{_names(missing)} (the upgrade covered part of the cluster): run playbooks/cluster.yml on "
                "every host of the cluster so that slurm.conf and gres.conf declare the new GPUs"]

    def changed(h: str, name: str) -> bool:
        return bool((rendered.get(h) or {}).get(name))

    everywhere = [h for h in dict.fromkeys([*controllers, *nodes]) if changed(h, "slurm.conf")]
    parts = []
    if host in nodes:
        parts.append(("gres.conf re-rendered" if changed(host, "gres.conf") else "gres.conf unchanged")
                     + f" ({', '.join(gres) or 'no GPU'})")
    parts.append(f"slurm.conf re-rendered on {_names(everywhere)}" if everywhere else "slurm.conf unchanged")
    ctl_restart = [h for h in controllers if changed(h, "slurm.conf")]
    node_restart = [h for h in nodes if any(changed(h, f) for f in FILES)]
    restarts = ([f"slurmctld restarted on {_names(ctl_restart)}"] if ctl_restart else []) + (
        [f"slurmd restarted on {_names(node_restart)}"] if node_restart else [])
    lines = [f"Slurm ({role}): " + "; ".join(parts) + " — "
             + (", ".join(restarts) + " (a node's gres and devices take effect when its daemons restart)"
                if restarts else "no Slurm daemon restarted")]
    if drained:
        lines.append(f"Slurm: {host} DRAINED — {drained} (it returns to service when detection matches the "
                     "declaration and the cluster is converged again)")
    return lines
