"""playbooks/upgrade-gpu.yml against localhost: detection fixtures for the hardware, test doubles for the
roles (tests/fixtures/upgrade/roles), the JSON callback to read what ran and the final summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dlrig.plan.parse import parse_host
from dlrig.upgrade.driver import decide_driver

ROOT = Path(__file__).resolve().parent.parent
HW = ROOT / "tests" / "fixtures" / "hw"
STUB_ROLES = ROOT / "tests" / "fixtures" / "upgrade" / "roles"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
REFERENCE = yaml.safe_load((ROOT / "inventory" / "host_vars" / "deep-al.yml").read_text())
PYTHON3 = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(not ANSIBLE_PLAYBOOK.exists() or not Path(PYTHON3).exists(),
                                reason="needs the controller venv and /usr/bin/python3")


def _os_release() -> tuple[str, str]:
    lines = Path("/etc/os-release").read_text().splitlines()
    info = dict(line.split("=", 1) for line in lines if "=" in line)
    return info["ID"].strip('"').capitalize(), info["VERSION_ID"].strip('"')


# RAM of each detection fixture, so that the live ``ram`` check is quiet.
FIXTURE_RAM_GB = {"rtx2070": 16, "two-gpus": 32}


def _hardware(count: int, ram_gb: int = 16) -> dict:
    hardware = json.loads(json.dumps(REFERENCE["hardware"]))
    hardware["gpus"][0]["count"] = count
    hardware["memory"]["gb"] = ram_gb
    return hardware


def _fake_env(tmp_path: Path, name: str, versions: dict, nccl: dict | None = None) -> str:
    """An 'interpreter' of a framework environment: prints the versions the playbook asks for (``-c``),
    or, run on the NCCL probe, the probe's JSON line."""
    data = tmp_path / f"{name}.json"
    data.write_text(json.dumps(versions))
    probe = tmp_path / f"{name}-nccl.json"
    probe.write_text(json.dumps(nccl or {"ok": False, "error": "no NCCL double given"}))
    script = tmp_path / f"{name}-python"
    script.write_text(f"#!/bin/sh\nif [ \"$1\" = -c ]; then cat '{data}'; else cat '{probe}'; fi\n")
    script.chmod(0o755)
    return str(script)


NCCL_OK = {"ok": True, "world_size": 2, "bytes": 67108864, "algbw_gbps": 9.61, "busbw_gbps": 9.61,
           "nccl_version": "2.21.5", "error": None}


def _nvidia_smi(tmp_path: Path, fixture: str, driver: str | None) -> str:
    """The fixture's captured nvidia-smi output, with the driver version replaced when ``driver`` is given."""
    rows = (HW / fixture / "nvidia-smi.txt").read_text().splitlines()
    if driver:
        rows = [", ".join([*r.split(", ")[:8], driver, *r.split(", ")[9:]]) for r in rows]
    data = tmp_path / "nvidia-smi.txt"
    data.write_text("\n".join(rows) + "\n")
    script = tmp_path / "nvidia-smi"
    script.write_text(f"#!/bin/sh\ncat '{data}'\n")
    script.chmod(0o755)
    return str(script)


def _inventory(tmp_path: Path, count: int, fixture: str, extra: dict | None = None,
               driver: str | None = None) -> Path:
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": PYTHON3,
        "ansible_become": False,
        "live_preflight_sysfs_root": str(HW / fixture / "root"),
        "live_preflight_nvidia_smi": _nvidia_smi(tmp_path, fixture, driver),
        "live_preflight_lspci": str(HW / fixture / "bin" / "lspci"),
        # The box runs the controller's own OS: declare it, or the live `os` check stops the run.
        "os": dict(zip(("distribution", "release"), _os_release(), strict=True)),
        "power": REFERENCE["power"],
        "hardware": _hardware(count, FIXTURE_RAM_GB[fixture]),
        **(extra or {}),
    }
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": {"box": host}}}))
    return path


def _run(inventory: Path, tmp_path: Path, *args: str) -> tuple[int, dict]:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": f"{STUB_ROLES}:{ROOT / 'roles'}",
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "collections"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACKS_ENABLED": "",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(tmp_path / "facts"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
    })
    done = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", str(inventory), "playbooks/upgrade-gpu.yml", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)


def _results(doc: dict) -> dict[str, dict]:
    """Task name -> the host's result (the last one when a name repeats)."""
    out: dict[str, dict] = {}
    for play in doc["plays"]:
        for task in play["tasks"]:
            if "box" in task["hosts"]:
                out[task["task"]["name"]] = task["hosts"]["box"]
    return out


def _summary(results: dict[str, dict]) -> dict:
    return results["Assemble the summary of what changed and why"]["ansible_facts"]["upgrade_gpu_summary"]


def _ran(results: dict[str, dict], role: str) -> bool:
    result = results.get(f"{role} : Record that the {role} role ran")
    return bool(result) and not result.get("skipped")


def _newest_driver(count: int) -> str:
    """A driver version of the branch the resolver picks for ``count`` RTX 2070 on this machine's OS (the
    playbook judges the OS from its facts), so the test does not depend on the matrix's data."""
    distribution, release = _os_release()
    plan = parse_host("box", {"hardware": _hardware(count)})
    branch = decide_driver(plan, None, distribution, release).branch
    assert branch, "the resolver found no driver for RTX 2070 on this OS"
    return f"{branch}.10.01"


def _kept_stack(count: int, driver: str) -> dict:
    distribution, release = _os_release()
    plan = parse_host("box", {"hardware": _hardware(count)})
    return decide_driver(plan, driver, distribution, release).as_dict()


