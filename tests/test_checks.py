"""The plan checks on the reference build and its planned upgrades (issue 2, section 3 and 5)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from dlrig.checks import plan_check_ids, run_checks
from dlrig.checks.energy import check_energy, efficiency_at, monthly_cost
from dlrig.checks.memory import check_ram_vs_vram
from dlrig.checks.pcie import check_pcie, transfer_ms
from dlrig.checks.psu import check_psu, max_draw_w
from dlrig.checks.registry import REGISTRY
from dlrig.checks.slots import check_slots
from dlrig.output.document import exit_code, host_entry, plan_document
from dlrig.plan.parse import parse_host

REFERENCE = yaml.safe_load((Path(__file__).parent.parent / "inventory/host_vars/deep-al.yml").read_text())


def plan(gpus=None, **hardware):
    data = copy.deepcopy(REFERENCE)
    if gpus is not None:
        data["hardware"]["gpus"] = gpus
    data["hardware"].update(hardware)
    return parse_host("deep-al", data)


def by_id(results):
    return {r.id: r for r in results}


FOUR_2070 = [{"model": "GeForce RTX 2070", "count": 4, "watts": 185, "vram_gb": 8}]
FOUR_2080 = [{"model": "GeForce RTX 2080", "count": 4, "watts": 225}]
TWO_2080 = [{"model": "GeForce RTX 2080", "count": 2, "watts": 225}]


def test_reference_build_is_ok_on_every_plan_check():
    results = by_id(run_checks(plan()))
    assert set(plan_check_ids()) <= set(results)
    for check_id in plan_check_ids():
        assert results[check_id].status == "ok", results[check_id].message
    psu = results["psu_headroom"]
    assert psu.figures["max_draw_w"] == 416 and psu.figures["load_pct"] == 41.6
    assert psu.figures["more_gpus"] == {"GeForce RTX 2070": 2}  # (900 - 416) // 185
    assert "could feed 2 more GeForce RTX 2070" in psu.message


def test_four_rtx_2070_warn_on_psu_headroom_and_ram():
    results = by_id(run_checks(plan(FOUR_2070)))
    assert results["psu_headroom"].status == "warn"
    assert results["psu_headroom"].figures["max_draw_w"] == 971
    assert "29 W free" in results["psu_headroom"].message
    assert results["ram_vs_vram"].status == "warn"
    assert results["ram_vs_vram"].figures == {"ram_gb": 16, "vram_gb": 32, "largest_gpu_vram_gb": 8}
    assert results["pcie_lanes"].status == "ok" and results["gpu_slots"].status == "ok"


def test_four_rtx_2080_at_225_w_fail_the_psu_at_1131_w():
    result = check_psu(plan(FOUR_2080))
    assert result.status == "fail"
    assert result.figures["max_draw_w"] == 1131
    assert "exceeds its rating by 131 W" in result.message
    assert "at least 1300 W" in result.message and "power_limit_w: 167" in result.message
    assert result.figures["more_gpus"] == {"GeForce RTX 2080": 0}


def test_two_rtx_2080_are_ok_at_681_w():
    results = by_id(run_checks(plan(TWO_2080)))
    assert results["psu_headroom"].figures["max_draw_w"] == 681
    assert all(results[c].status == "ok" for c in plan_check_ids())


def test_power_limited_gpus_count_at_their_limit():
    limited = plan([{"model": "GeForce RTX 2080", "count": 4, "watts": 225, "power_limit_w": 160}])
    assert max_draw_w(limited.hardware) == 231 + 4 * 160
    assert check_psu(limited).status == "ok"


def test_psu_warn_boundary_is_the_headroom():
    # 231 W of other parts + 669 W of GPU = exactly 900 W: 100 W (10 %) free is enough.
    edge = plan([{"model": "X", "count": 1, "watts": 669, "vram_gb": 8}])
    assert check_psu(edge).status == "ok"
    over = plan([{"model": "X", "count": 1, "watts": 670, "vram_gb": 8}])
    assert check_psu(over).status == "warn"


def test_batch_transfer_times_match_the_reference_analysis():
    assert round(transfer_ms(16, 3), 1) == 1.1
    assert round(transfer_ms(8, 3), 1) == 2.3
    assert round(transfer_ms(4, 3), 1) == 4.5
    assert transfer_ms(16, 4) == pytest.approx(transfer_ms(16, 3) / 2)
    assert transfer_ms(0) is None


def test_lane_map_fills_slots_in_order():
    result = check_pcie(plan(FOUR_2070))
    gpus = result.figures["gpus"]
    assert [g["lanes"] for g in gpus] == [16, 16, 8, 8]
    assert [g["slot"] for g in gpus] == [1, 2, 3, 4]
    assert [g["batch_transfer_ms"] for g in gpus] == [1.13, 1.13, 2.26, 2.26]
    assert result.figures["lanes_used"] == 52 and result.figures["lanes_available"] == 64


def test_reference_lanes_count_the_cpu_attached_nvme():
    result = check_pcie(plan())
    assert result.status == "ok" and result.figures["lanes_used"] == 20
    assert result.figures["other"] == [{"part": "nvme Samsung 970 EVO 500GB", "lanes": 4}]


def test_nvme_behind_the_chipset_takes_no_cpu_lanes():
    storage = [{"model": "NVMe", "interface": "nvme", "pcie_lanes": 4, "watts": 10, "via_chipset": True}]
    assert check_pcie(plan(storage=storage)).figures["lanes_used"] == 16


def test_too_many_lanes_fail():
    cpu = {"model": "Intel Core i9-9900K"}  # 16 lanes
    result = check_pcie(plan(TWO_2080, cpu=cpu))
    assert result.status == "fail"
    assert result.figures["lanes_used"] == 36 and result.figures["lanes_available"] == 16
    assert "20 lanes more" in result.message


def test_a_gpu_below_x8_with_several_gpus_warns():
    board = {"model": "B", "gpu_slots": [16, 4], "watts": 0}
    result = check_pcie(plan(TWO_2080, motherboard=board))
    assert result.status == "warn"
    assert "GPU 2 (GeForce RTX 2080) gets only x4, about 4.5 ms" in result.message
    single = check_pcie(
        plan([{"model": "RTX 2070"}], motherboard={"model": "B", "gpu_slots": [4], "watts": 0})
    )
    assert single.status == "ok"  # one GPU at x4 is fine


def test_more_gpus_than_slots_fail():
    result = check_slots(plan([{"model": "RTX 2070", "count": 5}]))
    assert result.status == "fail"
    assert result.figures["gpu_count"] == 5 and result.figures["gpu_slots"] == 4
    assert "1 would have nowhere to go" in result.message
    assert check_slots(plan(FOUR_2070)).status == "ok"
    assert check_pcie(plan([{"model": "RTX 2070", "count": 5}])).figures["gpus"][4]["lanes"] == 0


@pytest.mark.parametrize("board", [{"model": "B", "watts": 0}, {"model": "B", "gpu_slots": None, "watts": 0}])
def test_a_board_without_a_slot_list_skips_both_slot_checks_alike(board):
    # Not "0 slots, fail" beside "not checked": both checks say the list is missing.
    plan_ = plan(motherboard=board)
    for result in (check_slots(plan_), check_pcie(plan_)):
        assert result.status == "ok" and result.figures.get("skipped") is True, result
        assert result.message.endswith("hardware.motherboard.gpu_slots is not declared"), result.message


def test_ram_equal_to_vram_is_enough():
    assert check_ram_vs_vram(plan(TWO_2080)).status == "ok"


def test_energy_reference_figures():
    assert monthly_cost(1000, 1.0, 0.30) == pytest.approx(216)
    # One 80 PLUS class is roughly 3 %: about 6.5 EUR a month at 1000 W.
    assert monthly_cost(1000, 1.0, 0.30) * 0.03 == pytest.approx(6.48)
    assert efficiency_at("platinum", 0.5, 230) == pytest.approx(0.94)
    assert efficiency_at("platinum", 0.35, 230) == pytest.approx(0.93)  # halfway between 92 and 94
    assert efficiency_at("gold", 0.05, 115) == pytest.approx(0.87)  # below 20 %: the 20 % figure
    assert efficiency_at("titanium", 0.1, 230) == pytest.approx(0.90)
    assert efficiency_at("white", 1.5, 115) == pytest.approx(0.80)


def test_energy_check_on_the_reference_build():
    data = copy.deepcopy(REFERENCE)
    result = check_energy(parse_host("deep-al", data))
    f = result.figures
    assert result.status == "ok"
    assert f["max_draw_w"] == 416 and f["load_pct"] == 41.6 and f["currency"] == "EUR"
    eff = 0.92 + 0.02 * (0.416 - 0.2) / 0.3
    assert f["efficiency_pct"] == round(100 * eff, 1)
    assert f["monthly_cost"] == round(416 / eff * 720 / 1000 * 0.30, 2)
    assert f["class_up"]["class"] == "titanium" and f["class_up"]["saves"] > 0
    assert f["class_down"]["class"] == "gold" and f["class_down"]["costs"] > 0


def test_energy_at_1000_w_one_class_up_and_down_from_the_table():
    big = plan(
        [{"model": "X", "count": 1, "watts": 769, "vram_gb": 8}], psu={"watts": 1000, "efficiency": "gold"}
    )
    f = check_energy(big).figures
    assert f["max_draw_w"] == 1000 and f["load_pct"] == 100 and f["efficiency_pct"] == 89
    assert f["monthly_cost"] == round(216 / 0.89, 2)
    # At full load on 230 V, gold -> platinum is 89 -> 90 % and gold -> silver 89 -> 87 %: the table is finer
    # than the "one class is about 3 %, 6.5 EUR" rule of thumb.
    assert f["class_up"] == {
        "class": "platinum",
        "monthly_cost": round(216 / 0.90, 2),
        "saves": round(216 / 0.89 - 216 / 0.90, 2),
    }
    assert f["class_down"]["costs"] == round(216 / 0.87 - 216 / 0.89, 2)
    assert 2 < f["class_up"]["saves"] < 8 and 2 < f["class_down"]["costs"] < 8


def test_checks_skip_what_is_not_declared():
    ci = parse_host("ci", {"hardware": {"gpus": []}})
    results = run_checks(ci)
    for r in results:
        if r.id != "stack":  # the resolver's own verdict: tested apart
            assert r.status == "ok" and r.figures["skipped"] is True, r
    no_price = parse_host("h", {"hardware": {"psu": {"watts": 500, "efficiency": "gold"}}})
    assert "price_per_kwh" in check_energy(no_price).message


def test_undeclared_hosts_get_no_checks_and_an_ok_verdict():
    bare = parse_host("bare", {})
    assert run_checks(bare) == []
    entry = host_entry(bare, [])
    assert entry["declared"] is False and entry["verdict"] == "ok" and entry["checks"] == []
    assert entry["summary"]["max_draw_w"] is None


def test_registry_runs_every_plan_check_in_order_with_the_stack_last():
    ids = [r.id for r in run_checks(plan())]
    assert ids == plan_check_ids() and ids[-1] == "stack"
    assert ids[:5] == ["psu_headroom", "pcie_lanes", "gpu_slots", "ram_vs_vram", "energy"]


@pytest.fixture
def no_stack():
    with REGISTRY.without("stack"):  # plan checks only: the resolver is tested apart
        yield


def test_report_summary_and_exit_codes(no_stack):
    report = plan_document([plan(), plan(FOUR_2070), plan(FOUR_2080)])
    summaries = [h["summary"] for h in report["hosts"]]
    assert summaries[0] == {
        "max_draw_w": 416,
        "psu_w": 1000,
        "load_pct": 41.6,
        "lanes_used": 20,
        "lanes_available": 64,
        "gpu_count": 1,
        "vram_gb": 8,
        "ram_gb": 16,
        "monthly_cost": 96.16,
        "currency": "EUR",
    }
    assert [h["verdict"] for h in report["hosts"]] == ["ok", "warn", "fail"]
    assert exit_code(report) == 1
    assert exit_code({"hosts": report["hosts"][:2]}) == 0
    assert exit_code({"hosts": report["hosts"][:2]}, strict=True) == 1
    assert exit_code({"hosts": [{"verdict": "warn"}]}) == 0
    assert exit_code({"hosts": [{"verdict": "warn"}]}, strict=True) == 1


def test_a_power_limit_above_the_board_power_is_a_warning():
    result = check_psu(plan([{"model": "GeForce RTX 2070", "power_limit_w": 500}]))
    assert result.status == "warn"
    assert "GeForce RTX 2070: power_limit_w 500 W is above its board power 175 W" in result.message
    assert result.figures["max_draw_w"] == 731  # counted as given
    assert check_psu(plan([{"model": "GeForce RTX 2070", "power_limit_w": 150}])).status == "ok"


def test_an_empty_slot_list_is_a_board_without_gpu_slots():
    # gpu_slots: [] declares a board without GPU slots (issue 10): a GPU on it fails, the lanes say "no slot".
    plan_ = plan(motherboard={"model": "B", "gpu_slots": [], "watts": 0})
    slots, pcie = check_slots(plan_), check_pcie(plan_)
    assert slots.status == "fail" and "has no GPU slot" in slots.message
    assert not pcie.figures.get("skipped") and all(g["lanes"] == 0 for g in pcie.figures["gpus"])
    assert check_slots(plan([], motherboard={"model": "B", "gpu_slots": [], "watts": 0})).status == "ok"
