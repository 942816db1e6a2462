"""The plan checks on builds the reference box does not cover (issue 21): other PCIe cards, PCIe 4/5,
every 80 PLUS class, the PSU's fail/warn/ok edges. Every expected figure is worked out by hand in a comment.
"""

from __future__ import annotations

import json

import pytest

from dlrig.checks.energy import check_energy, efficiency_at
from dlrig.checks.pcie import check_pcie, other_lanes, transfer_ms
from dlrig.checks.psu import check_psu, max_draw_w, power_items
from dlrig.plan.model import EFFICIENCY_CLASSES
from dlrig.plan.parse import parse_host

CPU = {"model": "Test CPU", "watts": 100, "pcie_lanes": 24}
BOARD = {"model": "Test board", "gpu_slots": [16, 16], "watts": 0}


def gpu(watts, count=1, model="Test GPU", **extra):
    return {"model": model, "count": count, "watts": watts, "vram_gb": 8, **extra}


def host(
    gpus=(),
    *,
    psu=1000,
    efficiency="platinum",
    cpu=None,
    board=None,
    storage=(),
    other=(),
    headroom=10,
    price=0.30,
    mains=230,
):
    hardware = {
        "cpu": cpu or CPU,
        "motherboard": board or BOARD,
        "gpus": list(gpus),
        "storage": list(storage),
        "other_pcie": list(other),
        "psu": {"watts": psu, "efficiency": efficiency},
    }
    power = {"price_per_kwh": price, "currency": "EUR", "headroom_pct": headroom, "mains_v": mains}
    return parse_host("strength", {"hardware": hardware, "power": power})


# ---- PSU -----------------------------------------------------------------------------------------------


def test_a_310_w_build_on_a_1000_w_psu_has_690_w_free_and_is_ok():
    result = check_psu(host([gpu(210)]))
    f = result.figures
    assert result.status == "ok", result.message
    # 100 W CPU + 210 W GPU = 310 W; 1000 - 310 = 690 W free; usable 1000 x 0.9 = 900 W.
    assert (f["max_draw_w"], f["free_w"], f["usable_w"], f["load_pct"]) == (310, 690, 900, 31.0)
    # 310 / 0.9 = 344.4 -> rounded up to 50 W: 350; (900 - 310) / 210 = 2.8 -> 2 more cards.
    assert f["recommended_psu_w"] == 350 and f["more_gpus"] == {"Test GPU": 2}
    assert result.message == (
        "max draw 310 W of the 1000 W PSU (31 %); the PSU could feed 2 more Test GPU within the 10 % headroom"
    )
    # Whole watts stay whole numbers in the JSON report.
    assert json.dumps([f["max_draw_w"], f["free_w"], f["usable_w"]]) == "[310, 690, 900]"


def test_fractional_watts_are_reported_to_a_tenth():
    f = check_psu(host([gpu(200.25)])).figures
    # 100 + 200.25 = 300.25 W -> 300.2 (a tenth of a watt, half to even); free 699.75 -> 699.8.
    assert f["max_draw_w"] == 300.2 and f["free_w"] == 699.8


def test_a_draw_exactly_at_the_rating_warns_and_one_watt_more_fails():
    at = check_psu(host([gpu(450, count=2)]))
    # 100 + 2 x 450 = 1000 W: 0 W free, less than 100 W (10 %) of headroom, but not over the rating.
    assert at.status == "warn"
    # 1000 / 0.9 = 1111.1 -> 1150 W; GPUs may share 900 - 100 = 800 W: 400 W each.
    assert at.message == (
        "max draw 1000 W of the 1000 W PSU (100 %) leaves 0 W free, less than the 10 % "
        "headroom (100 W): use a PSU of at least 1150 W (1000 W + 10 % headroom), or set "
        "power_limit_w: 400 (or lower) on the GPUs"
    )
    over = check_psu(host([gpu(455, count=2)]))
    # 100 + 2 x 455 = 1010 W > 1000 W: fail, 10 W over; 1010 / 0.9 = 1122.2 -> 1150 W.
    assert over.status == "fail"
    assert over.message == (
        "max draw 1010 W of the 1000 W PSU (101 %) exceeds its rating by 10 W: use a PSU "
        "of at least 1150 W (1010 W + 10 % headroom), or set power_limit_w: 400 (or "
        "lower) on the GPUs"
    )
    assert over.figures["free_w"] == -10 and over.figures["more_gpus"] == {"Test GPU": 0}


