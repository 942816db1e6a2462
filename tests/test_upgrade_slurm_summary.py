"""The GPU-upgrade summary's Slurm lines (dlrig.upgrade.slurm, issue 14): a node of the cluster whose GPUs
changed says what was re-rendered where and which daemons restarted; a host outside the cluster says
nothing."""

from __future__ import annotations

import sys
from pathlib import Path

from dlrig.upgrade.slurm import slurm_summary

GROUPS = {"slurm_controller": ["ctl"], "slurm_nodes": ["node1", "node2"],
          "all": ["ctl", "node1", "node2", "ws"]}
NOTHING = {"slurm.conf": False, "gres.conf": False, "cgroup.conf": False}


def test_node_whose_gpus_changed() -> None:
    """node1 went from one RTX 2070 to two: its gres.conf and everybody's slurm.conf changed."""
    rendered = {
        "ctl": {**NOTHING, "slurm.conf": True},
        "node1": {**NOTHING, "slurm.conf": True, "gres.conf": True},
        "node2": {**NOTHING, "slurm.conf": True},
    }
    lines = slurm_summary("node1", GROUPS, rendered, ["gpu:rtx2070:2"])
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("Slurm (compute node): gres.conf re-rendered (gpu:rtx2070:2)")
    assert "slurm.conf re-rendered on ctl, node1, node2" in line
    assert "slurmctld restarted on ctl" in line and "slurmd restarted on node1, node2" in line


def test_controller_and_node_in_one_host_and_a_drain() -> None:
    groups = {"slurm_controller": ["box1"], "slurm_nodes": ["box1", "box2"]}
    rendered = {"box1": {**NOTHING, "slurm.conf": True, "gres.conf": True},
                "box2": {**NOTHING, "slurm.conf": True}}
    lines = slurm_summary("box1", groups, rendered, ["gpu:rtx2080:2"],
                          "dlrig: GPUs differ from declaration: declared rtx2080:2 detected rtx2080:1")
    assert lines[0].startswith("Slurm (controller and compute node): gres.conf re-rendered (gpu:rtx2080:2)")
    assert "slurmctld restarted on box1" in lines[0] and "slurmd restarted on box1, box2" in lines[0]
    assert lines[1] == ("Slurm: box1 DRAINED — dlrig: GPUs differ from declaration: declared rtx2080:2 "
                        "detected rtx2080:1 (it returns to service when detection matches the declaration "
                        "and the cluster is converged again)")


def test_nothing_changed_restarts_nothing() -> None:
    rendered = {h: dict(NOTHING) for h in ("ctl", "node1", "node2")}
    assert slurm_summary("node2", GROUPS, rendered, ["gpu:rtx2070:1"]) == [
        "Slurm (compute node): gres.conf unchanged (gpu:rtx2070:1); slurm.conf unchanged — no Slurm daemon "
        "restarted"]


def test_part_of_the_cluster_not_rerendered() -> None:
    """An upgrade run limited to one node cannot write slurm.conf (it lists every node): it says so."""
    lines = slurm_summary("node1", GROUPS, {"node1": None, "ctl": None, "node2": None}, ["gpu:rtx2070:2"])
    assert len(lines) == 1
    assert "did not re-render the configuration of ctl, node1, node2" in lines[0]
    assert "playbooks/cluster.yml" in lines[0]


def test_host_outside_the_cluster_has_no_slurm_line() -> None:
    assert slurm_summary("ws", GROUPS, {}, []) == []
    assert slurm_summary("ws", {}, {}, []) == []


def test_the_collection_filter_is_the_same_function() -> None:
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "collections/ansible_collections/dlrig/rig/plugins/filter"))
    try:
        import upgrade  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    rendered = {"ctl": {**NOTHING, "slurm.conf": True}, "node1": {**NOTHING, "slurm.conf": True},
                "node2": {**NOTHING, "slurm.conf": True, "gres.conf": True}}
    fn = upgrade.FilterModule().filters()["slurm_summary"]
    assert fn("node2", GROUPS, rendered, ["gpu:rtx2070:2"], None) == slurm_summary(
        "node2", GROUPS, rendered, ["gpu:rtx2070:2"])
