"""gpu_probe.py --reuse (issue 11): an unchanged host and environment reuse the report's passing result
without importing the framework; anything changed, a failure before, or no --reuse measures again."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from hwfixtures import PROJECT

PROBE = PROJECT / "roles/gpu_verify/files/gpu_probe.py"
spec = importlib.util.spec_from_file_location("gpu_probe_reuse_under_test", PROBE)
assert spec and spec.loader
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)

SIZES = argparse.Namespace(size=4096, cpu_size=512, copy_mib=256)
# A framework no Python here has: a probe that really runs reports an import error.
FRAMEWORK = "torch"


def _run(tmp_path: Path, *extra: str) -> dict:
    out = subprocess.run(
        [sys.executable, str(PROBE), "--framework", FRAMEWORK, "--previous", str(tmp_path / "report.json"),
         "--env", "pytorch", *extra],
        capture_output=True, text=True, check=True).stdout
    return json.loads(out.split("DLRIG_PROBE_JSON ", 1)[1])


def _report(tmp_path: Path, fingerprint: str, error: str | None = None) -> None:
    view = {"framework": "torch", "version": "2.14.1", "device_count": 0, "error": error, "gpus": [],
            "cpu": {"fp32_ok": True}, "fingerprint": fingerprint, "python_path": "/x/bin/python",
            "installed": True}
    (tmp_path / "report.json").write_text(json.dumps({"frameworks": {"pytorch": view}}))


def test_an_unchanged_host_and_environment_reuse_the_report_without_importing_the_framework(tmp_path):
    _report(tmp_path, probe.fingerprint("facts-1", FRAMEWORK, SIZES))
    result = _run(tmp_path, "--host-facts", "facts-1", "--reuse", "yes")
    assert result["reused"] is True and result["version"] == "2.14.1" and result["error"] is None
    # The report's view comes back as it was: the role writes an unchanged report.
    assert result["stable"]["fingerprint"] == probe.fingerprint("facts-1", FRAMEWORK, SIZES)
    assert "python_path" not in result["stable"] and "installed" not in result["stable"]


def test_a_changed_host_a_failed_earlier_result_or_no_reuse_measure_again(tmp_path):
    _report(tmp_path, probe.fingerprint("facts-1", FRAMEWORK, SIZES))
    changed = _run(tmp_path, "--host-facts", "facts-2", "--reuse", "yes")   # e.g. another driver or GPU
    forced = _run(tmp_path, "--host-facts", "facts-1", "--reuse", "no")  # gpu_verify_reuse: false
    _report(tmp_path, probe.fingerprint("facts-1", FRAMEWORK, SIZES), error="ImportError: earlier")
    failed_before = _run(tmp_path, "--host-facts", "facts-1", "--reuse", "yes")
    for result in (changed, forced, failed_before):
        assert "reused" not in result
        # Measured for real here (no torch in this Python): the import error is this run's finding.
        assert result["error"] and result["stable"]["fingerprint"]


def test_the_fingerprint_follows_the_environment_the_framework_and_the_sizes():
    base = probe.fingerprint("facts", "torch", SIZES)
    assert probe.fingerprint("facts", "torch", SIZES) == base
    assert probe.fingerprint("facts", "tensorflow", SIZES) != base
    smaller = argparse.Namespace(size=2048, cpu_size=512, copy_mib=256)
    assert probe.fingerprint("facts", "torch", smaller) != base
    assert probe.fingerprint("other", "torch", SIZES) != base
