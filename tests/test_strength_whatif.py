"""What-if edges (issue 21): capacities of zero, slot widths that stop the lane count, "1x MODEL",
the bounds of each figure and what the comparison shows. Expected figures are worked out in comments.
"""

from __future__ import annotations

import json

import pytest

from dlrig.errors import InputError
from dlrig.plan.parse import MAX_GPU_COUNT, MAX_PSU_W, MAX_RAM_GB
from dlrig.upgrade.capacity import capacity
from dlrig.upgrade.spec import PlannedGpu, PsuSpec, apply_what_if, parse_specs
from dlrig.upgrade.whatif import compare


def cap(**overrides):
    args = {
        "model": "X",
        "card_w": 100,
        "gpu_count": 1,
        "gpus_w": 100,
        "max_draw_w": 300,
        "psu_w": 1000,
        "headroom_pct": 10,
        "slots": [16, 16, 8, 8],
        "lanes_available": 64,
        "lanes_other": 4,
    }
    return capacity(**{**args, **overrides})


# ---- capacity -----------------------------------------------------------------------------------------


def test_capacity_of_an_ordinary_box():
    c = cap()
    # 300 W with one 100 W card: 200 W without GPUs. (1000 - 200) / 100 = 8; (900 - 200) / 100 = 7.
    # Lanes: 4 + 16 + 16 + 8 + 8 = 52 of 64: all four slots.
    assert c.as_dict() == {
        "model": "X",
        "card_w": 100,
        "by_psu": 8,
        "by_psu_headroom": 7,
        "by_slots": 4,
        "by_lanes": 4,
        "limit": 4,
    }


def test_capacity_is_zero_when_the_rest_of_the_build_already_takes_the_psu():
    # 1200 W with one 200 W card: 1000 W without GPUs on a 1000 W PSU: no card fits, not a negative count.
    c = cap(max_draw_w=1200, gpus_w=200)
    assert (c.by_psu, c.by_psu_headroom, c.limit) == (0, 0, 0)
    # 1300 W, 1100 W without GPUs: (1000 - 1100) / 100 = -1 -> 0.
    assert cap(max_draw_w=1300, gpus_w=200).as_dict()["by_psu"] == 0


def test_capacity_is_zero_without_slots_or_without_lanes():
    assert (cap(slots=[]).by_slots, cap(slots=[]).by_lanes, cap(slots=[]).limit) == (0, 0, 0)
    # 4 lanes of NVMe already take all 4 CPU lanes: not even an x1 slot fits.
    no_lanes = cap(slots=[1, 16], lanes_available=4)
    assert (no_lanes.by_lanes, no_lanes.by_slots, no_lanes.limit) == (0, 2, 0)


def test_the_limit_is_the_smallest_of_psu_slots_and_lanes():
    assert cap(card_w=300).limit == 2  # (1000 - 200) / 300 = 2.7 -> 2 by the PSU
    assert cap(slots=[16, 16, 8]).limit == 3  # 3 slots
    assert cap(lanes_available=36).limit == 2  # 4 + 16 + 16 = 36: two slots
    assert cap(card_w=300).as_dict()["by_psu_headroom"] == 2  # (900 - 200) / 300 = 2.3


def test_a_slot_that_does_not_fit_stops_the_count_even_if_a_narrower_one_would():
    # Slots are filled in order: 4 + 16 = 20 fits in 24, the second x16 (36) does not, and the x4 after it
    # (24) would, but a card cannot skip the slot before it.
    c = cap(slots=[16, 16, 4], lanes_available=24)
    assert (c.by_lanes, c.by_slots, c.limit) == (1, 3, 1)
    # Exactly the lanes there are: 4 + 16 + 4 = 24 of 24 fits both.
    assert cap(slots=[16, 4], lanes_available=24).by_lanes == 2


def test_a_card_that_exactly_fills_the_headroom_counts_despite_rounding():
    # 1100 W less 7 % = 1023 W (as a float 1022.9999999999999); 1023 - 23 = 1000 W = 10 cards of 100 W.
    c = cap(psu_w=1100, headroom_pct=7, max_draw_w=123, gpus_w=100)
    assert c.by_psu_headroom == 10
    assert c.by_psu == 10  # (1100 - 23) / 100 = 10.77


def test_a_card_of_zero_watts_is_refused():
    with pytest.raises(InputError, match="a card's watts must be > 0"):
        cap(card_w=0)


def test_capacity_keeps_fractional_card_watts():
    assert cap(card_w=150.5).as_dict()["card_w"] == 150.5
    assert isinstance(cap(card_w=150.0).as_dict()["card_w"], int)


# ---- parsing: "1x", bounds -----------------------------------------------------------------------------


