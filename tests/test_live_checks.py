"""Live preflight: the declared build (inventory) against the detected hardware (fixtures)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hwfixtures import facts

from dlrig.checks.gpu_count import check_gpu_count
from dlrig.checks.pcie_link import check_pcie_link
from dlrig.checks.ram import check_detected_ram
from dlrig.plan.model import HostPlan
from dlrig.plan.parse import parse_host
from dlrig.upgrade.facts import DetectedHardware, from_facts
from dlrig.upgrade.live import live_checks

REFERENCE = yaml.safe_load(
    (Path(__file__).resolve().parent.parent / "inventory/host_vars/deep-al.yml").read_text()
)


def plan(gpus: list[dict[str, Any]] | None = None, memory_gb: float | None = 16, slots=None) -> HostPlan:
    hostvars = copy.deepcopy(REFERENCE)
    if gpus is not None:
        hostvars["hardware"]["gpus"] = gpus
    if memory_gb is None:
        hostvars["hardware"].pop("memory")
    else:
        hostvars["hardware"]["memory"]["gb"] = memory_gb
    if slots is not None:
        hostvars["hardware"]["motherboard"]["gpu_slots"] = slots
    return parse_host("deep-al", hostvars)


def results(p: HostPlan, case: str) -> dict[str, Any]:
    """The three hardware checks alone (the engine's other live checks are tested apart)."""
    hw = from_facts(facts(case), p.name)
    return {r.id: r for r in (check_gpu_count(p, hw), check_pcie_link(p, hw), check_detected_ram(p, hw))}


RTX2070 = {"model": "GeForce RTX 2070", "count": 1}


def test_reference_build_matches_its_box():
    out = results(plan(), "rtx2070")
    assert [r.status for r in out.values()] == ["ok", "ok", "ok"]
    assert out["gpu_count"].message == "declared and detected: 1× GeForce RTX 2070 (0000:0a:00.0 in slot 1)"
    assert out["gpu_count"].figures["declared"] == {"GeForce RTX 2070": 1}
    assert out["gpu_count"].figures["detected"] == {"GeForce RTX 2070": 1}


def test_declared_two_detected_one_names_the_card_found_and_the_missing_count():
    out = results(plan([{**RTX2070, "count": 2}]), "rtx2070")
    check = out["gpu_count"]
    assert check.status == "fail"
    assert check.message == (
        "declared 2× GeForce RTX 2070, detected 1 (0000:0a:00.0 in slot 1); "
        "1 declared GPU is missing — reseat it or fix hardware.gpus"
    )


def test_second_card_added_but_inventory_not_updated():
    check = results(plan(memory_gb=32), "two-gpus")["gpu_count"]
    assert check.status == "fail"
    assert "declared 1× GeForce RTX 2070, detected 2" in check.message
    assert "0000:42:00.0 in slot 3" in check.message
    assert "fix the count in hardware.gpus" in check.message


def test_upgraded_inventory_and_box_agree():
    out = results(plan([{**RTX2070, "count": 2}], memory_gb=32), "two-gpus")
    assert {k: r.status for k, r in out.items()} == {"gpu_count": "ok", "pcie_link": "ok", "ram": "ok"}


def test_a_different_model_is_both_missing_and_unexpected():
    check = results(plan([{"model": "GeForce RTX 2080", "count": 2}], memory_gb=32), "two-gpus")["gpu_count"]
    assert check.status == "fail"
    assert "declared 2× GeForce RTX 2080, detected 0; 2 declared GPUs are missing" in check.message
    assert "detected 2× GeForce RTX 2070 (0000:0a:00.0 in slot 1, 0000:42:00.0 in slot 3)" in check.message
    assert "that hardware.gpus does not declare" in check.message


def test_gpu_that_fell_off_the_bus_is_named_with_the_reason():
    check = results(plan([{**RTX2070, "count": 2}], memory_gb=32), "fell-off-bus")["gpu_count"]
    assert check.status == "fail"
    assert check.message.startswith(
        "declared 2× GeForce RTX 2070, detected 1 (0000:42:00.0 in slot 3); "
        "1 declared GPU is missing: 0000:0a:00.0 in slot 1 is on the bus but not "
        "answering ("
    )
    assert "fell off the bus" in check.message
    assert "Unable to determine the device handle" in check.message
    assert check.figures["not_answering"][0]["pci_address"] == "0000:0a:00.0"


def test_lost_card_fails_even_when_the_count_of_answering_cards_matches():
    check = results(plan([RTX2070], memory_gb=32), "fell-off-bus")["gpu_count"]
    assert check.status == "fail"
    assert "0000:0a:00.0 in slot 1 is on the bus but not answering" in check.message


def test_declared_gpu_on_a_host_without_any():
    check = results(plan(), "no-gpu")["gpu_count"]
    assert check.status == "fail"
    assert check.message == (
        "declared 1× GeForce RTX 2070, detected 0; 1 declared GPU is missing — reseat it or fix hardware.gpus"
    )


def test_no_gpu_declared_and_none_detected():
    check = results(plan([], memory_gb=8), "no-gpu")["gpu_count"]
    assert (check.status, check.message) == ("ok", "no GPU declared, none detected")


def test_h200_declared_by_its_alias():
    out = results(plan([{"model": "NVIDIA H200", "count": 1}], memory_gb=128), "h200")
    assert out["gpu_count"].status == "ok"
    assert out["ram"].status == "ok"  # 125.8 GiB usable of 128 GB: within 5 %


def test_x4_riser_warns_and_names_the_card():
    check = results(plan(), "x4-riser")["pcie_link"]
    assert check.status == "warn"
    assert check.message == (
        "GeForce RTX 2070 at 0000:0a:00.0 in slot 1 runs at x4, its slot gives x16 — check the riser/slot"
    )
    assert check.figures["links"][0]["current_width"] == 4


def test_x4_riser_in_a_declared_x4_slot_is_fine():
    assert results(plan(slots=[4]), "x4-riser")["pcie_link"].status == "ok"


def test_idle_link_speed_is_not_judged():
    check = results(plan(), "rtx2070")["pcie_link"]  # current gen 1 of max gen 3: an idle card
    assert check.status == "ok"


def test_second_gpu_in_an_x8_slot_while_an_x16_slot_is_declared():
    out = results(plan([{**RTX2070, "count": 2}], memory_gb=32, slots=[16, 16]), "two-gpus")
    assert out["pcie_link"].status == "ok"
    out = results(plan([{**RTX2070, "count": 2}], memory_gb=32, slots=[16, 8]), "two-gpus")
    assert out["pcie_link"].status == "ok"  # x16 links in x16/x8 slots: wider than the slot is fine


def test_link_without_declared_slots_compares_with_the_card_maximum():
    hostvars = copy.deepcopy(REFERENCE)
    hostvars["hardware"].pop("motherboard")
    check = {r.id: r for r in live_checks(parse_host("deep-al", hostvars), facts("x4-riser"))}["pcie_link"]
    assert check.status == "warn"
    assert "the card supports x16" in check.message


@pytest.mark.parametrize(
    ("declared", "detected", "status"),
    [
        (16, 15.6, "ok"),  # MemTotal of a 16 GB box
        (16, 15.0, "ok"),  # 1 GB tolerance
        (16, 14.9, "warn"),
        (16, 7.8, "warn"),  # a DIMM missing
        (16, 31.4, "warn"),  # RAM added, inventory not updated
        (128, 125.8, "ok"),
        (128, 121.0, "warn"),  # beyond 5 % of 128 (6.4 GB)
        (256, 245.0, "ok"),  # within 5 % = 12.8 GB
    ],
)
def test_ram_tolerance(declared, detected, status):
    assert check_detected_ram(plan(memory_gb=declared), DetectedHardware(ram_gb=detected)).status == status


def test_ram_messages_say_what_to_do():
    low = check_detected_ram(plan(memory_gb=32), DetectedHardware(ram_gb=15.6))
    assert "a DIMM may be missing or unseated" in low.message
    high = check_detected_ram(plan(memory_gb=16), DetectedHardware(ram_gb=31.4))
    assert "update hardware.memory.gb" in high.message
    unknown = check_detected_ram(plan(), DetectedHardware())
    assert unknown.status == "warn"
    undeclared = check_detected_ram(plan(memory_gb=None), DetectedHardware(ram_gb=15.6))
    assert undeclared.status == "ok"


def test_results_serialise_for_the_cli_and_the_action_plugin():
    import json

    results = live_checks(plan([{**RTX2070, "count": 2}], memory_gb=32), facts("fell-off-bus"))
    results = [r for r in results if r.id in ("gpu_count", "pcie_link", "ram")]
    assert [(r.id, r.status) for r in results] == [("gpu_count", "fail"), ("pcie_link", "ok"), ("ram", "ok")]
    for r in results:
        entry = r.as_dict()
        assert json.loads(json.dumps(entry)) == entry  # nothing lost or changed on the way through JSON
        assert (entry["id"], entry["status"], entry["message"]) == (r.id, r.status, r.message)
    assert results[0].as_dict()["not_answering"][0]["pci_address"] == "0000:0a:00.0"
