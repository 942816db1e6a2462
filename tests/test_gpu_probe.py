"""roles/gpu_verify/files/gpu_probe.py: stable report figures and failures reported, not raised."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path

import pytest
from hwfixtures import PROJECT

PROBE = PROJECT / "roles/gpu_verify/files/gpu_probe.py"
spec = importlib.util.spec_from_file_location("gpu_probe_under_test", PROBE)
assert spec and spec.loader
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)


def gpu(fp32: float, fp16: float, h2d: float) -> dict[str, object]:
    return {
        "index": 0,
        "name": "NVIDIA GeForce RTX 2070",
        "fp32_tflops": fp32,
        "fp16_tflops": fp16,
        "h2d_gbps": h2d,
        "error": None,
    }


def previous(tmp_path: Path, *gpus: dict[str, object]) -> Path:
    path = tmp_path / "verify-report.json"
    path.write_text(json.dumps({"frameworks": {"pytorch": {"gpus": list(gpus)}}}))
    return path


def test_figures_within_the_tolerance_keep_the_reported_ones(tmp_path):
    result = {"gpus": [gpu(6.5, 31.0, 12.3)]}
    probe.stabilise(result, str(previous(tmp_path, gpu(6.9, 29.8, 12.1))), "pytorch", 15)
    (g,) = result["gpus"]
    assert (g["fp32_tflops"], g["fp16_tflops"], g["h2d_gbps"]) == (6.9, 29.8, 12.1)
    assert g["measured"] == {"fp32_tflops": 6.5, "fp16_tflops": 31.0, "h2d_gbps": 12.3}


def test_a_real_change_replaces_the_figure(tmp_path):
    result = {"gpus": [gpu(6.9, 29.8, 3.1)]}  # moved to an x4 riser: a quarter of the bandwidth
    probe.stabilise(result, str(previous(tmp_path, gpu(6.9, 29.8, 12.1))), "pytorch", 15)
    assert result["gpus"][0]["h2d_gbps"] == 3.1


def test_no_or_unreadable_previous_report_keeps_the_measurement(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    for path in (tmp_path / "missing.json", tmp_path / "bad.json"):
        result = {"gpus": [gpu(6.5, 31.0, 12.3)]}
        probe.stabilise(result, str(path), "pytorch", 15)
        assert result["gpus"][0]["fp32_tflops"] == 6.5


def test_stable_view_drops_per_run_figures():
    result = {
        "framework": "torch",
        "traceback": "...",
        "cpu": {"fp32_ok": True, "fp32_gflops": 31.8},
        "gpus": [dict(gpu(1, 2, 3), measured={"fp32_tflops": 1})],
    }
    view = probe.stable_view(result)
    assert view["cpu"] == {"fp32_ok": True}
    assert "measured" not in view["gpus"][0] and "traceback" not in view


def test_a_missing_framework_is_reported_in_json(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # import fails as in an environment without it
    assert probe.main(["--framework", "tensorflow"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("DLRIG_PROBE_JSON ")
    out = json.loads(line.removeprefix("DLRIG_PROBE_JSON "))
    assert (
        out["error"].split(":")[0] in {"ImportError", "ModuleNotFoundError"}
        and out["device_count"] == 0
        and out["gpus"] == []
    )
    assert out["stable"]["error"] == out["error"]


@pytest.mark.parametrize("version", [(3, 6), (3, 8)])
def test_probe_parses_on_old_pythons(version):
    ast.parse(PROBE.read_text(), feature_version=version)
