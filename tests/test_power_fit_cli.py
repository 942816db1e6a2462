"""Issue 12 through the preflight CLI: the new checks in the text report (spike column, slot map,
per-circuit line), in the JSON document and its schema, in --what-if and --live, and bad input."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import yaml
from clirun import run_cli
from hwfixtures import facts
from jsonschema import Draft202012Validator

from dlrig import cli
from dlrig.cli import build_parser
from dlrig.upgrade.live import Detection

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = yaml.safe_load((ROOT / "inventory/host_vars/deep-al.yml").read_text())
VALIDATOR = Draft202012Validator(json.loads((ROOT / "docs/preflight.schema.json").read_text()))


def valid(document: dict[str, Any]) -> dict[str, Any]:
    errors = list(VALIDATOR.iter_errors(document))
    assert errors == [], [f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]]
    return document


def inventory(tmp_path: Path, hosts: dict[str, dict[str, Any]]) -> str:
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": dict.fromkeys(hosts)}}))
    for name, variables in hosts.items():
        (tmp_path / "host_vars" / f"{name}.yml").write_text(yaml.safe_dump(variables))
    return str(tmp_path / "hosts.yml")


def box(gpus: list[dict[str, Any]] | None = None, **power: Any) -> dict[str, Any]:
    data = copy.deepcopy(REFERENCE)
    if gpus is not None:
        data["hardware"]["gpus"] = gpus
    data["power"].update(power)
    return data


def checks(host: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in host["checks"]}


def test_the_reference_report_shows_the_new_checks_ok_in_text_and_json():
    code, out, err = run_cli(["--format", "json"])
    assert code == 0, err
    (host,) = valid(json.loads(out))["hosts"]
    found = checks(host)
    assert found["psu_transients"]["status"] == found["fit"]["status"] == "ok"
    assert found["psu_transients"]["peak_w"] == 471.5 and found["fit"]["fits_case"] is True
    assert found["circuit"]["skipped"] is True  # the reference declares no circuit
    code, text, _ = run_cli([])
    assert code == 0
    lines = text.splitlines()
    # the power budget's spike column: every part sustained and in the 1-10 ms excursions
    header = next(line for line in lines if line.strip().startswith("power budget"))
    assert header.split()[2:] == ["sustained", "spike", "(1-10", "ms", "excursions)"]
    gpu = next(line for line in lines if line.strip().startswith("GPU 1x GeForce RTX 2070"))
    assert gpu.split()[-6:] == ["185", "W", "240", "W", "x1.3", "est."]  # 185 W x 1.3, an estimate
    cpu = next(line for line in lines if line.strip().startswith("CPU AMD"))
    assert cpu.split()[-4:] == ["180", "W", "180", "W"]  # the rest of the build spikes with nothing
    peak = next(line for line in lines if line.strip().startswith("max draw"))
    assert peak.split()[2:6] == ["416", "W", "472", "W"]
    assert "est.: an estimated spike factor, no public measurement found" in text
    assert "transients (1-10 ms): spike 472 W against the 1000 W that the 1000 W ATX2 PSU rides (100 %)" \
        in text
    assert found["psu_headroom"]["spike_peak_w"] == 471.5
    assert [i["spike_w"] for i in found["psu_headroom"]["items"]][-1] == 240.5
    assert "slot map (7 expansion slots, assumed; slot positions estimated)" in text
    assert "GPU slot 1 x16   GPU 1 GeForce RTX 2070 (2-slot est. open-air)" in text


def test_two_boxes_on_one_circuit_get_one_line_each_with_both(tmp_path):
    four = [{"model": "GeForce RTX 2070", "count": 4, "watts": 185}]
    circuit = {"circuit": {"name": "lab-a", "volts": 230, "amps": 16}}
    path = inventory(tmp_path, {"box1": box(four, **circuit), "box2": box(four, **circuit)})
    code, out, err = run_cli(["-i", path, "--format", "json"])
    assert code == 1, err  # four RTX 2070 spike past a 1000 W ATX 2 PSU (psu_transients)
    document = valid(json.loads(out))
    circuits = [checks(h)["circuit"] for h in document["hosts"]]
    assert [c["status"] for c in circuits] == ["ok", "ok"]
    assert all([h["name"] for h in c["hosts"]] == ["box1", "box2"] for c in circuits)
    assert circuits[0]["total_wall_w"] == circuits[1]["total_wall_w"] > 2000
    (entry,) = document["circuits"]  # one entry per named circuit, both hosts counted on it
    assert (entry["name"], entry["status"], entry["counted"]) == ("lab-a", "ok", ["box1", "box2"])
    assert entry["total_wall_w"] == circuits[0]["total_wall_w"] and entry["continuous_w"] == 2944
    assert entry["limit"] is None and entry["not_counted"] is None
    _, text, _ = run_cli(["-i", path])
    lines = [line for line in text.splitlines() if "lab-a:" in line and "continuous (" in line]
    assert lines == ["  OK   lab-a: box1 1076 W + box2 1076 W = 2152 W (9.4 A) of 2944 W continuous "
                     "(230 V x 16 A x 80 %)"]  # one line for the circuit, not one per host
    assert text.index("wall circuits") > text.index("box2  FAIL")


def test_a_limited_run_names_the_hosts_it_did_not_count(tmp_path):
    four = [{"model": "GeForce RTX 2070", "count": 4, "watts": 185}]
    circuit = {"circuit": {"name": "lab-a", "volts": 115, "amps": 15}, "mains_v": 115}
    path = inventory(tmp_path, {"box1": box(four, **circuit), "box2": box(four, **circuit)})
    code, out, _ = run_cli(["-i", path, "--limit", "box1", "--format", "json"])
    document = valid(json.loads(out))
    (entry,) = document["circuits"]
    assert entry["counted"] == ["box1"] and entry["limit"] == "box1"
    assert entry["not_counted"] == "hosts of the inventory outside --limit box1"
    assert entry["status"] == "ok"  # box1 alone (about 1089 W at 115 V) fits 115 V x 15 A x 80 % = 1380 W
    assert "not counted: hosts of the inventory outside --limit box1" in checks(document["hosts"][0])[
        "circuit"]["message"]
    _, text, _ = run_cli(["-i", path, "--limit", "box1"])
    assert "lab-a: box1 1089 W = 1089 W (9.5 A) of 1380 W continuous (115 V x 15 A x 80 %); not counted: " \
           "hosts of the inventory outside --limit box1" in text
    # both together: the same circuit fails (2152 W > the 1725 W breaker)
    code, out, _ = run_cli(["-i", path, "--format", "json"])
    assert code == 1 and json.loads(out)["circuits"][0]["status"] == "fail"


def test_a_circuit_given_two_ratings_is_bad_input(tmp_path):
    path = inventory(tmp_path, {"a": box(circuit={"name": "lab", "volts": 230, "amps": 16}),
                                "b": box(circuit={"name": "lab", "volts": 230, "amps": 10})})
    code, out, err = run_cli(["-i", path])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "b: power.circuit.amps: circuit 'lab' is 16 amps on a but 10" in err


def test_a_bad_new_field_is_one_line_naming_host_variable_and_problem(tmp_path):
    data = box()
    data["hardware"]["psu"]["standard"] = "ATX 4"
    code, out, err = run_cli(["-i", inventory(tmp_path, {"deep-al": data})])
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.strip() == ("preflight: deep-al: hardware.psu.standard: expected atx2 or atx3 (ATX 3.x rides "
                           "power excursions), got 'ATX 4'")


def test_what_if_shows_transients_and_fit_for_the_plan():
    code, out, err = run_cli(["--what-if", "gpus=4x RTX 2080@225W", "--format", "json"])
    assert code == 1, err
    (host,) = valid(json.loads(out))["hosts"]
    planned = checks(host)
    assert planned["psu_transients"]["status"] == "fail" and planned["psu_transients"]["peak_w"] == 1401
    assert planned["fit"]["status"] == "warn" and planned["fit"]["last_card_fits"] is False
    assert len(planned["fit"]["airflow"]) == 3
    _, text, _ = run_cli(["--what-if", "gpus=4x RTX 2080@225W"])
    assert "FAIL psu_transients:" in text and "WARN fit:" in text
    assert "needs 8 expansion slots, the case has 7" in text


def live_document(detected: dict[str, Any]) -> dict[str, Any]:
    args = build_parser().parse_args(["--live", "--format", "json"])

    def detector(inventories: Any, pattern: Any, names: list[str], module_args: Any, become: Any) -> Any:
        assert module_args["verify_report"] == "{{ live_preflight_verify_report | default(omit) }}"
        return {name: Detection(name, facts=detected) for name in names}

    out = io.StringIO()
    assert cli.run(args, out, detector=detector) in (0, 1)
    return valid(json.loads(out.getvalue()))


def test_live_warns_from_the_last_verify_report_and_the_document_validates():
    detected = facts("rtx2070")
    detected["verify_power"] = {"report": "/var/lib/dlrig/verify-report.json", "verdict": "pass", "power": {
        "error": None, "interval_s": 0.5, "samples": 80, "cpu_package": None,
        "cpu_package_note": "RAPL not readable under /sys/class/powercap",
        "gpus": [{"index": 0, "name": "NVIDIA GeForce RTX 2070", "samples": 80, "peak_w": 214.9,
                  "mean_w": 205.0, "limit_w": 215.0, "peak_temp_c": 84.0, "throttle_reasons": []}]}}
    (host,) = live_document(detected)["hosts"]
    measured = checks(host)["measured_power"]
    assert measured["status"] == "warn" and measured["gpus"][0]["over_budget"] is True
    assert "drew 214.9 W, above its declared 185 W" in measured["message"]


def test_live_text_shows_the_measured_figures_per_gpu():
    detected = facts("rtx2070")
    detected["verify_power"] = {"report": "/var/lib/dlrig/verify-report.json", "verdict": "pass", "power": {
        "error": None, "interval_s": 0.5, "samples": 80,
        "cpu_package": {"peak_w": 150.2, "mean_w": 120.0, "samples": 80}, "cpu_package_note": None,
        "gpus": [{"index": 0, "name": "NVIDIA GeForce RTX 2070", "samples": 80, "peak_w": 188.5,
                  "mean_w": 176.4, "limit_w": 185.0, "peak_temp_c": 87.0,
                  "throttle_reasons": ["sw_thermal_slowdown"]}]}}
    (host,) = live_document(detected)["hosts"]
    gpu = checks(host)["measured_power"]["gpus"][0]
    assert gpu["verdict"] == "warn" and gpu["throttled_heat"] and not gpu["over_budget"]
    args = build_parser().parse_args(["--live"])

    def detector(inventories: Any, pattern: Any, names: list[str], module_args: Any, become: Any) -> Any:
        return {name: Detection(name, facts=detected) for name in names}

    out = io.StringIO()
    cli.run(args, out, detector=detector)
    text = out.getvalue()
    assert "  measured under load (verify report /var/lib/dlrig/verify-report.json)" in text
    assert ("    GPU 0 NVIDIA GeForce RTX 2070: peak 188.5 W, mean 176.4 W of 185 W declared; limit 185 W; "
            "peak 87 °C; throttled: sw_thermal_slowdown  WARN") in text
    assert "    CPU package (RAPL): peak 150.2 W, mean 120 W of 180 W declared" in text