def test_a_larger_headroom_moves_the_warning():
    # Headroom 20 %: usable 800 W. 100 + 710 = 810 W leaves 190 W < 200 W: warn.
    warn = check_psu(host([gpu(710)], headroom=20))
    assert warn.status == "warn" and "less than the 20 % headroom (200 W)" in warn.message
    # 810 / 0.8 = 1012.5 -> 1050 W; one GPU may take 800 - 100 = 700 W.
    assert "at least 1050 W (810 W + 20 % headroom), or set power_limit_w: 700 (or lower)" in warn.message
    # 100 + 700 = 800 W leaves exactly 200 W: ok, and (800 - 800) / 700 = 0 more cards.
    ok = check_psu(host([gpu(700)], headroom=20))
    assert ok.status == "ok" and ok.figures["more_gpus"] == {"Test GPU": 0}
    assert ok.figures["usable_w"] == 800 and ok.figures["recommended_psu_w"] == 1000  # 800 / 0.8


def test_no_power_limit_advice_when_the_other_parts_alone_use_the_headroom():
    cpu = {**CPU, "watts": 950}
    result = check_psu(host([gpu(100)], cpu=cpu))
    # 950 + 100 = 1050 W; the GPU would get 900 - 950 < 0 W: only a bigger PSU helps (1050 / 0.9 -> 1200).
    assert result.status == "fail"
    assert result.message.endswith("use a PSU of at least 1200 W (1050 W + 10 % headroom)")


def test_other_pcie_cards_count_in_the_power_budget():
    other = [
        {"model": "ConnectX-5", "pcie_lanes": 8, "watts": 25},
        {"model": "USB card", "pcie_lanes": 1, "watts": 5, "via_chipset": True},
    ]
    plan = host([gpu(210)], other=other)
    # 100 + 25 + 5 + 210 = 340 W, whichever bus the cards sit on.
    assert max_draw_w(plan.hardware) == 340
    assert power_items(plan.hardware) == [
        {"part": "CPU Test CPU", "watts": 100},
        {"part": "motherboard Test board", "watts": 0},
        {"part": "PCIe ConnectX-5", "watts": 25},
        {"part": "PCIe USB card", "watts": 5},
        {"part": "GPU 1x Test GPU", "watts": 210, "each_w": 210},
    ]
    assert check_psu(plan).figures["free_w"] == 660


def test_power_items_name_limited_gpus_and_drives():
    storage = [
        {"model": "Fast", "interface": "nvme", "pcie_lanes": 4, "watts": 8},
        {"interface": "sata", "watts": 6},
    ]
    items = power_items(host([gpu(300, count=2, power_limit_w=250)], storage=storage).hardware)
    assert items[2:] == [
        {"part": "nvme Fast", "watts": 8},
        {"part": "sata drive", "watts": 6},
        {"part": "GPU 2x Test GPU limited to 250 W", "watts": 500, "each_w": 250},  # 2 x 250
    ]


def test_a_limit_above_the_board_power_keeps_a_failing_verdict():
    # 100 + 2 x 480 = 1060 W > 1000 W fails; the limit above the 450 W board power adds its note only.
    result = check_psu(host([gpu(450, count=2, power_limit_w=480)]))
    assert result.status == "fail"
    assert "Test GPU: power_limit_w 480 W is above its board power 450 W" in result.message


# ---- PCIe ----------------------------------------------------------------------------------------------

# One batch of 32 x 225 x 225 x 3 fp32 = 19,440,000 bytes; x16 moves 16 GiB/s per GiB/s-per-lane.
X16_GEN3_MS = 19_440_000 / (16 * 1.0 * 2**30) * 1000  # 1.1315 ms
X16_GEN4_MS = 19_440_000 / (16 * 2.0 * 2**30) * 1000  # 0.5658 ms
X16_GEN5_MS = 19_440_000 / (16 * 4.0 * 2**30) * 1000  # 0.2829 ms


def test_transfer_time_halves_per_generation():
    assert transfer_ms(16, 3) == pytest.approx(X16_GEN3_MS)
    assert transfer_ms(16, 4) == pytest.approx(X16_GEN4_MS)
    assert transfer_ms(16, 5) == pytest.approx(X16_GEN5_MS)
    assert transfer_ms(4, 5) == pytest.approx(4 * X16_GEN5_MS)
    assert transfer_ms(16, 9) == pytest.approx(X16_GEN3_MS)  # an unknown generation counts as PCIe 3
    assert transfer_ms(-4) is None


