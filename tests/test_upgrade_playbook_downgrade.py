"""Issue 20 through playbooks/upgrade-gpu.yml against localhost (role test doubles, as in
test_upgrade_playbook.py): a GTX 1080 Ti (Pascal) added to a Turing card on driver 595 stops the run in the
live preflight until the owner consents; with consent the driver role and the CUDA role run, the PyTorch
environment built for CUDA 13 is rebuilt and the summary says what changed and why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from test_upgrade_playbook import (
    HW,
    NCCL_OK,
    PYTHON3,
    REFERENCE,
    _fake_env,
    _os_release,
    _ran,
    _results,
    _run,
    _summary,
)

from dlrig.plan.parse import parse_host
from dlrig.upgrade.driver import decide_driver

GPUS = [{"model": "GeForce RTX 2070", "count": 1}, {"model": "GeForce GTX 1080 Ti", "count": 1}]
LIVE = "Compare the detected GPUs, PCIe links and RAM with the declared build"
INSTALLED = "595.45.04"


def _decision() -> dict:
    distribution, release = _os_release()
    return decide_driver(parse_host("box", {"hardware": {"gpus": GPUS}}), INSTALLED, distribution,
                         release, allow=True).as_dict()


def _inventory(tmp_path: Path, extra: dict) -> Path:
    """The two-GPU detection fixture with its second card a GTX 1080 Ti, driver 595 loaded."""
    root = tmp_path / "root"
    shutil.copytree(HW / "two-gpus" / "root", root, symlinks=True)
    (root / "sys" / "bus" / "pci" / "devices" / "0000:42:00.0" / "device").write_text("0x1b06\n")
    rows = (HW / "two-gpus" / "nvidia-smi.txt").read_text().replace("535.183.01", INSTALLED).splitlines()
    rows[1] = rows[1].replace("NVIDIA GeForce RTX 2070", "NVIDIA GeForce GTX 1080 Ti")
    (tmp_path / "nvidia-smi.txt").write_text("\n".join(rows) + "\n")
    smi = tmp_path / "nvidia-smi"
    smi.write_text(f"#!/bin/sh\ncat '{tmp_path / 'nvidia-smi.txt'}'\n")
    smi.chmod(0o755)
    hardware = json.loads(json.dumps(REFERENCE["hardware"]))
    hardware["gpus"] = GPUS
    hardware["memory"]["gb"] = 32
    host = {
        "ansible_connection": "local", "ansible_python_interpreter": PYTHON3, "ansible_become": False,
        "live_preflight_sysfs_root": str(root), "live_preflight_nvidia_smi": str(smi),
        "live_preflight_lspci": str(HW / "two-gpus" / "bin" / "lspci"),
        "live_preflight_df": str(HW / "two-gpus" / "bin" / "df"),
        "os": dict(zip(("distribution", "release"), _os_release(), strict=True)),
        "power": REFERENCE["power"], "hardware": hardware, **extra,
    }
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": {"box": host}}}))
    return path


def test_the_decision_on_this_machine_is_a_downgrade():
    d = _decision()
    assert d["action"] == "downgrade" and d["installed_branch"] == "595"
    assert d["forced_by"] == [f"GeForce GTX 1080 Ti is Pascal; {d['branch']} is its last branch"]


def test_without_consent_the_live_preflight_stops_before_any_role(tmp_path):
    rc, doc = _run(_inventory(tmp_path, {}), tmp_path)
    results = _results(doc)
    assert rc != 0
    live = results[LIVE]
    assert live["failed"] is True
    branch = _decision()["branch"]
    assert f"driver: driver 595 → {branch} is a downgrade (GeForce GTX 1080 Ti is Pascal" in live["msg"]
    assert "nvidia_driver_allow_downgrade: true" in live["msg"]
    assert not any(_ran(results, r) for r in ("nvidia_driver", "cuda", "pytorch_env", "tensorflow_env"))


def test_with_consent_the_driver_cuda_and_the_pytorch_environment_change(tmp_path):
    decision = _decision()
    before = decision["before"]
    cu13 = {"python": before["python"] + ".2", "torch": f"{before['torch']}+{before['torch_cuda_variant']}",
            "torchvision": before["torchvision"], "fastai": before["fastai"]}
    inventory = _inventory(tmp_path, {
        "nvidia_driver_allow_downgrade": True,
        "pytorch_env_python": _fake_env(tmp_path, "pytorch", cu13, NCCL_OK),
    })
    rc, doc = _run(inventory, tmp_path)
    results = _results(doc)
    assert rc == 0, json.dumps(doc["stats"])
    assert results[LIVE]["verdict"] == "ok"
    assert _ran(results, "nvidia_driver") and _ran(results, "cuda") and _ran(results, "pytorch_env")
    summary = _summary(results)
    assert summary["driver"]["action"] == "downgrade" and summary["driver"]["branch"] == decision["branch"]
    assert summary["driver"]["consent"] == "nvidia_driver_allow_downgrade: true"
    assert summary["driver"]["forced_by"] == decision["forced_by"]
    after = decision["stack"]
    variant = f"torch_cuda_variant {before['torch_cuda_variant']} -> {after['torch_cuda_variant']}"
    assert variant in summary["envs"]["pytorch"]
    text = "\n".join(summary["lines"])
    assert f"Driver: downgrade to branch {decision['branch']} (was {INSTALLED}" in text
    assert "(consent: nvidia_driver_allow_downgrade: true)" in text