def test_syntax_check():
    cmd = [str(ANSIBLE_PLAYBOOK), "--syntax-check", "-i", "inventory", "playbooks/upgrade-gpu.yml"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")})
    assert done.returncode == 0, done.stderr


def test_second_rtx_2070_keeps_the_driver_and_the_fitting_environment(tmp_path):
    driver = _newest_driver(2)
    decision = _kept_stack(2, driver)
    assert decision["action"] == "keep"
    stack = decision["stack"]
    fits = {"python": stack["python"] + ".2", "torch": f"{stack['torch']}+{stack['torch_cuda_variant']}",
            "torchvision": stack["torchvision"], "fastai": stack["fastai"]}
    old_tf = {"python": stack["python"] + ".2", "tensorflow": "2.0.0", "keras": stack["keras"]}
    inventory = _inventory(tmp_path, 2, "two-gpus", {
        "pytorch_env_python": _fake_env(tmp_path, "pytorch", fits, NCCL_OK),
        "tensorflow_env_python": _fake_env(tmp_path, "tensorflow", old_tf),
    }, driver=driver)
    rc, doc = _run(inventory, tmp_path)
    results = _results(doc)
    assert rc == 0, json.dumps(doc["stats"])
    live = results["Compare the detected GPUs, PCIe links and RAM with the declared build"]
    assert live["verdict"] == "ok"
    assert _ran(results, "nvidia_driver")            # power limits are re-applied on every run
    assert not _ran(results, "cuda")                 # the driver branch stays, so does CUDA
    assert not _ran(results, "pytorch_env")          # still fits
    assert _ran(results, "tensorflow_env")           # tensorflow 2.0.0 no longer fits
    assert _ran(results, "gpu_verify")
    summary = _summary(results)
    assert summary["driver"]["action"] == "keep"
    assert summary["driver"]["branch"] == decision["branch"]
    assert summary["gpus"] == {"declared": 2, "present": 2}
    assert summary["envs"]["pytorch"] == []
    assert summary["envs"]["tensorflow"] == [f"tensorflow 2.0.0 -> {stack['tensorflow']}"]
    text = "\n".join(summary["lines"])
    assert f"Driver: unchanged, branch {decision['branch']}" in text
    assert "pytorch left alone" in text
    assert f"tensorflow rebuilt (tensorflow 2.0.0 -> {stack['tensorflow']})" in text
    assert "Verification: every GPU ok" in text
    assert "NCCL all-reduce across 2 GPUs: ok, bus bandwidth 9.61 GB/s (NCCL 2.21.5)" in text
    assert summary["nccl"]["ok"] is True
    assert summary["slurm"] == [] and "Slurm" not in text  # not in a Slurm cluster
    printed = results["Summary — what the GPU upgrade changed and why"]["msg"]
    assert printed == summary["lines"]
    # Nothing in the upgrade's own tasks reports a change: changes come only from the roles.
    changed = [name for name, r in results.items() if r.get("changed")]
    assert changed == []


def test_a_declared_but_absent_gpu_stops_before_any_role(tmp_path):
    inventory = _inventory(tmp_path, 2, "rtx2070")
    rc, doc = _run(inventory, tmp_path)
    results = _results(doc)
    assert rc != 0
    live = results["Compare the detected GPUs, PCIe links and RAM with the declared build"]
    assert live["failed"] is True
    assert "declared 2× GeForce RTX 2070, detected 1" in live["msg"]
    assert "1 declared GPU is missing" in live["msg"]
    assert not any(_ran(results, role) for role in ("nvidia_driver", "cuda", "pytorch_env", "gpu_verify"))


def test_check_mode_runs_through(tmp_path):
    inventory = _inventory(tmp_path, 1, "rtx2070")
    rc, doc = _run(inventory, tmp_path, "--check")
    assert rc == 0, json.dumps(doc["stats"])
    summary = _summary(_results(doc))
    assert summary["gpus"] == {"declared": 1, "present": 1}
    # no environment answers here: both count as changed (never built), so both roles would run
    assert all(changes for changes in summary["envs"].values())


def test_a_failing_nccl_all_reduce_stops_the_run(tmp_path):
    driver = _newest_driver(2)
    broken = {"ok": False, "world_size": 2, "error": "NCCL error: unhandled system error"}
    inventory = _inventory(tmp_path, 2, "two-gpus", {
        "pytorch_env_python": _fake_env(tmp_path, "pytorch", {"python": "3.11.2"}, broken),
    }, driver=driver)
    rc, doc = _run(inventory, tmp_path, "--skip-tags", "envs")
    results = _results(doc)
    assert rc != 0
    stop = results["Stop when the GPUs cannot all-reduce over NCCL"]
    assert stop["failed"] is True
    assert "The NCCL all-reduce across 2 GPUs failed: NCCL error: unhandled system error" in stop["msg"]
    # the environments were left out by tag: nothing read, nothing rebuilt
    assert "Read the package versions of each framework environment" not in results
    assert not _ran(results, "pytorch_env")


def test_site_tags_gpu_is_the_upgrade_flow():
    """site.yml imports the upgrade steps (tags never+gpu): `--tags gpu` lists exactly the preflights and
    the upgrade (the README's `bin/dlrig provision --tags gpu`); a plain run lists none of the upgrade's
    tasks."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "collections")}

    def tasks(*args: str) -> str:
        done = subprocess.run([str(ANSIBLE_PLAYBOOK), "site.yml", "--list-tasks", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    gpu = tasks("--tags", "gpu")
    assert "Summary — what the GPU upgrade changed and why" in gpu
    assert "Compare the detected GPUs, PCIe links and RAM with the declared build" in gpu
    plain = tasks()
    assert "Summary — what the GPU upgrade changed and why" not in plain
    assert "Compare the detected GPUs, PCIe links and RAM with the declared build" in plain