def test_one_x_model_is_one_card_and_is_written_back_that_way():
    plan = parse_specs(["gpus=1x GeForce RTX 3090"])
    assert plan.gpus == (PlannedGpu("GeForce RTX 3090", 1),)
    assert plan.describe() == ["gpus: 1x GeForce RTX 3090"]
    assert parse_specs(["gpus=1 x RTX 3090"]).gpus == parse_specs(["gpus=RTX 3090"]).gpus


def test_describe_writes_every_figure_of_a_plan():
    plan = parse_specs(["gpus=1x RTX 3090@350.5W limit=300W + 2x RTX 2080", "psu=1300", "memory=64.5"])
    assert plan.describe() == [
        "gpus: 1x RTX 3090 @350.5W limit=300W + 2x RTX 2080",
        "psu: 1300 W",
        "memory: 64.5 GB",
    ]
    assert parse_specs(["psu=titanium"]).describe() == ["psu: titanium"]
    assert parse_specs([]).describe() == []


def test_the_largest_figures_are_accepted_and_one_more_is_not():
    assert parse_specs([f"gpus={MAX_GPU_COUNT}x RTX 2080"]).gpus == (PlannedGpu("RTX 2080", MAX_GPU_COUNT),)
    assert parse_specs([f"psu={MAX_PSU_W}"]).psu == PsuSpec(MAX_PSU_W, None)
    assert parse_specs([f"memory={MAX_RAM_GB}"]).memory_gb == MAX_RAM_GB
    for spec in (f"gpus={MAX_GPU_COUNT + 1}x RTX 2080", f"psu={MAX_PSU_W + 1}", f"memory={MAX_RAM_GB + 1}"):
        with pytest.raises(InputError, match="must be"):
            parse_specs([spec])


def test_a_count_of_seven_digits_is_refused_as_too_large():
    with pytest.raises(InputError) as err:
        parse_specs(["gpus=1000000x RTX 2080"])
    assert err.value.problem.endswith(f"the GPU count must be >= 1 and <= {MAX_GPU_COUNT}, got 1000000")


def test_a_psu_spec_keeps_the_class_it_does_not_change():
    hostvars = {"hardware": {"psu": {"watts": 1000, "efficiency": "platinum"}}}
    planned = apply_what_if(hostvars, parse_specs(["psu=1300.0"]))
    assert planned["hardware"]["psu"] == {"watts": 1300, "efficiency": "platinum"}
    assert isinstance(planned["hardware"]["psu"]["watts"], int)
    assert apply_what_if(hostvars, parse_specs(["psu=gold"]))["hardware"]["psu"] == {
        "watts": 1000,
        "efficiency": "gold",
    }


def test_apply_sets_memory_and_gpus_on_a_host_that_declared_none():
    planned = apply_what_if({"hardware": {}}, parse_specs(["gpus=1x RTX 3090@350W", "memory=64", "psu=900"]))
    assert planned["hardware"] == {
        "gpus": [{"model": "RTX 3090", "count": 1, "watts": 350}],
        "memory": {"gb": 64},
        "psu": {"watts": 900},
    }


# ---- comparison ---------------------------------------------------------------------------------------


def test_compare_shows_only_present_figures_and_takes_the_currency_of_either_side():
    today = {
        "verdict": "ok",
        "checks": [{"id": "energy", "status": "ok", "message": "m", "monthly_cost": 9}],
        "summary": {"monthly_cost": 9, "currency": "USD"},
    }
    planned = {"verdict": "ok", "checks": [], "summary": {}}
    out = compare(today, planned)
    assert out["figures"] == [
        {"figure": "monthly_cost", "label": "energy / month", "unit": "", "today": 9, "planned": None}
    ]
    assert out["currency"] == "USD"
    assert out["checks"] == [
        {
            "id": "energy",
            "changed": True,
            "planned": None,
            "today": {"status": "ok", "message": "m", "figures": {"monthly_cost": 9}},
        }
    ]


def test_statuses_read_back_from_json_compare_by_value():
    # The side-by-side view is built from two preflight JSON reports: equal statuses are separate strings.
    text = '{"verdict": "warn", "checks": [{"id": "psu_headroom", "status": "warn", "message": "m"}]}'
    today, planned = json.loads(text), json.loads(text)
    assert today["checks"][0]["status"] is not planned["checks"][0]["status"]
    assert compare(today, planned)["checks"][0]["changed"] is False


def test_a_model_declared_twice_keeps_the_figures_of_its_first_line():
    hostvars = {
        "hardware": {
            "gpus": [
                {"model": "GeForce RTX 2080", "count": 1, "watts": 225},
                {"model": "GeForce RTX 2080", "count": 1, "watts": 215},
            ]
        }
    }
    planned = apply_what_if(hostvars, parse_specs(["gpus=3x GeForce RTX 2080"]))
    assert planned["hardware"]["gpus"] == [{"model": "GeForce RTX 2080", "count": 3, "watts": 225}]
