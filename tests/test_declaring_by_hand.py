"""Writing a declaration by hand (issue 19, finding 4): every problem of a host at once, typical figures
for parts without a catalogue entry, an optional cooler, the board's lane sharing, the catalogue's
models listed, and a commented host template."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from clirun import run_cli

from dlrig.checks import run_checks
from dlrig.checks.pcie import gpu_lanes
from dlrig.checks.pcie_link import check_pcie_link
from dlrig.errors import InputError
from dlrig.plan import catalogue
from dlrig.plan.inventory import load_hosts
from dlrig.plan.parse import parse_host
from dlrig.plan.typical import TYPICAL_W
from dlrig.upgrade.facts import DetectedGpu, DetectedHardware

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = yaml.safe_load((ROOT / "inventory" / "host_vars" / "deep-al.yml").read_text())
TEMPLATE = ROOT / "inventory" / "host_vars" / "EXAMPLE.yml.sample"


def _ref() -> dict[str, Any]:
    return copy.deepcopy(REFERENCE)


def _error(hostvars: dict[str, Any]) -> str:
    with pytest.raises(InputError) as err:
        parse_host("deep-al", hostvars)
    return str(err.value)


# --- every problem at once -------------------------------------------------------------------------

def test_every_problem_of_a_host_is_reported_at_once(tmp_path: Path) -> None:
    data = _ref()
    del data["hardware"]["motherboard"]["watts"], data["hardware"]["memory"]["watts"]
    data["hardware"]["gpus"][0]["count"] = "two"
    data["power"]["headroom_pct"] = 150
    message = _error(data)
    paths = ["hardware.motherboard.watts", "hardware.memory.watts", "hardware.gpus[0].count",
             "power.headroom_pct"]
    assert message.startswith("deep-al: hardware.motherboard.watts: missing")
    assert [p for p in paths if p not in message] == []
    assert message.count(" | ") == len(paths) - 1

    (tmp_path / "host_vars").mkdir()
    (tmp_path / "hosts.yml").write_text("all:\n  hosts:\n    deep-al:\n")
    (tmp_path / "host_vars" / "deep-al.yml").write_text(yaml.safe_dump(data))
    code, out, err = run_cli(["-i", str(tmp_path / "hosts.yml")])
    assert code == 2 and not out and err.count("\n") == 1 and "Traceback" not in err
    assert all(p in err for p in paths)


def test_one_problem_reads_as_before() -> None:
    data = _ref()
    data["hardware"]["gpus"][0]["count"] = "two"
    assert _error(data) == ("deep-al: hardware.gpus[0].count: expected a whole number >= 1 and <= 64, "
                            "got 'two'")


# --- typical figures -------------------------------------------------------------------------------

@pytest.mark.parametrize(("section", "key"), [
    ("motherboard", "motherboard"), ("memory", "memory"), ("cooler", "cooler"),
])
def test_a_missing_watts_gives_the_typical_figure(section: str, key: str) -> None:
    data = _ref()
    del data["hardware"][section]["watts"]
    assert f"hardware.{section}.watts: missing; give the part's maximum power draw in W ({TYPICAL_W[key]})" \
        in _error(data)


@pytest.mark.parametrize("interface", ["nvme", "sata", "sas", "usb", "pcie"])
def test_a_drive_without_watts_gets_the_figure_of_its_interface(interface: str) -> None:
    data = _ref()
    data["hardware"]["storage"] = [{"model": "x", "interface": interface}]
    assert TYPICAL_W[f"storage.{interface}"] in _error(data)


def test_other_pcie_without_watts_gets_a_typical_figure() -> None:
    data = _ref()
    data["hardware"]["other_pcie"] = [{"model": "10 GbE NIC", "pcie_lanes": 4}]
    assert TYPICAL_W["other_pcie"] in _error(data)


def test_the_docs_list_the_typical_figures_the_messages_give() -> None:
    text = (ROOT / "docs" / "preflight.md").read_text(encoding="utf-8")
    table = text.split("<!-- typical-figures:start -->", 1)[1].split("<!-- typical-figures:end -->", 1)[0]
    rows = dict(re.findall(r"^\| `([\w.]+)` \| (.+?) \|$", table, re.MULTILINE))
    assert rows == TYPICAL_W


# --- cooler ----------------------------------------------------------------------------------------

def test_the_cooler_may_be_left_out_but_when_given_needs_watts() -> None:
    data = _ref()
    del data["hardware"]["cooler"]
    plan = parse_host("deep-al", data)
    assert plan.hardware is not None and plan.hardware.cooler is None
    psu = next(c for c in run_checks(plan) if c.id == "psu_headroom")
    assert psu.figures["max_draw_w"] == 406  # the reference's 416 W less the cooler's 10 W
    data = _ref()
    data["hardware"]["cooler"] = {"model": "stock"}
    assert "hardware.cooler.watts: missing" in _error(data)


# --- lane sharing ----------------------------------------------------------------------------------

def _board(count: int, by_count: Any = None) -> Any:
    data = _ref()
    data["hardware"]["cpu"] = {"model": "Intel Core i9-9900K"}   # 16 CPU lanes: x16 or x8/x8
    data["hardware"]["motherboard"] = {"model": "Z390 board", "gpu_slots": [8, 8], "watts": 30}
    if by_count is not None:
        data["hardware"]["motherboard"]["gpu_slots_by_count"] = by_count
    data["hardware"]["storage"] = []
    data["hardware"]["gpus"][0]["count"] = count
    return parse_host("deep-al", data)


def test_a_single_card_runs_x16_on_a_board_that_shares_its_lanes() -> None:
    one = _board(1, {1: [16]})
    assert [g["lanes"] for g in gpu_lanes(one.hardware)] == [16]
    two = _board(2, {1: [16]})
    assert [g["lanes"] for g in gpu_lanes(two.hardware)] == [8, 8]
    assert [g["lanes"] for g in gpu_lanes(_board(1).hardware)] == [8]    # without the sharing: as before
    assert [g["lanes"] for g in gpu_lanes(_board(1, {"1": ["16"]}).hardware)] == [16]  # INI-style strings
    checks = {c.id: c for c in run_checks(two)}
    assert checks["pcie_lanes"].status == "ok" and checks["gpu_slots"].figures["gpu_slots"] == 2


def test_the_live_link_check_expects_x16_for_the_single_card() -> None:
    plan = _board(1, {1: [16]})

    def detected(width: int) -> DetectedHardware:
        gpu = DetectedGpu(pci_address="0000:01:00.0", device_id=None, model="GeForce RTX 2070", spec=None,
                          present=True, current_link_width=width, max_link_width=16)
        return DetectedHardware(gpus=(gpu,))

    assert check_pcie_link(plan, detected(16)).status == "ok"
    assert check_pcie_link(plan, detected(8)).status == "warn"


@pytest.mark.parametrize(("by_count", "problem"), [
    ([16], "expected a mapping of card count to slot widths"),
    ({3: [16]}, "gpu_slots_by_count[3]: expected a whole number >= 1 and <= 2"),
    ({1: [16, 8]}, "gpu_slots_by_count[1]: expected the widths of the first 1 to 1 slots, got 2"),
    ({1: [12]}, "gpu_slots_by_count[1][0]: expected a slot width of 1, 2, 4, 8 or 16 lanes"),
])
def test_bad_lane_sharing_is_bad_input(by_count: Any, problem: str) -> None:
    with pytest.raises(InputError, match=re.escape(problem)):
        _board(1, by_count)


# --- the catalogue's models ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["gpu", "cpu"])
def test_list_models(kind: str) -> None:
    code, out, err = run_cli(["-i", "no-such-inventory", "--list-models", kind])  # no inventory is read
    assert code == 0, err
    names = [s.name for s in (catalogue.gpus() if kind == "gpu" else catalogue.cpus())]
    assert all(name in out for name in names)
    other = catalogue.cpus() if kind == "gpu" else catalogue.gpus()
    assert other[0].name not in out


def test_list_models_json_and_all() -> None:
    code, out, _ = run_cli(["--list-models", "--format", "json"])
    listing = json.loads(out)
    assert code == 0 and len(listing["gpus"]) == len(catalogue.gpus()) and len(listing["cpus"]) == len(
        catalogue.cpus())
    assert {"model", "arch", "watts", "vram_gb"} <= set(listing["gpus"][0])


# --- the host template -----------------------------------------------------------------------------

def test_the_host_template_is_a_valid_declaration_that_passes() -> None:
    data = yaml.safe_load(TEMPLATE.read_text())
    plan = parse_host("example", data)
    assert plan.hardware is not None and plan.os is not None
    assert set(data["hardware"]) == {"cpu", "motherboard", "memory", "cooler", "storage", "other_pcie",
                                     "gpus", "psu"}
    assert {c.status for c in run_checks(plan)} == {"ok"}


def test_the_template_is_not_read_as_a_host() -> None:
    names = [name for name, _ in load_hosts([str(ROOT / "inventory")])]
    assert names == ["deep-al"]