@pytest.mark.parametrize("gen", [1, 2, 3, 4, 5, 6, 7])
def test_every_pcie_generation_doubles_the_one_before(gen):
    # PCIe 1.0: 0.25 GiB/s a lane, doubling each generation: x16 of PCIe n = PCIe 3's time x 2^(3 - n).
    assert transfer_ms(16, gen) == pytest.approx(X16_GEN3_MS * 2 ** (3 - gen))


@pytest.mark.parametrize(
    ("gpu_model", "cpu_gen", "board_gen", "link_gen", "ms"),
    [
        ("GeForce RTX 5090", 5, 5, 5, 0.28),  # card, CPU and board all PCIe 5: 0.2829
        ("GeForce RTX 4090", 5, 5, 4, 0.57),  # the card is PCIe 4: 0.5658
        ("GeForce RTX 5090", 5, 4, 4, 0.57),  # the board is PCIe 4
        ("GeForce RTX 5090", 4, 5, 4, 0.57),  # the CPU is PCIe 4
        ("GeForce RTX 2070", 5, 5, 3, 1.13),  # a PCIe 3 card on a PCIe 5 board: 1.1315
    ],
)
def test_the_link_runs_at_the_slowest_of_card_cpu_and_board(gpu_model, cpu_gen, board_gen, link_gen, ms):
    plan = host(
        [{"model": gpu_model}],
        cpu={**CPU, "pcie_gen": cpu_gen},
        board={**BOARD, "pcie_gen": board_gen},
        psu=1600,
    )
    result = check_pcie(plan)
    (row,) = result.figures["gpus"]
    assert (row["pcie_gen"], row["lanes"], row["batch_transfer_ms"]) == (link_gen, 16, ms)
    assert result.status == "ok"
    assert (
        result.message == f"16 of 24 CPU lanes used (GPUs x16); a batch of 32 images takes about {ms:.1f} ms "
        "to GPU 1"
    )


def test_a_narrow_slot_warning_on_pcie_4_quotes_pcie_4_times():
    board = {**BOARD, "gpu_slots": [16, 4], "pcie_gen": 4}
    result = check_pcie(
        host([{"model": "GeForce RTX 4090", "count": 2}], cpu={**CPU, "pcie_gen": 4}, board=board, psu=1600)
    )
    assert result.status == "warn"
    # x4 at PCIe 4: 4 x 0.5658 = 2.263 ms, printed 2.3; x16 at PCIe 4: 0.6 ms.
    assert result.message == (
        "20 of 24 CPU lanes used (GPUs x16, x4): GPU 2 (GeForce RTX 4090) gets only x4, "
        "about 2.3 ms per batch of 32 images vs 0.6 ms at x16; with several GPUs prefer "
        "x8 or more per GPU (x4 costs about 5-10 % in parallel training)"
    )


def test_two_gpus_at_x8_are_enough():
    board = {**BOARD, "gpu_slots": [8, 8]}
    result = check_pcie(host([gpu(200, count=2)], board=board))
    assert result.status == "ok" and [g["lanes"] for g in result.figures["gpus"]] == [8, 8]


def test_a_gpu_without_a_slot_takes_no_lanes_and_is_named():
    result = check_pcie(host([gpu(100, count=3)], cpu={**CPU, "pcie_lanes": 48}))
    # Two x16 slots: the third card has no slot, 0 lanes, no slot number and no transfer time.
    assert result.status == "ok"
    assert result.message.startswith("32 of 48 CPU lanes used (GPUs x16, x16, no slot)")
    third = result.figures["gpus"][2]
    assert (third["slot"], third["lanes"], third["batch_transfer_ms"]) == (None, 0, None)


