"""The cluster preflight (dlrig.cluster, issue 14): Slurm compatibility by release, torch build, summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlrig.cluster import check_cluster, compatible, main

GPU = {"model": "GeForce RTX 2070", "count": 1, "watts": 185, "vram_gb": 8}
BOX = {
    "cpu": {"model": "x", "watts": 180, "pcie_lanes": 64},
    "memory": {"gb": 32, "watts": 11},
    "gpus": [GPU],
    "psu": {"watts": 1000, "efficiency": "platinum"},
}


def _hv(
    dist: str, rel: str, gpus: list[dict[str, object]] | None = None, torch: str = "2.13.0"
) -> dict[str, object]:
    return {
        "os": {"distribution": dist, "release": rel},
        "stack": {"torch": torch},
        "hardware": {**BOX, "gpus": gpus if gpus is not None else [GPU]},
    }


def test_compatibility_window() -> None:
    assert compatible("22.05.8", "21.08.5")[0]
    assert compatible("22.05.8", "20.11.4")[0]
    ok, why = compatible("22.05.8", "17.11.2")
    assert not ok and "behind" in why
    ok, why = compatible("22.05.8", "23.11.4")
    assert not ok and "newer" in why
    assert compatible("24.11.5", "23.11.4")[0]  # three back from 24.11 on
    assert not compatible("23.11.4", "20.11.4")[0]


def test_ubuntu_1804_cannot_join_debian_12() -> None:
    report = check_cluster(
        {"slurm_controller": ["ctl"], "slurm_nodes": ["old", "new"]},
        {"ctl": _hv("Debian", "12"), "old": _hv("Ubuntu", "18.04"), "new": _hv("Debian", "12")},
    )
    by_host = {c["host"]: c for c in report.checks if c["id"] == "slurm_version"}
    assert by_host["old"]["status"] == "fail" and "17.11.2" in by_host["old"]["message"]
    assert "slurm.schedmd.com/upgrades.html" in by_host["old"]["message"]
    assert by_host["new"]["status"] == "ok"
    assert report.status == "fail"


def test_summary_and_torch_build() -> None:
    report = check_cluster(
        {"slurm_controller": ["a"], "slurm_nodes": ["a", "b"]},
        {"a": _hv("Debian", "12"), "b": _hv("Debian", "12", [{**GPU, "count": 2}], torch="2.14.1")},
    )
    doc = report.as_json()
    assert doc["summary"]["gpus_by_model"] == {"GeForce RTX 2070": 3}
    assert doc["summary"]["vram_gb"] == 24
    assert doc["summary"]["wall_w_peak"] > 2 * (180 + 11 + 185)
    torch = next(c for c in report.checks if c["id"] == "torch_build")
    assert torch["status"] == "fail" and "2.14.1" in torch["message"]
    assert "3 in all" in report.as_text()


def test_groups_missing_is_a_failure() -> None:
    report = check_cluster({"slurm_nodes": ["b"]}, {})
    assert report.status == "fail" and report.checks[0]["id"] == "cluster_groups"


def test_cli_json_and_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inv = {
        "_meta": {"hostvars": {"a": _hv("Debian", "12"), "b": _hv("Debian", "12")}},
        "slurm_controller": {"hosts": ["a"]},
        "slurm_nodes": {"hosts": ["a", "b"]},
    }
    path = tmp_path / "inv.json"
    path.write_text(json.dumps(inv))
    assert main([str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["nodes"] == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main([str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.json" in err
