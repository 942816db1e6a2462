"""parse_host: the hardware declaration validated into a HostPlan; every bad input is an InputError."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from dlrig.errors import InputError
from dlrig.plan.model import HostPlan
from dlrig.plan.parse import parse_host

REFERENCE = yaml.safe_load((Path(__file__).parent.parent / "inventory/host_vars/deep-al.yml").read_text())
REFERENCE["power"] = {"price_per_kwh": 0.30, "currency": "EUR", "headroom_pct": 10}


def ref(**changes) -> dict:
    """The reference build's variables with ``changes`` applied by dotted path (hardware.psu.watts=...)."""
    data = copy.deepcopy(REFERENCE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return data


def error(hostvars: dict, host: str = "deep-al") -> str:
    with pytest.raises(InputError) as info:
        parse_host(host, hostvars)
    return str(info.value)


def test_reference_build_parses_with_inventory_figures_winning():
    plan = parse_host("deep-al", REFERENCE)
    assert isinstance(plan, HostPlan) and plan.name == "deep-al"
    hw = plan.hardware
    assert hw is not None
    assert (hw.cpu.model, hw.cpu.watts, hw.cpu.pcie_lanes, hw.cpu.pcie_gen) == (
        "AMD Ryzen Threadripper 1900X",
        180,
        64,
        3,
    )
    assert hw.motherboard.gpu_slots == [16, 16, 8, 8]
    assert (hw.memory.gb, hw.memory.watts) == (16, 11)
    assert [(d.interface, d.pcie_lanes, d.via_chipset) for d in hw.storage] == [
        ("nvme", 4, False),
        ("sata", 0, False),
    ]
    gpu = hw.gpus[0]
    assert (gpu.model, gpu.count, gpu.watts, gpu.vram_gb, gpu.power_limit_w) == (
        "GeForce RTX 2070",
        1,
        185,
        8,
        None,
    )
    assert gpu.spec is not None and gpu.spec.watts == 175  # the catalogue says 175 W, the inventory 185 W
    assert (hw.psu.watts, hw.psu.efficiency) == (1000, "platinum")
    assert (plan.os.distribution, plan.os.release) == ("Ubuntu", "18.04")
    assert plan.power.price_per_kwh == 0.30 and plan.power.headroom_pct == 10 and plan.power.currency == "EUR"


def test_catalogue_fills_what_the_inventory_leaves_out():
    plan = parse_host(
        "h",
        {
            "hardware": {
                "cpu": {"model": "Threadripper 1950X"},
                "gpus": [{"model": "NVIDIA GeForce RTX 2080", "count": 2}],
            }
        },
    )
    cpu, gpu = plan.hardware.cpu, plan.hardware.gpus[0]
    assert (cpu.watts, cpu.pcie_lanes) == (180, 64)
    assert (gpu.model, gpu.watts, gpu.vram_gb, gpu.count) == ("GeForce RTX 2080", 215, 8, 2)
    assert plan.hardware.gpu_count == 2 and plan.hardware.vram_gb == 16


def test_power_limit_counts_in_the_budget():
    plan = parse_host("h", {"hardware": {"gpus": [{"model": "RTX 3090", "power_limit_w": 280}]}})
    assert plan.hardware.gpus[0].budget_w == 280 and plan.hardware.gpus[0].watts == 350


def test_unknown_gpu_with_its_figures_is_fine():
    plan = parse_host("h", {"hardware": {"gpus": [{"model": "Prototype X", "watts": 300, "vram_gb": 20}]}})
    assert plan.hardware.gpus[0].spec is None and plan.hardware.gpus[0].watts == 300


def test_host_without_hardware_is_not_declared_and_ci_hosts_without_gpus_are_valid():
    assert parse_host("h", {"ansible_connection": "local"}).hardware is None
    ci = parse_host("ci", {"hardware": {"gpus": []}})
    assert ci.hardware is not None and ci.hardware.gpus == [] and ci.hardware.gpu_count == 0


def test_os_and_stack_pins_are_strings():
    plan = parse_host(
        "h",
        {
            "os": {"distribution": "Ubuntu", "release": 22.04},
            "stack": {"cuda": 11.8, "torch": "2.1.2", "python": 3.10, "keras": None},
        },
    )
    assert plan.os.release == "22.04"
    assert plan.stack_pins == {"cuda": "11.8", "torch": "2.1.2", "python": "3.1"}  # YAML floats: quote them


def test_numbers_may_come_as_strings_from_templates_or_ini():
    plan = parse_host("h", ref(hardware__psu={"watts": "1000", "efficiency": "80 PLUS Platinum"}))
    assert plan.hardware.psu.watts == 1000 and plan.hardware.psu.efficiency == "platinum"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"hardware__gpus__0__count": "two"},
            "deep-al: hardware.gpus[0].count: expected a whole number >= 1 and <= 64, got 'two'",
        ),
        (
            {"hardware__gpus__0__count": 0},
            "deep-al: hardware.gpus[0].count: expected a whole number >= 1 and <= 64, got 0",
        ),
        (
            {"hardware__gpus__0__count": 1.5},
            "deep-al: hardware.gpus[0].count: expected a whole number >= 1 and <= 64, got 1.5",
        ),
        (
            {"hardware__gpus__0__count": True},
            "deep-al: hardware.gpus[0].count: expected a whole number >= 1 and <= 64, got True",
        ),
        (
            {"hardware__gpus__0__watts": -185},
            "deep-al: hardware.gpus[0].watts: expected a number >= 1 and <= 5000, got -185",
        ),
        (
            {"hardware__psu__watts": None},
            "deep-al: hardware.psu.watts: missing; give the PSU's rated output in W",
        ),
        (
            {"hardware__psu__efficiency": "diamond"},
            "deep-al: hardware.psu.efficiency: unknown 80 PLUS class 'diamond'; "
            "expected one of none, white, bronze, silver, gold, platinum, titanium",
        ),
        (
            {"hardware__motherboard__gpu_slots": [16, 3]},
            "deep-al: hardware.motherboard.gpu_slots[1]: "
            "expected a slot width of 1, 2, 4, 8 or 16 lanes, got 3",
        ),
        (
            {"hardware__memory__gb": "lots"},
            "deep-al: hardware.memory.gb: expected a number >= 0.5 and <= 65536, got 'lots'",
        ),
        # Figures beyond any workstation: a typo, refused before they overflow a check's arithmetic.
        (
            {"hardware__gpus": [{"model": "GeForce RTX 2070", "count": 10**20}]},
            "deep-al: hardware.gpus[0].count: expected a whole number >= 1 and <= 64, "
            "got 100000000000000000000",
        ),
        (
            {"hardware__gpus": [{"model": "GeForce RTX 2070", "watts": 1.0e308}]},
            "deep-al: hardware.gpus[0].watts: expected a number >= 1 and <= 5000, got 1e+308",
        ),
        (
            {"hardware__gpus": [{"model": "GeForce RTX 2070", "power_limit_w": 1.0e-320}]},
            "deep-al: hardware.gpus[0].power_limit_w: expected a number >= 1 and <= 5000, got 1e-320",
        ),
        (
            {"hardware__gpus": [{"model": "Mystery", "watts": 100, "vram_gb": 1.0e-320}]},
            "deep-al: hardware.gpus[0].vram_gb: expected a number >= 0.1 and <= 4096, got 1e-320",
        ),
        (
            {"power__price_per_kwh": 1.0e308},
            "deep-al: power.price_per_kwh: expected a number >= 0 and <= 1000, got 1e+308",
        ),
        (
            {"hardware__other_pcie": [{"model": "NIC", "pcie_lanes": 3, "watts": 10}]},
            "deep-al: hardware.other_pcie[0].pcie_lanes: "
            "expected a PCIe width of 1, 2, 4, 8 or 16 lanes, got 3",
        ),
        (
            {"hardware__storage": [{"model": "SSD", "interface": "nvme", "pcie_lanes": 3, "watts": 8}]},
            "deep-al: hardware.storage[0].pcie_lanes: "
            "expected a PCIe width of 0, 1, 2, 4, 8 or 16 lanes, got 3",
        ),
        (
            {"hardware__storage__0__watts": None},
            "deep-al: hardware.storage[0].watts: missing; give the part's maximum power draw in W "
            "(typical 5-10 W for an NVMe SSD)",
        ),
        ({"hardware__gpus": {"model": "RTX 2070"}}, "deep-al: hardware.gpus: expected a list, got a mapping"),
        ({"hardware": ["cpu"]}, "deep-al: hardware: expected a mapping, got a list"),
        (
            {"hardware__gpu": []},
            "deep-al: hardware.gpu: unknown key (did you mean 'gpus'?); expected one of cooler, cpu, "
            "gpus, memory, motherboard, other_pcie, psu, storage",
        ),
        (
            {"power__headroom_pct": 150},
            "deep-al: power.headroom_pct: expected a percentage below 100, got 150",
        ),
        (
            {"power__price_per_kwh": -1},
            "deep-al: power.price_per_kwh: expected a number >= 0 and <= 1000, got -1",
        ),
        ({"os": {"distribution": "Ubuntu"}}, 'deep-al: os.release: missing; quote it, e.g. release: "22.04"'),
        ({"stack": ["cuda"]}, "deep-al: stack: expected a mapping, got a list"),
    ],
)
def test_bad_input_names_host_and_variable_path(changes, message):
    assert error(ref(**changes)) == message


def test_unknown_gpu_without_figures_suggests_catalogued_names():
    message = error(ref(hardware__gpus=[{"model": "GeForce RTX 2070 Supr"}]))
    assert message.startswith(
        "deep-al: hardware.gpus[0].model: GPU 'GeForce RTX 2070 Supr' is not in the catalogue; "
        "give its watts, vram_gb and arch (arch: one of Maxwell, Pascal, Volta, Turing, Ampere, Ada, Hopper, "
        "Blackwell) in the inventory; closest catalogued: "
    )
    assert "GeForce RTX 2070 SUPER" in message


def test_unknown_cpu_without_figures_suggests_catalogued_names():
    message = error(ref(hardware__cpu={"model": "Threadripper 1990X", "watts": 180}))
    assert (
        "hardware.cpu.model: CPU 'Threadripper 1990X' is not in the catalogue; give its pcie_lanes" in message
    )
    assert "Threadripper" in message.split("closest catalogued:")[1]


def test_hostvars_that_are_not_a_mapping_are_bad_input():
    with pytest.raises(InputError):
        parse_host("h", ["not", "a", "mapping"])  # type: ignore[arg-type]