def test_cards_on_cpu_lanes_count_and_cards_behind_the_chipset_do_not():
    other = [
        {"model": "ConnectX-5", "pcie_lanes": 8, "watts": 25},
        {"model": "USB card", "pcie_lanes": 1, "watts": 5, "via_chipset": True},
        {"pcie_lanes": 4, "watts": 10},
    ]
    plan = host([gpu(200)], other=other, board={**BOARD, "gpu_slots": [16]})
    assert other_lanes(plan.hardware) == [
        {"part": "PCIe ConnectX-5", "lanes": 8},
        {"part": "PCIe card", "lanes": 4},
    ]
    result = check_pcie(plan)
    # 16 (GPU) + 8 + 4 = 28 lanes of 24: 4 too many; the chipset's x1 card is not counted.
    assert result.status == "fail"
    assert result.figures["lanes_used"] == 28
    assert result.message.startswith(
        "28 of 24 CPU lanes used (GPUs x16): 4 lanes more than the Test CPU provides"
    )


def test_all_cpu_lanes_in_use_is_still_ok():
    other = [{"model": "ConnectX-5", "pcie_lanes": 8, "watts": 25}]
    result = check_pcie(host([gpu(200)], other=other, board={**BOARD, "gpu_slots": [16]}))
    assert result.status == "ok" and result.figures["lanes_used"] == 24  # 16 + 8 = 24 of 24


def test_gpus_without_a_board_slot_list_are_not_checked_but_a_gpu_less_build_is():
    no_slots = host([gpu(200)], board={"model": "B", "watts": 0})
    assert check_pcie(no_slots).figures == {"skipped": True}
    nvme = [{"model": "Fast", "interface": "nvme", "pcie_lanes": 4, "watts": 8}]
    result = check_pcie(host([], board={"model": "B", "watts": 0}, storage=nvme))
    assert result.status == "ok" and result.message == "4 of 24 CPU lanes used"


# ---- energy --------------------------------------------------------------------------------------------

# A 500 W build on a 1000 W PSU is at exactly 50 % load, a point of the table (230 V):
EFF_AT_HALF = {
    "none": 75,
    "white": 85,
    "bronze": 88,
    "silver": 90,
    "gold": 92,
    "platinum": 94,
    "titanium": 96,
}
# kWh a month = 500 / eff x 720 h / 1000 = 360 / eff; cost at 0.30 EUR = 108 / eff.
KWH = {
    "none": 480.0,
    "white": 423.5,
    "bronze": 409.1,
    "silver": 400.0,
    "gold": 391.3,
    "platinum": 383.0,
    "titanium": 375.0,
}  # 360/.75, 360/.85 = 423.53, 360/.88 = 409.09, 360/.90, 360/.92 = 391.30, ...
COST = {
    "none": 144.0,
    "white": 127.06,
    "bronze": 122.73,
    "silver": 120.0,
    "gold": 117.39,
    "platinum": 114.89,
    "titanium": 112.5,
}  # 108/.75, 108/.85 = 127.059, 108/.88 = 122.727, 108/.92 = 117.391, 108/.94 = 114.894
# One class up saves (unrounded costs subtracted): 144 - 127.059 = 16.94, 127.059 - 122.727 = 4.33,
# 122.727 - 120 = 2.73, 120 - 117.391 = 2.61, 117.391 - 114.894 = 2.50, 114.894 - 112.5 = 2.39.
STEP = {
    ("none", "white"): 16.94,
    ("white", "bronze"): 4.33,
    ("bronze", "silver"): 2.73,
    ("silver", "gold"): 2.61,
    ("gold", "platinum"): 2.50,
    ("platinum", "titanium"): 2.39,
}


@pytest.mark.parametrize("cls", EFFICIENCY_CLASSES)
def test_every_80_plus_class_at_half_load(cls):
    result = check_energy(host([gpu(400)], efficiency=cls))
    f = result.figures
    assert result.status == "ok"
    assert (f["max_draw_w"], f["load_pct"], f["efficiency_class"]) == (500, 50, cls)
    assert f["efficiency_pct"] == EFF_AT_HALF[cls]
    assert f["kwh_month"] == KWH[cls] and f["monthly_cost"] == COST[cls]
    assert f["wall_w"] == round(500 / (EFF_AT_HALF[cls] / 100), 1)
    rank = EFFICIENCY_CLASSES.index(cls)
    if rank + 1 < len(EFFICIENCY_CLASSES):
        up = EFFICIENCY_CLASSES[rank + 1]
        assert f["class_up"] == {"class": up, "monthly_cost": COST[up], "saves": STEP[(cls, up)]}
        assert f"{up} would save {STEP[(cls, up)]:.2f}" in result.message
    else:
        assert "class_up" not in f and "would save" not in result.message
    if rank > 0:
        down = EFFICIENCY_CLASSES[rank - 1]
        assert f["class_down"] == {"class": down, "monthly_cost": COST[down], "costs": STEP[(down, cls)]}
        assert result.message.endswith(f"{down} would cost {STEP[(down, cls)]:.2f} more")
    else:
        assert "class_down" not in f and "would cost" not in result.message


