"""Power limits on dlrig-drvpol-gpu: four GPUs (files/nvidia-smi), the inventory's limits applied only where
the current limit differs, matched by model whatever the PCI order; out-of-range limits stop the run.

PCI order of the double: 0 RTX A4000 at 140 W (asked 140), 1 RTX 3090 at 350 W (asked 300), 2 RTX 4090 at
450 W (no limit asked), 3 RTX 3090 at 300 W (asked 300). converge and the idempotence run have both run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from conftest import (
    FACTS_FILE,
    FAKE_DIR,
    PlaybookRun,
    nvidia_smi_calls,
    power_limit_calls,
    read_json,
    run_converge,
    run_ok,
)

HOST = "dlrig-drvpol-gpu"
testinfra_hosts = [f"ansible://{HOST}"]

ASSERT_TASK = "nvidia_driver : Stop when a limit lies outside what the GPU accepts"
SET_TASK = "nvidia_driver : Set the power limit of each GPU whose limit differs from the inventory"


def limits(host: Any) -> dict[int, float]:
    return {int(g["index"]): float(g["power.limit"]) for g in read_json(host, f"{FAKE_DIR}/gpus.json")}


def test_the_role_saw_a_loaded_module_and_no_pending_reboot(host: Any) -> None:
    facts = read_json(host, FACTS_FILE)
    assert facts == {"nvidia_driver_in_container": False, "nvidia_driver_module_loaded": True,
                     "nvidia_driver_reboot_pending": False, "nvidia_driver_secure_boot": False}


@dataclass(frozen=True)
class AfterConverge:
    """What converge and the idempotence run left: every nvidia-smi call, and the limits."""

    calls: list[list[str]]
    limits: dict[int, float]


@pytest.fixture(scope="module")
def after_converge(host: Any) -> AfterConverge:
    return AfterConverge(nvidia_smi_calls(host), limits(host))


def test_only_the_gpu_whose_limit_differed_was_set_once_in_two_runs(after_converge: AfterConverge) -> None:
    # converge: GPU 1 (350 W -> 300 W); the idempotence run found every limit right and set nothing.
    assert [c for c in after_converge.calls if "-pl" in c] == [["-i", "1", "-pl", "300"]]


def test_the_limits_are_now_the_inventory_s(after_converge: AfterConverge) -> None:
    assert after_converge.limits == {0: 140.0, 1: 300.0, 2: 450.0, 3: 300.0}


def test_nvidia_smi_was_read_once_per_converge(after_converge: AfterConverge) -> None:
    query = ["--query-gpu=index,name,power.limit,power.min_limit,power.max_limit",
             "--format=csv,noheader,nounits"]
    assert [c for c in after_converge.calls if "-pl" not in c] == [query, query]


def test_the_boot_time_unit_applies_the_same_limits_matched_the_same_way(host: Any) -> None:
    # nvidia-smi -pl lasts until the next reboot: the unit's script sets every limit the inventory asks for,
    # against a copy of the GPUs at their defaults (the double's state directory is an environment variable).
    assert host.service("dlrig-gpu-power-limits.service").is_enabled
    reset = (
        "import json, sys; gpus = json.load(open(sys.argv[1]));"
        " [g.update({'power.limit': g['power.default_limit']}) for g in gpus];"
        " json.dump(gpus, open(sys.argv[2] + '/gpus.json', 'w'))"
    )
    script = (
        f'd=$(mktemp -d) && python3 -c "{reset}" {FAKE_DIR}/gpus.json "$d"'
        ' && DLRIG_FAKE_NVIDIA_DIR="$d" /usr/local/sbin/dlrig-gpu-power-limits && cat "$d/calls.log";'
        ' s=$?; rm -rf "$d"; exit $s'
    )
    calls = [c for c in run_ok(host, script).splitlines() if "-pl" in c]
    assert calls == ['["-i", "0", "-pl", "140"]', '["-i", "1", "-pl", "300"]', '["-i", "3", "-pl", "300"]']


@pytest.fixture(scope="module")
def out_of_range(tmp_path_factory: pytest.TempPathFactory, after_converge: AfterConverge) -> PlaybookRun:
    """converge.yml again with limits outside what the GPUs accept: 500 W on the RTX 3090s (100-400 W) and
    50 W on the RTX A4000 (100-140 W), given as an extra-vars `hardware` (the inventory's shared field)."""
    hardware = {"gpus": [
        {"model": "GeForce RTX 3090", "count": 2, "power_limit_w": 500},
        {"model": "RTX A4000", "count": 1, "power_limit_w": 50},
        {"model": "GeForce RTX 4090", "count": 1},
    ]}
    return run_converge(HOST, tmp_path_factory.mktemp("out-of-range"), {"hardware": hardware})


def test_an_out_of_range_limit_stops_the_run(out_of_range: PlaybookRun) -> None:
    assert out_of_range.rc == 2, out_of_range.stderr[-2000:]
    assert out_of_range.task(ASSERT_TASK)["failed"] is True
    assert out_of_range.order[-1] == ASSERT_TASK, "the run went on after the range check"


def test_the_message_names_each_gpu_its_range_and_the_asked_limit(out_of_range: PlaybookRun) -> None:
    items = {r["item"]["index"]: r for r in out_of_range.task(ASSERT_TASK)["results"]}
    assert sorted(items) == ["0", "1", "3"]           # the RTX 4090 has no limit: not checked
    assert items["0"]["failed"] and items["0"]["msg"] == (
        "GPU 0 (NVIDIA RTX A4000) accepts 100.0-140.0 W; the inventory asks for 50 W.")
    assert items["1"]["failed"] and items["1"]["msg"] == (
        "GPU 1 (NVIDIA GeForce RTX 3090) accepts 100.0-400.0 W; the inventory asks for 500 W.")
    assert items["3"]["failed"] and items["3"]["msg"] == (
        "GPU 3 (NVIDIA GeForce RTX 3090) accepts 100.0-400.0 W; the inventory asks for 500 W.")


def test_an_out_of_range_run_sets_no_limit_and_changes_nothing(host: Any, out_of_range: PlaybookRun) -> None:
    assert SET_TASK not in out_of_range.results
    assert out_of_range.changed() == []
    assert power_limit_calls(host) == [["-i", "1", "-pl", "300"]]   # still only the converge's one call
    assert limits(host) == {0: 140.0, 1: 300.0, 2: 450.0, 3: 300.0}


# Last in this module: it takes the limits away from the host the tests above read.
@pytest.fixture(scope="module")
def limits_removed(
    tmp_path_factory: pytest.TempPathFactory, out_of_range: PlaybookRun
) -> tuple[PlaybookRun, PlaybookRun]:
    """converge.yml twice more, the inventory's limits removed (no power_limit_w on any GPU)."""
    hardware = {"gpus": [
        {"model": "GeForce RTX 3090", "count": 2},
        {"model": "RTX A4000", "count": 1},
        {"model": "GeForce RTX 4090", "count": 1},
    ]}
    tmp = tmp_path_factory.mktemp("limits-removed")
    return run_converge(HOST, tmp, {"hardware": hardware}), run_converge(HOST, tmp, {"hardware": hardware})


def test_limits_removed_from_the_inventory_no_longer_come_back_at_boot(
    host: Any, limits_removed: tuple[PlaybookRun, PlaybookRun]
) -> None:
    first, second = limits_removed
    assert first.rc == 0, first.stderr[-2000:]
    assert "nvidia_driver : Remove the power-limit unit, its script and its data" in first.changed()
    assert not host.file("/etc/systemd/system/dlrig-gpu-power-limits.service").exists
    assert not host.file("/usr/local/sbin/dlrig-gpu-power-limits").exists
    assert not host.file("/etc/dlrig/gpu-power-limits.json").exists
    assert host.run("systemctl is-enabled dlrig-gpu-power-limits.service").rc != 0
    assert power_limit_calls(host) == [["-i", "1", "-pl", "300"]]   # nothing set on the way out
    assert second.rc == 0 and second.changed() == [], second.changed()
