"""The gpu_verify role run by ansible-playbook on this machine, playing a GPU host from the fixtures.

The hardware detection reads a fixture tree (gpu_verify_sysfs_root) and replays captured lspci and
nvidia-smi output; each framework environment is a stand-in that prints a canned probe result
(tests/fixtures/hw/<case>/bin/env-python). The report goes to a temporary directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hwfixtures import FIXTURES, PROJECT
from tools import play_on_localhost, tool

PLAYBOOK = """\
- name: Verify the host (test)
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: gpu_verify
"""

pytestmark = [
    pytest.mark.skipif(
        not hasattr(os, "geteuid") or os.geteuid() != 0, reason="the role writes root-owned files"
    ),
    pytest.mark.skipif(tool("ansible-playbook") is None, reason="ansible-playbook is not installed"),
]


def converge(tmp_path: Path, case: str, gpus: list[dict[str, Any]], frameworks: tuple[str, ...], *extra: str):
    top = FIXTURES / case
    envs = [
        {"name": "pytorch" if fw == "torch" else fw, "framework": fw, "python": str(top / "bin/env-python")}
        for fw in frameworks
    ]
    variables = {
        "hardware": {"gpus": gpus},
        "gpu_verify_envs": envs,
        "gpu_verify_report_dir": str(tmp_path / "report"),
        "gpu_verify_sysfs_root": str(top / "root"),
        "gpu_verify_lspci": str(top / "bin/lspci"),
        "gpu_verify_nvidia_smi": str(top / "bin/nvidia-smi"),
        "gpu_verify_nvcc": str(tmp_path / "no-nvcc"),
        "ansible_python_interpreter": "/usr/bin/python3"
        if Path("/usr/bin/python3").exists()
        else sys.executable,
    }
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    return play_on_localhost(PROJECT, tmp_path / "play.yml", tmp_path / "vars.json", *extra)


def recap(run: subprocess.CompletedProcess[str]) -> dict[str, int]:
    match = re.search(
        r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", run.stdout
    )
    assert match, run.stdout + run.stderr
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()), strict=True))


RTX2070 = [{"model": "GeForce RTX 2070", "count": 1}]


def test_one_gpu_host_passes_and_reports_everything_then_changes_nothing(tmp_path):
    first = converge(tmp_path, "rtx2070", RTX2070, ("torch", "tensorflow"))
    assert recap(first)["failed"] == 0, first.stdout
    text = (tmp_path / "report/verify-report.txt").read_text()
    data = json.loads((tmp_path / "report/verify-report.json").read_text())
    assert data["verdict"] == "pass" and data["problems"] == []
    assert data["expected_gpus"] == 1
    assert data["system"]["driver_version"] == "530.30.02"
    (gpu,) = data["gpus"]
    assert (gpu["pci_address"], gpu["link_width"], gpu["link_max_gen"], gpu["power_limit_w"]) == (
        "0000:0a:00.0",
        16,
        3,
        185.0,
    )
    assert data["frameworks"]["pytorch"]["gpus"][0]["fp16_tflops"] == 29.8
    assert "measured" not in data["frameworks"]["pytorch"]["gpus"][0]  # per-run figures stay in the log
    for expected in (
        "Verdict: PASS",
        "NVIDIA driver   530.30.02",
        "NVIDIA GeForce RTX 2070  8192 MiB",
        "PCIe  x16 of x16, gen 3 (8.0 GT/s), 15.8 GB/s",
        "Power limit 185 W (allowed 125–215 W",
        "pytorch: torch 2.5.1+cu121, fastai 2.7.18, built for CUDA 12.1, cuDNN 90100",
        "tensorflow: tensorflow 2.15.1, keras 2.15.0",
        "fp32 6.9 TFLOPS, fp16 29.8 TFLOPS",
        "host→device 12.1 GB/s (pinned)",
        "CUDA toolkit    not installed",
    ):
        assert expected in text, text
    assert text.splitlines()[0].startswith("# managed by dlrig")

    second = converge(tmp_path, "rtx2070", RTX2070, ("torch", "tensorflow"))
    assert recap(second) | {"ok": 0} == {"ok": 0, "changed": 0, "unreachable": 0, "failed": 0}, second.stdout

    check = converge(tmp_path, "rtx2070", RTX2070, ("torch", "tensorflow"), "--check")
    assert recap(check)["changed"] == 0, check.stdout


def test_a_declared_gpu_that_fell_off_the_bus_fails_after_writing_the_report(tmp_path):
    run = converge(tmp_path, "fell-off-bus", [{"model": "GeForce RTX 2070", "count": 2}], ("torch",))
    assert recap(run)["failed"] == 1
    assert (
        "hardware.gpus declares 2 GPUs, the host shows 1 (0000:42:00.0); 1 declared GPU is missing; "
        "0000:0a:00.0 is on the bus but not answering" in run.stdout
    )
    data = json.loads((tmp_path / "report/verify-report.json").read_text())
    assert data["verdict"] == "fail"
    assert "pytorch: torch sees 1 GPU(s), hardware.gpus declares 2" in data["problems"]
    assert "NOT ANSWERING: config space reads all ones" in (tmp_path / "report/verify-report.txt").read_text()


def test_host_without_gpus_passes_when_none_is_declared(tmp_path):
    run = converge(tmp_path, "no-gpu", [], ("torch",))
    assert recap(run)["failed"] == 0, run.stdout
    data = json.loads((tmp_path / "report/verify-report.json").read_text())
    assert data["verdict"] == "pass" and data["gpus"] == []
    assert "Ask nvidia-smi which CUDA version" in run.stdout and "skipping: [localhost]" in run.stdout
    assert "no GPU: fp32 matmul on the CPU ran" in (tmp_path / "report/verify-report.txt").read_text()


def test_host_without_gpus_fails_when_one_is_declared(tmp_path):
    run = converge(tmp_path, "no-gpu", RTX2070, ("torch",))
    assert recap(run)["failed"] == 1
    assert (
        "the NVIDIA driver does not answer (NVIDIA-SMI has failed because it couldn't communicate"
        in run.stdout
    )
    assert "hardware.gpus declares 1 GPU, the host shows 0; 1 declared GPU is missing" in run.stdout


def test_missing_environment_is_named(tmp_path):
    run = converge(
        tmp_path,
        "no-gpu",
        [],
        ("torch",),
        "-e",
        json.dumps(
            {
                "gpu_verify_envs": [
                    {"name": "pytorch", "framework": "torch", "python": "/nonexistent/bin/python"}
                ]
            }
        ),
    )
    assert recap(run)["failed"] == 1
    assert "pytorch: no interpreter at /nonexistent/bin/python" in run.stdout


def test_check_mode_on_an_unprovisioned_host_reports_instead_of_failing(tmp_path):
    # A --check run before the first provisioning: no driver answers, no environment exists yet. The
    # run says so and passes (a real run installs first); it writes no report.
    missing_env = json.dumps(
        {"gpu_verify_envs": [{"name": "pytorch", "framework": "torch", "python": "/nonexistent/bin/python"}]}
    )
    check = converge(tmp_path, "no-gpu", RTX2070, ("torch",), "-e", missing_env, "--check")
    assert recap(check)["failed"] == 0, check.stdout
    assert "check mode, the host as it is before this run" in check.stdout
    assert "the NVIDIA driver does not answer" in check.stdout
    assert "pytorch: no interpreter at /nonexistent/bin/python" in check.stdout
    assert not (tmp_path / "report").exists()

    real = converge(tmp_path, "no-gpu", RTX2070, ("torch",), "-e", missing_env)
    assert recap(real)["failed"] == 1


@pytest.fixture(autouse=True)
def _no_leftover_reports(tmp_path):
    yield
    shutil.rmtree(tmp_path / "report", ignore_errors=True)


def test_the_report_holds_the_power_measured_under_the_probes_load(tmp_path):
    # issue 12: the sampler queries an nvidia-smi test double (one RTX 2070 at 192.4 W against its 185 W
    # limit, throttled by the power cap); RAPL is not readable under the empty powercap root given here.
    double = PROJECT / "tests/fixtures/power/bin/nvidia-smi"
    power_vars = json.dumps({"gpu_verify_power_nvidia_smi": str(double),
                             "gpu_verify_powercap_root": str(tmp_path / "no-powercap"),
                             "gpu_verify_power_interval": 0.1})
    run = converge(tmp_path, "rtx2070", RTX2070, ("torch",), "-e", power_vars)
    assert recap(run)["failed"] == 0, run.stdout
    data = json.loads((tmp_path / "report/verify-report.json").read_text())
    (gpu,) = data["power"]["gpus"]
    assert (gpu["name"], gpu["peak_w"], gpu["mean_w"], gpu["limit_w"], gpu["peak_temp_c"]) == (
        "NVIDIA GeForce RTX 2070", 192.4, 192.4, 185.0, 77)
    assert gpu["throttle_reasons"] == ["sw_power_cap"] and data["power"]["error"] is None
    assert data["power"]["cpu_package"] is None and "RAPL not readable" in data["power"]["cpu_package_note"]
    text = (tmp_path / "report/verify-report.txt").read_text()
    assert "GPU 0 NVIDIA GeForce RTX 2070: peak 192.4 W, mean 192.4 W, limit 185.0 W; peak 77" in text
    assert "throttled: sw_power_cap" in text
    again = converge(tmp_path, "rtx2070", RTX2070, ("torch",), "-e", power_vars)
    assert recap(again)["changed"] == 0, again.stdout  # the same figures: the report is kept