def test_energy_messages_in_full():
    gold = check_energy(host([gpu(400)], efficiency="gold"))
    # 500 / 0.92 = 543.48 W at the wall, kept as 543.5 and printed without decimals (half to even): 544.
    assert gold.message == (
        "500 W at 50 % load is 544 W at the wall (gold, 92 %): 117.39 EUR a month at full "
        "load; platinum would save 2.50; silver would cost 2.61 more"
    )
    titanium = check_energy(host([gpu(400)], efficiency="titanium"))
    assert titanium.message == (
        "500 W at 50 % load is 521 W at the wall (titanium, 96 %): 112.50 EUR a month "
        "at full load; platinum would cost 2.39 more"
    )
    none = check_energy(host([gpu(400)], efficiency="none"))
    assert none.message == (
        "500 W at 50 % load is 667 W at the wall (none, 75 %): 144.00 EUR a month at full "
        "load; white would save 16.94"
    )


def test_titanium_at_low_load_on_115_v_uses_its_10_percent_point():
    # 150 W of 1000 W = 15 % load, between titanium's 10 % (90) and 20 % (92) points at 115 V: 91 %.
    assert efficiency_at("titanium", 0.15, 115) == pytest.approx(0.91)
    f = check_energy(host([gpu(50)], efficiency="titanium", mains=115)).figures
    assert (f["load_pct"], f["efficiency_pct"], f["mains_v"]) == (15, 91, 115)
    # 150 / 0.91 = 164.84 W; x 720 h = 118.68 kWh; x 0.30 = 35.60 EUR.
    assert (f["wall_w"], f["kwh_month"], f["monthly_cost"]) == (164.8, 118.7, 35.6)
    # Platinum at 15 % / 115 V: below its lowest point (20 %): 90 %. 150 / 0.9 x 0.72 x 0.3 = 36.00.
    assert f["class_down"] == {"class": "platinum", "monthly_cost": 36.0, "costs": 0.4}  # 36.00 - 35.60


def test_efficiency_interpolates_between_and_clamps_outside_the_points():
    # Gold at 230 V: 20 % 90, 50 % 92, 100 % 89.
    assert efficiency_at("gold", 0.75, 230) == pytest.approx(0.905)  # 92 + (89 - 92) x 0.25 / 0.5
    assert efficiency_at("gold", 0.2, 230) == pytest.approx(0.90)
    assert efficiency_at("gold", 1.0, 230) == pytest.approx(0.89)
    assert efficiency_at("gold", 1.2, 230) == pytest.approx(0.89)
    assert efficiency_at("bronze", 0.35, 115) == pytest.approx(0.835)  # 82 + (85 - 82) x 0.15 / 0.3


def test_price_and_currency_scale_the_cost():
    f = check_energy(host([gpu(400)], efficiency="silver", price=0.10)).figures
    # 360 kWh... 500 / 0.9 x 720 / 1000 = 400 kWh; x 0.10 = 40.00.
    assert (f["kwh_month"], f["monthly_cost"], f["price_per_kwh"], f["currency"]) == (
        400.0,
        40.0,
        0.10,
        "EUR",
    )


def test_half_a_watt_short_of_the_headroom_warns():
    # 100 + 800.5 = 900.5 W leaves 99.5 W, short of the 100 W (10 % of 1000 W) headroom.
    result = check_psu(host([gpu(800.5)]))
    assert result.status == "warn" and result.figures["free_w"] == 99.5


def test_a_gpu_in_an_x1_slot_beside_another_warns():
    board = {**BOARD, "gpu_slots": [16, 1]}
    result = check_pcie(host([gpu(200, count=2)], board=board))
    # x1 at PCIe 3: 16 x 1.1315 = 18.1 ms per batch.
    assert result.status == "warn"
    assert "GPU 2 (Test GPU) gets only x1, about 18.1 ms per batch of 32 images vs 1.1 ms at x16" in (
        result.message
    )
