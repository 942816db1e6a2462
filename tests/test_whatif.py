"""What-if planning: spec parsing, applying a plan to a host's variables, capacity and the comparison."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from clirun import run_cli

from dlrig.errors import InputError
from dlrig.plan.parse import parse_host
from dlrig.upgrade.capacity import capacity, capacity_for
from dlrig.upgrade.spec import PlannedGpu, PsuSpec, apply_what_if, parse_specs
from dlrig.upgrade.whatif import compare

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = yaml.safe_load((ROOT / "inventory" / "host_vars" / "deep-al.yml").read_text())


# --- parsing ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("gpus=2x GeForce RTX 2080", (PlannedGpu("GeForce RTX 2080", 2),)),
        ("gpus=2X RTX 2080", (PlannedGpu("RTX 2080", 2),)),
        ("gpus=2 x RTX 2080", (PlannedGpu("RTX 2080", 2),)),
        ("gpus=4× RTX 2070", (PlannedGpu("RTX 2070", 4),)),
        ("gpus=4*RTX 2070", (PlannedGpu("RTX 2070", 4),)),
        ("gpus=RTX 3090", (PlannedGpu("RTX 3090", 1),)),
        ("gpus=4x RTX 2070@225W", (PlannedGpu("RTX 2070", 4, watts=225),)),
        ("gpus=4x RTX 2070 @ 225 W", (PlannedGpu("RTX 2070", 4, watts=225),)),
        ("gpus=4x RTX 2070@225", (PlannedGpu("RTX 2070", 4, watts=225),)),
        ("gpus=4x RTX 2070 limit=150W", (PlannedGpu("RTX 2070", 4, power_limit_w=150),)),
        ("gpus=4x RTX 2080@225W limit=180", (PlannedGpu("RTX 2080", 4, watts=225, power_limit_w=180),)),
        ("gpus=RTX 2070 + 2x RTX 2080@225W",
         (PlannedGpu("RTX 2070", 1), PlannedGpu("RTX 2080", 2, watts=225))),
        ("GPUS=  2x   RTX   2080  ", (PlannedGpu("RTX 2080", 2),)),
    ],
)
def test_gpu_specs(spec, expected):
    assert parse_specs([spec]).gpus == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("psu=1300 gold", PsuSpec(1300, "gold")),
        ("psu=1300", PsuSpec(1300, None)),
        ("psu=1300W", PsuSpec(1300, None)),
        ("psu=1300 W Platinum", PsuSpec(1300, "platinum")),
        ("psu=1300 watts", PsuSpec(1300, None)),
        ("psu=1600 80 plus titanium", PsuSpec(1600, "titanium")),
        ("psu=1000 white", PsuSpec(1000, "white")),   # 'w' of white is not the watts unit
        ("psu=gold", PsuSpec(None, "gold")),
    ],
)
def test_psu_specs(spec, expected):
    assert parse_specs([spec]).psu == expected


@pytest.mark.parametrize("spec", ["memory=64", "memory=64GB", "memory=64 GB", "ram=64", "mem=64g"])
def test_memory_specs(spec):
    assert parse_specs([spec]).memory_gb == 64


def test_several_flags_combine():
    plan = parse_specs(["gpus=4x RTX 2070", "psu=1300 gold", "memory=64"])
    assert plan.gpus == (PlannedGpu("RTX 2070", 4),)
    assert plan.psu == PsuSpec(1300, "gold")
    assert plan.memory_gb == 64
    assert plan.describe() == ["gpus: 4x RTX 2070", "psu: 1300 W gold", "memory: 64 GB"]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("gpus", "expected KEY=VALUE"),
        ("fans=3", "unknown key 'fans'"),
        ("gpus=", "no value"),
        ("gpus=2x", "name the GPU model"),
        ("gpus=0x RTX 2080", "count must be >= 1"),
        ("gpus=-1x RTX 2080", "whole number"),
        ("gpus=1.5x RTX 2080", "whole number"),
        ("gpus=2x RTX 2080@0W", "board power must be > 0"),
        ("gpus=2x RTX 2080@lots", "cannot read the watts"),
        ("gpus=2x RTX 2080 limit=0", "power limit must be > 0"),
        ("psu=1300 diamond", "unknown efficiency class 'diamond'"),
        ("psu=0", "PSU rating must be > 0"),
        ("psu=", "no value"),
        ("psu=lots of watts", "expected 'psu=WATTS [CLASS]'"),
        ("memory=sixty", "expected 'memory=GB'"),
        ("memory=0", "memory size must be > 0"),
        # Figures beyond any workstation are refused before the checks would try to compute with them.
        ("gpus=" + "9" * 20 + "x RTX 2080", "the GPU count must be >= 1 and <= 64, got 99999999999999999999"),
        ("gpus=2x RTX 2080 limit=9999W", "the power limit must be > 0 and <= 5000, got 9999"),
        ("memory=" + "9" * 400 + ".5", "the memory size must be > 0 and <= 65536, got 99999999999999999..."),
        ("gpus=2 RTX 2080", "write the count with an x, e.g. 'gpus=2x RTX 2080'"),
    ],
)
def test_bad_specs_name_the_option_and_the_problem(spec, fragment):
    with pytest.raises(InputError) as err:
        parse_specs([spec], host="deep-al")
    assert err.value.host == "deep-al"
    assert err.value.path == "--what-if"
    assert fragment in err.value.problem
    assert repr(spec) in err.value.problem


def test_a_key_given_twice_is_an_error_not_a_silent_override():
    with pytest.raises(InputError, match="already planned"):
        parse_specs(["gpus=2x RTX 2080", "gpu=4x RTX 2070"])


# --- applying ---------------------------------------------------------------------------------------

def test_apply_replaces_gpus_and_leaves_the_input_alone():
    before = copy.deepcopy(REFERENCE)
    planned = apply_what_if(REFERENCE, parse_specs(["gpus=2x GeForce RTX 2080"]))
    assert before == REFERENCE
    assert planned["hardware"]["gpus"] == [{"model": "GeForce RTX 2080", "count": 2}]
    assert planned["hardware"]["psu"] == REFERENCE["hardware"]["psu"]


def test_a_declared_model_keeps_its_declared_figures():
    planned = apply_what_if(REFERENCE, parse_specs(["gpus=2x NVIDIA GeForce RTX 2070"]))
    assert planned["hardware"]["gpus"] == [
        {"model": "NVIDIA GeForce RTX 2070", "count": 2, "watts": 185, "vram_gb": 8}]


def test_spec_figures_override_declared_ones():
    planned = apply_what_if(REFERENCE, parse_specs(["gpus=4x RTX 2070@200W limit=150W"]))
    assert planned["hardware"]["gpus"] == [
        {"model": "RTX 2070", "count": 4, "watts": 200, "vram_gb": 8, "power_limit_w": 150}]


def test_psu_and_memory_keep_what_the_spec_does_not_change():
    planned = apply_what_if(REFERENCE, parse_specs(["psu=1300", "memory=64"]))
    assert planned["hardware"]["psu"] == {"watts": 1300, "efficiency": "platinum"}
    assert planned["hardware"]["memory"] == {"gb": 64, "watts": 11}
    planned = apply_what_if(REFERENCE, parse_specs(["psu=gold"]))
    assert planned["hardware"]["psu"] == {"watts": 1000, "efficiency": "gold"}


def test_a_host_without_hardware_cannot_be_planned():
    with pytest.raises(InputError, match="no 'hardware'"):
        apply_what_if({"os": {}}, parse_specs(["memory=64"]))


# --- capacity ---------------------------------------------------------------------------------------

def _plan(specs):
    return parse_host("deep-al", apply_what_if(REFERENCE, parse_specs(specs)))


def test_capacity_of_the_reference_box():
    # 231 W without GPUs; 1000 W PSU, 10 % headroom (900 W usable); slots 16/16/8/8; 64 lanes, 4 for NVMe.
    cap = capacity_for(_plan([]))
    assert cap is not None
    assert cap.as_dict() == {"model": "GeForce RTX 2070", "card_w": 185, "by_psu": 4, "by_psu_headroom": 3,
                             "by_slots": 4, "by_lanes": 4, "limit": 4}


def test_capacity_of_rtx_2080_founders_edition():
    cap = capacity_for(_plan(["gpus=2x GeForce RTX 2080@225W"]))
    assert cap is not None
    assert (cap.model, cap.by_psu, cap.by_psu_headroom, cap.limit) == ("GeForce RTX 2080", 3, 2, 3)


def test_capacity_counts_power_limits_and_the_new_psu():
    cap = capacity_for(_plan(["gpus=4x RTX 2080@225W limit=150W", "psu=1300 gold"]))
    assert cap is not None
    assert cap.card_w == 150
    assert (cap.by_psu, cap.by_psu_headroom) == (7, 6)  # (1300-231)/150, (1170-231)/150
    assert cap.limit == 4                                # the slots are the limit now


def test_capacity_lanes_stop_at_the_first_slot_that_does_not_fit():
    cap = capacity(model="X", card_w=100, gpu_count=1, gpus_w=100, max_draw_w=300, psu_w=1000,
                   headroom_pct=10, slots=[16, 16, 8, 8], lanes_available=24, lanes_other=4)
    assert (cap.by_lanes, cap.by_slots, cap.by_psu, cap.limit) == (1, 4, 8, 1)


def test_capacity_needs_the_parts_it_counts():
    hv = copy.deepcopy(REFERENCE)
    del hv["hardware"]["psu"]
    assert capacity_for(parse_host("deep-al", hv)) is None


# --- comparison -------------------------------------------------------------------------------------

def _host(verdict, psu_status, draw):
    return {"name": "deep-al", "verdict": verdict,
            "checks": [{"id": "psu_headroom", "status": psu_status, "message": f"max draw {draw} W",
                        "max_draw_w": draw, "psu_w": 1000, "items": ["not shown"]},
                       {"id": "gpu_slots", "status": "ok", "message": "1 of 4 slots", "gpu_count": 1}],
            "summary": {"max_draw_w": draw, "psu_w": 1000, "gpu_count": 1, "currency": "EUR"}}


def test_compare_puts_statuses_and_key_figures_side_by_side():
    today = _host("ok", "ok", 416)
    planned = _host("fail", "fail", 1131)
    planned["checks"].append({"id": "extra", "status": "warn", "message": "new"})
    out = compare(today, planned)
    assert out["verdict"] == {"today": "ok", "planned": "fail"}
    psu = out["checks"][0]
    assert psu["id"] == "psu_headroom" and psu["changed"] is True
    assert psu["today"]["figures"] == {"max_draw_w": 416, "psu_w": 1000}
    assert psu["planned"]["status"] == "fail"
    assert out["checks"][1]["changed"] is False
    assert out["checks"][2] == {"id": "extra", "today": None, "changed": True,
                                "planned": {"status": "warn", "message": "new", "figures": {}}}
    draw = next(f for f in out["figures"] if f["figure"] == "max_draw_w")
    assert (draw["today"], draw["planned"], draw["unit"]) == (416, 1131, "W")
    assert out["currency"] == "EUR"


# --- through the CLI --------------------------------------------------------------------------------

def test_cli_what_if_two_rtx_2080_founders_edition_json():
    code, out, err = run_cli(["--what-if", "gpus=2x GeForce RTX 2080@225W", "--format", "json"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["mode"] == "what_if" and doc["what_if"] == ["gpus=2x GeForce RTX 2080@225W"]
    host = doc["hosts"][0]
    assert host["name"] == "deep-al" and host["verdict"] == "ok"
    assert host["today"]["summary"]["max_draw_w"] == 416
    assert host["planned"]["summary"]["max_draw_w"] == 681          # issue 2: 2x RTX 2080 -> ok at 681 W
    assert host["capacity"]["by_psu"] == 3 and host["capacity"]["limit"] == 3


def test_cli_what_if_four_rtx_2080_fails_and_says_so_side_by_side():
    code, out, _ = run_cli(["--what-if", "gpus=4x RTX 2080@225W"])
    assert code == 1                                                  # the planned build fails
    assert "deep-al  today OK -> planned FAIL" in out
    assert "FAIL 1131 of 1000 W (113.1 %)  *" in out                  # issue 2: psu fail at 1131 W
    assert "WARN ram_vs_vram" in out
    assert "the PSU feeds 3 (2 keeping the headroom)" in out


def test_cli_what_if_four_rtx_2070_warns_and_a_bigger_psu_and_ram_fix_it():
    code, out, _ = run_cli(["--what-if", "gpus=4x RTX 2070", "--format", "json"])
    planned = {c["id"]: c["status"] for c in json.loads(out)["hosts"][0]["planned"]["checks"]}
    assert code == 0 and planned["psu_headroom"] == "warn" and planned["ram_vs_vram"] == "warn"
    code, out, _ = run_cli(["--what-if", "gpus=4x RTX 2070", "--what-if", "psu=1300 gold",
                         "--what-if", "memory=64", "--format", "json", "--strict"])
    planned = {c["id"]: c["status"] for c in json.loads(out)["hosts"][0]["planned"]["checks"]}
    assert planned["psu_headroom"] == "ok" and planned["ram_vs_vram"] == "ok"


@pytest.mark.parametrize(("argv", "message"), [
    (["--what-if", "gpus=2x RTX 9999"],
     "deep-al: --what-if: hardware.gpus[0].model: GPU 'RTX 9999' is not in the catalogue"),
    (["--what-if", "psu=1300 diamond"], "--what-if: 'psu=1300 diamond': unknown efficiency class 'diamond'"),
    (["--what-if", "gpus=2x RTX 2080", "--what-if", "gpus=4x RTX 2080"], "already planned"),
])
def test_cli_bad_what_if_is_exit_2_with_one_line(argv, message):
    code, out, err = run_cli(argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("spec", "cls"),
    [("psu=1300 standard", "white"), ("psu=1300 80 plus", "white"), ("psu=1300 80 PLUS Gold", "gold"),
     ("psu=1300W titanium", "titanium"), ("psu=1300", None)],
)
def test_psu_classes_read_as_the_inventory_reads_them(spec, cls):
    assert parse_specs([spec]).psu.efficiency == cls
