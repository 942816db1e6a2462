"""``--live``: detection over Ansible (dlrig.upgrade.live) and the live report, with the
detection fixtures of tests/fixtures/hw standing in for the boxes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from clirun import run_cli

from dlrig.errors import InputError
from dlrig.plan.parse import parse_host
from dlrig.upgrade.live import (
    DETECT_ARGS,
    Detection,
    DetectionError,
    build_command,
    detect,
    detection_env,
    live_document,
    live_host,
    parse_json_output,
)

ROOT = Path(__file__).resolve().parent.parent
HW = ROOT / "tests" / "fixtures" / "hw"
REFERENCE = yaml.safe_load((ROOT / "inventory" / "host_vars" / "deep-al.yml").read_text())
HAVE_ANSIBLE = Path(sys.executable).with_name("ansible").exists() and Path("/usr/bin/python3").exists()
needs_ansible = pytest.mark.skipif(not HAVE_ANSIBLE, reason="needs the controller venv's ansible")


# --- parsing the json callback's output (no Ansible run) ---------------------------------------------

def _callback(hosts: dict) -> str:
    return json.dumps({"plays": [{"play": {"name": "Ansible Ad-Hoc"},
                                  "tasks": [{"task": {"name": "dlrig.rig.hardware_facts"}, "hosts": hosts}]}],
                       "stats": {h: {} for h in hosts}})


def test_parse_facts_unreachable_and_failed_hosts():
    out = parse_json_output("some warning printed first\n" + _callback({
        "good": {"changed": False, "ansible_facts": {"dlrig_hardware": {"gpus": [], "ram_gb": 15.6}}},
        "down": {"unreachable": True, "msg": "Failed to connect to the host via ssh: Connection refused"},
        "broken": {"failed": True, "msg": "MODULE FAILURE", "module_stderr": "boom"},
        "odd": {"changed": False, "ansible_facts": {}},
    }))
    assert out["good"].ok and out["good"].facts == {"gpus": [], "ram_gb": 15.6}
    assert out["down"].unreachable and out["down"].error == (
        "unreachable: Failed to connect to the host via ssh: Connection refused")
    assert out["broken"].error == "hardware detection failed: MODULE FAILURE"
    assert out["odd"].error == "the module returned no 'dlrig_hardware' facts"


def test_unreadable_output_is_a_detection_error():
    with pytest.raises(DetectionError, match="could not read the output"):
        parse_json_output("ERROR! the playbook could not be parsed")


def test_command_and_environment():
    cmd = build_command(["inv"], "box", {"sysfs_root": "/x"}, become=True, ansible="/bin/ansible")
    assert cmd[:4] == ["/bin/ansible", "box", "-m", "dlrig.rig.hardware_facts"]
    assert cmd[4:6] == ["-i", str(Path("inv").resolve())]
    assert json.loads(cmd[cmd.index("-a") + 1]) == {"sysfs_root": "/x"}
    assert cmd[-1] == "--become"
    env = detection_env({"ANSIBLE_COLLECTIONS_PATH": "/elsewhere"})
    assert env["ANSIBLE_STDOUT_CALLBACK"] == "ansible.posix.json"
    assert env["ANSIBLE_CALLBACKS_ENABLED"] == ""          # profile_tasks would break the JSON
    assert env["ANSIBLE_COLLECTIONS_PATH"].split(":") == [str(ROOT / "collections"), "/elsewhere"]


def test_a_failed_detection_is_a_failing_check():
    plan = parse_host("box", {"hardware": REFERENCE["hardware"]})
    checks = live_host(plan, None, error="unreachable: no route to host", unreachable=True)["checks"]
    assert checks == [{"id": "detect", "status": "fail", "unreachable": True,
                       "message": "could not detect the hardware: unreachable: no route to host"}]


def test_a_runner_that_prints_nothing_is_explained():
    def runner(cmd, env, timeout):
        stderr = "[WARNING]: Could not match supplied host pattern, ignoring: x"
        return subprocess.CompletedProcess(cmd, 1, "", stderr)

    with pytest.raises(InputError, match="no host of the inventory matches 'x'"):
        detect(["inv"], "x", runner=runner)


# --- a real ad-hoc run against localhost, pointed at the fixtures ------------------------------------

def _inventory(tmp_path: Path, boxes: dict[str, tuple[str, int, int]], unreachable: bool = False) -> Path:
    """boxes: host -> (fixture, declared RTX 2070 count, declared RAM GB)."""
    hosts: dict = {}
    for name, (fixture, count, ram) in boxes.items():
        hardware = json.loads(json.dumps(REFERENCE["hardware"]))
        hardware["gpus"][0]["count"] = count
        hardware["memory"]["gb"] = ram
        hosts[name] = {
            "ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
            "live_preflight_sysfs_root": str(HW / fixture / "root"),
            "live_preflight_nvidia_smi": str(HW / fixture / "bin" / "nvidia-smi"),
            "live_preflight_lspci": str(HW / fixture / "bin" / "lspci"),
            "live_preflight_df": str(HW / fixture / "bin" / "df"),
            "hardware": hardware, "power": REFERENCE["power"], "os": REFERENCE["os"],
        }
    if unreachable:
        hosts["gone"] = {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_connection": "ssh",
                         "ansible_ssh_common_args": "-o ConnectTimeout=3 -o StrictHostKeyChecking=no",
                         "hardware": REFERENCE["hardware"]}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    return path


@needs_ansible
def test_live_report_over_ansible(tmp_path):
    inventory = _inventory(tmp_path, {
        "two": ("two-gpus", 2, 32),        # as declared
        "riser": ("x4-riser", 1, 16),      # the card sits on an x4 riser
        "lost": ("fell-off-bus", 2, 32),   # one of two cards fell off the bus
        "missing": ("rtx2070", 2, 16),     # a declared card is not in the box
    }, unreachable=True)
    code, out, err = run_cli(["-i", str(inventory), "--live", "--format", "json"])
    assert code == 1, err
    hosts = {h["name"]: h for h in json.loads(out)["hosts"]}
    assert set(hosts) == {"two", "riser", "lost", "missing", "gone"}

    two = hosts["two"]
    assert two["verdict"] == "ok"
    assert [c["id"] for c in two["checks"]] == ["gpu_count", "pcie_link", "ram", "disk_space"]
    assert [g["pci_address"] for g in two["detected"]["gpus"]] == ["0000:0a:00.0", "0000:42:00.0"]
    assert two["detected"]["driver_version"] == "535.183.01"

    riser = {c["id"]: c for c in hosts["riser"]["checks"]}
    assert hosts["riser"]["verdict"] == "warn"
    assert riser["pcie_link"]["status"] == "warn" and "check the riser/slot" in riser["pcie_link"]["message"]

    lost = {c["id"]: c for c in hosts["lost"]["checks"]}
    assert lost["gpu_count"]["status"] == "fail"
    assert "0000:0a:00.0" in lost["gpu_count"]["message"] and "not answering" in lost["gpu_count"]["message"]

    missing = {c["id"]: c for c in hosts["missing"]["checks"]}
    assert "declared 2× GeForce RTX 2070, detected 1" in missing["gpu_count"]["message"]

    gone = hosts["gone"]
    assert gone["reachable"] is False and gone["verdict"] == "fail" and gone["detected"] is None
    assert gone["checks"][0]["message"].startswith("could not detect the hardware: unreachable:")


@needs_ansible
def test_live_checks_free_disk_space_from_the_detected_mounts(tmp_path):
    """Detection reads each file system's free space (df, here the fixtures' double); --live judges it against
    the resolved stack: the reference build with a full root fails, saying how much is missing where."""
    inventory = _inventory(tmp_path, {"full": ("small-disk", 1, 16), "roomy": ("rtx2070", 1, 16)})
    code, out, err = run_cli(["-i", str(inventory), "--live", "--format", "json"])
    assert code == 1, err
    hosts = {h["name"]: {c["id"]: c for c in h["checks"]} for h in json.loads(out)["hosts"]}
    full, roomy = hosts["full"]["disk_space"], hosts["roomy"]["disk_space"]
    assert full["status"] == "fail" and roomy["status"] == "ok", (full, roomy)
    root = full["file_systems"]["/"]
    assert root["free_bytes"] == 100_000_000                       # tests/fixtures/hw/small-disk/df.txt
    assert root["needed_bytes"] > root["free_bytes"]
    missing = (root["needed_bytes"] - root["free_bytes"]) / 1e9
    assert full["message"].startswith(f"{missing:.1f} GB missing at /: the run writes ")
    assert "/opt/dlrig/envs" in full["message"] and "python_env_prefix" in full["message"]
    assert roomy["file_systems"]["/"]["free_bytes"] == 212301443072
    # The text report shows it as a host's failing check.
    code, text, _ = run_cli(["-i", str(inventory), "--live", "--limit", "full"])
    assert code == 1 and f"FAIL disk_space {missing:.1f} GB missing at /" in text


@needs_ansible
def test_live_text_report_and_limit(tmp_path):
    inventory = _inventory(tmp_path, {"two": ("two-gpus", 2, 32), "missing": ("rtx2070", 2, 16)})
    code, out, _ = run_cli(["-i", str(inventory), "--limit", "two", "--live"])
    assert code == 0
    assert "two  OK  (live)" in out
    assert "0000:42:00.0  GeForce RTX 2070" in out
    assert "driver 535.183.01" in out
    assert "missing" not in out
    assert out.rstrip().endswith("1 host(s), live: 1 ok, 0 warn, 0 fail")


def test_live_and_what_if_together_is_bad_input(tmp_path):
    code, _, err = run_cli(["--live", "--what-if", "memory=64"])
    assert code == 2
    assert "use --live (what is in the box now) or --what-if (a plan), not both" in err


def test_live_with_a_detector_double():
    """live_document without Ansible: the detector is injected."""
    hosts = [("box", {"hardware": REFERENCE["hardware"]})]

    def detector(inventories, pattern, names, module_args, become):
        assert module_args == DETECT_ARGS and names == ["box"]
        return {"box": Detection("box", error="hardware detection failed: nvidia-smi hung")}

    doc = live_document(hosts, ["inv"], None, detector=detector)
    assert doc["mode"] == "live"
    assert doc["hosts"][0]["verdict"] == "fail"
    assert doc["hosts"][0]["checks"][0]["id"] == "detect"
