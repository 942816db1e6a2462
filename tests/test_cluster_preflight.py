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


# --- the cluster section of `bin/dlrig preflight` (the plan report, text and JSON) ---

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cluster" / "hosts.yml"


def _valid(document: dict[str, object]) -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads((EXAMPLE.parents[2] / "docs" / "preflight.schema.json").read_text())
    validator = Draft202012Validator(schema)
    errors = [f"{list(e.path)}: {e.message[:160]}" for e in validator.iter_errors(document)]
    assert errors == []


def test_preflight_report_has_the_cluster_section_in_json_and_text() -> None:
    from clirun import run_cli

    code, out, err = run_cli(["-i", str(EXAMPLE), "--format", "json"])
    assert code == 0, err
    document = json.loads(out)
    _valid(document)
    cluster = document["cluster"]
    assert cluster["controller"] == "box1" and cluster["nodes"] == ["box1", "box2"]
    assert cluster["summary"]["gpus_by_model"] == {"GeForce RTX 2070": 2, "GeForce RTX 2080": 2}
    assert cluster["summary"]["vram_gb"] == 32
    # The cluster's wall power is the hosts' own energy figures added up (the same model of the PSU).
    host_wall = [c["wall_w"] for h in document["hosts"] for c in h["checks"] if c["id"] == "energy"]
    assert len(host_wall) == 2 and cluster["summary"]["wall_w_peak"] == round(sum(host_wall))
    versions = {c["host"]: c for c in cluster["checks"] if c["id"] == "slurm_version"}
    assert {v["node_slurm"] for v in versions.values()} == {"22.05.8"}
    # No stack.torch in the inventory: the builds the preflight resolved for each node are compared.
    resolved = {c["versions"]["torch"] for h in document["hosts"] for c in h["checks"] if c["id"] == "stack"}
    torch = next(c for c in cluster["checks"] if c["id"] == "torch_build")
    assert torch["status"] == "ok" and resolved and all(t in torch["message"] for t in resolved)

    code, text, _ = run_cli(["-i", str(EXAMPLE)])
    assert code == 0
    block = text[text.index("cluster: controller box1"):]
    assert "2 x GeForce RTX 2070, 2 x GeForce RTX 2080 (4 in all), 32 GB VRAM" in block
    assert f"wall power at peak: {cluster['summary']['wall_w_peak']} W" in block
    assert block.count("slurm_version:") == 2 and text.rstrip().endswith("2 host(s): 2 ok, 0 warn, 0 fail")


def test_preflight_cluster_failure_sets_the_exit_code(tmp_path: Path) -> None:
    """Ubuntu 18.04's Slurm 17.11 cannot join Debian 12's 22.05: the cluster fails, the hosts do not."""
    import yaml
    from clirun import run_cli

    inv = yaml.safe_load(EXAMPLE.read_text())
    inv["all"]["hosts"]["box2"]["os"] = {"distribution": "Ubuntu", "release": "18.04"}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    code, out, err = run_cli(["-i", str(path), "--format", "json"])
    document = json.loads(out)
    _valid(document)
    assert {h["verdict"] for h in document["hosts"]} != {"fail"}
    assert document["cluster"]["status"] == "fail" and code == 1, err
    bad = next(c for c in document["cluster"]["checks"]
               if c.get("host") == "box2" and c["id"] == "slurm_version")
    assert bad["status"] == "fail" and bad["node_slurm"] == "17.11.2"


def test_preflight_without_slurm_groups_has_no_cluster_section() -> None:
    from clirun import run_cli

    code, out, err = run_cli(["-i", str(EXAMPLE.parents[2] / "inventory"), "--format", "json"])
    assert code in (0, 1), err
    assert "cluster" not in json.loads(out)
