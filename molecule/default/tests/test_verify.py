"""gpu_verify on the no-GPU Molecule target: the report is written, names the versions, and passes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import run_ok

REPORT_DIR = "/var/lib/dlrig"


def env_python(inventory_vars: dict[str, Any], name: str) -> str:
    explicit = inventory_vars.get(f"{name}_env_python")
    if explicit:
        return str(explicit)
    prefix = inventory_vars.get(f"{name}_env_prefix", "/opt/dlrig/envs")
    return f"{prefix}/{inventory_vars.get(f'{name}_env_name', name)}/bin/python"


@pytest.fixture
def report_json(host) -> dict[str, Any]:
    report = host.file(f"{REPORT_DIR}/verify-report.json")
    assert report.exists, "gpu_verify wrote no JSON report"
    return json.loads(report.content_string)


@pytest.fixture
def report_text(host) -> str:
    report = host.file(f"{REPORT_DIR}/verify-report.txt")
    assert report.exists, "gpu_verify wrote no report"
    assert (report.user, report.group, report.mode) == ("root", "root", 0o644)
    return str(report.content_string)


def test_report_is_managed_and_has_no_timestamp(report_text):
    first = report_text.splitlines()[0]
    assert first.startswith("#") and "managed by dlrig" in first
    # No date in it: an unchanged host must get an unchanged report (idempotence).
    assert "2026-" not in report_text and "UTC" not in report_text


def test_no_gpu_inventory_passes(report_json, report_text, gpu_count):
    assert gpu_count == 0
    assert report_json["expected_gpus"] == 0
    assert report_json["verdict"] == "pass", report_json["problems"]
    assert report_json["problems"] == []
    assert "Verdict: PASS" in report_text
    assert report_json["gpus"] == []  # the container has no NVIDIA device


@pytest.mark.parametrize(("env", "module"), [("pytorch", "torch"), ("tensorflow", "tensorflow")])
def test_report_names_the_framework_versions(host, inventory_vars, report_json, report_text, env, module):
    python = env_python(inventory_vars, env)
    version = run_ok(host, f"{python} -c 'import {module}; print({module}.__version__)'").strip()
    fw = report_json["frameworks"][env]
    assert fw["installed"] is True and fw["error"] is None, fw
    assert fw["framework"] == module
    assert fw["version"] == version
    assert fw["device_count"] == 0 and fw["gpus"] == []
    assert fw["cpu"] == {"fp32_ok": True}  # the CPU matmul ran
    assert f"{env}: {module} {version}" in report_text


def test_report_names_driver_cuda_and_cudnn_lines(report_json, report_text):
    system = report_json["system"]
    assert system["driver_answers"] is False  # no GPU, no driver answering: skipped, not failed
    for label in ("NVIDIA driver", "CUDA toolkit", "cuDNN", "Kernel", "Secure Boot"):
        assert label in report_text
    assert system["kernel"]
