"""Verify of the cluster scenario (after side_effect: dlrig-node3 joined, its fixture showing no GPU).

Runs on the controller: sinfo/scontrol, a two-node PyTorch all-reduce launched by srun (gloo, CPU; torch
from the shared read-only folder the scenario mounts), GPU requests Slurm cannot serve, the drained node,
what the third node's arrival changed, and the munge key on every host.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from pathlib import Path

import pytest
import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
CTL = "dlrig-ctl"
NODES = ["dlrig-node1", "dlrig-node2"]
NEW = "dlrig-node3"
GRES = "gpu:rtx2070:1"
REPORT = "/var/lib/dlrig/cluster-allreduce.json"

testinfra_hosts = [f"ansible://{CTL}?ansible_inventory={INVENTORY}"]


def _on(name: str) -> testinfra.host.Host:
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def _node(host: testinfra.host.Host, name: str) -> str:
    out = host.check_output("scontrol --oneliner show node %s", name)
    return str(out)


def test_sinfo_both_nodes_idle_with_gres(host: testinfra.host.Host) -> None:
    rows = host.check_output("sinfo --noheader --Node --format='%%N %%t %%G'").splitlines()
    states = {r.split()[0]: r.split()[1:] for r in rows}
    for n in NODES:
        assert states[n] == ["idle", GRES], rows


def test_scontrol_cpus_memory_gres(host: testinfra.host.Host) -> None:
    for n in NODES:
        node = _on(n)
        cpus = int(node.check_output("nproc --all"))
        mem_mb = int(node.check_output("awk '/^MemTotal/ {print int($2/1024)}' /proc/meminfo"))
        line = _node(host, n)
        assert f"CPUTot={cpus} " in line, line
        assert f"RealMemory={mem_mb - 512} " in line, line
        assert f"Gres={GRES}" in line, line


def test_cluster_check_allreduce_report(host: testinfra.host.Host) -> None:
    """side_effect ran playbooks/cluster-check.yml: srun across the nodes in service (node3 is drained), a
    two-process PyTorch all-reduce (gloo: no GPU answers in a container), the sum checked, the figures in the
    report on the controller."""
    report = host.file(REPORT)
    assert (report.user, report.mode) == ("root", 0o644)
    result = json.loads(report.content_string)
    assert result["nodes"] == NODES, result
    assert result["ok"] is True and result["sum_ok"] is True and result["rc"] == 0, result
    assert result["expected"] == 3.0 and result["world_size"] == 2 and result["backend"] == "gloo", result
    assert result["bytes"] == 16 * 1024 * 1024 and result["iters"] == 10, result
    assert result["seconds_per_op"] > 0 and result["algbw_gbps"] > 0, result
    assert result["busbw_gbps"] == pytest.approx(result["algbw_gbps"], abs=0.002), result  # 2(n-1)/n = 1
    print("ALLREDUCE", json.dumps(result))
    # The figures outlive the scenario (its ephemeral directory goes with destroy): the engine's work dir.
    for out in (os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY"), os.environ.get("DLRIG_MOLECULE_WORK")):
        if out and Path(out).is_dir():
            Path(out, "cluster-allreduce.json").write_text(json.dumps(result) + "\n")


OPEN_GPU = (
    "import errno, os\n"
    "try:\n    os.close(os.open('/dev/nvidia0', os.O_RDONLY))\n"
    "except OSError as e:\n    print(errno.errorcode[e.errno])"
)


def test_a_job_sees_only_the_gpus_it_was_given(host: testinfra.host.Host) -> None:
    """cgroup.conf ConstrainDevices=yes, enforced by task/cgroup: /dev/nvidia0 (NVIDIA's 195:0, no driver
    behind it) opens as far as the driver (ENXIO) in a job given the GPU, and is refused by the device cgroup
    (EPERM) in a job given none."""
    node = NODES[0]
    assert _on(node).check_output("stat -c %F /dev/nvidia0").startswith("character")
    given = host.check_output("srun -N1 -w %s --gres=gpu:rtx2070:1 python3 -c %s", node, OPEN_GPU)
    without = host.check_output("srun -N1 -w %s python3 -c %s", node, OPEN_GPU)
    assert (given, without) == ("ENXIO", "EPERM"), (given, without)
    for n in NODES:
        assert "ConstrainDevices=yes" in _on(n).file("/etc/slurm/cgroup.conf").content_string
        assert "TaskPlugin=task/cgroup" in _on(n).file("/etc/slurm/slurm.conf").content_string


def test_more_gpus_than_a_node_has_is_refused_by_slurm(host: testinfra.host.Host) -> None:
    run = host.run("sbatch -N1 --gres=gpu:rtx2070:2 --wrap true")
    assert run.rc != 0
    assert "Requested node configuration is not available" in run.stderr, run.stderr


def test_gpus_on_more_nodes_than_are_up_stays_pending(host: testinfra.host.Host) -> None:
    job = host.check_output("sbatch --parsable -N3 --gres=gpu:rtx2070:1 --wrap true").split(";")[0]
    try:
        time.sleep(3)
        line = host.check_output("scontrol --oneliner show job %s", job)
        assert "JobState=PENDING" in line, line
        reason = re.search(r"Reason=(\S+)", line)
        assert reason and reason.group(1) not in ("None",), line
        print("PENDING reason:", reason.group(1))
    finally:
        host.run("scancel %s", job)


def test_node_with_missing_gpu_is_drained_with_reason(host: testinfra.host.Host) -> None:
    line = _node(host, NEW)
    assert "DRAIN" in re.search(r"State=(\S+)", line).group(1), line  # type: ignore[union-attr]
    assert "Reason=dlrig: GPUs differ from declaration: declared rtx2070:1 detected none" in line, line


def test_third_node_changed_only_what_it_must() -> None:
    for n in [CTL, *NODES]:
        node = _on(n)
        newer = node.check_output(
            "find /etc/munge/munge.key /etc/slurm/cgroup.conf /etc/slurm/gres.conf /etc/slurm/slurm.conf "
            "-newer /var/tmp/dlrig-before-node3 2>/dev/null || true"
        ).split()
        assert newer == ["/etc/slurm/slurm.conf"], (n, newer)
    for n in [CTL, *NODES, NEW]:
        assert f"NodeName={NEW} " in _on(n).file("/etc/slurm/slurm.conf").content_string


def test_munge_key_identical_0400_and_absent_from_logs() -> None:
    sums, key = set(), ""
    for n in [CTL, *NODES, NEW]:
        node = _on(n)
        f = node.file("/etc/munge/munge.key")
        assert (f.user, f.group, f.mode) == ("munge", "munge", 0o400), n
        sums.add(f.sha256sum)
        key = node.check_output("cat /etc/munge/munge.key").strip()
        assert node.run("grep -rqsF %s /var/log /var/tmp /root", key[:40]).rc != 0, n
        assert node.run("journalctl --no-pager -q | grep -qF %s", key[:40]).rc != 0, n
    assert len(sums) == 1
    assert len(key) > 100
    log = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "ansible.log")
    assert log.is_file()
    text = log.read_text(errors="replace")
    assert key[:40] not in text
    assert base64.b64encode(key.encode())[:40].decode() not in text
