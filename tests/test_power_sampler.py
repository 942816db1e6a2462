"""gpu_verify's power sampler (roles/gpu_verify/files/power_sampler.py, issue 12) against an nvidia-smi test
double on PATH (tests/fixtures/power/bin/nvidia-smi) and a fake RAPL tree: no GPU needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLER = ROOT / "roles/gpu_verify/files/power_sampler.py"
FAKE = ROOT / "tests/fixtures/power"


def sample(tmp_path: Path, *args: str, rapl: bool = False, **env: str) -> dict:
    samples = tmp_path / "samples.csv"
    samples.write_text((FAKE / "two-gpus.csv").read_text())
    stop = tmp_path / "stop"
    environment = dict(os.environ, PATH=f"{FAKE / 'bin'}{os.pathsep}{os.environ['PATH']}",
                       DLRIG_FAKE_SMI_SAMPLES=str(samples), DLRIG_FAKE_SMI_STOP=str(stop), **env)
    powercap = tmp_path / "powercap"
    if rapl:
        zone = powercap / "intel-rapl:0"
        zone.mkdir(parents=True)
        (zone / "name").write_text("package-0\n")
        (zone / "energy_uj").write_text("1000\n")
        (zone / "max_energy_range_uj").write_text("262143328850\n")
        (powercap / "intel-rapl:0:0").mkdir()  # a sub-zone (core): not counted
        environment["DLRIG_FAKE_RAPL"] = str(zone / "energy_uj")
    run = subprocess.run([sys.executable, str(SAMPLER), "--stop-file", str(stop), "--interval", "0.05",
                          "--max-seconds", "20", "--powercap-root", str(powercap), *args],
                         env=environment, capture_output=True, text=True, timeout=60, check=True)
    (line,) = [x for x in run.stdout.splitlines() if x.startswith("DLRIG_POWER_JSON ")]
    return json.loads(line.split(" ", 1)[1])


def test_per_gpu_peak_mean_limit_temperature_and_throttle_reasons(tmp_path):
    power = sample(tmp_path)
    assert power["error"] is None and power["samples"] == 4
    first, second = power["gpus"]
    assert (first["index"], first["name"]) == (0, "NVIDIA GeForce RTX 2080")
    # peak of every sample; mean of the loaded ones (the idle sample before the load does not count,
    # an [N/A] reading is skipped)
    assert (first["peak_w"], first["mean_w"], first["samples"]) == (221.5, 220.4, 3)
    assert (second["peak_w"], second["mean_w"], second["samples"]) == (238.2, 229.6, 4)
    assert first["limit_w"] == second["limit_w"] == 225.0
    assert (first["peak_temp_c"], second["peak_temp_c"]) == (75, 89)
    assert first["throttle_reasons"] == []  # gpu_idle is not a finding
    assert second["throttle_reasons"] == ["sw_power_cap", "sw_thermal_slowdown"]  # 0x4, 0x24, 0x20


def test_rapl_package_power_when_readable_and_a_note_when_not(tmp_path):
    power = sample(tmp_path, rapl=True)
    assert power["cpu_package"]["samples"] >= 1 and power["cpu_package"]["peak_w"] > 0
    assert power["cpu_package_note"] is None
    other = tmp_path / "other"
    other.mkdir()
    without = sample(other)
    assert without["cpu_package"] is None and "RAPL not readable" in without["cpu_package_note"]


def test_the_newer_field_name_is_used_when_the_driver_dropped_the_old_one(tmp_path):
    power = sample(tmp_path, DLRIG_FAKE_SMI_NEW_ONLY="1")
    assert power["error"] is None and power["gpus"][1]["throttle_reasons"] == ["sw_power_cap",
                                                                               "sw_thermal_slowdown"]


def test_no_nvidia_smi_answer_is_an_error_not_a_crash(tmp_path):
    power = sample(tmp_path, "--nvidia-smi", str(tmp_path / "absent-nvidia-smi"))
    assert power["gpus"] == [] and "nvidia-smi" in power["error"]


@pytest.mark.parametrize(("drift", "kept"), [(1.05, True), (1.5, False)])
def test_an_unchanged_machine_keeps_the_reported_figures(tmp_path, drift, kept):
    first = sample(tmp_path)
    previous = dict(first, gpus=[dict(g, peak_w=round(g["peak_w"] * drift, 1)) for g in first["gpus"]])
    report = tmp_path / "verify-report.json"
    report.write_text(json.dumps({"power": previous}))
    (tmp_path / "samples.csv.pos").unlink()
    (tmp_path / "stop").unlink()
    again = sample(tmp_path, "--previous", str(report), "--tolerance", "15")
    assert (again == previous) is kept
