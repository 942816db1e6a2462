"""The live ``os`` check and the stack resolved from facts when the inventory declares no ``os``."""

from __future__ import annotations

import dataclasses

import pytest

from dlrig.checks.os_release import check_os
from dlrig.checks.stack import check_stack, role_facts
from dlrig.plan.model import OsRelease
from dlrig.plan.parse import parse_host

HARDWARE = {
    "cpu": {"model": "AMD Ryzen Threadripper 1900X"},
    "motherboard": {"model": "X399", "gpu_slots": [16, 16, 8, 8], "watts": 0},
    "memory": {"gb": 16, "watts": 11},
    "gpus": [{"model": "GeForce RTX 2070", "count": 1}],
    "psu": {"watts": 1000, "efficiency": "platinum"},
}


def plan_with(os_decl=None):
    hostvars = {"hardware": HARDWARE, **({"os": os_decl} if os_decl else {})}
    return parse_host("deep-al", hostvars)


@pytest.mark.parametrize(("declared", "running", "status"), [
    ({"distribution": "Ubuntu", "release": "18.04"}, ("Ubuntu", "18.04"), "ok"),
    ({"distribution": "Debian", "release": "12"}, ("Debian", "12.7"), "ok"),
    ({"distribution": "ubuntu", "release": "22.04"}, ("Ubuntu", "22.04"), "ok"),
    ({"distribution": "Ubuntu", "release": "18.04"}, ("Debian", "12"), "fail"),
    ({"distribution": "Ubuntu", "release": "18.04"}, ("Ubuntu", "18.10"), "fail"),
    ({"distribution": "Debian", "release": "1"}, ("Debian", "12"), "fail"),
])
def test_declared_os_against_the_facts(declared, running, status):
    result = check_os(plan_with(declared), *running)
    assert result.status == status, result.message
    if status == "fail":
        assert "the inventory declares os" in result.message and running[0] in result.message


def test_no_facts_is_not_judged():
    result = check_os(plan_with({"distribution": "Ubuntu", "release": "18.04"}), None, None)
    assert (result.status, result.figures) == ("ok", {"skipped": True})
    assert result.message == "no OS facts gathered: nothing to compare"


def test_undeclared_os_is_resolved_from_the_facts():
    plan = plan_with()
    assert check_os(plan, "Ubuntu", "22.04").status == "ok"
    stack = check_stack(dataclasses.replace(plan, os=OsRelease("Ubuntu", "22.04")))
    facts = role_facts(stack.figures)
    assert stack.status == "ok" and facts["apt_repo_path"] == "ubuntu2204"
    # The RTX 2070 on 22.04 from the facts resolves as a declared 22.04 does (tests/test_resolver.py).
    assert (facts["driver"], facts["cuda"], facts["torch"], facts["python"], facts["python_source"]) == (
        "595", "13.2", "2.14.1", "3.10", "system")


def test_role_facts_leave_out_what_was_not_resolved():
    assert role_facts(check_stack(plan_with()).figures) == {}


def _uncatalogued(arch: str | None) -> dict:
    gpu = {"model": "GeForce GTX 980", "watts": 165, "vram_gb": 4}
    return {"os": {"distribution": "Ubuntu", "release": "22.04"},
            "hardware": {"gpus": [gpu | ({"arch": arch} if arch else {})]}}


def test_a_card_the_catalogue_lacks_gets_a_stack_for_its_declared_architecture():
    # Without `arch` the resolver cannot know that CUDA 13 no longer runs a Maxwell card: it refuses
    # to resolve (issue 19; it used to resolve CUDA 13 without the card and warn).
    blind = check_stack(parse_host("m1", _uncatalogued(None)))
    assert blind.status == "fail" and "hardware.gpus[0].arch (GeForce GTX 980)" in blind.message
    assert "Maxwell, Pascal" in blind.message and blind.figures["cuda"] is None
    told = check_stack(parse_host("m1", _uncatalogued("Maxwell")))
    assert told.status == "ok", told.message
    assert (told.figures["driver"], told.figures["cuda"]) == ("580", "12.9")
    wrong = check_stack(parse_host("m1", _uncatalogued("Maxwel")))
    assert wrong.status == "fail"
    assert "GeForce GTX 980: unknown architecture 'Maxwel'" in wrong.message
    assert "Maxwell, Pascal" in wrong.message
