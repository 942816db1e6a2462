"""When most of a declaration disagrees with the box (OS, GPUs, RAM), the live preflight says that the
declaration does not describe this machine and how to write one, instead of "reseat it"; the CLI's
--live compares the OS too (issue 19, finding 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hwfixtures import facts, hwdetect

from dlrig.checks.declaration import TEMPLATE, check_declaration, with_declaration
from dlrig.checks.os_release import check_os
from dlrig.plan.parse import parse_host
from dlrig.upgrade.live import Detection, live_checks, live_document

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = yaml.safe_load((ROOT / "inventory" / "host_vars" / "deep-al.yml").read_text())
UBUNTU_1804 = {"distribution": "Ubuntu", "release": "18.04"}
DEBIAN_12 = {"distribution": "Debian", "release": "12"}


def _live(case: str, running: dict[str, str] | None, **hardware: Any) -> dict[str, Any]:
    detected = {**facts(case), "os": running}
    declared = {**REFERENCE, "hardware": {**REFERENCE["hardware"], **hardware}}

    def detector(inventories: Any, pattern: Any, names: Any, module_args: Any, become: Any) -> dict:
        return {"deep-al": Detection("deep-al", facts=detected)}

    doc = live_document([("deep-al", declared)], ["inv"], None, detector=detector)
    (host,) = doc["hosts"]
    return {c["id"]: c for c in host["checks"]} | {"_order": [c["id"] for c in host["checks"]]}


def test_another_machine_is_named_as_such_with_how_to_declare_it() -> None:
    checks = _live("no-gpu", DEBIAN_12)   # a Xeon box without GPU, Debian 12, another amount of RAM
    assert checks["_order"][0] == "declaration"
    message = checks["declaration"]["message"]
    assert checks["declaration"]["status"] == "fail"
    assert message.startswith("this declaration does not describe this machine")
    assert "OS: declared Ubuntu 18.04, running Debian 12" in message
    assert "GPUs: declared 1× GeForce RTX 2070, detected none" in message
    assert TEMPLATE in message and (ROOT / TEMPLATE).is_file()
    assert "reseat" not in checks["gpu_count"]["message"]   # wrong advice for another machine
    assert checks["os"]["status"] == "fail"                # the CLI reports the OS mismatch too


def test_the_reference_box_itself_gets_no_declaration_check() -> None:
    checks = _live("rtx2070", UBUNTU_1804)
    assert "declaration" not in checks and checks["os"]["status"] == "ok"
    assert checks["gpu_count"]["status"] == "ok"


def test_one_difference_keeps_its_own_advice() -> None:
    # The box after its upgrade (2× RTX 2070, 32 GB), one card fell off the bus: "reseat it" is right.
    checks = _live("fell-off-bus", UBUNTU_1804, memory={"gb": 32, "watts": 11},
                   gpus=[{"model": "GeForce RTX 2070", "count": 2}])
    assert "declaration" not in checks
    assert "reseat it" in checks["gpu_count"]["message"]


def test_a_missing_card_beside_declared_ones_is_this_box_even_when_the_ram_differs_too() -> None:
    # The gpu-upgrade scenario's case: 2× RTX 2070 declared, one seen, and the RAM differs as well (a
    # container sees its host's RAM): one of the declared models is there, so this is the declared box with
    # a card to reseat, not another machine.
    checks = _live("rtx2070", UBUNTU_1804, memory={"gb": 64, "watts": 11},
                   gpus=[{"model": "GeForce RTX 2070", "count": 2}])
    assert checks["ram"]["status"] == "warn" and checks["gpu_count"]["status"] == "fail"
    assert "declaration" not in checks
    assert "reseat it" in checks["gpu_count"]["message"]


def test_without_os_facts_the_cli_adds_no_os_check() -> None:
    checks = _live("rtx2070", None)
    assert "os" not in checks and "declaration" not in checks


def test_two_of_two_compared_aspects_are_most() -> None:
    plan = parse_host("deep-al", {"hardware": REFERENCE["hardware"]})   # no os declared
    hardware = [r for r in live_checks(plan, facts("no-gpu")) if r.id in ("gpu_count", "pcie_link", "ram")]
    results = [*hardware, check_os(plan, "Debian", "12")]
    verdict = check_declaration(plan, results)
    assert verdict is not None and verdict.figures["compared"] == ["gpus", "ram"]
    assert with_declaration(plan, results)[0].id == "declaration"


def test_os_release_is_read_like_ansible_names_it(tmp_path: Path) -> None:
    hw = hwdetect()
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "os-release").write_text('NAME="Ubuntu"\nVERSION_ID="18.04"\nID=ubuntu\n')
    assert hw.os_release(str(tmp_path)) == UBUNTU_1804
    (tmp_path / "etc" / "os-release").write_text('NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n')
    assert hw.os_release(str(tmp_path)) == DEBIAN_12
    assert hw.os_release(str(tmp_path / "nothing")) is None
